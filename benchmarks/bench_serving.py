"""Benchmark of the serving model: speed is measured, not assumed.

    python benchmarks/bench_serving.py [--quick] [--json benchmarks/results/serving.json]

1. ``plan_serving`` over a mix of models (8B-405B dense, Mixtral, DeepSeek-R1), chips, request
   mixes and modes (offline, latency targets, pinned batch, pinned replica): median and p95 per
   call. Target: well under 1 ms (the whole estimate recomputes in ~3 ms).
2. The hardware comparison: one scenario planned on 15 accelerators.
3. ``sweep_batch`` (the chart curve) and ``output_cost_curve`` over 50 and 200 model sizes,
   with and without targets (the lifetime optimiser).

Each timing is the best of several repeats of a loop (the machine is shared), reported per call.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import estimator  # noqa: F401
except ImportError:  # a source checkout without install
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from estimator.serving import (  # noqa: E402
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    output_cost_curve,
    plan_serving,
    sweep_batch,
)
from estimator.serving import calibration as cal  # noqa: E402


def per_call(fn, number: int, repeat: int) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best.append((time.perf_counter() - t0) / number)
    return min(best)


def scenarios() -> list[tuple[str, dict]]:
    mixes = [RequestMix(2048, 128), RequestMix(1000, 1000), RequestMix(128, 2048)]
    targets = LatencyTargets(ttft_s=1.0, tpot_s=0.05)
    out = []
    models = [("llama-3.1-8b", "h100-sxm", "fp8"), ("llama-3.1-70b", "h100-sxm", "fp8"),
              ("llama-3.1-70b", "h200", "fp8"), ("llama-3.1-405b", "b200", "fp4"),
              ("mixtral-8x7b", "a100-80gb", "bf16"), ("deepseek-r1", "b200", "fp4")]
    for model, acc, prec in models:
        for mix in mixes:
            base = dict(shape=cal.SHAPES[model], accelerator=cal.ACCELERATORS[acc], mix=mix,
                        weight_precision=prec, kv_precision="fp8" if prec != "bf16" else "bf16")
            out.append(("offline", base))
            out.append(("targets", {**base, "targets": targets}))
            out.append(("pinned batch", {**base, "batch": 32}))
    return out


def fifteen_chips() -> list[ServingAccelerator]:
    chips = list(cal.ACCELERATORS.values())
    g = 2**30
    chips += [
        ServingAccelerator("h100-pcie", "nvidia-hopper", {"bf16": 756e12, "fp8": 1513e12},
                           80 * g, 2.0e12, 2, 300e9),
        ServingAccelerator("h800", "nvidia-hopper", {"bf16": 989.5e12, "fp8": 1979e12},
                           80 * g, 3.35e12, 8, 200e9),
        ServingAccelerator("a100-40gb", "nvidia-ampere", {"bf16": 312e12}, 40 * g, 1.555e12,
                           8, 300e9),
        ServingAccelerator("tpu-v5e", "google-tpu", {"bf16": 197e12, "int8": 393e12}, 16 * g,
                           0.819e12, 8, 200e9),
        ServingAccelerator("tpu-v5p", "google-tpu", {"bf16": 459e12}, 95 * g, 2.765e12, 8,
                           600e9),
        ServingAccelerator("tpu-v6e", "google-tpu", {"bf16": 918e12, "int8": 1836e12}, 32 * g,
                           1.638e12, 8, 400e9),
        ServingAccelerator("trainium2", "aws-trainium", {"bf16": 655e12, "fp8": 1287e12},
                           96 * g, 2.9e12, 16, 640e9),
        ServingAccelerator("mi355x", "amd-cdna", {"bf16": 2500e12, "fp8": 5000e12,
                                                  "fp4": 10000e12}, 288 * g, 8e12, 8, 448e9),
    ]
    return chips[:15]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    number, repeat = (20, 3) if args.quick else (100, 5)
    results: dict = {"python": platform.python_version(), "numpy": np.__version__}

    by_mode: dict[str, list[float]] = {}
    for mode, kw in scenarios():
        by_mode.setdefault(mode, []).append(per_call(lambda kw=kw: plan_serving(**kw),
                                                     number, repeat))
    allt = [t for v in by_mode.values() for t in v]
    results["plan_serving_ms"] = {
        "median": statistics.median(allt) * 1e3, "p95": float(np.percentile(allt, 95)) * 1e3,
        **{f"{m}_median": statistics.median(v) * 1e3 for m, v in by_mode.items()}}

    shape = cal.SHAPES["llama-3.1-70b"]
    mix = RequestMix(1000, 500)
    chips = fifteen_chips()

    def compare():
        for c in chips:
            try:
                plan_serving(shape, c, mix, weight_precision="fp8", kv_precision="fp8")
            except Exception:  # noqa: BLE001 - a chip the model does not fit on still counts
                pass

    results["hardware_comparison_15_chips_ms"] = per_call(compare, max(1, number // 10),
                                                          repeat) * 1e3
    results["sweep_batch_ms"] = per_call(
        lambda: sweep_batch(shape, cal.ACCELERATORS["h100-sxm"], mix, weight_precision="fp8",
                            kv_precision="fp8", chips_per_replica=4), number, repeat) * 1e3
    for n in (50, 200):
        sizes = np.geomspace(1e9, 1e12, n)
        for label, tg in (("offline", None), ("targets", LatencyTargets(1.0, 0.05))):
            results[f"output_cost_curve_{n}_sizes_{label}_ms"] = per_call(
                lambda tg=tg, sizes=sizes: output_cost_curve(
                    sizes, cal.ACCELERATORS["h100-sxm"], mix, weight_precision="fp8",
                    kv_precision="fp8", targets=tg), max(1, number // 5), repeat) * 1e3

    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float)
              else f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
