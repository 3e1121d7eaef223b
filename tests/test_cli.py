"""The estimator CLI: output, JSON keys, target modes and one-line errors."""

import json
import subprocess
import sys

import pytest

from estimator.cli import main
from estimator.laws import get_law


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def js(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


REQUIRED_KEYS = {
    "law",
    "loss",
    "params",
    "tokens",
    "tokens_per_param",
    "train_flops",
    "optimal_batch_tokens",
    "global_batch_tokens",
    "step_time_s",
    "tokens_per_s_per_gpu",
    "predicted_mfu",
    "expected_interruptions",
    "scaling_efficiency",
    "parallel_layout",
    "extrapolation_factor",
    "warnings",
    "hardware",
    "gpus",
    "mfu",
    "goodput",
    "gpu_hours",
    "gpu_hours_p10",
    "gpu_hours_p90",
    "cost_usd",
    "wall_clock_days",
    "energy_mwh",
    "min_gpus_for_memory",
    "max_useful_gpus",
    "inference_cost_per_million_tokens_usd",
    "lifetime_inference_cost_usd",
    "lifetime_total_cost_usd",
}


def test_estimate_json_keys_and_reference_allocation(capsys):
    d = js(capsys, "estimate", "--compute", "5.76e23", "--law", "chinchilla-2022")
    assert REQUIRED_KEYS <= set(d)
    assert d["params"] == pytest.approx(32.2e9, rel=0.005)
    assert d["tokens"] == pytest.approx(2.98e12, rel=0.005)
    assert d["train_flops"] == pytest.approx(5.76e23)
    assert isinstance(d["warnings"], list)
    # defaults: h100-sxm, 1024 GPUs, bf16, on-demand
    assert (d["hardware"], d["gpus"], d["precision"]) == ("h100-sxm", 1024, "bf16")


def test_epoch_default_law(capsys):
    d = js(capsys, "estimate", "--compute", "5.76e23")
    assert d["law"] == "epoch-2024"
    assert d["tokens_per_param"] == pytest.approx(18.4, abs=0.2)


def test_target_modes(capsys):
    d = js(capsys, "estimate", "--target-loss", "2.0")
    assert d["loss"] == pytest.approx(2.0)
    d = js(capsys, "estimate", "--params", "7B", "--tokens", "2T")
    assert d["params"] == 7e9 and d["tokens"] == 2e12
    d = js(capsys, "estimate", "--params", "7e9", "--tokens-per-param", "100")
    assert d["tokens"] == pytest.approx(7e11)
    d = js(capsys, "estimate", "--match", "70B,1.4T")
    assert d["loss"] == pytest.approx(get_law().loss(70e9, 1.4e12))
    d = js(capsys, "estimate", "--target-loss", "2.0", "--tokens-per-param", "200")
    assert d["tokens_per_param"] == pytest.approx(200)
    d = js(capsys, "estimate", "--target-loss", "2.0", "--unique-tokens", "1e11")
    assert d["epochs"] > 1


def test_hardware_options_change_cost(capsys):
    base = js(capsys, "estimate", "--compute", "1e24")
    cheap = js(capsys, "estimate", "--compute", "1e24", "--price-per-hour", "1.25")
    assert cheap["cost_usd"] == pytest.approx(base["cost_usd"] / 2)
    more = js(capsys, "estimate", "--compute", "1e24", "--gpus", "2048")
    # the run model: twice the GPUs shortens the run, but by less than half (communication
    # and a smaller share of the batch per GPU), so GPU-hours do not fall
    assert base["wall_clock_days"] / 2 <= more["wall_clock_days"] < base["wall_clock_days"]
    assert more["gpu_hours"] >= base["gpu_hours"] * (1 - 1e-9)
    mfu = js(capsys, "estimate", "--compute", "1e24", "--mfu", "0.58")
    assert mfu["gpu_hours"] == pytest.approx(base["gpu_hours"] * base["mfu"] / 0.58)
    life = js(
        capsys,
        "estimate",
        "--target-loss",
        "2.0",
        "--inference-tokens-per-day",
        "1e11",
        "--deployment-days",
        "730",
        "--optimize",
        "lifetime",
    )
    assert life["compute_optimal"]["lifetime_total_cost_usd"] > life["lifetime_total_cost_usd"]


def test_human_table(capsys):
    code, out, _ = run(capsys, "estimate", "--compute", "5.76e23", "--law", "chinchilla-2022")
    assert code == 0
    assert "32.2 B params" in out and "2.98 T tokens" in out and "5.76e23 FLOPs" in out


def test_laws_and_profiles(capsys):
    laws = js(capsys, "laws")
    ids = [x["id"] for x in laws]
    assert ids and {"epoch-2024", "chinchilla-2022", "kaplan-2020"} <= set(ids)
    assert next(x for x in laws if x["id"] == "epoch-2024")["default"] is True
    code, out, _ = run(capsys, "laws")
    assert "Besiroglu" in out and "non-embedding" in out
    prof = js(capsys, "profiles")
    assert {p["id"] for p in prof["profiles"]} >= {"h100-sxm", "b200", "tpu-v6e", "mi300x"}
    assert all(p["origin"] for p in prof["profiles"])


def test_compare_sorted(capsys):
    rows = js(capsys, "compare", "--compute", "1e24", "--sort", "days")["estimates"]
    days = [r["wall_clock_days"] for r in rows]
    assert days == sorted(days) and len(rows) >= 10
    rows = js(capsys, "compare", "--compute", "1e24")["estimates"]
    costs = [r["cost_usd"] for r in rows]
    assert costs == sorted(costs)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["estimate", "--target-loss", "1.5"], "irreducible loss E = 1.817"),
        (["estimate", "--target-loss", "1.5", "--law", "chinchilla-2022"], "1.69"),
        (["estimate", "--compute", "-5"], "compute"),
        (["estimate", "--compute", "0"], "compute"),
        (["estimate", "--compute", "abc"], "not a number"),
        (["estimate", "--compute", "1e24", "--law", "nope"], "unknown law 'nope'"),
        (["estimate", "--compute", "1e24", "--target-loss", "2"], "exactly one target"),
        (["estimate", "--compute", "1e24", "--hardware", "tpu-v9"], "tpu-v9"),
        (["estimate", "--compute", "1e24", "--gpus", "0"], "--gpus"),
        (["estimate", "--compute", "1e24", "--mfu", "3"], "mfu"),
        (["estimate", "--params", "7e9"], "--tokens"),
        (["estimate", "--compute", "1e24", "--law", "/nonexistent/law.yaml"], "not found"),
        (["estimate", "--scenario", "/nonexistent/s.yaml"], "not found"),
        (["estimate", "--target-loss", "2.0", "--params", "1e8"], "cannot reach"),
    ],
)
def test_errors_are_one_line_and_nonzero(capsys, args, fragment):
    code, out, err = run_catching(capsys, args)
    assert code != 0
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def run_catching(capsys, args):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_malformed_law_yaml(tmp_path, capsys):
    p = tmp_path / "law.yaml"
    p.write_text(
        "id: x\nform: parametric\nconstants: {E: 1.8}\ncitation: me\n"
        "fitted_range: {params: [1, 2], tokens: [1, 2]}\n"
    )
    code, _, err = run_catching(capsys, ["estimate", "--compute", "1e24", "--law", str(p)])
    assert code == 2 and "constants.A" in err and str(p) in err


