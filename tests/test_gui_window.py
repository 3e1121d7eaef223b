"""The desktop window, driven with pytest-qt: edits change the cards and charts exactly as the
core says, bad input stays inline, scenarios save/reopen/compare, autosave and restore, themes,
and exports. Settings and autosave go to tmp_path (never the user's configuration)."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from estimator import units  # noqa: E402
from estimator.engine import estimate  # noqa: E402
from estimator.gui import settings  # noqa: E402
from estimator.gui.session import Session, format_field, parse_field  # noqa: E402
from estimator.gui.widgets import COST_COLUMN  # noqa: E402
from estimator.gui.window import MainWindow  # noqa: E402
from estimator.scenario import Scenario, load_scenario, save_scenario  # noqa: E402

pytestmark = pytest.mark.gui
MB = QtWidgets.QMessageBox


@pytest.fixture
def answers(monkeypatch):
    """Scripted answers to QMessageBox questions (default: Discard); records every prompt."""
    state = {"answer": MB.StandardButton.Discard, "asked": [], "warnings": []}

    def question(parent, title, text, *args, **kwargs):
        state["asked"].append((title, text))
        return state["answer"]

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
    return tmp_path


@pytest.fixture
def window(qtbot, isolated, answers):
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    yield w
    w.session.dirty = False


def settle(w: MainWindow) -> None:
    """Run the coalesced recompute now."""
    w.session.flush()


def card(w: MainWindow, key: str) -> str:
    return w.cards.cards[key].value_text()


def expected_cards(est) -> dict[str, str]:
    return {
        "params": units.si(est.params), "tokens": units.si(est.tokens),
        "tokens_per_param": f"{est.tokens_per_param:.1f}",
        "train_flops": f"{est.train_flops:.2e}".replace("e+", "e"),
        "gpu_hours": units.si(est.gpu_hours),
        "cost_usd": units.usd(est.cost_usd), "wall_clock_days": units.days(est.wall_clock_days),
        "energy_mwh": units.energy(est.energy_mwh),
        "min_gpus_for_memory": f"{est.min_gpus_for_memory:,}",
        "cost_per_million_input_tokens_usd": units.usd(est.cost_per_million_input_tokens_usd),
        "cost_per_million_output_tokens_usd": units.usd(est.cost_per_million_output_tokens_usd),
        "serving_chips": f"{est.serving_chips:,}",
        "lifetime_inference_cost_usd": units.usd(est.lifetime_inference_cost_usd),
        "lifetime_total_cost_usd": units.usd(est.lifetime_total_cost_usd),
    }


def assert_cards_match(w: MainWindow, scenario: Scenario) -> None:
    est = estimate(scenario)
    for key, text in expected_cards(est).items():
        assert card(w, key) == text, key
    for c in w.cards.cards.values():
        assert "nan" not in c.value_text().lower() and "nan" not in c.band_text().lower()


def assert_charts_match(w: MainWindow, scenario: Scenario) -> None:
    if not w.charts:
        return
    w.refresh_all()  # charts off screen redraw when shown; bring them all up to date
    from estimator.curves import compute_curves

    est = estimate(scenario)
    c = compute_curves(scenario, est)
    x, y = w.charts["frontier"].series("frontier")
    np.testing.assert_allclose(x, c.frontier_compute_flops, rtol=1e-12)
    np.testing.assert_allclose(y, c.frontier_loss, rtol=1e-12)
    tx, ty = w.charts["frontier"].series("target")
    np.testing.assert_allclose([tx[0], ty[0]], [c.target_compute_flops, c.target_loss])
    px, py = w.charts["isoloss"].series("plan")
    np.testing.assert_allclose([px[0], py[0]], [c.plan_params, c.plan_tokens])


# -- parsing -------------------------------------------------------------------------------

def test_fields_parse_human_numbers():
    assert parse_field("params", "70B") == 70e9
    assert parse_field("tokens", "1.4T") == 1.4e12
    assert parse_field("compute_flops", "5.76e23") == 5.76e23
    assert parse_field("mfu", "35%") == pytest.approx(0.35)
    assert parse_field("mfu", "0.35") == pytest.approx(0.35)
    assert parse_field("gpus", "2k") == 2000
    assert parse_field("params", "") is None
    assert format_field("params", 70e9) == "70B"
    assert format_field("compute_flops", 5.76e23) == "5.76e23"


# -- live estimate ---------------------------------------------------------------------------

def test_first_screen_shows_the_default_estimate(window):
    assert_cards_match(window, Scenario())
    assert_charts_match(window, Scenario())
    assert "Untitled" in window.windowTitle() and "*" not in window.windowTitle()
    window.tabs.setCurrentWidget(window.comparison)
    assert window.comparison.table.rowCount() >= 5
    # defaults are visible as placeholders, and overridable
    est = estimate(Scenario())
    assert window.inputs.field("mfu").edit.placeholderText() == f"default {est.mfu:.0%}"
    assert "Besiroglu" in window.inputs.law_info.text()
    assert "57.3 M" in window.inputs.law_info.text()


def test_the_window_appears_before_the_charts_off_screen_are_built(qtbot, isolated, answers):
    """Only the chart on screen is built before the first paint; the others are built, given
    the estimate and measured one per turn of the event loop after it, and a tab shown before
    its turn is built on the spot."""
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.resize(1366, 768)
    assert list(w.charts.built()) == ["frontier"]  # the first tab, with its data
    assert w.charts.built()["frontier"].estimate is w.session.estimate
    w.show()
    qtbot.waitExposed(w)
    w.tabs.setCurrentIndex(list(w.charts).index("breakeven"))  # before its turn
    assert "breakeven" in w.charts.built()
    assert w.charts["breakeven"].estimate is w.session.estimate
    # measured, each for the layout, once the last is built
    qtbot.waitUntil(lambda: set(w._chart_overhead) == set(w.charts))
    assert tuple(w.charts) == tuple(w.charts.built())  # every kind, in the tabs' order
    for kind, chart in w.charts.items():
        assert chart.estimate is w.session.estimate, kind
        assert w.tabs.indexOf(chart) == list(w.charts).index(kind)  # each in its own tab
    w.session.dirty = False


def test_editing_target_loss_compute_and_gpus_updates_cards_and_charts(window):
    w = window
    w.inputs.mode.pick("loss")
    settle(w)
    w.inputs.field("target_loss").set_text_and_commit("2.1")
    settle(w)
    s = replace(Scenario(), mode="loss", target_loss=2.1)
    assert w.session.scenario == s
    assert_cards_match(w, s)
    assert_charts_match(w, s)

    w.inputs.mode.pick("compute")
    w.inputs.field("compute_flops").set_text_and_commit("1e24")
    settle(w)
    s = replace(s, mode="compute", compute_flops=1e24)
    assert w.session.scenario == s
    assert_cards_match(w, s)
    assert_charts_match(w, s)

    w.inputs.field("gpus").set_text_and_commit("4096")
    settle(w)
    s = replace(s, gpus=4096)
    assert_cards_match(w, s)
    assert "*" in w.windowTitle()


def test_typing_updates_live_without_enter(window, qtbot):
    w = window
    field = w.inputs.field("gpus")
    field.edit.setFocus()
    field.edit.selectAll()
    qtbot.keyClicks(field.edit, "2048")
    qtbot.waitUntil(lambda: w.session.scenario.gpus == 2048, timeout=120_000)  # a hang guard
    assert_cards_match(w, replace(Scenario(), gpus=2048))


def test_slider_drag_is_coalesced_and_fast(window):
    w = window
    w.inputs.mode.pick("compute")
    settle(w)
    slider = w.inputs.field("compute_flops").slider
    before = w.session.compute_count
    for pos in range(300, 700, 10):  # 40 moves within one event-loop turn
        slider.setValue(pos)
    settle(w)
    assert w.session.compute_count == before + 1  # one recompute for the whole burst
    value = w.session.scenario.compute_flops
    assert w.inputs.field("compute_flops").edit.text() == format_field("compute_flops", value)
    assert_cards_match(w, w.session.scenario)
    assert_charts_match(w, w.session.scenario)
    assert w.session.last_compute_ms < 500


class _PaintCounter(QtCore.QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Paint:
            self.count += 1
        return False


def test_charts_keep_their_size_while_edits_come_in(window, qtbot):
    """Dragging the compute slider: a warning or a wrapped line grows the summary and the
    chart gives it room in one paint; when the summary's content shrinks again the chart keeps
    its height until the edits pause, then fits again."""
    from estimator.gui.window import SUMMARY_SETTLE_MS

    w = window
    qtbot.waitUntil(w.charts_ready, timeout=20_000)  # the charts built at start
    s = w.session
    chart = w.current_chart()

    def edit(flops: float) -> None:
        s.update(mode="compute", compute_flops=flops)
        s.flush()
        QtWidgets.QApplication.processEvents()

    edit(1.16e22)
    w._settle_timer.timeout.emit()  # as if the edits had paused: the summary fits its content
    QtWidgets.QApplication.processEvents()
    small = chart.view.height()
    counter = _PaintCounter()
    chart.view.viewport().installEventFilter(counter)
    edit(3.2e24)  # two warnings and a longer details text: the summary grows
    chart.view.viewport().removeEventFilter(counter)
    grown = chart.view.height()
    assert grown < small, "the scenario should need a taller summary"
    assert counter.count == 1  # resized and redrawn in one paint
    edit(1.2e22)  # the content is short again, but edits are still coming in
    assert chart.view.height() == grown
    assert w._settle_timer.isActive() and w._settle_timer.interval() == SUMMARY_SETTLE_MS
    qtbot.waitUntil(lambda: chart.view.height() == small, timeout=20_000)  # once they pause


def test_gpus_slider_sets_whole_gpus(window):
    w = window
    f = w.inputs.field("gpus")
    f.slider.setValue(f.slider.value() + 100)
    settle(w)
    gpus = w.session.scenario.gpus
    assert isinstance(gpus, int) and gpus > 1024 and not f.error_text()
    assert f.edit.text() == str(gpus)
    assert_cards_match(w, replace(Scenario(), gpus=gpus))
    f.set_text_and_commit("1024")
    settle(w)
    assert f.slider.value() == f.scale.to_pos(1024)


def test_mode_switch_keeps_the_plan(window):
    w = window
    params = w.session.estimate.params
    w.inputs.mode.pick("loss")
    settle(w)
    # the target is the plan's loss to 3 decimals
    assert w.session.scenario.target_loss == round(estimate(Scenario()).loss, 3)
    assert w.session.estimate.params == pytest.approx(params, rel=2e-2)
    w.inputs.mode.pick("model")
    settle(w)
    assert w.session.scenario.mode == "model"
    assert w.session.estimate.params == pytest.approx(params, rel=2e-2)


# -- bad input ---------------------------------------------------------------------------------

def test_bad_input_is_inline_and_keeps_the_last_estimate(window):
    w = window
    w.inputs.mode.pick("loss")
    w.inputs.field("target_loss").set_text_and_commit("2.1")
    settle(w)
    good = dict((k, c.value_text()) for k, c in w.cards.cards.items())
    field = w.inputs.field("target_loss")

    field.set_text_and_commit("abc")
    settle(w)
    assert "not a number" in field.error_text()
    assert field.edit.property("invalid") is True
    assert field.error_label.isVisible()
    assert {k: c.value_text() for k, c in w.cards.cards.items()} == good

    field.set_text_and_commit("-1")
    settle(w)
    assert "Target loss must be positive" in field.error_text()

    field.set_text_and_commit("1.5")
    settle(w)
    assert "irreducible" in field.error_text() and "1.817" in field.error_text()
    assert "--" not in field.error_text()  # no CLI flag hints in the window
    assert {k: c.value_text() for k, c in w.cards.cards.items()} == good
    assert w.error_strip.isVisible()
    assert w.session.scenario.target_loss == 2.1

    # other edits still work on the last valid scenario; the bad field stays marked
    w.inputs.field("gpus").set_text_and_commit("2048")
    settle(w)
    assert_cards_match(w, replace(Scenario(), mode="loss", target_loss=2.1, gpus=2048))
    assert field.error_text()

    field.set_text_and_commit("2.2")
    settle(w)
    assert field.error_text() == "" and not field.error_label.isVisible()
    assert field.edit.property("invalid") is False
    assert not w.error_strip.isVisible()
    assert_cards_match(w, replace(Scenario(), mode="loss", target_loss=2.2, gpus=2048))
    for c in w.cards.cards.values():
        assert "nan" not in c.value_text().lower()


def test_warnings_are_shown_in_the_window(window):
    w = window
    w.inputs.field("gpus").set_text_and_commit("100000")  # past the useful batch: a warning
    settle(w)
    est = estimate(replace(Scenario(), gpus=100_000))
    assert any("barely shorten the run" in x for x in est.warnings)
    assert w.warnings_strip.isVisible()
    assert w.warnings_strip.messages == est.warnings


# -- hardware ----------------------------------------------------------------------------------

def test_switching_hardware_updates_cost(window):
    w = window
    w.inputs.hardware.pick("a100-80gb")
    settle(w)
    s = replace(Scenario(), hardware="a100-80gb")
    assert w.session.scenario == s
    assert card(w, "cost_usd") == units.usd(estimate(s).cost_usd)
    assert_cards_match(w, s)
    # a precision the chip lacks falls back instead of failing
    w.inputs.hardware.pick("b200")
    w.inputs.precision.pick("fp8")
    settle(w)
    w.inputs.hardware.pick("a100-40gb")
    settle(w)
    assert w.session.scenario.precision == "bf16"
    assert_cards_match(w, w.session.scenario)
    # ... and says so in the status bar
    assert "no FP8 throughput" in w.statusBar().currentMessage()


def test_table_sorts_numerically_and_copies_tsv(window, qtbot):
    w = window
    w.tabs.setCurrentWidget(w.comparison)  # the table fills when it is shown
    table = w.comparison.table
    costs = w.comparison.column_values(COST_COLUMN)
    assert costs == sorted(costs)
    assert len(costs) == table.rowCount()
    by_id = {e.hardware: e.cost_usd for e in w.session.comparison}
    assert [by_id[i] for i in w.comparison.row_ids()] == costs
    # click the GPU-hours header twice: descending numerically (not "977 k" > "1.37 M" as text)
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(4) + 5
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(x, 5))
    values = w.comparison.column_values(4)
    assert values in (sorted(values), sorted(values, reverse=True))
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(x, 5))
    values2 = w.comparison.column_values(4)
    assert values2 == sorted(values2, reverse=values == sorted(values))

    table.sortByColumn(COST_COLUMN, QtCore.Qt.SortOrder.AscendingOrder)
    table.clearSelection()
    table.selectRow(0)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.MultiSelection)
    table.selectRow(1)
    table.setFocus()
    qtbot.keyClick(table, QtCore.Qt.Key.Key_C, QtCore.Qt.KeyboardModifier.ControlModifier)
    text = QtWidgets.QApplication.clipboard().text()
    lines = text.strip("\n").split("\n")
    assert len(lines) == 3
    head = lines[0].split("\t")
    assert head[0] == "Hardware" and "Training cost (USD)" in head
    first = lines[1].split("\t")
    assert float(first[head.index("Training cost (USD)")]) == pytest.approx(costs[0], rel=1e-5)

    w.comparison.copy_button.click()
    all_lines = QtWidgets.QApplication.clipboard().text().strip("\n").split("\n")
    assert len(all_lines) == table.rowCount() + 1


# -- scenario files ----------------------------------------------------------------------------

def test_save_reopen_dirty_prompt_and_recent(window, isolated, answers, monkeypatch):
    w = window
    path = isolated / "plan.yaml"
    w.inputs.field("gpus").set_text_and_commit("2048")
    settle(w)
    assert w.windowTitle().startswith("Untitled*")
    monkeypatch.setattr(w, "_ask_save_path", lambda *a: str(path))
    assert w.save()
    assert path.is_file()
    saved = load_scenario(path)
    assert saved == w.session.scenario == replace(Scenario(), gpus=2048)
    assert w.windowTitle().startswith("plan.yaml —")
    assert settings.recent_files()[0] == str(path.resolve())

    # dirty + New: the prompt appears; Cancel keeps the work
    w.inputs.field("gpus").set_text_and_commit("512")
    settle(w)
    assert w.windowTitle().startswith("plan.yaml*")
    answers["answer"] = MB.StandardButton.Cancel
    w.new_scenario()
    assert answers["asked"] and w.session.scenario.gpus == 512
    # Discard: a fresh default scenario
    answers["answer"] = MB.StandardButton.Discard
    w.new_scenario()
    assert w.session.scenario == Scenario() and not w.session.dirty

    # reopen: the same scenario
    assert w.open_scenario(str(path))
    assert w.session.scenario == saved
    assert_cards_match(w, saved)
    assert not w.session.dirty

    # Save answer on close writes the file
    w.inputs.field("gpus").set_text_and_commit("300")
    settle(w)
    answers["answer"] = MB.StandardButton.Save
    n_asked = len(answers["asked"])
    assert w.close()
    assert len(answers["asked"]) == n_asked + 1
    assert load_scenario(path).gpus == 300


def test_close_cancel_keeps_the_window(window, answers):
    w = window
    w.inputs.field("gpus").set_text_and_commit("300")
    settle(w)
    answers["answer"] = MB.StandardButton.Cancel
    assert not w.close()
    assert w.isVisible()


def test_recent_files_are_pruned_with_a_message(window, isolated):
    w = window
    paths = []
    for i in range(10):
        p = isolated / f"s{i}.yaml"
        save_scenario(replace(Scenario(), gpus=100 + i), p)
        assert w.open_scenario(str(p))
        paths.append(p)
    recent = settings.recent_files()
    assert len(recent) == settings.MAX_RECENT
    assert recent[0] == str(paths[-1].resolve())
    paths[-2].unlink()
    kept = w.rebuild_recent_menu()
    assert str(paths[-2].resolve()) not in kept
    assert w.recent_removed == [str(paths[-2].resolve())]
    assert "missing" in w.statusBar().currentMessage()
    names = [a.text() for a in w.recent_menu.actions() if a.text()]
    assert names[0] == paths[-1].name
    assert w.open_recent(kept[1])
    assert w.session.scenario.gpus == 100 + 7


def test_open_bad_file_shows_a_message(window, isolated, answers):
    bad = isolated / "bad.yaml"
    bad.write_text("gpus: lots\n", encoding="utf-8")
    before = window.session.scenario
    assert not window.open_scenario(str(bad))
    assert answers["warnings"] and "gpus" in answers["warnings"][-1][1]
    assert window.session.scenario == before


# -- compare: tests/test_gui_compare.py ------------------------------------------------------------

# -- autosave: tests/test_gui_autosave.py ---------------------------------------------------------

# -- theme and export ------------------------------------------------------------------------------

def test_theme_switch_changes_window_and_charts(window):
    w = window
    normal = w.styleSheet()
    w.theme_actions["presentation"].trigger()
    assert w.styleSheet() != normal
    assert "#ffffff" in w.styleSheet().lower()
    assert w.theme == "presentation"
    for chart in w.charts.values():
        assert chart.theme.name == "presentation"
    assert settings.value("theme") == "presentation"
    w.theme_actions["normal"].trigger()
    assert w.styleSheet() == normal


def test_export_charts_and_reports(window, isolated, monkeypatch, answers):
    w = window
    if not w.charts:
        pytest.skip("charts module not available")
    png, svg, pdf = (isolated / f"frontier.{x}" for x in ("png", "svg", "pdf"))
    assert w.export_chart("frontier", png, 1200, 750)
    img = QtGui.QImage(str(png))
    assert (img.width(), img.height()) == (1200, 750)
    assert w.export_chart("frontier", svg)
    ET.parse(svg)
    assert w.export_chart("frontier", pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    # through the menu path (the dialog answered): every kind as PNG
    for kind in w.charts:
        out = isolated / f"menu-{kind}"
        monkeypatch.setattr(w, "_ask_save_path", lambda *a, o=out: str(o))
        assert w.export_chart_dialog(kind, "png")
        assert (isolated / f"menu-{kind}.png").is_file()
    for ext in ("md", "csv", "json"):
        out = isolated / f"report.{ext}"
        assert w.export_report(out), answers["warnings"]
        assert out.stat().st_size > 100
    assert json.loads((isolated / "report.json").read_text())
    try:
        import estimator.gui.report_pdf  # noqa: F401
    except ImportError:
        return
    out = isolated / "report.pdf"
    assert w.export_report(out), answers["warnings"]
    assert out.read_bytes().startswith(b"%PDF")


def test_excepthook_logs_and_shows_a_short_message(window, answers, caplog):
    from estimator.gui import app

    with caplog.at_level(logging.ERROR, logger="estimator.gui"):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            app.excepthook(RuntimeError, exc, exc.__traceback__)
    assert "boom" in caplog.text
    assert answers["warnings"]
    title, text = answers["warnings"][-1]
    assert "boom" not in text and "Traceback" not in text


def test_session_is_usable_without_a_window(qtbot):
    s = Session()
    got = []
    s.estimate_changed.connect(lambda est, curves: got.append(est))
    s.set_text("gpus", "2k")
    s.set_text("gpus", "4k")
    assert got == []  # coalesced until the event loop turns
    qtbot.waitUntil(lambda: len(got) == 1, timeout=120_000)  # a hang guard, not a speed limit
    assert got[0].gpus == 4000
    errors = []
    s.error_changed.connect(lambda name, msg: errors.append((name, msg)))
    assert not s.set_text("gpus", "many")
    assert errors[-1][0] == "gpus" and "not a number" in errors[-1][1]


def test_a_fitted_law_file_becomes_the_scenario_law(window):
    from importlib import resources

    w = window
    law = str(resources.files("estimator.data.laws") / "chinchilla-2022.yaml")
    assert w.use_law_file(law)
    assert w.session.scenario.law == law
    assert w.inputs.law.current() == law
    assert "Hoffmann" in w.inputs.law_info.text()
    assert_cards_match(w, replace(Scenario(), law=law))


# -- the window on a machine without the xcb libraries -------------------------------------------


def test_missing_xcb_libraries_name_the_packages_to_install():
    from estimator.gui.display import display_problem

    msg = display_problem(environ={"DISPLAY": ":0"}, platform="linux",
                          missing=["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "libxcb-icccm.so.4" in msg and "sudo apt install libxcb-icccm4 libxcb-keysyms1" in msg
    assert "xcb-util-wm" in msg and "xcb-util-keysyms" in msg  # the Fedora names too
    assert display_problem(environ={"DISPLAY": ":0"}, platform="linux", missing=[]) is None
    assert display_problem(environ={"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert display_problem(environ={}, platform="darwin") is None
    assert "DISPLAY is not set" in display_problem(environ={}, platform="linux")


def test_gui_command_exits_with_the_fix_instead_of_a_qt_abort(monkeypatch, capsys):
    from estimator.gui import app, display

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(display, "missing_libraries", lambda names=None: ["libxcb-cursor.so.0"])
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert "libxcb-cursor0" in err and err.count("\n") == 1


def test_xcb_library_list_matches_the_installed_plugin():
    """The soname list is what ldd says the installed PySide6's xcb plugin needs."""
    import shutil
    import subprocess
    from pathlib import Path

    import PySide6

    from estimator.gui.display import XCB_LIBRARIES

    if shutil.which("ldd") is None:
        pytest.skip("no ldd on this machine")
    qt = Path(PySide6.__file__).parent / "Qt"
    needed = set()
    for lib in (qt / "plugins/platforms/libqxcb.so", qt / "lib/libQt6XcbQpa.so.6"):
        if not lib.exists():
            pytest.skip(f"{lib} not in this PySide6 build")
        out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
        needed |= {line.split()[0] for line in out.splitlines() if line.strip()}
    system = {n for n in needed if n.startswith(("libxcb", "libX11", "libxkbcommon"))}
    assert system <= set(XCB_LIBRARIES), sorted(system - set(XCB_LIBRARIES))


