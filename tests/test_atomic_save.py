"""Saves are atomic: a write killed midway, or a full disk, leaves the previous file intact.

The kill tests are real: a child process starts a save and is SIGKILLed in the middle of the
write (its file object writes half the bytes, flushes them to disk, then blocks), or while a
large payload is being written. The parent then checks that the target still holds the
previous content and loads. A SIGKILL cannot run cleanup, so a stale ``.<name>.*.tmp`` may
remain beside the target: the tests check that it is the only leftover, that it is hidden
(dot-prefixed) and that no loader picks it up. Full disk: ``os.write``/``fsync`` raising
``OSError(ENOSPC)`` leaves the previous file intact, no temp file, and a clear error.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from estimator import fileio
from estimator.errors import EstimatorError, LawError, ScenarioError
from estimator.hardware import load_profiles
from estimator.laws import builtin_laws, load_law_file, save_law_file
from estimator.scenario import Scenario, load_scenario, save_scenario

ROOT = Path(__file__).resolve().parents[1]
OLD_SCENARIO = Scenario(mode="compute", compute_flops=1e23, gpus=512)
NEW_SCENARIO = Scenario(mode="loss", target_loss=2.1, gpus=2048)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != target.name)


# --------------------------------------------------------------------------------------
# SIGKILL in the middle of a write
# --------------------------------------------------------------------------------------

# The child blocks halfway through the write: half the payload is on disk in the temp file.
_CHILD = textwrap.dedent("""\
    import os, sys, time
    from estimator import fileio

    real_fdopen = os.fdopen

    class HalfThenHang:
        def __init__(self, fh):
            self.fh = fh
        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            os.fsync(self.fh.fileno())
            sys.stdout.write("HALF\\n")
            sys.stdout.flush()
            time.sleep(60)
        def __getattr__(self, name):
            return getattr(self.fh, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)

    fileio.os.fdopen = lambda fd, mode: HalfThenHang(real_fdopen(fd, mode))
    what, path = sys.argv[1], sys.argv[2]
    if what == "scenario":
        from estimator.scenario import Scenario, save_scenario
        save_scenario(Scenario(mode="loss", target_loss=2.1, gpus=2048), path)
    elif what == "law":
        from estimator.laws import builtin_laws, save_law_file
        save_law_file(builtin_laws()["kaplan-2020"], path)
    else:
        fileio.atomic_write_bytes(path, b"N" * 1_000_000)
    sys.stdout.write("DONE\\n")
    """)


def _spawn(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_when(proc: subprocess.Popen, line: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    got = proc.stdout.readline()
    assert got.strip() == line, (got, proc.stderr.read() if proc.poll() is not None else "")
    assert time.monotonic() < deadline
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("what", ["scenario", "law", "bytes"])
def test_sigkill_mid_write_leaves_previous_file_intact(what, tmp_path):
    target = tmp_path / ("saved.yaml" if what != "bytes" else "blob.bin")
    if what == "scenario":
        save_scenario(OLD_SCENARIO, target)
    elif what == "law":
        save_law_file(builtin_laws()["chinchilla-2022"], target)
    else:
        target.write_bytes(b"O" * 1000)
    before = target.read_bytes()

    proc = _spawn(_CHILD, what, str(target))
    _kill_when(proc, "HALF")

    assert target.read_bytes() == before
    if what == "scenario":
        assert load_scenario(target) == OLD_SCENARIO
    elif what == "law":
        assert load_law_file(target).id == "chinchilla-2022"
    # What remains after a SIGKILL: exactly one hidden, half-written temp file.
    stale = leftovers(tmp_path, target)
    assert len(stale) == 1 and stale[0].startswith(f".{target.name}.") and stale[0].endswith(".tmp")
    assert 0 < (tmp_path / stale[0]).stat().st_size


def test_stale_temp_file_from_a_kill_is_never_loaded_as_a_profile(tmp_path):
    """A killed save in the user profile folder leaves '.x.yaml.*.tmp': load_profiles ignores it."""
    good = {
        k: v
        for k, v in load_profiles(tmp_path / "none").profiles["h100-sxm"].to_dict().items()
        if k != "origin"
    }
    good["id"] = "user-chip"
    target = tmp_path / "user-chip.yaml"
    fileio.atomic_write_text(target, yaml.safe_dump(good))
    proc = _spawn(_CHILD, "bytes", str(target))
    _kill_when(proc, "HALF")
    ps = load_profiles(tmp_path)
    assert "user-chip" in ps.profiles and not ps.errors


_BIG_CHILD = textwrap.dedent("""\
    import sys
    from estimator import fileio
    sys.stdout.write("START\\n"); sys.stdout.flush()
    fileio.atomic_write_bytes(sys.argv[1], b"N" * (256 << 20))
    sys.stdout.write("DONE\\n")
    """)


def test_sigkill_during_a_real_large_write(tmp_path):
    """No patching: 256 MB written for real, killed as soon as the temp file is growing. The
    target is the old file, whole (or, if the write won the race, the new file, whole)."""
    target = tmp_path / "big.bin"
    old = b"O" * 4096
    target.write_bytes(old)
    proc = _spawn(_BIG_CHILD, str(target))
    assert proc.stdout.readline().strip() == "START"
    deadline = time.monotonic() + 120  # a hang guard, not a speed limit
    while time.monotonic() < deadline:
        tmps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if tmps and tmps[0].stat().st_size > 0:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    data = target.read_bytes()
    assert data == old or data == b"N" * (256 << 20)
    if data == old:
        for p in tmp_path.iterdir():
            if p.name.endswith(".tmp"):
                assert p.name.startswith(".big.bin.")
                p.unlink()


# --------------------------------------------------------------------------------------
# Full disk and other write failures
# --------------------------------------------------------------------------------------


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullDiskFile:
    """A file object whose write() raises ENOSPC after writing part of the data."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[: len(data) // 3])
        self.fh.flush()
        _enospc()

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.fh.__exit__(*exc)