def test_scenario_file_and_save(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    d = js(capsys, "estimate", "--compute", "1e24", "--gpus", "512", "--save-scenario", str(p))
    again = js(capsys, "estimate", "--scenario", str(p))
    assert again["cost_usd"] == pytest.approx(d["cost_usd"]) and again["gpus"] == 512


def test_python_m_entry_point():
    r = subprocess.run(
        [sys.executable, "-m", "estimator", "estimate", "--compute", "1e24", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["train_flops"] == pytest.approx(1e24)
    r = subprocess.run(
        [sys.executable, "-m", "estimator", "estimate", "--target-loss", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.startswith("estimator: error:")


EPOCH_CSV = str(__import__("estimator.fitting", fromlist=["x"]).epoch_runs_path())


def test_fit_json_reproduces_epoch_and_saves_usable_law(capsys, tmp_path):
    law_path = tmp_path / "fit.yaml"
    d = js(
        capsys,
        "fit",
        EPOCH_CSV,
        "--exclude-flagged",
        "--bootstrap",
        "30",
        "--seed",
        "1",
        "--save",
        str(law_path),
    )
    for k in ("E", "A", "B", "alpha", "beta", "objective", "n_runs", "n_skipped", "intervals"):
        assert k in d
    assert d["n_runs"] == 240
    assert d["E"] == pytest.approx(1.817, abs=0.002) and d["alpha"] == pytest.approx(
        0.347, abs=0.002
    )
    lo, hi = d["intervals"]["alpha"]
    assert lo < d["alpha"] < hi
    est = js(capsys, "estimate", "--law", str(law_path), "--compute", "1e24")
    assert est["law"] == "my-fit"
    assert (
        est["params_p10"] < est["params"] < est["params_p90"]
    )  # the bootstrap travels with the law


def test_fit_reports_skipped_rows(capsys, tmp_path):
    p = tmp_path / "runs.csv"
    rows = ["N,D,loss"] + [
        f"{n:.6g},{20 * n:.6g},{1.8 + 400 / n**0.34 + 2000 / (20 * n) ** 0.36:.6f}"
        for n in (1e7, 3e7, 1e8, 3e8, 1e9, 3e9, 1e10)
    ]
    rows.insert(3, "1e8,-5,2.5")
    rows.insert(5, "3e8,,2.4")
    p.write_text("\n".join(rows) + "\n")
    code, out, err = run(capsys, "fit", str(p))
    assert code == 0, err
    assert "skipped line 4" in out and "skipped line 6" in out
