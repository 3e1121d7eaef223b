"""The golden scenarios: 30 varied scenarios whose every shown number is pinned.

``python tests/golden_cases.py --write`` regenerates ``tests/golden/*.json`` (do it only for a
change that is meant to move numbers, and say why in the commit); ``tests/test_golden.py``
checks the current code against them. Each case records what every face shows: the estimate's
JSON, the CLI text and compare table, the Markdown/CSV/JSON reports (fixed date), a digest of
every chart curve, and the window's cards and hardware table.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
DATE = "2026-11-30"
os.environ.setdefault("ESTIMATOR_TODAY", DATE)  # stale-price warnings as of that date

CASES: dict[str, dict] = {
    "default": {},
    "loss-2.0": dict(mode="loss", target_loss=2.0),
    "gopher-chinchilla-law": dict(mode="compute", compute_flops=5.76e23, law="chinchilla-2022"),
    "overtrain-200": dict(mode="loss", target_loss=2.0, tokens_per_param=200.0),
    "unique-1e11": dict(mode="loss", target_loss=2.0, unique_tokens=1e11),
    "given-7b-b200-fp8": dict(mode="model", params=7e9, tokens=2e12, hardware="b200", gpus=512,
                              precision="fp8"),
    "lifetime": dict(mode="loss", target_loss=2.0, inference_tokens_per_day=1e11,
                     deployment_days=730.0, optimize="lifetime"),
    "kaplan": dict(mode="compute", compute_flops=1e22, law="kaplan-2020"),
    "compute-fixed-size": dict(mode="compute", compute_flops=1e24, params=30e9),
    "exact-flops": dict(mode="loss", target_loss=2.05, exact_flops=True, seq_len=8192),
    "a100-40-reserved": dict(mode="compute", compute_flops=1e23, hardware="a100-40gb",
                         price_tier="reserved", gpus=256),
    "tpu-v4": dict(mode="compute", compute_flops=2.56e24, hardware="tpu-v4", gpus=6144),
    "mi300x": dict(mode="loss", target_loss=2.1, hardware="mi300x", gpus=512),
    "price-override": dict(mode="compute", compute_flops=1e24, price_per_hour=1.1),
    "pue-co2": dict(mode="loss", target_loss=2.0, pue=1.6, grid_kg_co2_per_kwh=0.4),
    "shape-given": dict(mode="model", params=70e9, tokens=1.4e12, n_layers=80, d_model=8192),
    "serve-elsewhere": dict(mode="loss", target_loss=2.0, inference_hardware="h200",
                            inference_precision="fp8", inference_batch=128,
                            input_tokens_per_request=4096.0),
    "no-serving": dict(mode="compute", compute_flops=1e23, inference_tokens_per_day=0.0),
    "just-enough-gpus": dict(mode="model", params=400e9, tokens=15e12, gpus=88),
    "too-many-gpus": dict(mode="model", params=1e9, tokens=20e9, gpus=65536),
    "llama3-70b-match": dict(mode="match", match_params=70e9, match_tokens=15e12,
                             inference_tokens_per_day=1e11),
    "unique-lifetime": dict(mode="loss", target_loss=1.9, unique_tokens=5e12,
                            inference_tokens_per_day=1e11, optimize="lifetime"),
    "model-ratio": dict(mode="model", params=13e9, tokens_per_param=100.0, hardware="h100-pcie"),
    "selective-recompute-mb2": dict(mode="compute", compute_flops=3e22, recompute="selective",
                                    micro_batch=2, seq_len=2048, tp=4),
    "mfu-goodput-pinned": dict(mode="compute", compute_flops=1e24, mfu=0.45, goodput=0.95,
                               hardware="h200"),
    "tpu-v6e-reserved-big": dict(mode="loss", target_loss=1.95, hardware="tpu-v6e",
                             price_tier="reserved", gpus=8192),
    # targets solved on the run model (issue 14)
    "budget-10m": dict(mode="budget", budget_usd=1e7),
    "budget-ratio-b200": dict(mode="budget", budget_usd=5e6, tokens_per_param=40.0,
                              hardware="b200", gpus=512),
    "deadline-60d-2048": dict(mode="deadline", deadline_days=60.0, gpus=2048),
    "loss-deadline-gpus": dict(mode="loss", target_loss=2.0, deadline_days=30.0),
}


def _clean(o):
    """JSON-safe: numpy scalars to floats, non-finite to strings."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    return o


def _digest(arr) -> dict:
    a = np.asarray(arr, dtype=float).ravel()
    if a.size == 0:
        return {"n": 0}
    idx = sorted({0, a.size // 4, a.size // 2, (3 * a.size) // 4, a.size - 1})
    return {"n": int(a.size), "at": [float(a[i]) for i in idx]}


def curves_digest(c) -> dict:
    out = {}
    # every field, the lazily computed hardware part included (Curves computes it on access)
    for name, value in ((f.name, getattr(c, f.name)) for f in dataclasses.fields(c)):
        if isinstance(value, np.ndarray):
            out[name] = _digest(value)
        elif isinstance(value, dict) and value and all(
                isinstance(v, np.ndarray) for v in value.values()):
            out[name] = {k: _digest(v) for k, v in sorted(value.items())}
        elif isinstance(value, (int, float, str)) or value is None:
            out[name] = value
        elif name == "hardware_rows":
            out[name] = value
        elif name == "iso_contours":
            out[name] = [[_digest(x), _digest(y)] for x, y in value]
    return out


def record(name: str, fields: dict, with_gui: bool = True) -> dict:
    """What every face shows for one scenario."""
    from estimator import report
    from estimator.cli import format_estimate
    from estimator.curves import compute_curves
    from estimator.engine import compare, estimate
    from estimator.hardware import load_profiles
    from estimator.scenario import Scenario

    profiles = load_profiles("/nonexistent-golden-user-dir")
    s = Scenario(**fields)
    est = estimate(s, profiles=profiles)
    curves = compute_curves(s, est, profiles=profiles)
    comp = compare(s, profiles=profiles)
    rows = report.comparison_rows(s, est, comp)
    out = {
        "scenario": fields,
        "estimate": est.to_dict(),
        "cli_text": format_estimate(est),
        "compare": [e.to_dict() for e in comp],
        "report_md": report.report_markdown(s, est, comp, date=DATE),
        "report_csv": report.report_csv(s, est, comp, date=DATE),
        "report_json": json.loads(report.report_json(s, est, comp, date=DATE)),
        "comparison_rows": rows,
        "curves": curves_digest(curves),
    }
    if with_gui:
        out["window"] = window_texts(s, est, curves, comp)
    return _clean(out)


def window_texts(s, est, curves, comp) -> dict:
    from PySide6 import QtWidgets

    from estimator.gui.widgets import ComparisonTable, ResultCards

    _ = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    cards = ResultCards(4)
    cards.show_estimate(est)
    table = ComparisonTable()
    table.show_comparison(comp, est.hardware)
    t = table.table
    cells = [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]
    return {
        "cards": {k: [c.value_text(), c.band_text()] for k, c in cards.cards.items()},
        "table": cells,
    }


def main(argv: list[str]) -> int:
    if "--write" not in argv:
        print(__doc__)
        return 2
    sys.path.insert(0, str(HERE.parent))
    GOLDEN.mkdir(exist_ok=True)
    for name, fields in CASES.items():
        data = record(name, fields)
        (GOLDEN / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print("wrote", name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
