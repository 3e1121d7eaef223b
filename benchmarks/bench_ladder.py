"""Benchmark: how long a ladder plan takes, and what makes it fast.

* ``plan``: :func:`estimator.ladder.plan_ladder` as ``estimator ladder`` runs it by default
  (all 45 design families, the band-against-budget curve, 200 simulations per finalist, 3
  fidelity refits with the full fit) for a few targets and priors; wall time of each (the
  brief's target: under 30 s on 2 cores);
* ``batching``: the same 24 designs x 40 simulated ladders fitted one design at a time
  (:func:`estimator.ladder.simulate.simulate`) and all in one batch
  (:func:`~estimator.ladder.simulate.simulate_many`: per-row abscissae, zero-weight padding);
* ``fits``: simulated fits per second in the batch against the full 4,500-start
  :func:`estimator.fitting.fit_law` on one simulated ladder.

    python benchmarks/bench_ladder.py [--quick] [--json benchmarks/results/ladder.json]
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
try:
    import estimator  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from estimator import fitting  # noqa: E402
from estimator.ladder import Target, lawmath, make_prior, plan_ladder, reference_loss_noise  # noqa: E402
from estimator.ladder.design import Design, default_families, scale_index  # noqa: E402
from estimator.ladder.simulate import simulate, simulate_many  # noqa: E402

CASES = (
    ("compute 1e24, $20k, samples prior", Target(compute_flops=1e24), 20_000.0, "samples"),
    ("loss 2.0, $20k, samples prior", Target(loss=2.0), 20_000.0, "samples"),
    ("compute 1e24, $20k, wide prior", Target(compute_flops=1e24), 20_000.0, "wide"),
    ("compute 1e25, $200k, samples prior", Target(compute_flops=1e25), 200_000.0, "samples"),
)


def bench_plans(quick: bool) -> list[dict]:
    out = []
    for label, target, budget, prior in CASES[:1] if quick else CASES:
        t0 = time.perf_counter()
        plan = plan_ladder(target, budget, prior=prior)
        seconds = time.perf_counter() - t0
        s = plan.design["searched"]
        row = {"case": label, "seconds": seconds, "designs_screened": s["designs_screened"],
               "finalists": s["finalists"], "design": plan.design["name"],
               "total_cost_usd": plan.total_cost_usd,
               "params_opt_error_p10": plan.predicted["params_opt_error_p10"],
               "params_opt_error_p90": plan.predicted["params_opt_error_p90"],
               "fidelity_agree": f"{plan.fidelity['agree']}/{plan.fidelity['checked']}"}
        out.append(row)
        print(f"plan  {label:<38} {seconds:6.1f} s  {s['designs_screened']} designs screened, "
              f"{s['finalists']} finalists; {plan.design['name']}, "
              f"${plan.total_cost_usd:,.0f}; N* x{row['params_opt_error_p10']:.2f}-"
              f"x{row['params_opt_error_p90']:.2f}", flush=True)
    return out


def bench_batching() -> dict:
    prior = make_prior("epoch-2024")
    sigma, _ = reference_loss_noise()
    c = 1e24
    n, d = lawmath.optimum(prior.central, c)
    r0 = float(d[0] / n[0])
    designs = [Design(f, scale_index(2e9), r0) for f in default_families()][:24]
    rng = np.random.default_rng(0)
    draws, z = prior.draw(40, rng), rng.standard_normal((40, 64))
    t0 = time.perf_counter()
    for des in designs:
        simulate(des, draws, z, sigma, c, prior.central)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate_many(designs, draws, z, sigma, c, prior.central)
    batch = time.perf_counter() - t0
    fits = len(designs) * 40
    print(f"batch {len(designs)} designs x 40 ladders: one at a time {one:.2f} s, one batch "
          f"{batch:.2f} s ({one / batch:.1f}x; {fits / batch:,.0f} fits/s)", flush=True)
    return {"designs": len(designs), "simulations": 40, "one_at_a_time_seconds": one,
            "batched_seconds": batch, "speedup": one / batch, "fits_per_second": fits / batch}


def bench_full_fit() -> dict:
    prior = make_prior("epoch-2024")
    des = Design(default_families()[-1], scale_index(2e9), 18.0)
    n, t, hold = des.runs()
    y = lawmath.loss(prior.central[None, :], n[~hold], t[~hold])[0]
    runs = fitting.runs_from_arrays(n[~hold], t[~hold], y * np.exp(
        0.0076 * np.random.default_rng(1).standard_normal(y.size)))
    fitting.fit_law(runs)
    t0 = time.perf_counter()
    fitting.fit_law(runs)
    sec = time.perf_counter() - t0
    print(f"fit   full 4,500-start fit_law of one {runs.n_runs}-run ladder: {sec:.2f} s",
          flush=True)
    return {"runs": runs.n_runs, "seconds": sec}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one plan only")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "ladder.json"))
    args = ap.parse_args(argv)
    plan_ladder(Target(compute_flops=1e23), 3000, simulations=20, curve=False,
                fidelity_checks=0)  # warm-up: imports, thread pool, caches
    res = {"plans": bench_plans(args.quick), "batching": bench_batching(),
           "full_fit": bench_full_fit(), "threads": fitting.threads(),
           "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                       "numpy": np.__version__, "platform": platform.platform(),
                       "load_average_1min": os.getloadavg()[0]},
           "date": time.strftime("%Y-%m-%d")}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