def _one_long_burst(w: MainWindow) -> None:
    """Every edit from now on is inside one burst, and the burst ends only when the test says
    so (``_end_burst``), however slow the host."""
    w.edit_burst_s = 3600.0
    w._heavy_timer.setInterval(3_600_000)


def _end_burst(w: MainWindow) -> None:
    assert w._heavy_timer.isActive()  # the window waits for the pause
    w._heavy_timer.stop()
    w._heavy_timer.timeout.emit()
    QtWidgets.QApplication.processEvents()


def _edit_compute(w: MainWindow, flops: float) -> None:
    w.session.update(mode="compute", compute_flops=flops)
    w.session.flush()
    QtWidgets.QApplication.processEvents()


@pytest.mark.parametrize("kind", ["hardware", "tornado"])
def test_a_heavy_chart_follows_a_burst_of_edits_when_it_ends(window, qtbot, kind):
    """Dragging a slider with the hardware comparison (19 profiles) or the sensitivity (a
    dozen estimates) on screen: each edit updates the summary at once; the chart keeps the
    previous plan's data, marked, and shows the current plan's once the edits pause."""
    from estimator.gui.pending import PENDING_TEXT

    w = window
    qtbot.waitUntil(w.charts_ready, timeout=20_000)
    w.tabs.setCurrentIndex(list(w.charts).index(kind))
    chart = w.current_chart()
    assert chart.heavy and chart.estimate is w.session.estimate  # shown: up to date
    _one_long_burst(w)
    _edit_compute(w, 2e23)
    _edit_compute(w, 3e23)
    s = w.session
    assert s.scenario.compute_flops == 3e23
    assert_cards_match(w, s.scenario)  # the summary follows every edit
    assert chart.estimate is not s.estimate and chart.estimate.scenario.compute_flops != 3e23
    assert w.view_pending(kind)
    badge = w._badges[kind]
    assert badge.isVisible() and badge.text() == PENDING_TEXT
    geo = badge.geometry()
    assert chart.rect().contains(geo) and geo.right() > chart.width() / 2  # top right
    assert w.status_label.text().endswith("the view follows when the edits pause")
    if kind == "hardware":
        assert s.curves.hardware_pending  # the comparison was not run for the drag
    _end_burst(w)
    assert not w.view_pending(kind)
    assert chart.estimate is s.estimate and chart.curves is s.curves
    assert not badge.isVisible() and w.status_label.text().endswith(" ms")
    if kind == "hardware":  # the bars are the current plan's comparison, computed anew
        from estimator.engine import compare, comparison_rows

        want = comparison_rows(compare(s.scenario), s.estimate.hardware)
        np.testing.assert_allclose(chart.bar_items["cost"].opts["width"],
                                   [r["cost_usd"] for r in want], rtol=1e-9)


