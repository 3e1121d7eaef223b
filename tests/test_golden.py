"""Every number the CLI, reports, charts and window show for 30 varied scenarios is pinned
(tests/golden/*.json, written by ``python tests/golden_cases.py --write``). A refactor must keep
them; a change meant to move numbers regenerates them and says why in its commit."""

from __future__ import annotations

import json
import math

import pytest
from golden_cases import CASES, GOLDEN, record

RTOL = 1e-9


def _compare(got, want, where="$"):
    """Yield a message for every difference: numbers to RTOL, everything else exactly."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            yield f"{where}: expected a mapping, got {type(got).__name__}"
            return
        for k in sorted(set(want) | set(got)):
            if k not in got:
                yield f"{where}.{k}: missing"
            elif k not in want:
                yield f"{where}.{k}: unexpected (value {str(got[k])[:60]})"
            else:
                yield from _compare(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            yield f"{where}: expected a list of {len(want)}, got {str(got)[:80]}"
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            yield from _compare(g, w, f"{where}[{i}]")
    elif isinstance(want, bool) or not isinstance(want, (int, float)):
        if got != want:
            if isinstance(want, str) and isinstance(got, str):
                lw, lg = want.splitlines(), got.splitlines()
                diff = next((f"line {i}: {a!r} != {b!r}" for i, (a, b) in
                             enumerate(zip(lg, lw, strict=False)) if a != b),
                            f"{len(lg)} lines vs {len(lw)}")
                yield f"{where}: text differs ({diff})"
            else:
                yield f"{where}: {got!r} != {want!r}"
    else:
        ok = (isinstance(got, (int, float)) and not isinstance(got, bool)
              and math.isclose(got, want, rel_tol=RTOL, abs_tol=1e-300))
        if not ok:
            yield f"{where}: {got!r} != {want!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_face_shows_the_pinned_numbers(name):
    want = json.loads((GOLDEN / f"{name}.json").read_text())
    got = json.loads(json.dumps(record(name, CASES[name])))
    problems = list(_compare(got, want))
    assert not problems, f"{len(problems)} differences, first: " + "; ".join(problems[:8])
