"""Unsaved work is never lost: per-window autosave slots, restore of every orphan, atomic
autosave under real SIGKILLs, a failing autosave shown in the window, and saves over symlinks
and read-only files done the way editors do them (issue 16).

Crashes are real: a child process writes its autosave and is SIGKILLed (or SIGKILLs itself),
so "the owner is gone" is decided by the operating system, not by a mock. Settings and autosave
go to tmp_path, never the user's configuration.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from guards import hang_guard

from estimator.gui import autosave
from estimator.scenario import Scenario, load_scenario, save_scenario

ROOT = Path(__file__).resolve().parent.parent


def _child_env(folder: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["ESTIMATOR_AUTOSAVE_DIR"] = str(folder)
    return env


def crashed_autosave(folder: Path, gpus: int, original: str | None = None) -> Path:
    """A real crash: a child process autosaves a scenario, then is killed with SIGKILL.
    Returns its slot file (now an orphan)."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        from dataclasses import replace
        from pathlib import Path
        from estimator.gui.autosave import Slot
        from estimator.scenario import Scenario
        slot = Slot(Path({str(folder)!r}))
        slot.write(replace(Scenario(), gpus={gpus}), {original!r})
        print(slot.path, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    with hang_guard("crashing child"):
        proc = subprocess.run([sys.executable, "-c", code], env=_child_env(folder),
                              capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path = Path(proc.stdout.strip())
    assert path.is_file()
    return path


# --------------------------------------------------------------------------------------
# The slot files, without Qt
# --------------------------------------------------------------------------------------


def test_slot_names_its_owner_and_only_dead_owners_are_orphans(tmp_path):
    mine = autosave.Slot(tmp_path)
    mine.write(replace(Scenario(), gpus=11))
    doc = json.loads(mine.path.read_text())
    assert doc["owner"]["pid"] == os.getpid() and doc["scenario"]["gpus"] == 11
    assert autosave.find_orphans(tmp_path) == []  # this process is alive
    dead = crashed_autosave(tmp_path, 22, "/somewhere/plan.yaml")
    orphans = autosave.find_orphans(tmp_path)
    assert [o.path for o in orphans] == [dead]
    assert "plan.yaml" in orphans[0].describe()
    # a reused process id does not make the slot alive: the start time must match too
    fake = autosave.Owner(os.getpid(), autosave.current_owner().started - 3600, "h")
    assert not fake.alive() and autosave.current_owner().alive()


def test_a_claim_succeeds_once(tmp_path):
    crashed_autosave(tmp_path, 33)
    (orphan,) = autosave.find_orphans(tmp_path)
    a, b = autosave.Slot(tmp_path), autosave.Slot(tmp_path)
    got_a = autosave.claim(orphan, a)
    got_b = autosave.claim(orphan, b)
    assert got_a is not None and got_b is None
    # claimed by a live process: no other window offers it
    assert autosave.find_orphans(tmp_path) == []
    scenario, original = autosave.load_claimed(got_a)
    assert scenario.gpus == 33 and original is None


def test_a_claimer_that_crashes_leaves_the_work_an_orphan_again(tmp_path):
    crashed_autosave(tmp_path, 44)
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from estimator.gui import autosave
        folder = Path({str(tmp_path)!r})
        (orphan,) = autosave.find_orphans(folder)
        assert autosave.claim(orphan, autosave.Slot(folder)) is not None
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    with hang_guard("claiming child"):
        proc = subprocess.run([sys.executable, "-c", code], env=_child_env(tmp_path),
                              capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (again,) = autosave.find_orphans(tmp_path)
    assert again.path.name.startswith("claimed-")
    assert autosave.load_claimed(again.path)[0].gpus == 44


WRITER = textwrap.dedent("""
    import os, random, sys, time
    from dataclasses import replace
    from pathlib import Path
    from estimator import fileio
    from estimator.gui.autosave import Slot
    from estimator.scenario import Scenario
    real_fsync = fileio.os.fsync
    def slow_fsync(fd):  # widen the window in which a kill lands mid-write
        time.sleep(random.uniform(0.0, 0.02))
        real_fsync(fd)
    fileio.os.fsync = slow_fsync
    slot = Slot(Path(sys.argv[1]))
    print(slot.path, flush=True)
    i = 0
    while True:
        i += 1
        slot.write(replace(Scenario(), gpus=1 + i % 5000), "/x/plan.yaml")
""")


def test_autosave_survives_25_sigkills_mid_write(tmp_path):
    """25 writers killed at random moments: every autosave left behind loads whole, and the
    temporary files of the dead writers are swept at the next start-up."""
    rng = random.Random(16)
    left_temp = 0
    for _ in range(25):
        folder = tmp_path / f"k{_}"
        folder.mkdir()
        with hang_guard("autosave writer"):
            proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)],
                                    env=_child_env(folder), stdout=subprocess.PIPE, text=True)
            slot_path = Path(proc.stdout.readline().strip())
            time.sleep(rng.uniform(0.0, 0.08))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        temps = [n for n in os.listdir(folder) if n.endswith(".tmp")]
        left_temp += bool(temps)
        assert all(n.startswith(".session-") for n in temps)
        orphans = autosave.find_orphans(folder)
        if slot_path.exists():  # it was written at least once: it is whole
            assert [o.path for o in orphans] == [slot_path]
            scenario, original = autosave.load_claimed(slot_path)
            assert 1 <= scenario.gpus <= 5000 and original == "/x/plan.yaml"
        assert autosave.sweep(folder) == len(temps)
        assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]
    assert left_temp >= 5  # the kills did land mid-write