def test_light_charts_and_single_edits_update_at_once(window, qtbot):
    """Inside a burst a light chart (the frontier reads the curves only) still follows every
    edit; outside a burst a heavy chart updates with the edit, unmarked."""
    w = window
    qtbot.waitUntil(w.charts_ready, timeout=20_000)
    _one_long_burst(w)
    chart = w.current_chart()
    assert chart.kind == "frontier" and not chart.heavy
    _edit_compute(w, 2e23)
    _edit_compute(w, 3e23)
    assert chart.estimate is w.session.estimate and not w.view_pending("frontier")
    w.edit_burst_s = 0.0  # every edit stands alone
    w.tabs.setCurrentIndex(list(w.charts).index("gpus"))
    gpus = w.current_chart()
    _edit_compute(w, 4e23)
    assert gpus.estimate is w.session.estimate and not w.view_pending("gpus")
    assert gpus.data.plan_gpus == w.session.scenario.gpus


def _table_waiting(w: MainWindow, qtbot, flops: float) -> MainWindow:
    """The window on its hardware table, which waits (marked) after a burst of two edits
    ending at ``flops``."""
    qtbot.waitUntil(w.charts_ready, timeout=20_000)
    w.tabs.setCurrentWidget(w.comparison)
    QtWidgets.QApplication.processEvents()
    _one_long_burst(w)
    _edit_compute(w, 2e23)
    _edit_compute(w, flops)
    assert w.view_pending("table")
    return w