@pytest.fixture(params=["write", "fsync", "replace"])
def full_disk(request, monkeypatch):
    """Call the returned function to make the atomic writer fail like a full disk at one of its
    steps (``fileio.os`` is the os module: arm it only after the setup's own saves)."""

    def arm():
        if request.param == "write":
            real = os.fdopen
            monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: _FullDiskFile(real(fd, mode)))
        elif request.param == "fsync":
            monkeypatch.setattr(fileio.os, "fsync", _enospc)
        else:
            monkeypatch.setattr(fileio.os, "replace", _enospc)

    return arm


def test_full_disk_scenario_save(full_disk, tmp_path):
    target = tmp_path / "plan.yaml"
    save_scenario(OLD_SCENARIO, target)
    before = target.read_bytes()
    full_disk()
    with pytest.raises(ScenarioError) as info:
        save_scenario(NEW_SCENARIO, target)
    msg = str(info.value)
    assert "\n" not in msg and str(target) in msg
    assert "space" in msg.lower()  # 'No space left on device' / 'free some disk space'
    assert target.read_bytes() == before
    assert load_scenario(target) == OLD_SCENARIO
    assert leftovers(tmp_path, target) == []  # the temp file was removed


def test_full_disk_atomic_write_bytes(full_disk, tmp_path):
    target = tmp_path / "blob.bin"
    target.write_bytes(b"old")
    full_disk()
    with pytest.raises(OSError) as info:
        fileio.atomic_write_bytes(target, b"new" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path, target) == []


def test_full_disk_law_save_keeps_previous_file(full_disk, tmp_path):
    target = tmp_path / "law.yaml"
    save_law_file(builtin_laws()["chinchilla-2022"], target)
    before = target.read_bytes()
    full_disk()
    with pytest.raises(LawError) as info:
        save_law_file(builtin_laws()["kaplan-2020"], target)
    assert "\n" not in str(info.value) and "space" in str(info.value).lower()
    assert target.read_bytes() == before
    assert load_law_file(target).id == "chinchilla-2022"
    assert leftovers(tmp_path, target) == []


# Regression test. BUG-16: laws.save_law_file (and fitting.save_fitted_law) let OSError escape
# instead of a LawError/FitError; 'estimator fit --save' on a full disk or into a missing folder
# exits 3 'internal error: OSError' (found by these tests; fixed in 8425f67)
@pytest.mark.parametrize("where", ["full-disk", "missing-folder"])
def test_bug16_law_save_failure_is_a_clear_error(where, tmp_path, monkeypatch):
    target = tmp_path / "law.yaml"
    if where == "full-disk":
        monkeypatch.setattr(fileio.os, "fsync", _enospc)
    else:
        target = tmp_path / "no-such-folder" / "law.yaml"
    with pytest.raises(EstimatorError) as info:
        save_law_file(builtin_laws()["kaplan-2020"], target)
    assert isinstance(info.value, LawError)
    assert "\n" not in str(info.value)


def test_save_into_missing_folder_or_onto_a_directory_is_a_clear_error(tmp_path):
    for target in (tmp_path / "missing" / "x.yaml", tmp_path):
        with pytest.raises(ScenarioError) as info:
            save_scenario(OLD_SCENARIO, target)
        assert "\n" not in str(info.value)
    assert leftovers(tmp_path, tmp_path / "-") == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_read_only_folder_keeps_previous_file(tmp_path):
    target = tmp_path / "plan.yaml"
    save_scenario(OLD_SCENARIO, target)
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ScenarioError):
            save_scenario(NEW_SCENARIO, target)
        assert load_scenario(target) == OLD_SCENARIO
    finally:
        tmp_path.chmod(0o700)


def test_save_keeps_the_file_mode_and_replaces_whole(tmp_path):
    target = tmp_path / "plan.yaml"
    save_scenario(OLD_SCENARIO, target)
    target.chmod(0o600)
    save_scenario(NEW_SCENARIO, target)
    assert target.stat().st_mode & 0o777 == 0o600
    assert load_scenario(target) == NEW_SCENARIO
    assert leftovers(tmp_path, target) == []


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch):
    """KeyboardInterrupt (Ctrl-C) mid-write: previous file intact, temp file removed."""
    target = tmp_path / "plan.yaml"
    save_scenario(OLD_SCENARIO, target)

    def interrupted(*_a):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_scenario(NEW_SCENARIO, target)
    monkeypatch.undo()
    assert load_scenario(target) == OLD_SCENARIO
    assert leftovers(tmp_path, target) == []