def test_sweep_keeps_the_temporary_files_of_live_writers(tmp_path):
    slot = autosave.Slot(tmp_path)
    tmp = tmp_path / f".{slot.path.name}.abc123.tmp"
    tmp.write_text("half")
    assert autosave.sweep(tmp_path) == 0 and tmp.exists()


# --------------------------------------------------------------------------------------
# The window
# --------------------------------------------------------------------------------------

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from estimator.gui import settings  # noqa: E402
from estimator.gui import window as window_module  # noqa: E402
from estimator.gui.window import MainWindow  # noqa: E402

MB = QtWidgets.QMessageBox


@pytest.fixture
def answers(monkeypatch):
    """Scripted answers to QMessageBox questions (a list is answered in order, then the
    default); records every prompt and warning."""
    state = {"answer": MB.StandardButton.Discard, "queue": [], "asked": [], "warnings": []}

    def question(parent, title, text, *args, **kwargs):
        state["asked"].append((title, text))
        return state["queue"].pop(0) if state["queue"] else state["answer"]

    def warning(parent, title, text, *args, **kwargs):
        state["warnings"].append((title, text))
        return MB.StandardButton.Ok

    monkeypatch.setattr(MB, "question", staticmethod(question))
    monkeypatch.setattr(MB, "warning", staticmethod(warning))
    return state


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    monkeypatch.setenv("ESTIMATOR_PROFILE_DIR", str(tmp_path / "profiles"))
    monkeypatch.setenv("ESTIMATOR_LAW_DIR", str(tmp_path / "laws"))
    return tmp_path


def make_window(qtbot) -> MainWindow:
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    return w


def edit(w: MainWindow, gpus: int) -> None:
    w.inputs.field("gpus").set_text_and_commit(str(gpus))
    w.session.flush()


@pytest.fixture(autouse=True)
def _close_spawned():
    yield
    for w in list(window_module._OTHER_WINDOWS):
        w.session.dirty = False
        w.close()
    window_module._OTHER_WINDOWS.clear()


def test_two_windows_never_touch_each_others_autosave(qtbot, isolated, answers):
    a, b = make_window(qtbot), make_window(qtbot)
    assert a.autosave_path != b.autosave_path
    edit(a, 701)
    edit(b, 702)
    assert a.autosave_now() and b.autosave_now()
    assert b._save_to(isolated / "b.yaml")
    assert not b.autosave_path.exists() and a.autosave_path.exists()
    edit(b, 703)
    b.autosave_now()
    answers["answer"] = MB.StandardButton.Discard
    b.new_scenario()  # New, discarding
    assert not b.autosave_path.exists() and a.autosave_path.exists()
    edit(b, 704)
    b.autosave_now()
    b.close()  # close, discarding
    assert not b.autosave_path.exists()
    assert autosave.load_claimed(a.autosave_path)[0].gpus == 701
    assert not a.offer_restore()  # nothing is orphaned: both owners are this live process
    assert a.autosave_path.exists()
    a.session.dirty = False


def test_a_real_crash_is_restored_in_the_next_window(qtbot, isolated, answers):
    folder = isolated / "autosave"
    dead = crashed_autosave(folder, 777)
    w = make_window(qtbot)
    answers["answer"] = MB.StandardButton.Yes
    assert w.offer_restore()
    assert w.session.scenario.gpus == 777 and w.session.dirty
    title, text = answers["asked"][-1]
    assert "Restore" in title and "unsaved scenario" in text
    assert not dead.exists()  # taken over: it now lives in this window's own slot
    assert autosave.load_claimed(w.autosave_path)[0].gpus == 777
    w.session.dirty = False


