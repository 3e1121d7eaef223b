"""Files and flags combined, as a user combines them (issue 16).

The loaders' own property tests (``tests/test_robustness.py``) try one loader at a time. Here
one generated example is what a user does: a scenario file someone sent (its law and hardware
named by id, by a path relative to the scenario, by an absolute path, or by a hostile path: a
FIFO, a device, a folder, a 50 MB file, a secret file), command-line flags on top, a user
profile folder and a user law folder holding good overrides, broken overrides, duplicates and
hostile entries, and ``--save-scenario``, run from an unrelated working directory that holds
decoy files under the same relative names. Properties:

* exit 0 with strict, finite JSON, or exit 2 with exactly one error line; never exit 3, never a
  hang (hang guard), never a traceback;
* nothing of a secret file and nothing of the decoys appears in any output; no raw control
  character reaches stdout;
* a result is a sane plan (at least one parameter and token, loss in (0, 100]) and says so when
  it is absurd (under a minute, under a cent);
* the estimate names every user file it used and warns about broken user files for its ids, and
  every broken user file is warned about on stderr;
* the saved scenario reloads, from another working directory, to the very same estimate.

And a round-trip property of its own: every valid scenario, saved anywhere, loads to the same
scenario and the same estimate from any working directory.

Counts: ``ROBUSTNESS_COUNTS=path.json`` writes ``path.combined.json`` (see docs/robustness.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from guards import hang_guard
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from estimator.cli import main
from estimator.engine import estimate
from estimator.errors import EstimatorError
from estimator.hardware import builtin_profiles
from estimator.laws import builtin_laws
from estimator.scenario import Scenario, load_scenario, save_scenario

ROOT = Path(__file__).resolve().parent.parent
SECRET = "CANARY-91c2e-never-print"
DECOY = "DECOYxq"
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci").strip().lower() or "ci"
_SCALE = 10 if _PROFILE == "thorough" else 1
COUNTS: Counter[str] = Counter()


def examples(n: int) -> settings:
    return settings(max_examples=n * _SCALE, deadline=None, derandomize=True, database=None,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    path = os.environ.get("ROBUSTNESS_COUNTS")
    if path:
        out = Path(path).with_suffix(".combined.json")
        out.write_text(json.dumps(dict(sorted(COUNTS.items())), indent=2) + "\n")


# --------------------------------------------------------------------------------------
# The world: files a user has and files a stranger sent
# --------------------------------------------------------------------------------------


def _law(**changes) -> str:
    d = yaml.safe_load((ROOT / "estimator/data/laws/chinchilla-2022.yaml").read_text())
    d.update(changes)
    return yaml.safe_dump(d, sort_keys=False)


def _profile(base: str = "h100-sxm", **changes) -> str:
    d = yaml.safe_load((ROOT / "hardware_profiles" / f"{base}.yaml").read_text())
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict):
            d[k] = {**d[k], **v}
        else:
            d[k] = v
    return yaml.safe_dump(d, sort_keys=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    files = root / "files"
    files.mkdir()
    (files / "good_law.yaml").write_text(_law(id="sent-law", name="Sent law"))
    (files / "builtin_id_law.yaml").write_text(_law(name="Chinchilla, edited"))
    (files / "broken_law.yaml").write_text("id: broken\nform: parametric\n")
    (files / "good_chip.yaml").write_text(_profile(id="sent-chip", display_name="Sent chip"))
    (files / "broken_chip.yaml").write_text(_profile(memory_gb="lots"))
    (files / "secret").write_text("".join(f"u{i}:$6${SECRET}{i}$x:19000:0:99999:7:::\n"
                                          for i in range(20)))
    os.mkfifo(files / "fifo.yaml")
    with open(files / "big.yaml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    (files / "dir.yaml").mkdir()
    (files / "zero.yaml").symlink_to("/dev/zero")
    mail = root / "mail"  # where the scenario arrives
    mail.mkdir()
    # the working directory, with decoys under the same relative names as the sent files
    cwd = root / "elsewhere" / "deep"
    cwd.mkdir(parents=True)
    decoys = root / "elsewhere" / "files"
    decoys.mkdir()
    (decoys / "good_law.yaml").write_text(_law(id="decoy-law", name=DECOY))
    (decoys / "good_chip.yaml").write_text(_profile(id="decoy-chip", display_name=DECOY))
    return root


# references a scenario file may hold, relative to the mail folder (or absolute)
def _refs(kind: str, root: Path) -> tuple[list[str], list[str]]:
    """(usable references, hostile or broken ones)."""
    ids = list(builtin_laws()) if kind == "law" else list(builtin_profiles())[:6]
    good = "good_law.yaml" if kind == "law" else "good_chip.yaml"
    extra = (["builtin_id_law.yaml"] if kind == "law" else [])
    broken = "broken_law.yaml" if kind == "law" else "broken_chip.yaml"
    usable = ids + (["user-chip"] if kind == "hardware" else ["user-law"]) + [
        f"../files/{good}", str(root / "files" / good), *[f"../files/{e}" for e in extra]]
    hostile = [f"../files/{broken}", "../files/secret", "../files/fifo.yaml",
               "../files/big.yaml", "../files/dir.yaml", "../files/zero.yaml",
               "../files/missing.yaml", "/dev/urandom", str(root / "files" / "secret")]
    return usable, hostile


def _pick(draw, usable, hostile):
    """A usable choice three times in four (hypothesis favours small draws: 3 is hostile)."""
    return draw(st.sampled_from(hostile if draw(st.integers(0, 3)) == 3 else usable))


USER_PROFILE_FILES = {
    "override_good": ("h100.yaml", lambda: _profile(prices={"on_demand": {
        "usd_per_hour": 0.5, "date": "2026-01", "provider": "me", "source": "my contract"}})),
    "override_broken": ("a100.yaml", lambda: _profile("a100-80gb", prices={"on_demand": {
        "usd_per_hour": "$1.10", "date": "2026-01", "provider": "me", "source": "x"}})),
    "user_chip": ("mine.yaml", lambda: _profile(id="user-chip", display_name="User\x1b[31m chip")),
    "user_chip_dup": ("mine2.yaml", lambda: _profile(id="user-chip", display_name="Dup")),
    "garbage": ("junk.yaml", lambda: "\x00\x01\x02 not yaml"),
    "secret_named": ("secret.yaml", lambda: f"root:$6${SECRET}:1:2:3\n" * 3),
}
USER_LAW_FILES = {
    "law_override": ("epoch.yaml", lambda: _law(id="epoch-2024", name="My Epoch")),
    "law_user": ("user.yaml", lambda: _law(id="user-law", name="User law")),
    "law_broken": ("broken.yaml", lambda: "id: chinchilla-2022\nform: parametric\n"),
}
HOSTILE_ENTRIES = ("fifo", "big", "zero", "dir")


def _make_user_folder(base: Path, entries, table) -> None:
    base.mkdir()
    for e in entries:
        if e in table:
            name, text = table[e]
            (base / name).write_text(text())
        elif e == "fifo":
            os.mkfifo(base / "pipe.yaml")
        elif e == "big":
            with open(base / "big.yaml", "wb") as fh:
                fh.truncate(50 * 1024 * 1024)
        elif e == "zero":
            (base / "zero.yaml").symlink_to("/dev/zero")
        elif e == "dir":
            (base / "sub.yaml").mkdir()


# --------------------------------------------------------------------------------------
# Generated examples
# --------------------------------------------------------------------------------------

NUMBERS = {  # name: (valid, out of range or malformed)
    "gpus": (["1", "8", "1024", "65536", "10000000", "2k", "2,048"], ["0", "-3", "1,5"]),
    "target_loss": (["1.9", "2.2", "3.5"], ["1.0", "0", "99", "nan"]),
    "compute_flops": (["1e21", "5.76e23", "1e27", "1e12"], ["1", "1e40"]),
    "params": (["7B", "70B", "1e6", "1e13"], ["1", "0"]),
    "tokens": (["140B", "1.4T", "1e6"], ["1", "-1"]),
    "mfu": (["35%", "0.5", "1", "0.01"], ["2", "0"]),
    "price_per_hour": (["$2.50/h", "0.001", "$0.0001", "1e4"], ["-1", "$1,5"]),
    "seq_len": (["2048", "1", "10000000"], ["0"]),
    "tp": (["1", "8", "1024"], ["0", "2000"]),
    "unique_tokens": (["1e11", "1e13"], ["0"]),
    "inference_tokens_per_day": (["0", "1e10", "1e18"], ["-5"]),
}
FLAG = {"gpus": "--gpus", "target_loss": "--target-loss", "compute_flops": "--compute",
        "params": "--params", "tokens": "--tokens", "mfu": "--mfu",
        "price_per_hour": "--price-per-hour", "seq_len": "--seq-len",
        "tp": "--tp", "unique_tokens": "--unique-tokens",
        "inference_tokens_per_day": "--inference-tokens-per-day"}


@st.composite
def user_example(draw, root: Path):
    scen: dict = {}
    for name in draw(st.sets(st.sampled_from(sorted(NUMBERS)), max_size=4)):
        scen[name] = _pick(draw, *NUMBERS[name])
    if "target_loss" in scen:
        scen["mode"] = "loss"
    elif "compute_flops" in scen:
        scen["mode"] = "compute"
    elif "tokens" in scen:
        scen["mode"] = "model"
        scen.setdefault("params", "7B")
    for kind in ("law", "hardware", "inference_hardware"):
        if draw(st.booleans()):
            scen[kind] = _pick(draw, *_refs("law" if kind == "law" else "hardware", root))
    flags: list[str] = []
    if not scen:
        scen["gpus"] = "1024"
    for name in draw(st.sets(st.sampled_from(sorted(NUMBERS)), max_size=2)):
        if name == "tokens":
            continue
        flags += [FLAG[name], _pick(draw, *NUMBERS[name])]
        if name == "params":
            flags += ["--tokens-per-param", draw(st.sampled_from(["20", "200"]))]
    if draw(st.booleans()):  # a path typed on the command line: relative to the cwd
        flag = draw(st.sampled_from(["--law", "--hardware"]))
        good = "good_law.yaml" if flag == "--law" else "good_chip.yaml"
        ids = ["chinchilla-2022", "user-law"] if flag == "--law" else ["h100-sxm", "user-chip"]
        flags += [flag, _pick(draw, [f"../../files/{good}", *ids],
                              ["../../files/missing.yaml", "../../files/fifo.yaml",
                               "../../files/secret"])]
    profiles = draw(st.sets(st.sampled_from(sorted(USER_PROFILE_FILES) + list(HOSTILE_ENTRIES)),
                            max_size=4))
    laws = draw(st.sets(st.sampled_from(sorted(USER_LAW_FILES) + ["fifo"]), max_size=2))
    command = draw(st.sampled_from(["estimate"] * 4 + ["compare"]))
    return scen, flags, profiles, laws, command


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                hang_guard(f"CLI {argv}"):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: a bad flag value
                code = exc.code
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def _finite(o) -> bool:
    if isinstance(o, float):
        return math.isfinite(o)
    if isinstance(o, dict):
        return all(_finite(v) for v in o.values())
    if isinstance(o, list):
        return all(_finite(v) for v in o)
    return True


@contextlib.contextmanager
def _user_folders(root: Path, profiles, laws):
    base = Path(tempfile.mkdtemp(dir=root, prefix="user-"))
    _make_user_folder(base / "profiles", profiles, USER_PROFILE_FILES)
    _make_user_folder(base / "laws", laws, USER_LAW_FILES)
    saved = {k: os.environ.get(k) for k in ("ESTIMATOR_PROFILE_DIR", "ESTIMATOR_LAW_DIR")}
    os.environ["ESTIMATOR_PROFILE_DIR"] = str(base / "profiles")
    os.environ["ESTIMATOR_LAW_DIR"] = str(base / "laws")
    try:
        yield base
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(base, ignore_errors=True)


def test_files_and_flags_combined(world):
    root = world

    @examples(100)
    @given(user_example(root))
    def check(example):
        scen, flags, profiles, laws, command = example
        with _user_folders(root, profiles, laws) as base:
            scenario_file = root / "mail" / "sent.yaml"
            scenario_file.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in scen.items()))
            saved = base / "saved.yaml"
            argv = [command, "--json", "--scenario", str(scenario_file), *flags]
            if command == "estimate":
                argv += ["--save-scenario", str(saved)]
            code, out, err = _run(argv, root / "elsewhere" / "deep")
            COUNTS[f"{command}: exit {code}"] += 1
            assert code in (0, 2), (argv, err)
            lines = err.splitlines()
            errors = [ln for ln in lines if ": error:" in ln]
            assert all(ln.startswith(("warning: ", "estimator")) for ln in lines), err
            assert len(errors) == (1 if code == 2 else 0), err
            assert SECRET not in out + err and DECOY not in out
            assert not any(ch in out for ch in "\x1b\r\x07\u202e")
            broken = _expected_broken(profiles, laws)
            warned = [ln for ln in lines if ln.startswith("warning: ")]
            if code != 0:
                return
            assert len(warned) >= min(broken, 10), (broken, err)  # every broken user file
            d = json.loads(out)
            assert _finite(d)
            ests = d["estimates"] if command == "compare" else [d]
            for e in ests:
                _check_sane(e)
                _check_provenance(e, profiles, laws, base)
            if command == "estimate":
                COUNTS["round trip"] += 1
                again = _run(["estimate", "--json", "--scenario", str(saved)], root)
                assert again[0] == 0, again[2]
                assert json.loads(again[1]) == d

    check()


def _expected_broken(profiles, laws) -> int:
    n = sum(1 for p in profiles if p in ("override_broken", "garbage", "secret_named",
                                         *HOSTILE_ENTRIES))
    n += "user_chip_dup" in profiles and "user_chip" in profiles  # the second is ignored
    return n + sum(1 for x in laws if x in ("law_broken", "fifo"))


def _check_sane(e: dict) -> None:
    assert e["params"] >= 1 and e["tokens"] >= 1 and 0 < e["loss"] <= 100
    w = " ".join(e["warnings"])
    if e["wall_clock_days"] * 86400 < 60:
        assert "below a minute" in w
    if e["cost_usd"] < 0.01:
        assert "under a cent" in w


def _check_provenance(e: dict, profiles, laws, base: Path) -> None:
    prov = e["provenance"]
    w = " ".join(e["warnings"])
    if e["hardware"] == "h100-sxm" and "override_good" in profiles:
        assert prov["hardware"] == str(base / "profiles" / "h100.yaml")
    if prov["hardware"] != "built-in":
        assert f"comes from the user file {prov['hardware']}" in w
    if e["hardware"] == "a100-80gb" and "override_broken" in profiles:
        assert prov["hardware"] == "built-in" and "failed to load" in w
    if e["law"] == "epoch-2024" and "law_override" in laws:
        assert prov["law"] == str(base / "laws" / "epoch.yaml")
    if prov["law"] != "built-in":
        assert f"comes from the file {prov['law']}" in w
    assert "decoy" not in e["law"] and "decoy" not in e["hardware"]


# --------------------------------------------------------------------------------------
# Every saved scenario reloads to the same estimate, from anywhere
# --------------------------------------------------------------------------------------

LAW_FILE_REFS = ("inside", "outside", "builtin")


@st.composite
def valid_scenario(draw):
    mode = draw(st.sampled_from(["loss", "compute", "model", "match"]))
    d: dict = {"mode": mode}
    if mode == "loss":
        d["target_loss"] = draw(st.floats(2.0, 3.5))
    elif mode == "compute":
        d["compute_flops"] = draw(st.floats(1e19, 1e27))
    elif mode == "model":
        d["params"] = draw(st.floats(1e8, 5e11))
        d["tokens"] = draw(st.floats(1e9, 5e13))
    opt = {
        "gpus": st.integers(1, 200_000),
        "precision": st.sampled_from(["bf16", "fp8"]),
        "hardware": st.sampled_from(["h100-sxm", "b200", "mi300x", "tpu-v5p", "a100-80gb"]),
        "mfu": st.floats(0.05, 0.9),
        "goodput": st.floats(0.3, 1.0),
        "price_per_hour": st.floats(1e-4, 1e3),
        "pue": st.floats(1.0, 2.0),
        "grid_kg_co2_per_kwh": st.floats(0.0, 1.0),
        "exact_flops": st.booleans(),
        "seq_len": st.sampled_from([1024, 2048, 4096, 8192]),
        "recompute": st.sampled_from(["none", "selective", "full"]),
        "tp": st.sampled_from([None, 1, 8]),
        "inference_batch": st.integers(1, 512),
        "inference_tokens_per_day": st.floats(0, 1e13),
        "deployment_days": st.floats(0, 3650),
        "optimize": st.sampled_from(["compute", "lifetime"]),
        "unique_tokens": st.floats(1e11, 1e15),
    }
    for k in draw(st.sets(st.sampled_from(sorted(opt)), max_size=6)):
        d[k] = draw(opt[k])
    law_ref = draw(st.sampled_from(LAW_FILE_REFS))
    return d, law_ref


def test_every_saved_scenario_reloads_to_the_same_estimate(tmp_path_factory):
    root = tmp_path_factory.mktemp("roundtrip")
    (root / "a" / "laws").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "laws" / "inside.yaml").write_text(_law(id="inside-law"))
    (root / "outside.yaml").write_text(_law(id="outside-law"))

    @examples(80)
    @given(valid_scenario())
    def check(example):
        fields, law_ref = example
        law = {"inside": str(root / "a" / "laws" / "inside.yaml"),
               "outside": str(root / "outside.yaml"), "builtin": "chinchilla-2022"}[law_ref]
        s = Scenario(**fields, law=law)
        try:
            s = s.validated()
            est = estimate(s)
        except EstimatorError:
            COUNTS["round trip: scenario refused"] += 1
            assume(False)
        COUNTS["round trip: saved and reloaded"] += 1
        path = root / "a" / "plan.yaml"
        save_scenario(s, path)
        if law_ref == "inside":
            assert "law: laws/inside.yaml" in path.read_text()
        old = os.getcwd()
        os.chdir(root / "b")
        try:
            back = load_scenario(path)
            again = estimate(back)
        finally:
            os.chdir(old)
        assert back == s
        assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(est.to_dict(),
                                                                         sort_keys=True)

    check()
