"""Benchmark: our batched L-BFGS grid fit versus the open-source ``chinchilla`` toolkit.

Both fit ``L = E + A/N^alpha + B/D^beta`` to Epoch AI's 240 Chinchilla runs (the bundled
``estimator/data/epoch_chinchilla_runs.csv`` less the 5 flagged) with a Huber loss (delta 1e-3)
on log-loss residuals from a grid of starts:

* ours: :func:`estimator.fitting.fit_law`, Hoffmann's full grid of 4,500 starts (median of
  ``--repeats`` runs);
* the toolkit (PyPI ``chinchilla`` 0.2.0, kyo-takano/chinchilla): ``Chinchilla.fit`` with a
  5^5 = 3,125-start grid (e, a = log A, b = log B, alpha, beta: e in {-1, -0.5, 0, 0.5, 1},
  a, b in {0, 6.25, 12.5, 18.75, 25}, alpha, beta in {0, 0.5, 1, 1.5, 2}) and
  ``loss_fn = log_huber(delta=1e-3)``. It runs scipy BFGS with numerical gradients in long
  double precision on a multiprocessing pool of all cores, and averages the Huber loss.

Both final parameter sets are scored with OUR objective (summed Huber on log residuals) so the
objective values are comparable. The toolkit is optional and never a dependency of the
package: it runs in a subprocess, and if it is missing or fails, the script says so and still
reports our figures.

    python benchmarks/bench_fit.py [--quick] [--repeats 5] [--json benchmarks/results/fit.json]

``--scaling`` instead measures the fit's time and peak memory (resident set, each size in a fresh
process) against the number of runs: synthetic runs from the Epoch law with 1% log-loss noise
at 240, 2,400 and 24,000 rows (``--rows``), Hoffmann's full grid, optionally a bootstrap:

    python benchmarks/bench_fit.py --scaling [--rows 240,2400,24000] [--bootstrap 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import estimator  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from estimator import fitting  # noqa: E402

QUICK_GRID = {"a": (0.0, 10.0, 20.0), "b": (0.0, 10.0, 20.0), "e": (-1.0, 0.5),
              "alpha": (0.0, 0.5, 1.0), "beta": (0.0, 0.5, 1.0)}  # 162 starts

TOOLKIT_SCRIPT = textwrap.dedent("""
    import functools, json, sys, time, warnings
    import numpy as np
    warnings.filterwarnings("ignore")
    import matplotlib
    matplotlib.use("Agg")
    import chinchilla
    from chinchilla import Chinchilla
    from chinchilla._metrics import log_huber

    cfg = json.loads(sys.argv[1])
    grid = {k: np.asarray(v, dtype=float) for k, v in cfg["grid"].items()}
    cc = Chinchilla(project_dir=cfg["project_dir"], param_grid=grid,
                    loss_fn=functools.partial(log_huber, delta=cfg["delta"]), log_level=40)
    t0 = time.perf_counter()
    cc.fit(parallel=cfg["parallel"])
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "params": cc.get_params(),
           "version": getattr(chinchilla, "__version__", None)}
    print("RESULT" + json.dumps(out))
""")


def toolkit_grid(quick: bool) -> dict[str, list[float]]:
    if quick:  # 2^5 = 32 starts
        return {"e": [-1.0, 0.5], "a": [0.0, 12.5], "b": [0.0, 12.5], "alpha": [0.0, 0.5],
                "beta": [0.0, 0.5]}
    five = [0.0, 6.25, 12.5, 18.75, 25.0]
    return {"e": [-1.0, -0.5, 0.0, 0.5, 1.0], "a": five, "b": five,
            "alpha": [0.0, 0.5, 1.0, 1.5, 2.0], "beta": [0.0, 0.5, 1.0, 1.5, 2.0]}


def our_objective(params: dict[str, float], runs) -> float:
    theta = [np.log(params["A"]), np.log(params["B"]), np.log(params["E"]), params["alpha"],
             params["beta"]]
    return fitting.huber_objective(theta, runs.params, runs.tokens, runs.loss)[0]


def run_toolkit(runs, quick: bool, timeout_s: float, parallel: bool) -> dict:
    grid = toolkit_grid(quick)
    n_starts = int(np.prod([len(v) for v in grid.values()]))
    info: dict = {"package": "chinchilla", "n_starts": n_starts, "grid": grid,
                  "parallel": parallel}
    try:
        from importlib.metadata import version

        info["version"] = version("chinchilla")
    except Exception:  # noqa: BLE001 - any failure means "not installed"
        info.update(available=False, error="the 'chinchilla' package is not installed "
                    "(pip install chinchilla==0.2.0 to compare)")
        return info
    with tempfile.TemporaryDirectory(prefix="bench_chinchilla_") as tmp:
        with open(Path(tmp) / "df.csv", "w", encoding="utf-8") as fh:
            fh.write("C,N,D,loss\n")
            for c, n, d, lo in zip(runs.compute, runs.params, runs.tokens, runs.loss,
                                   strict=True):
                fh.write(f"{float(c)!r},{float(n)!r},{float(d)!r},{float(lo)!r}\n")
        cfg = {"grid": grid, "project_dir": tmp, "delta": fitting.HUBER_DELTA,
               "parallel": parallel}
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", TOOLKIT_SCRIPT, json.dumps(cfg)],
                                  capture_output=True, text=True, timeout=timeout_s, cwd=tmp)
        except subprocess.TimeoutExpired:
            info.update(available=False, error=f"timed out after {timeout_s:.0f} s")
            return info
        wall = time.perf_counter() - t0
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        info.update(available=False, error=f"toolkit failed (exit {proc.returncode}): "
                    + " | ".join(tail))
        return info
    res = json.loads(line[len("RESULT"):])
    info.update(available=True, seconds=res["seconds"], wall_seconds_with_import=wall,
                params=res["params"], objective=our_objective(res["params"], runs))
    return info


SCALING_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from estimator import fitting as F
    n, k = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(n)
    N = np.exp(rng.uniform(np.log(5e7), np.log(1.6e10), n))
    D = N * np.exp(rng.uniform(np.log(3), np.log(100), n))
    L = (1.8172 + 482.01 / N**0.3478 + 2085.43 / D**0.3658) * np.exp(rng.normal(0, 0.01, n))
    runs = F.runs_from_arrays(N, D, L)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    fit = F.fit_law(runs, bootstrap_k=k)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT" + json.dumps({"rows": n, "bootstrap": k, "seconds": seconds,
        "fit_seconds": fit.seconds, "bootstrap_seconds": fit.bootstrap_seconds,
        "grid_rows": fit.grid_rows, "peak_rss_mb": peak_mb, "rss_before_fit_mb": base_mb,
        "alpha": fit.alpha, "beta": fit.beta}))
""")