def test_relaunch_with_a_file_still_offers_restore(qtbot, isolated, answers):
    """``estimator gui plan.yaml`` after a crash: the file opens and the crashed work is offered
    (in a window of its own), not deleted."""
    folder = isolated / "autosave"
    plan = isolated / "plan.yaml"
    save_scenario(replace(Scenario(), gpus=128), plan)
    crashed_autosave(folder, 555, str(plan))
    w = make_window(qtbot)
    assert w.load_file(plan)
    assert autosave.find_orphans(folder)  # opening a file kept it
    answers["answer"] = MB.StandardButton.Yes
    assert w.offer_restore()
    assert w.session.scenario.gpus == 128 and w.session.path == plan  # the opened file stays
    (other,) = window_module._OTHER_WINDOWS
    assert other.session.scenario.gpus == 555 and other.session.path == plan
    assert other.session.dirty
    assert "plan.yaml" in answers["asked"][-1][1]


def test_every_orphan_is_offered_and_no_keeps_nothing_cancel_keeps_it(qtbot, isolated,
                                                                      answers):
    folder = isolated / "autosave"
    for g in (101, 102, 103):
        crashed_autosave(folder, g)
    w = make_window(qtbot)
    answers["queue"] = [MB.StandardButton.Yes, MB.StandardButton.No, MB.StandardButton.Cancel]
    assert w.offer_restore()
    assert len(answers["asked"]) == 3
    assert w.session.scenario.gpus in (101, 102, 103)
    left = autosave.find_orphans(folder)
    assert len(left) == 1  # the one put back for next time
    w.session.dirty = False


def test_a_damaged_autosave_is_reported_not_fatal(qtbot, isolated, answers):
    folder = isolated / "autosave"
    dead = crashed_autosave(folder, 9)
    dead.write_text('{"schema_version": 1, "scenario": {"gpus": "<b>lots</b>"}')
    w = make_window(qtbot)
    answers["answer"] = MB.StandardButton.Yes
    assert not w.offer_restore()
    title, text = answers["warnings"][-1]
    assert title == "Cannot restore" and "damaged" in text
    assert not autosave.find_orphans(folder)


def test_the_autosave_of_earlier_versions_is_offered(qtbot, isolated, answers):
    folder = isolated / "autosave"
    folder.mkdir(parents=True)
    save_scenario(replace(Scenario(), gpus=321), folder / "autosave.yaml")
    (folder / "autosave.json").write_text(json.dumps({"path": None, "saved_at": "yesterday"}))
    w = make_window(qtbot)
    answers["answer"] = MB.StandardButton.Yes
    assert w.offer_restore()
    assert w.session.scenario.gpus == 321
    assert not (folder / "autosave.yaml").exists() and not (folder / "autosave.json").exists()
    w.session.dirty = False


def test_a_failing_autosave_is_shown_in_the_window(qtbot, isolated, answers, monkeypatch):
    blocker = isolated / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(blocker / "autosave"))
    w = make_window(qtbot)
    w.show()
    edit(w, 808)
    assert not w.autosave_now()
    assert w.autosave_strip.isVisible()
    assert "Autosave failed" in w.autosave_strip.messages[0]
    assert "File > Save" in w.statusBar().currentMessage()
    w.autosave_slot.folder = isolated / "autosave"  # the folder comes back
    assert w.autosave_now()
    assert not w.autosave_strip.isVisible()
    w.session.dirty = False


def test_autosave_timer_writes_when_dirty(qtbot, isolated, answers):
    w = make_window(qtbot)
    w.autosave_timer.setInterval(20)
    edit(w, 999)
    qtbot.waitUntil(w.autosave_path.exists, timeout=120_000)  # a hang guard only
    assert autosave.load_claimed(w.autosave_path)[0].gpus == 999
    w.session.dirty = False


