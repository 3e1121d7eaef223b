"""Speed of the training-run model (estimator.training). Prints a table, writes JSON.

    python benchmarks/bench_training.py [--json benchmarks/results/bench_training.json]

Cases (median and p95 over random jobs: dense 70M-1T and MoE, 8-32,768 GPUs, 2k-8k tokens):

1. ``plan, repeated``: the same job again (every cache warm);
2. ``plan, tokens changed``: the shape and cluster kept, tokens moved (a slider in the window:
   the candidate layouts and their geometry are cached, the batch and the step are not);
3. ``plan, new shape``: a shape never seen (candidates, memory and geometry built);
4. ``hardware comparison``: one job on all 19 test accelerators, first time and again;
5. ``sweep``: 18 GPU counts (1 to 131,072) for one job.

Target (the lead's budget): plan well under 1 ms typical.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
try:
    import estimator  # noqa: F401
except ImportError:  # a source checkout without install
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from training_hardware import ALL, H100  # noqa: E402

from estimator.errors import InputError  # noqa: E402
from estimator.shape import derive_shape  # noqa: E402
from estimator.training import TrainingJob, plan_training_run, sweep_gpus  # noqa: E402


def _jobs(n: int, seed: int) -> list[TrainingJob]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        params = float(10 ** rng.uniform(7.85, 12))
        if rng.random() < 0.25:
            e = int(rng.choice([8, 16, 64, 128]))
            shape = derive_shape(params, n_experts=e, experts_per_token=2 if e < 64 else 8,
                                 active_params=params / (e / 4))
        else:
            shape = derive_shape(params)
        out.append(TrainingJob(shape=shape, tokens=20 * shape.total_params,
                               gpus=int(2 ** rng.integers(3, 16)),
                               seq_len=int(rng.choice([2048, 4096, 8192]))))
    return out


def _time(fn) -> float:
    t = time.perf_counter()
    try:
        fn()
    except InputError:
        pass
    return time.perf_counter() - t


def _stats(xs) -> dict:
    ms = np.asarray(xs) * 1e3
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "n": len(xs)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" /
                                          "bench_training.json"))
    args = ap.parse_args(argv)
    plan_training_run(TrainingJob(shape=derive_shape(1e9), tokens=2e10, gpus=8), H100)  # import
    res = {}
    jobs = _jobs(120, 1)
    res["plan, new shape"] = _stats([_time(lambda j=j: plan_training_run(j, H100))
                                     for j in jobs])
    res["plan, repeated"] = _stats([_time(lambda j=j: plan_training_run(j, H100))
                                    for j in jobs])
    rng = np.random.default_rng(2)
    moved = [TrainingJob(shape=j.shape, tokens=j.tokens * float(rng.uniform(0.5, 2)),
                         gpus=j.gpus, seq_len=j.seq_len) for j in jobs]
    res["plan, tokens changed"] = _stats([_time(lambda j=j: plan_training_run(j, H100))
                                          for j in moved])
    first, again = [], []
    for j in _jobs(8, 3):
        first.append(_time(lambda j=j: [plan_training_run(j, a) for a in ALL]))
        again.append(_time(lambda j=j: [plan_training_run(j, a) for a in ALL]))
    res["hardware comparison (19 chips), first"] = _stats(first)
    res["hardware comparison (19 chips), again"] = _stats(again)
    counts = 2 ** np.arange(0, 18)
    res["sweep, 18 GPU counts"] = _stats([_time(lambda j=j: sweep_gpus(j, H100, counts))
                                          for j in _jobs(10, 4)])
    width = max(len(k) for k in res)
    print(f"{'case':{width}s}  median ms  p95 ms")
    for k, v in res.items():
        print(f"{k:{width}s}  {v['median_ms']:9.3f}  {v['p95_ms']:6.3f}")
    out = {"python": platform.python_version(), "numpy": np.__version__,
           "machine": platform.machine(), "results": res}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