def run_scaling(rows: list[int], k: int) -> list[dict]:
    out = []
    for n in rows:
        proc = subprocess.run([sys.executable, "-c", SCALING_SCRIPT, str(n), str(k)],
                              capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
        if line is None:
            out.append({"rows": n, "error": (proc.stderr or proc.stdout).strip()[-300:]})
            print(f"rows {n:>7,}: failed: {out[-1]['error']}")
            continue
        r = json.loads(line[len("RESULT"):])
        out.append(r)
        print(f"rows {n:>7,}: {r['seconds']:6.2f} s (fit {r['fit_seconds']:.2f} s, grid on "
              f"{r['grid_rows']:,} rows; bootstrap {r['bootstrap_seconds']:.2f} s)  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB ({r['rss_before_fit_mb']:.0f} MB before)",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="few starts (ours 162, toolkit 32): a smoke test, not a benchmark")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of our fit (median)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "fit.json"),
                    help="where to write the results (JSON)")
    ap.add_argument("--no-toolkit", action="store_true", help="skip the chinchilla toolkit")
    ap.add_argument("--toolkit-timeout", type=float, default=900.0, help="seconds")
    ap.add_argument("--toolkit-serial", action="store_true",
                    help="run the toolkit without its multiprocessing pool")
    ap.add_argument("--scaling", action="store_true",
                    help="time and peak memory against the number of runs (synthetic)")
    ap.add_argument("--rows", default="240,2400,24000", help="with --scaling: row counts")
    ap.add_argument("--bootstrap", type=int, default=0, help="with --scaling: resamples")
    args = ap.parse_args(argv)

    if args.scaling:
        rows = [int(float(x)) for x in args.rows.split(",") if x]
        res = {"scaling": run_scaling(rows, args.bootstrap),
               "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                           "numpy": np.__version__, "platform": platform.platform()},
               "date": time.strftime("%Y-%m-%d")}
        out = Path(args.json if "--json" in (argv or sys.argv)
                   else ROOT / "benchmarks" / "results" / "fit_scaling.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
        return 0

    runs = fitting.epoch_runs(exclude_flagged=True)
    grid = QUICK_GRID if args.quick else None
    n_starts = int(fitting.grid_starts(grid).shape[0])
    fitting.fit_law(runs, grid=grid)  # warm-up: imports, thread pool
    times, fit = [], None
    for _ in range(max(1, args.repeats)):
        fit = fitting.fit_law(runs, grid=grid)
        times.append(fit.seconds)
    ours = {"n_starts": n_starts, "seconds_median": statistics.median(times),
            "seconds_all": times, "objective": fit.objective, "params": fit.constants(),
            "threads": fitting.threads()}
    print(f"data: {fitting.epoch_runs_path().name}, {runs.n_runs} runs (5 flagged excluded)")
    print(f"ours:       {n_starts:5d} starts  median {ours['seconds_median']:.2f} s over "
          f"{len(times)} runs  objective {fit.objective:.10g}  "
          + "  ".join(f"{k}={v:.6g}" for k, v in fit.constants().items()))

    if args.no_toolkit:
        tk = {"package": "chinchilla", "available": False, "error": "skipped (--no-toolkit)"}
    else:
        print("toolkit:    running chinchilla.Chinchilla.fit (this can take a minute or more)...",
              flush=True)
        tk = run_toolkit(runs, args.quick, args.toolkit_timeout, not args.toolkit_serial)
    result = {"data": str(fitting.epoch_runs_path()), "n_runs": runs.n_runs,
              "huber_delta": fitting.HUBER_DELTA, "quick": args.quick, "ours": ours,
              "chinchilla": tk,
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "numpy": np.__version__, "platform": platform.platform()},
              "date": time.strftime("%Y-%m-%d")}
    if tk.get("available"):
        ratio = tk["seconds"] / ours["seconds_median"]
        result["ratio_toolkit_over_ours"] = ratio
        print(f"chinchilla: {tk['n_starts']:5d} starts  {tk['seconds']:.2f} s "
              f"(v{tk.get('version')})  objective {tk['objective']:.10g}  "
              + "  ".join(f"{k}={v:.6g}" for k, v in tk["params"].items()))
        per_start = (tk["seconds"] / tk["n_starts"]) / (ours["seconds_median"] / n_starts)
        print(f"ratio:      toolkit/ours = {ratio:.1f}x in wall time "
              f"({per_start:.1f}x per start); objectives (ours, summed Huber) "
              f"{fit.objective:.10g} vs {tk['objective']:.10g}")
    else:
        print(f"chinchilla: not run: {tk.get('error')}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
