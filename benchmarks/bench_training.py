"""Speed of the training-run model (estimator.training). Prints a table, writes JSON.

    python benchmarks/bench_training.py [--json benchmarks/results/bench_training.json]

Cases (median and p95 over random jobs: dense 70M-1T and MoE, 8-32,768 GPUs, 2k-8k tokens;
each job's time is its minimum over ``--repeat`` passes, except the cold process's):

1. ``plan, new shape, cold process``: the first plans of the process (the per-GPU-count
   layout menus are built as counts are first seen);
2. ``plan, new shape``: a shape never seen, menus warm (what every edit of the model size
   costs in the window: structures, memory, geometry and the memory floor are built);
3. ``plan, repeated``: the same job again (every cache warm);
4. ``plan, tokens changed``: the shape and cluster kept, tokens moved (a slider: the layouts
   and their geometry are cached, the batch and the step are not);
5. ``hardware comparison``: a new shape on all 19 test accelerators, first time and again;
6. ``sweep``: 18 GPU counts (1 to 131,072) for a new shape, first time and again.

Target (the lead's budget): the estimate's whole recompute is 3 ms median; a new-shape plan
well under 1 ms. Timings are wall-clock on a shared machine: the JSON records the load.
"""

from __future__ import annotations

import argparse
import json
import os
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
from estimator.training.run import plan_training_runs  # noqa: E402


def _jobs(n: int, seed: int) -> list[TrainingJob]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        params = float(10 ** rng.uniform(7.85, 12))
        if rng.random() < 0.25:
            e = int(rng.choice([8, 16, 64, 128]))
            try:
                shape = derive_shape(params, n_experts=e, experts_per_token=2 if e < 64 else 8,
                                     active_params=params / (e / 4))
            except InputError:  # too few active parameters for its experts: draw again
                continue
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
    ms = np.asarray(xs, dtype=float) * 1e3
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "n": len(xs)}


def _clear_shape_caches() -> None:
    """Forget every shape-dependent cache (the per-count menus stay: they are per process)."""
    from estimator.training import model, run, search

    for mod in (run, search, model):
        for name in dir(mod):
            f = getattr(mod, name)
            if hasattr(f, "cache_clear") and name not in ("_menu", "default_constants"):
                f.cache_clear()


def _sequence(jobs, steps, repeat: int) -> list[dict]:
    """For each job, ``steps`` run one after another (a new shape, then edits of it), each
    step's time its minimum over ``repeat`` passes with the shape caches cleared before each
    pass (every pass sees the shapes new); median and p95 over the jobs. The minimum keeps
    other processes' load on the shared machine out of the figures."""
    times = np.zeros((repeat, len(jobs), len(steps)))
    for r in range(repeat):
        _clear_shape_caches()
        for i, j in enumerate(jobs):
            for k, step in enumerate(steps):
                times[r, i, k] = _time(lambda j=j, step=step: step(j))
    best = times.min(axis=0)
    return [_stats(best[:, k]) for k in range(len(steps))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" /
                                          "bench_training.json"))
    ap.add_argument("--repeat", type=int, default=5, help="passes per case (per-job minimum)")
    args = ap.parse_args(argv)
    r = args.repeat
    plan_training_run(TrainingJob(shape=derive_shape(1e9), tokens=2e10, gpus=8), H100)  # import
    res = {}
    jobs = _jobs(120, 1)
    res["plan, new shape, cold process (one pass)"] = _stats(
        [_time(lambda j=j: plan_training_run(j, H100)) for j in jobs])

    def moved(j):
        return TrainingJob(shape=j.shape, tokens=j.tokens * 1.37, gpus=j.gpus,
                           seq_len=j.seq_len)

    (res["plan, new shape"], res["plan, repeated"],
     res["plan, tokens changed"]) = _sequence(
        jobs, [lambda j: plan_training_run(j, H100), lambda j: plan_training_run(j, H100),
               lambda j: plan_training_run(moved(j), H100)], r)
    def sizes(j):  # a plan and its training-rate curve's sizes (what an estimate plans)
        return [j] + [TrainingJob(shape=derive_shape(f * j.shape.total_params),
                                  tokens=j.tokens, gpus=j.gpus, seq_len=j.seq_len)
                      for f in (0.3, 3.0, 10.0)]

    dense = [j for j in _jobs(60, 2) if not j.shape.is_moe][:40]
    size_sets = {id(j): sizes(j) for j in dense}
    # separate passes: neither finds the other's per-shape caches
    (res["a plan and its 3 rate-curve sizes, one by one"],) = _sequence(
        dense, [lambda j: [_plan_or_none(x, H100) for x in size_sets[id(j)]]], r)
    (res["a plan and its 3 rate-curve sizes, together"],) = _sequence(
        dense, [lambda j: plan_training_runs(size_sets[id(j)], H100)], r)
    for a in ALL:  # the process has seen every chip's domain once
        plan_training_run(TrainingJob(shape=derive_shape(2e9), tokens=4e10, gpus=64), a)
    (res["hardware comparison (19 chips), new shape"],
     res["hardware comparison (19 chips), again"]) = _sequence(
        _jobs(12, 3), [lambda j: [_plan_or_none(j, a) for a in ALL]] * 2, r)
    counts = 2 ** np.arange(0, 18)
    sweep_gpus(TrainingJob(shape=derive_shape(3e9), tokens=6e10, gpus=8), H100, counts)
    (res["sweep, 18 GPU counts, new shape"], res["sweep, 18 GPU counts, again"]) = _sequence(
        _jobs(12, 4), [lambda j: sweep_gpus(j, H100, counts)] * 2, r)
    width = max(len(k) for k in res)
    print(f"{'case':{width}s}  median ms  p95 ms")
    for k, v in res.items():
        print(f"{k:{width}s}  {v['median_ms']:9.3f}  {v['p95_ms']:6.3f}")
    out = {"python": platform.python_version(), "numpy": np.__version__,
           "machine": platform.machine(), "load_average": list(os.getloadavg()),
           "repeat": r, "results": res}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


def _plan_or_none(job, acc):
    try:
        return plan_training_run(job, acc)
    except InputError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
