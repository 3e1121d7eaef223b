"""The shipped serving constants per chip family: ``estimator/data/serving_constants.yaml``.

The file is written from :func:`estimator.serving.calibration.fit_all` (``python -m
estimator.serving.calibration --yaml``) and a test checks that it equals what the fit computes.
A family without measurements borrows another family's constants; the file says which and why,
and its uncertainty band is widened by :data:`BORROWED_BAND_WIDENING`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources

from estimator.errors import InputError, ProfileError
from estimator.serving.inputs import FAMILIES, ServingConstants
from estimator.yamlio import load_yaml_text

CONSTANTS_FILE = "serving_constants.yaml"
#: A borrowed family's band: the lender's leave-one-out band, each side stretched by this
#: factor in log space (a judgement: another vendor's software stack is a further unknown).
BORROWED_BAND_WIDENING = 2.0


def _read_text() -> str:
    return resources.files("estimator.data").joinpath(CONSTANTS_FILE).read_text("utf-8")


@cache
def load_constants() -> dict[str, ServingConstants]:
    """Constants of every family, borrowed ones resolved, read once per process."""
    data = load_yaml_text(_read_text(), CONSTANTS_FILE, ProfileError, "serving constants file")
    sh = data["shared"]
    shared = dict(allreduce_latency_s=float(sh["allreduce_latency_us"]) * 1e-6,
                  link_efficiency=float(sh["link_efficiency"]),
                  kv_memory_fraction=float(sh["kv_memory_fraction"]),
                  runtime_reserve_fraction=float(sh["runtime_reserve_fraction"]),
                  runtime_reserve_bytes=float(sh["runtime_reserve_gib"]) * 2**30,
                  chunk_tokens=int(sh["chunk_tokens"]), max_batch=int(sh["max_batch"]))
    out: dict[str, ServingConstants] = {}
    for fam, c in data["families"].items():
        out[fam] = ServingConstants(
            family=fam, hbm_efficiency=float(c["hbm_efficiency"]),
            compute_efficiency=float(c["compute_efficiency"]),
            step_overhead_s=float(c["step_overhead_ms"]) * 1e-3,
            provenance=f"fitted ({c['fit']}) on {c['rows']} measurements ({c['sources']})",
            band=(float(c["band"][0]), float(c["band"][1])), **shared)
    for fam, c in data["borrowed"].items():
        lender = out[c["from"]]
        lo, hi = lender.band
        out[fam] = replace(
            lender, family=fam, borrowed_from=c["from"],
            provenance=f"borrowed from {c['from']}: {c['reason']}",
            band=(round(lo ** BORROWED_BAND_WIDENING, 2), round(hi ** BORROWED_BAND_WIDENING, 2)),
            extra_warnings=(f"serving constants for {fam} are borrowed from {c['from']} "
                            f"({c['reason']}); the throughput band is wider",))
    missing = set(FAMILIES) - set(out)
    if missing:  # pragma: no cover - guarded by a test on the shipped file
        raise ProfileError(f"{CONSTANTS_FILE}: no constants for {sorted(missing)}")
    return out


def constants_for(family: str) -> ServingConstants:
    """The shipped constants of ``family``."""
    table = load_constants()
    if family not in table:
        raise InputError(f"no serving constants for chip family {family!r}", field="family",
                         value=family, expected=" / ".join(FAMILIES))
    return table[family]