def test_the_hardware_table_follows_a_burst_and_an_export_never_waits(window, qtbot):
    """The hardware table is deferred like a heavy chart; bringing every view up to date (as
    exports and reports do) computes what is pending at once and clears the marks."""
    w = _table_waiting(window, qtbot, 5e23)
    assert all(e.scenario.compute_flops != 5e23 for e in w.comparison.estimates)
    w.refresh_all()
    assert not w.view_pending("table")
    assert {e.scenario.compute_flops for e in w.comparison.estimates} == {5e23}
    w.tabs.setCurrentIndex(list(w.charts).index("cost"))
    _edit_compute(w, 6e23)
    _edit_compute(w, 7e23)
    assert w.view_pending("cost")
    w.refresh_all()
    assert not w.view_pending("cost") and w.charts["cost"].estimate is w.session.estimate


def test_dragging_the_gpu_slider_moves_the_gpu_chart_live(window, qtbot):
    """On the GPU-count chart a burst of GPU edits follows live (the other counts' sweep is
    kept, only the plan's count is searched); a compute edit in the burst moves the whole
    curve and waits for the pause."""
    w = window
    qtbot.waitUntil(w.charts_ready, timeout=20_000)
    w.tabs.setCurrentIndex(list(w.charts).index("gpus"))
    chart = w.current_chart()
    _one_long_burst(w)
    f = w.inputs.field("gpus")
    for n in (1100, 1300, 1500):
        f.set_text_and_commit(str(n))
        settle(w)
        QtWidgets.QApplication.processEvents()
        assert not w.view_pending("gpus")
        assert chart.data.plan_gpus == n and chart.estimate is w.session.estimate
        i = list(chart.data.gpus).index(n)
        assert chart.data.wall_clock_days[i] == pytest.approx(w.session.estimate.wall_clock_days,
                                                              rel=1e-9)
    _edit_compute(w, 2e23)
    assert w.view_pending("gpus")
    _end_burst(w)
    assert not w.view_pending("gpus")
    assert chart.estimate is w.session.estimate


