"""Files from strangers, across loaders: issue 16's reproducers, one test each.

A scenario is something people email each other, so every loader (scenario, law, profile) and
every user folder must treat a file as hostile: only regular files of bounded size are read
(never a device, a pipe or a folder, so nothing hangs or exhausts memory), relative paths in a
scenario resolve against its own folder, errors never quote a file's content, broken or hostile
files in a user folder are reported and skipped, and every face says which law and profiles
came from user files. The cross-cutting properties (files and flags combined) are in
``tests/test_robustness_combined.py``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from guards import hang_guard

from estimator import fileio
from estimator.catalogue import load_catalogue
from estimator.cli import main
from estimator.engine import estimate
from estimator.errors import (
    EstimatorError,
    InputError,
    LawError,
    ProfileError,
    ReadOnlyFileError,
    ScenarioError,
)
from estimator.hardware import load_profile_file, load_profiles
from estimator.laws import load_law_file
from estimator.scenario import Scenario, load_scenario, save_scenario

ROOT = Path(__file__).resolve().parent.parent
H100 = ROOT / "hardware_profiles" / "h100-sxm.yaml"
CHINCHILLA = ROOT / "estimator" / "data" / "laws" / "chinchilla-2022.yaml"
SECRET = "CANARY-7f3a9c-do-not-print"


@pytest.fixture(autouse=True)
def empty_user_folders(tmp_path, monkeypatch):
    """Every test starts with empty user folders of its own (never the real ones)."""
    monkeypatch.setenv("ESTIMATOR_PROFILE_DIR", str(tmp_path / "user-profiles"))
    monkeypatch.setenv("ESTIMATOR_LAW_DIR", str(tmp_path / "user-laws"))
    return tmp_path


def run(capsys, *argv, guard: str = "CLI"):
    with hang_guard(guard):
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    errors = [ln for ln in err.splitlines() if ln.startswith("estimator: error:")]
    assert len(errors) == 1, err
    return errors[0]


def profile_yaml(**changes) -> str:
    data = yaml.safe_load(H100.read_text())
    for k, v in changes.items():
        data[k] = v
    return yaml.safe_dump(data, sort_keys=False)


def law_yaml(**changes) -> str:
    data = yaml.safe_load(CHINCHILLA.read_text())
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False)


# --------------------------------------------------------------------------------------
# Hostile paths: devices, pipes, folders, huge files
# --------------------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path):
    """{kind: path} of files no loader may read: a FIFO (reading blocks forever), devices that
    never end, a folder, a 50 MB file, and symlinks to a device and a FIFO."""
    d = tmp_path / "hostile"
    d.mkdir()
    fifo = d / "pipe.yaml"
    os.mkfifo(fifo)
    big = d / "big.yaml"
    with open(big, "wb") as fh:  # sparse: 50 MB of size, no disk
        fh.truncate(50 * 1024 * 1024)
    folder = d / "folder.yaml"
    folder.mkdir()
    (d / "zero-link.yaml").symlink_to("/dev/zero")
    (d / "pipe-link.yaml").symlink_to(fifo)
    out = {"fifo": fifo, "big": big, "folder": folder, "zero-link": d / "zero-link.yaml",
           "pipe-link": d / "pipe-link.yaml"}
    for dev in ("/dev/zero", "/dev/urandom"):
        if os.path.exists(dev):
            out[dev] = Path(dev)
    return out


WHY = {"fifo": "named pipe", "big": "too large", "folder": "folder", "zero-link": "device",
       "pipe-link": "named pipe", "/dev/zero": "device", "/dev/urandom": "device"}


@pytest.mark.parametrize("kind", list(WHY))
def test_the_safe_reader_refuses_without_reading(hostile, kind):
    if kind not in hostile:
        pytest.skip(f"no {kind} here")
    with hang_guard(f"read {kind}"), pytest.raises(OSError) as info:
        fileio.read_user_bytes(hostile[kind], max_bytes=fileio.MAX_LAW_BYTES)
    assert WHY[kind] in fileio.read_problem(info.value)


@pytest.mark.parametrize("kind", list(WHY))
@pytest.mark.parametrize("loader, error", [(load_law_file, LawError),
                                           (load_profile_file, ProfileError),
                                           (load_scenario, ScenarioError)])
def test_every_loader_refuses_devices_pipes_folders_and_huge_files(hostile, kind, loader,
                                                                   error):
    if kind not in hostile:
        pytest.skip(f"no {kind} here")
    with hang_guard(f"{loader.__name__} {kind}"), pytest.raises(error) as info:
        loader(hostile[kind])
    msg = str(info.value)
    assert WHY[kind] in msg and "\n" not in msg


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom", "big", "folder"])
@pytest.mark.parametrize("how", ["--law", "--hardware", "--scenario", "law:", "hardware:",
                                 "inference_hardware:"])
def test_cli_never_hangs_or_exhausts_memory_on_a_hostile_path(hostile, kind, how, capsys,
                                                              tmp_path):
    if kind not in hostile:
        pytest.skip(f"no {kind} here")
    path = hostile[kind]
    if how.endswith(":"):  # named inside a scenario someone sent
        scenario = tmp_path / "from-a-stranger.yaml"
        scenario.write_text(f"{how} {path}\n")
        argv = ["estimate", "--scenario", scenario]
    else:
        argv = ["estimate", how, path]
    code, out, err = run(capsys, *argv, guard=f"estimate {how} {kind}")
    assert code == 2 and not out
    assert WHY[kind] in one_error_line(err)


def test_hostile_files_in_the_profile_folder_are_reported_and_skipped(hostile, tmp_path,
                                                                      capsys, monkeypatch):
    folder = tmp_path / "user-profiles"
    folder.mkdir()
    for kind in ("fifo", "big", "zero-link", "pipe-link"):
        os.rename(hostile[kind], folder / hostile[kind].name) if kind in ("fifo", "big") else \
            (folder / hostile[kind].name).symlink_to(os.readlink(hostile[kind]))
    (folder / "dir.yaml").mkdir()
    (folder / "mine.yaml").write_text(profile_yaml(id="my-chip", display_name="My chip"))
    with hang_guard("load_profiles with hostile files"):
        ps = load_profiles(folder)
    assert "my-chip" in ps.profiles
    assert len(ps.errors) == 5
    code, out, err = run(capsys, "estimate", "--hardware", "my-chip", "--params", "7B",
                         "--tokens", "140B")
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warned) == 5 and all("(skipped)" in w for w in warned)
    code, out, err = run(capsys, "profiles")
    assert code == 0 and "my-chip" in out and err.count("warning:") == 5


def test_a_folder_of_very_many_files_is_read_up_to_a_limit(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"p{i:02}.yaml").write_text("x: 1\n")
    files, problems = fileio.list_user_folder(folder, "user profile folder", limit=5)
    assert [f.name for f in files] == [f"p{i:02}.yaml" for i in range(5)]
    assert len(problems) == 1 and "12 files" in problems[0]


def test_a_file_that_grows_past_the_cap_while_read_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "grows.yaml"
    p.write_text("a: 1\n")
    real_read = os.read

    def endless(fd, n):  # a file that keeps growing: more bytes on every read
        return b"x" * n if fd not in (0, 1, 2) else real_read(fd, n)

    monkeypatch.setattr(fileio.os, "read", endless)
    with pytest.raises(fileio.UnsafeFileError, match="too large"):
        fileio.read_user_bytes(p, max_bytes=1000)


# --------------------------------------------------------------------------------------
# Relative paths resolve against the scenario's folder
# --------------------------------------------------------------------------------------


def _scenario_with_files(root: Path) -> Path:
    (root / "sent" / "laws").mkdir(parents=True)
    (root / "hw").mkdir()
    (root / "sent" / "laws" / "ours.yaml").write_text(law_yaml(id="ours", name="Our law"))
    (root / "hw" / "chip.yaml").write_text(profile_yaml(id="our-chip", display_name="Our chip"))
    s = root / "sent" / "plan.yaml"
    s.write_text("mode: model\nparams: 7.0e+9\ntokens: 1.4e+11\nlaw: laws/ours.yaml\n"
                 "hardware: ../hw/chip.yaml\n")
    return s


def test_relative_paths_in_a_scenario_resolve_against_its_folder(tmp_path, monkeypatch,
                                                                  capsys):
    s = _scenario_with_files(tmp_path)
    # a decoy next to the working directory: the same relative names, other contents
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "laws").mkdir(parents=True)
    (elsewhere / "laws" / "ours.yaml").write_text(law_yaml(id="decoy", name="Decoy law"))
    outs = []
    for cwd in (tmp_path, elsewhere, s.parent):
        monkeypatch.chdir(cwd)
        code, out, err = run(capsys, "estimate", "--scenario", s, "--json")
        assert code == 0, err
        outs.append(json.loads(out))
    assert {o["law"] for o in outs} == {"ours"} and {o["hardware"] for o in outs} == {"our-chip"}
    assert len({json.dumps(o, sort_keys=True) for o in outs}) == 1
    loaded = load_scenario(s)
    assert loaded.law == str(tmp_path / "sent" / "laws" / "ours.yaml")
    assert loaded.hardware == str(tmp_path / "hw" / "chip.yaml")


def test_saved_scenarios_keep_their_files_relative_when_they_travel_together(tmp_path):
    s = load_scenario(_scenario_with_files(tmp_path))
    copy = tmp_path / "sent" / "copy.yaml"
    save_scenario(s, copy)
    text = copy.read_text()
    assert "law: laws/ours.yaml" in text  # inside the folder: relative
    assert f"hardware: {tmp_path / 'hw' / 'chip.yaml'}" in text  # outside: absolute
    # the folder is sent on: it still works from its new place
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "sent", moved)
    (moved / "laws" / "ours.yaml").write_text(law_yaml(id="ours", name="Moved law"))
    assert load_scenario(moved / "copy.yaml").law == str(moved / "laws" / "ours.yaml")


def test_a_path_typed_on_the_command_line_is_relative_to_the_working_directory(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "laws").mkdir()
    (tmp_path / "laws" / "mine.yaml").write_text(law_yaml(id="mine"))
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(capsys, "estimate", "--law", "laws/mine.yaml", "--save-scenario",
                         out_dir / "s.yaml", "--json")
    assert code == 0, err
    monkeypatch.chdir(out_dir)
    again = estimate(load_scenario(out_dir / "s.yaml")).to_dict()
    assert again["law"] == "mine" and json.loads(out)["cost_usd"] == again["cost_usd"]


# --------------------------------------------------------------------------------------
# Errors never quote a file's content
# --------------------------------------------------------------------------------------

SECRET_FILES = {
    "shadow": "".join(f"user{i}:$6${SECRET}{i}$hash:19000:0:99999:7:::\n" for i in range(24)),
    "passwd": "".join(f"user{i}:x:{1000 + i}:{1000 + i}:{SECRET}:/home/u:/bin/sh\n"
                      for i in range(24)),
    "ini": f"[section]\npassword = {SECRET}\ntoken = {SECRET}\nuser = admin\n",
    "json": json.dumps({f"{SECRET}-{i}": i for i in range(10)}),
    "env": f"AWS_SECRET_ACCESS_KEY={SECRET}\nDB_PASSWORD={SECRET}\n",
    "key": (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}{SECRET}\n"
            "-----END OPENSSH PRIVATE KEY-----\n"),
    "binary": "\x00\x01" + SECRET,
}


@pytest.mark.parametrize("kind", list(SECRET_FILES))
@pytest.mark.parametrize("as_", ["law", "hardware", "scenario", "inference_hardware"])
def test_no_error_quotes_the_content_of_a_file(tmp_path, capsys, kind, as_):
    secret = tmp_path / "etc" / "shadow"
    secret.parent.mkdir()
    secret.write_text(SECRET_FILES[kind])
    sent = tmp_path / "mail" / "plan.yaml"
    sent.parent.mkdir()
    if as_ == "scenario":
        argv = ["estimate", "--scenario", secret]
    else:
        sent.write_text(f"{as_}: ../etc/shadow\n")  # relative: next to the scenario
        argv = ["estimate", "--scenario", sent]
    code, out, err = run(capsys, *argv)
    assert code == 2
    line = one_error_line(err)
    assert SECRET not in out + err and "$6$" not in err
    assert str(secret) in line  # the file is named, with what is wrong


def test_a_wrong_value_is_quoted_short(tmp_path):
    p = tmp_path / "law.yaml"
    p.write_text(law_yaml(constants={"E": SECRET * 10, "A": 1, "B": 1, "alpha": 0.3,
                                     "beta": 0.3}))
    with pytest.raises(LawError) as info:
        load_law_file(p)
    assert SECRET * 2 not in str(info.value) and len(str(info.value)) < 400


# --------------------------------------------------------------------------------------
# Saving over symlinks and read-only files
# --------------------------------------------------------------------------------------


def test_atomic_save_writes_through_a_symlink(tmp_path):
    target = tmp_path / "real.yaml"
    target.write_text("old")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    chain = tmp_path / "chain.yaml"
    chain.symlink_to(link)
    assert fileio.atomic_write_text(chain, "new") == target
    assert chain.is_symlink() and link.is_symlink() and target.read_text() == "new"
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "created.yaml")
    fileio.atomic_write_text(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "created.yaml").read_text() == "made"


def test_a_read_only_file_is_refused_unless_confirmed(tmp_path, capsys):
    p = tmp_path / "frozen.yaml"
    save_scenario(Scenario(), p)
    p.chmod(0o444)
    before = p.read_bytes()
    with pytest.raises(ReadOnlyFileError, match="read-only"):
        save_scenario(replace(Scenario(), gpus=7), p)
    assert p.read_bytes() == before
    code, out, err = run(capsys, "estimate", "--gpus", "64", "--save-scenario", p)
    assert code == 2 and "read-only" in one_error_line(err) and p.read_bytes() == before
    save_scenario(replace(Scenario(), gpus=9), p, overwrite_readonly=True)
    assert load_scenario(p).gpus == 9 and not p.stat().st_mode & 0o222


def test_the_cli_saves_a_scenario_through_a_symlink(tmp_path, capsys):
    target = tmp_path / "real.yaml"
    save_scenario(Scenario(), target)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    code, out, err = run(capsys, "estimate", "--gpus", "64", "--save-scenario", link)
    assert code == 0, err
    assert link.is_symlink() and load_scenario(target).gpus == 64


# --------------------------------------------------------------------------------------
# Unreadable configuration folders fall back and say so
# --------------------------------------------------------------------------------------


def _deny(monkeypatch, folder: Path) -> None:
    """Every stat or listing under ``folder`` fails with EACCES, as for a folder whose parent
    lost its search permission."""
    real_stat, real_scandir, real_listdir = os.stat, os.scandir, os.listdir
    prefix = str(folder)

    def check(p):
        if os.fspath(p).startswith(prefix):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))

    def fake_stat(p, *a, **k):
        check(p)
        return real_stat(p, *a, **k)

    def fake_scandir(p="."):
        check(p)
        return real_scandir(p)

    def fake_listdir(p="."):
        check(p)
        return real_listdir(p)

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "scandir", fake_scandir)
    monkeypatch.setattr(os, "listdir", fake_listdir)


@pytest.mark.parametrize("command", [["estimate"], ["compare"], ["profiles"]])
def test_an_unreadable_config_folder_falls_back_and_says_so(tmp_path, monkeypatch, capsys,
                                                            command):
    config = tmp_path / "config"
    monkeypatch.setenv("ESTIMATOR_PROFILE_DIR", str(config / "hardware_profiles"))
    monkeypatch.setenv("ESTIMATOR_LAW_DIR", str(config / "laws"))
    _deny(monkeypatch, config)
    code, out, err = run(capsys, *command)
    assert code == 0, err
    assert "permission denied" in err and "using the built-in ones only" in err
    assert "internal error" not in err


def _can_run_as_nobody() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    try:
        probe = subprocess.run([sys.executable, "-c", "import estimator"], capture_output=True,
                               preexec_fn=_as_nobody, env=_nobody_env(), cwd="/")
    except OSError:  # this Python is not readable by 'nobody' (e.g. under /root)
        return False
    return probe.returncode == 0


def _as_nobody():  # pragma: no cover - runs in the child
    os.setgid(65534)
    os.setuid(65534)


def _nobody_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), HOME="/nonexistent")


def test_an_unreadable_config_folder_for_real(tmp_path):
    """The same with real permissions: a config folder whose parent the user cannot search
    (as root, the CLI runs as 'nobody'; otherwise as this user)."""
    parent = tmp_path / "locked"
    (parent / "config" / "hardware_profiles").mkdir(parents=True)
    env = dict(os.environ, ESTIMATOR_PROFILE_DIR=str(parent / "config" / "hardware_profiles"),
               ESTIMATOR_LAW_DIR=str(parent / "config" / "laws"))
    kwargs: dict = {}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not _can_run_as_nobody():
            pytest.skip("cannot run Python as 'nobody' here")
        env.update(_nobody_env())
        kwargs["preexec_fn"] = _as_nobody
        os.chmod(tmp_path, 0o755)
    parent.chmod(0o700 if kwargs else 0o000)
    try:
        with hang_guard("CLI with an unreadable config folder"):
            proc = subprocess.run([sys.executable, "-m", "estimator", "estimate", "--json"],
                                  capture_output=True, text=True, env=env, cwd="/", **kwargs)
    finally:
        parent.chmod(0o700)
    assert proc.returncode == 0, proc.stderr
    assert "permission denied" in proc.stderr and json.loads(proc.stdout)["cost_usd"] > 0


# --------------------------------------------------------------------------------------
# Advice that can fix the error; impossible and absurd plans
# --------------------------------------------------------------------------------------


def _activation_error(**fields) -> InputError:
    s = replace(Scenario(), mode="model", params=7e9, tokens=1.4e11, seq_len=10_000_000,
                **fields)
    with pytest.raises(InputError) as info:
        estimate(s)
    return info.value


def test_memory_advice_offers_only_what_would_help():
    unpinned = _activation_error()
    msg = str(unpinned)
    assert "seq_len" in msg and "more memory" in msg
    assert "tp" not in msg.split(":")[-1] and "micro_batch" not in msg  # nothing pinned to clear
    pinned = _activation_error(tp=1, micro_batch=4, recompute="none")
    for fix in ("tp", "micro_batch", "recompute", "seq_len"):
        assert fix in str(pinned)
    short = replace(Scenario(), mode="model", params=400e9, tokens=1e13, gpus=16)
    with pytest.raises(InputError) as info:
        estimate(short)
    assert "raise gpus to at least" in str(info.value) and "seq_len" not in str(info.value)


def test_memory_advice_names_flags_on_the_cli(capsys):
    code, out, err = run(capsys, "estimate", "--params", "7B", "--tokens", "140B",
                         "--seq-len", "10000000", "--micro-batch", "1")
    line = one_error_line(err)
    assert code == 2 and "--seq-len" in line and "--micro-batch" in line and "--hardware" in line


@pytest.mark.parametrize("argv, words", [
    (["--compute", "1"], "fewer than one"),
    (["--compute", "100"], "fewer than one"),
    (["--params", "1", "--tokens", "1"], "outside (0, 100]"),
    (["--params", "1e3", "--tokens-per-param", "0.001"], "outside (0, 100]"),
    (["--target-loss", "50", "--law", "kaplan-2020"], "fewer than one"),
])
def test_impossible_plans_are_errors_at_the_target(capsys, argv, words):
    code, out, err = run(capsys, "estimate", *argv)
    assert code == 2 and words in one_error_line(err)


def test_absurd_but_valid_plans_carry_warnings(capsys):
    code, out, err = run(capsys, "estimate", "--params", "1e6", "--tokens", "1e6", "--gpus",
                         "1", "--json")
    assert code == 0, err
    w = " | ".join(json.loads(out)["warnings"])
    assert "of wall-clock: below a minute" in w and "under a cent" in w
    assert "worse than a uniform guess" in w


# --------------------------------------------------------------------------------------
# What came from user files is said; broken user files are warned about
# --------------------------------------------------------------------------------------


def _override_h100(tmp_path) -> Path:
    folder = tmp_path / "user-profiles"
    folder.mkdir(exist_ok=True)
    data = yaml.safe_load(H100.read_text())
    data["peak_tflops"]["bf16"] = 1e5
    data["prices"]["on_demand"]["usd_per_hour"] = 0.001
    p = folder / "h100.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_an_override_of_a_built_in_is_named_everywhere(tmp_path, capsys):
    p = _override_h100(tmp_path)
    code, out, err = run(capsys, "estimate", "--match", "70B,1.4T")
    assert code == 0, err
    assert f"User files: hardware profile from {p}" in out
    assert "(user profile)" in out and "$0.0010/h" in out and "$0.00/h" not in out
    assert "under the id of the built-in NVIDIA H100 SXM5 80GB" in out
    assert "over 10x the highest built-in" in out and "under 1/10 of the lowest" in out
    code, out, err = run(capsys, "estimate", "--match", "70B,1.4T", "--json")
    d = json.loads(out)
    assert d["provenance"]["hardware"] == str(p)
    assert any("comes from the user file" in w for w in d["warnings"])
    code, out, err = run(capsys, "compare", "--match", "70B,1.4T")
    assert code == 0 and f"* from a user file: h100-sxm ({p})" in out and "$0.0010" in out
    code, out, err = run(capsys, "profiles")
    assert f"{p} (overrides the built-in)" in out and "$0.0010" in out


def test_reports_name_user_files(tmp_path):
    from estimator import report

    p = _override_h100(tmp_path)
    s = Scenario()
    est = estimate(s)
    md = report.report_markdown(s, est, [])
    assert "Hardware profile from the user file" in md and "(user profile)" in md
    assert "$0.0010/h" in md
    csv_text = report.report_csv(s, est, [])
    assert f"provenance,hardware,{p}," in csv_text


@pytest.mark.parametrize("broken", [
    'prices: {on_demand: {usd_per_hour: "$1.10"}}',
    "peak_tflops: {bf16: -5}",
    "memory_gb: lots",
])
def test_a_broken_override_is_warned_about_in_every_command(tmp_path, capsys, broken):
    folder = tmp_path / "user-profiles"
    folder.mkdir()
    data = yaml.safe_load((ROOT / "hardware_profiles" / "a100-80gb.yaml").read_text())
    data.update(yaml.safe_load(broken))
    (folder / "a100.yaml").write_text(yaml.safe_dump(data))
    code, out, err = run(capsys, "estimate", "--hardware", "a100-80gb")
    assert code == 0, err
    assert "a100.yaml" in err and "(skipped)" in err
    assert "defines hardware profile 'a100-80gb' but failed to load; the built-in" in out
    code, out, err = run(capsys, "compare")
    assert code == 0 and "a100.yaml" in err
    code, out, err = run(capsys, "estimate", "--hardware", "a100-80gb", "--json")
    assert any("failed to load" in w for w in json.loads(out)["warnings"])


def test_a_duplicate_id_is_warned_about(tmp_path, capsys):
    folder = tmp_path / "user-profiles"
    folder.mkdir()
    (folder / "a.yaml").write_text(profile_yaml(id="dup-chip", display_name="First"))
    (folder / "b.yaml").write_text(profile_yaml(id="dup-chip", display_name="Second"))
    code, out, err = run(capsys, "estimate", "--hardware", "dup-chip")
    assert code == 0 and "b.yaml also defines hardware profile 'dup-chip'" in out
    assert "already defined by" in err


def test_a_user_law_overriding_a_built_in_is_named(tmp_path, capsys):
    folder = tmp_path / "user-laws"
    folder.mkdir()
    (folder / "epoch.yaml").write_text(law_yaml(id="epoch-2024", name="Not Epoch"))
    (folder / "broken.yaml").write_text("id: chinchilla-2022\nform: parametric\n")
    code, out, err = run(capsys, "estimate")
    assert code == 0, err
    assert "law 'epoch-2024' comes from the file" in out and "under the id of a built-in" in out
    assert "broken.yaml" in err
    code, out, err = run(capsys, "estimate", "--law", "chinchilla-2022")
    assert "defines law 'chinchilla-2022' but failed to load" in out


def test_a_law_file_with_a_built_in_id_is_not_labelled_built_in(tmp_path, capsys):
    p = tmp_path / "copy.yaml"
    p.write_text(law_yaml())  # id chinchilla-2022, from a path
    code, out, err = run(capsys, "estimate", "--law", p, "--json")
    d = json.loads(out)
    assert d["provenance"]["law"] == str(p)
    assert any("under the id of a built-in law" in w for w in d["warnings"])


# --------------------------------------------------------------------------------------
# Terminals: nothing from a file reaches stdout raw
# --------------------------------------------------------------------------------------

TERMINAL_ATTACKS = ["\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b[31mred", "line\rover",
                    "two\nlines", "\u202ekcatta", "\x9b31m", "bell\x07"]


@pytest.mark.parametrize("attack", TERMINAL_ATTACKS)
def test_terminal_escapes_in_a_profile_never_reach_stdout(tmp_path, capsys, attack):
    folder = tmp_path / "user-profiles"
    folder.mkdir()
    (folder / "evil.yaml").write_text(profile_yaml(id="evil", display_name=f"Evil {attack}"))
    for argv in (["profiles"], ["estimate", "--hardware", "evil"], ["compare"],
                 ["estimate", "--hardware", "evil", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        bad = [ch for ch in out if ch in "\x1b\r\x07\x9b\u202e"]
        assert not bad, (argv, bad)
        if argv[0] != "estimate" or "--json" not in argv:
            assert "Evil" in out


def test_a_tiny_price_never_shows_as_zero(capsys):
    code, out, err = run(capsys, "estimate", "--price-per-hour", "$0.001/h")
    assert code == 0 and "$0.0010/h (custom price)" in out and "$0.00/" not in out


@pytest.mark.parametrize("field, text, value", [
    ("gpus", "2,048", 2048), ("gpus", "1_000", 1000), ("params", "70b", 70e9),
    ("params", "1.4t", 1.4e12), ("price_per_hour", "$2.50/h", 2.5),
    ("price_per_hour", "$0.001/h", 0.001), ("mfu", "35%", 0.35), ("mfu", "0.35", 0.35),
    ("gpus", "1,5", None), ("params", "1e-400", None), ("params", "7Q", None),
    ("params", "\u0663", None), ("params", "\uff17", None), ("mfu", "35", None),
    ("price_per_hour", "2.50 per hour", None),
])
def test_number_grammar_in_files_flags_and_the_window(field, text, value, tmp_path, capsys):
    """One grammar: the window's parser, a scenario file and the CLI flag agree."""
    from estimator.fields import parse_text
    from estimator.scenario import FIELDS

    spec = FIELDS[field]
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"{field}: {json.dumps(text)}\n")
    if value is None:
        with pytest.raises(ValueError):
            parse_text(spec, text)
        with pytest.raises(ScenarioError):
            load_scenario(scenario)
        with pytest.raises(SystemExit) as info:
            main(["estimate", spec.flag, text])
        assert info.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    else:
        assert parse_text(spec, text) == pytest.approx(value)
        assert getattr(load_scenario(scenario), field) == pytest.approx(value)


def test_missing_files_and_unreadable_catalogue_do_not_hide_the_rest(tmp_path):
    folder = tmp_path / "user-profiles"
    folder.mkdir()
    (folder / "good.yaml").write_text(profile_yaml(id="good-chip"))
    (folder / "bad.yaml").write_text("\x00\x01binary")
    cat = load_catalogue(folder, tmp_path / "user-laws")
    assert "good-chip" in cat.profiles.profiles and len(cat.errors) == 1
    assert isinstance(cat.errors[0], EstimatorError)