def test_a_real_window_killed_mid_session_is_restored(qtbot, isolated, answers):
    """The whole path: a window in another process is edited, autosaves, and is SIGKILLed; a
    new window offers and restores its work."""
    code = textwrap.dedent("""
        import os, signal
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6 import QtWidgets
        app = QtWidgets.QApplication([])
        from estimator.gui.window import MainWindow
        w = MainWindow(theme="normal")
        w.inputs.field("gpus").set_text_and_commit("4242")
        w.session.flush()
        assert w.autosave_now()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = _child_env(isolated / "autosave")
    env["ESTIMATOR_SETTINGS_DIR"] = str(isolated / "settings")
    env["QT_QPA_PLATFORM"] = "offscreen"
    with hang_guard("window child"):
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    w = make_window(qtbot)
    answers["answer"] = MB.StandardButton.Yes
    assert w.offer_restore() and w.session.scenario.gpus == 4242
    w.session.dirty = False


# --------------------------------------------------------------------------------------
# Saving over symlinks and read-only files
# --------------------------------------------------------------------------------------


def test_save_through_a_symlink_updates_its_target(qtbot, isolated, answers):
    target = isolated / "real" / "plan.yaml"
    target.parent.mkdir()
    save_scenario(Scenario(), target)
    link = isolated / "link.yaml"
    link.symlink_to(target)
    w = make_window(qtbot)
    edit(w, 612)
    assert w._save_to(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_scenario(target).gpus == 612


def test_saving_over_a_read_only_file_asks_first(qtbot, isolated, answers):
    ro = isolated / "frozen.yaml"
    save_scenario(Scenario(), ro)
    ro.chmod(0o444)
    before = ro.read_bytes()
    w = make_window(qtbot)
    edit(w, 613)
    answers["answer"] = MB.StandardButton.No
    assert not w._save_to(ro)
    assert ro.read_bytes() == before and "read-only" in answers["asked"][-1][1]
    assert w.session.dirty
    answers["answer"] = MB.StandardButton.Yes
    assert w._save_to(ro)
    assert load_scenario(ro).gpus == 613
    assert not (ro.stat().st_mode & stat.S_IWUSR)  # it stays read-only


# --------------------------------------------------------------------------------------
# Text from files in the window
# --------------------------------------------------------------------------------------

HOSTILE = '<img src="http://tracker.example/p.png"><b>Evil</b>\u202e'


def _user_profile(folder: Path, display_name: str, **figures) -> None:
    import yaml

    src = yaml.safe_load((ROOT / "hardware_profiles" / "h100-sxm.yaml").read_text())
    src["display_name"] = display_name
    src.update(figures)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "h100.yaml").write_text(yaml.safe_dump(src))


def test_names_from_files_are_plain_text_and_user_profiles_are_named(qtbot, isolated,
                                                                   answers):
    _user_profile(isolated / "profiles", HOSTILE)
    w = make_window(qtbot)
    w.show()
    w.session.set_scenario(Scenario())
    assert w.subhead.textFormat() == QtCore.Qt.TextFormat.PlainText
    assert HOSTILE in w.subhead.text() and "(user profile)" in w.subhead.text()
    assert w.warnings_strip.label.textFormat() == QtCore.Qt.TextFormat.PlainText
    assert any("comes from the user file" in m for m in w.warnings_strip.messages)
    w._error("Cannot open scenario", HOSTILE)
    shown = answers["warnings"][-1][1]
    assert "<img" not in shown and "&lt;img" in shown


def test_a_broken_user_file_is_shown_in_the_window(qtbot, isolated, answers):
    folder = isolated / "profiles"
    folder.mkdir()
    (folder / "a100.yaml").write_text(
        'schema_version: 2\nid: a100-80gb\nprices: {on_demand: {usd_per_hour: "$1.10"}}\n')
    os.mkfifo(folder / "pipe.yaml")  # must not hang the window
    w = make_window(qtbot)
    w.show()
    with hang_guard("window with a FIFO in the profile folder"):
        w.session.set_scenario(replace(Scenario(), hardware="a100-80gb"))
    text = " ".join(w.files_strip.messages)
    assert w.files_strip.isVisible() and "a100.yaml" in text and "pipe.yaml" in text
    assert any("failed to load; the built-in profile is used" in m
               for m in w.warnings_strip.messages)


def test_a_tiny_price_never_shows_as_zero(qtbot, isolated, answers):
    w = make_window(qtbot)
    w.session.update(price_per_hour=0.001)
    w.session.flush()
    assert "$0.0010/GPU-hour" in w.subhead.text()


def test_opening_a_hostile_scenario_never_freezes_the_window(qtbot, isolated, answers):
    fifo = isolated / "pipe.yaml"
    os.mkfifo(fifo)
    sent = isolated / "sent.yaml"
    sent.write_text("law: /dev/zero\nhardware: pipe.yaml\n")
    w = make_window(qtbot)
    for path, why in ((fifo, "named pipe"), (sent, "device")):
        with hang_guard(f"window opens {path.name}"):
            assert not w.load_file(path)
        assert why in answers["warnings"][-1][1]
    assert w.session.scenario == Scenario()
