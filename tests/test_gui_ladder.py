"""The ladder dialog: plan off the GUI thread with progress, draw the runs, the target band, the
cost table and the band-against-budget curve; cancel; bad inputs inline; Tools menu entry."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from estimator.gui.ladder_dialog import LadderDialog  # noqa: E402
from estimator.ladder import Family  # noqa: E402
from estimator.ladder.design import MULTIPLIER_SETS  # noqa: E402

pytestmark = pytest.mark.gui

SMALL = dict(families=(Family(4, 2.0, MULTIPLIER_SETS["3 ratios (x16)"], "3 ratios (x16)"),
                       Family(5, 2.0, MULTIPLIER_SETS["4 ratios (x27)"], "4 ratios (x27)")),
             simulations=40, fidelity_checks=0)


def test_ladder_dialog_plans_and_draws(qtbot, tmp_path):
    d = LadderDialog()
    qtbot.addWidget(d)
    d.target_value.setText("1e23")
    d.budget.setText("5000")
    seen = []
    d.start_plan(**SMALL)
    d._worker.progress.connect(lambda f, m: seen.append(f))
    assert d.wait_for_plan()
    qtbot.waitUntil(lambda: d.plan is not None, timeout=60_000)
    plan = d.plan.to_dict()
    runs = plan["runs"]
    assert plan["total_cost_usd"] <= 5000
    # the N-D plane carries every run, the held-out one apart
    x = d.fit_runs.xData  # raw data (getData gives log10 in log mode)
    hx = d.holdout_run.xData
    assert len(x) + len(hx) == len(runs) and len(hx) == 1
    np.testing.assert_allclose(sorted(x), sorted(r["params"] for r in runs if not r["holdout"]))
    # the target band lies on the target's iso-compute line, from P10 to P90 of N*
    bx, by = d.target_band.xData, d.target_band.yData
    c = plan["target"]["compute_flops"]
    np.testing.assert_allclose(6 * bx * by, c, rtol=1e-9)
    assert bx.min() == pytest.approx(plan["predicted"]["params_opt_p10"])
    assert bx.max() == pytest.approx(plan["predicted"]["params_opt_p90"])
    # the table: one row per run, cost column as the plan says
    assert d.table.rowCount() == len(runs)
    assert d.table.item(len(runs) - 1, 0).text() == "held out"
    # the band-against-budget curve: non-increasing upper band as the budget grows
    cx, cy = d.curve_hi.xData, d.curve_hi.yData
    assert len(cx) >= 2 and np.all(np.diff(cx) > 0) and np.all(np.diff(cy) <= 1e-12)
    assert d.save_button.isEnabled()
    path = d.save_runs(str(tmp_path / "ladder.csv"))
    text = open(path, encoding="utf-8").read()
    assert text.count("\n") == len(runs) + 2 and "holdout" in text


def test_ladder_dialog_cancel(qtbot):
    d = LadderDialog()
    qtbot.addWidget(d)
    d.target_value.setText("1e24")
    d.start_plan(simulations=200)
    d.cancel_plan()
    assert d.wait_for_plan()
    qtbot.waitUntil(lambda: "Cancelled" in d.status.text(), timeout=60_000)
    assert d.plan is None and d.plan_button.isEnabled()


def test_ladder_dialog_errors_inline(qtbot):
    d = LadderDialog()
    qtbot.addWidget(d)
    d.budget.setText("lots")
    d.start_plan()
    assert "not a number" in d.status.text() and d._worker is None
    d.budget.setText("5")
    d.start_plan(**SMALL)
    assert d.wait_for_plan()
    qtbot.waitUntil(lambda: "buys no ladder" in d.status.text(), timeout=30_000)
    assert d.plan is None


def test_tools_menu_opens_the_ladder_dialog(qtbot, tmp_path, monkeypatch):
    from estimator.gui import settings
    from estimator.gui.window import MainWindow

    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.act_ladder.trigger()
    dlg = w.ladder_dialog
    assert isinstance(dlg, LadderDialog)
    assert dlg.hardware.currentText() == w.session.scenario.hardware
    dlg.close()
    w.session.dirty = False