def test_a_mark_never_outlives_its_stale_data(window, qtbot):
    """A view deferred, then brought up to date while its tab is not shown (an export or a
    report calls refresh_all): back on its tab it shows the current plan, unmarked. A theme
    switch while marked sizes the mark to its new text."""
    from estimator.gui.pending import PENDING_TEXT

    w = window
    qtbot.waitUntil(w.charts_ready, timeout=20_000)
    _one_long_burst(w)
    w.tabs.setCurrentIndex(list(w.charts).index("hardware"))
    _edit_compute(w, 2e23)
    _edit_compute(w, 3e23)
    assert w.view_pending("hardware")
    badge = w._badges["hardware"]
    w.set_theme("presentation")
    QtWidgets.QApplication.processEvents()
    assert badge.text() == PENDING_TEXT and badge.width() >= badge.sizeHint().width()
    w.tabs.setCurrentIndex(list(w.charts).index("frontier"))
    w.refresh_all()
    w.tabs.setCurrentIndex(list(w.charts).index("hardware"))
    QtWidgets.QApplication.processEvents()
    assert w.charts["hardware"].estimate is w.session.estimate
    assert not w.view_pending("hardware") and not badge.isVisible()


def test_copying_the_hardware_table_while_it_waits_copies_the_current_plan(window, qtbot):
    """The table's mark sits over its rows, clear of the Copy button; a copy while the table
    waits for a burst to end brings it up to date first."""
    w = _table_waiting(window, qtbot, 4e23)
    badge = w._badges["table"]
    button = w.comparison.copy_button
    top_left = button.mapTo(w.comparison, QtCore.QPoint(0, 0))
    on_screen = QtCore.QRect(badge.mapTo(w.comparison, QtCore.QPoint(0, 0)), badge.size())
    assert not on_screen.intersects(QtCore.QRect(top_left, button.size()))
    stale = w.comparison.tsv(None)  # the earlier plan's rows, on screen under the mark
    text = w.comparison.copy(all_rows=True)
    assert not w.view_pending("table")
    assert {e.scenario.compute_flops for e in w.comparison.estimates} == {4e23}
    assert text == w.comparison.tsv(None) != stale
