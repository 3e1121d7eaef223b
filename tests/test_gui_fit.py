"""The fit dialog: import runs, fit (off the GUI thread), see residuals, save and use the law."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from estimator import fitting  # noqa: E402
from estimator.gui.fit_dialog import FitDialog  # noqa: E402
from estimator.laws import load_law_file  # noqa: E402

pytestmark = pytest.mark.gui


def test_fit_dialog_fits_plots_and_saves(qtbot, tmp_path):
    d = FitDialog()
    qtbot.addWidget(d)
    d.path_edit.setText(str(fitting.epoch_runs_path()))
    d.bootstrap.setValue(20)
    d.holdout.setText("1e21")
    d.start_fit()
    assert d.wait_for_fit()
    qtbot.waitUntil(lambda: d.result is not None, timeout=120_000)  # hang guard
    r = d.result
    # the Epoch reproduction, shown in the table
    assert r.E == pytest.approx(1.817, abs=0.002) and r.n_runs == 240
    assert d.table.item(0, 1).text() == f"{r.E:.5g}"
    assert d.table.item(3, 3).text().startswith("[")
    # the plots carry the runs: observed vs fitted, residuals at each run's compute
    x, y = d.fit_points.getData()
    assert len(x) == 240
    np.testing.assert_allclose(x, r.predict(d.runs.params, d.runs.tokens))
    np.testing.assert_allclose(y, d.runs.loss)
    hx, _ = d.holdout_points.getData()
    assert len(hx) == r.holdout.n_holdout > 0
    assert "mean abs error" in d.summary.text()
    # save and use
    seen = []
    d.law_saved.connect(seen.append)
    d.law_id.setText("team-fit")
    path = d.save_and_use(str(tmp_path / "team.yaml"))
    assert seen == [path]
    law = load_law_file(path)
    assert law.id == "team-fit" and law.has_uncertainty
    assert law.loss(1e9, 2e10) == pytest.approx(r.predict(1e9, 2e10))


def test_fit_dialog_reports_bad_files_inline(qtbot, tmp_path):
    d = FitDialog()
    qtbot.addWidget(d)
    d.start_fit()
    assert "choose a runs CSV" in d.status.text()
    bad = tmp_path / "runs.csv"
    bad.write_text("model,size\nx,y\n")
    d.path_edit.setText(str(bad))
    d.start_fit()
    assert d.wait_for_fit()
    qtbot.waitUntil(lambda: "runs.csv" in d.status.text(), timeout=120_000)  # hang guard
    assert d.result is None and not d.use_button.isEnabled()
    d.path_edit.setText(str(fitting.epoch_runs_path()))
    d.holdout.setText("lots")
    d.start_fit()
    assert "not a number" in d.status.text()


# -- the fitted law in the window (issue 10) -------------------------------------------------------

import csv  # noqa: E402
from dataclasses import replace  # noqa: E402
from importlib import resources  # noqa: E402

import yaml  # noqa: E402

from estimator.engine import estimate  # noqa: E402


def _plain_csv(path) -> int:
    """The Epoch runs without the flag column and without the 5 flagged rows: a plain CSV."""
    with open(fitting.epoch_runs_path(), newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [r for r in rows if r["excluded_by_epoch_top5_loss"] != "1"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["params", "tokens", "loss"])
        for r in kept:
            w.writerow([r["N_params"], r["D_tokens"], r["loss"]])
    return len(kept)


def _law_file(path, law_id: str, **constants) -> str:
    """A copy of the packaged Chinchilla law under another id (and constants)."""
    src = resources.files("estimator.data.laws") / "chinchilla-2022.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data.update(id=law_id, name=f"Law {law_id}")
    data["constants"].update(constants)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_plain_csv_fits_and_the_saved_law_drives_the_window(gui_window, gui_env, qtbot):
    tmp, warnings = gui_env
    w = gui_window
    before = w.session.estimate
    assert before.law_name.startswith("Epoch")
    d = w.open_fit_dialog()
    plain = tmp / "runs.csv"
    n = _plain_csv(plain)
    d.path_edit.setText(str(plain))
    # a plain CSV has no flag column: nothing to drop, and the fit must not ask to
    assert not d.exclude.isChecked() and not d.exclude.isEnabled()
    d.bootstrap.setValue(0)
    d.start_fit()
    assert d.wait_for_fit()
    qtbot.waitUntil(lambda: d.result is not None or "color" in d.status.styleSheet(),
                    timeout=120_000)  # hang guard
    assert d.result is not None, d.status.text()
    assert d.result.n_runs == n == 240 and d.result.n_excluded == 0
    assert "exclude_flagged" not in d.status.text()
    d.law_id.setText("team-fit")
    path = d.save_and_use(str(tmp / "elsewhere.yaml"))
    s = w.session.scenario
    # the window uses the fitted law: scenario, picker, law info, and the estimate all follow
    assert s.law == path
    assert w.inputs.law.current() == path
    assert "team-fit" in w.inputs.law.combo.currentText()
    got = w.session.estimate
    want = estimate(replace(before.scenario, law=path), catalogue=w.session.catalogue)
    assert got.law_name == want.law_name == "team-fit"
    assert got.params == pytest.approx(want.params, rel=1e-12)
    assert got.cost_usd == pytest.approx(want.cost_usd, rel=1e-12)
    assert got.params != pytest.approx(before.params, rel=1e-4)  # a different law, a new plan
    assert "team-fit" in w.subhead.text()
    assert not w.session.errors and not w.error_strip.messages and not warnings
    assert "now uses the law 'team-fit'" in d.status.text()
    # the built-in laws are still offered next to it
    offered = [w.inputs.law.combo.itemData(i) for i in range(w.inputs.law.combo.count())]
    assert {"epoch-2024", "chinchilla-2022", path} <= set(offered)


def test_flag_column_is_offered_only_when_the_csv_has_one(qtbot, tmp_path):
    d = FitDialog()
    qtbot.addWidget(d)
    assert not d.exclude.isEnabled()
    d.path_edit.setText(str(fitting.epoch_runs_path()))
    assert d.exclude.isEnabled() and d.exclude.isChecked()
    assert "excluded_by_epoch_top5_loss" in d.exclude.text()
    plain = tmp_path / "plain.csv"
    _plain_csv(plain)
    d.path_edit.setText(str(plain))
    assert not d.exclude.isEnabled() and not d.exclude.isChecked()
    d.path_edit.setText(str(tmp_path / "missing.csv"))
    assert not d.exclude.isEnabled()


def test_a_law_saved_into_the_user_folder_is_listed_by_id(gui_window, gui_env):
    tmp, _warnings = gui_env
    w = gui_window
    path = _law_file(tmp / "laws" / "ours.yaml", "our-law", E=1.75)
    ok, message = w._use_law(path)
    assert ok, message
    assert w.session.scenario.law == "our-law"  # the catalogue's id, not the path
    assert w.inputs.law.current() == "our-law"
    assert "(user law)" in w.inputs.law.combo.currentText()
    assert w.session.estimate.law_name == "Law our-law"


def test_open_law_menu_adds_and_selects_the_law(gui_window, gui_env, monkeypatch):
    tmp, warnings = gui_env
    w = gui_window
    before = w.session.estimate
    path = _law_file(tmp / "chin.yaml", "chin-copy", E=1.80)
    monkeypatch.setattr(w, "_ask_open_path", lambda *a, **k: path)
    w.act_open_law.trigger()
    assert w.session.scenario.law == path and w.inputs.law.current() == path
    want = estimate(replace(before.scenario, law=path), catalogue=w.session.catalogue)
    assert w.session.estimate.loss == pytest.approx(want.loss, rel=1e-12)
    assert w.session.estimate.params != pytest.approx(before.params, rel=1e-3)
    assert not warnings
    # a broken law file: one clear message, nothing changes
    bad = tmp / "bad.yaml"
    bad.write_text("id: broken\nform: parametric\nconstants: {E: lots}\n", encoding="utf-8")
    monkeypatch.setattr(w, "_ask_open_path", lambda *a, **k: str(bad))
    scenario = w.session.scenario
    assert not w.open_law_file()
    assert w.session.scenario == scenario
    assert warnings and warnings[-1][0] == "Cannot use the law"
    assert "bad.yaml" in warnings[-1][1] and "Traceback" not in warnings[-1][1]


def test_laws_added_to_the_user_folder_appear_in_the_picker(gui_window, gui_env):
    tmp, _warnings = gui_env
    w = gui_window
    combo = w.inputs.law.combo
    assert combo.findData("late-law") < 0
    _law_file(tmp / "laws" / "late.yaml", "late-law", E=1.72)
    w.inputs.refresh_laws()  # what activating the window does
    i = combo.findData("late-law")
    assert i >= 0 and "(user law)" in combo.itemText(i)
    before = w.session.estimate
    w.inputs.law.pick("late-law")
    w.session.flush()
    assert w.session.scenario.law == "late-law"
    assert w.session.estimate.params != pytest.approx(before.params, rel=1e-3)
    # and a law file removed from the folder leaves the list
    (tmp / "laws" / "late.yaml").unlink()
    w.inputs.law.pick("epoch-2024")
    w.session.flush()
    w.inputs.refresh_laws()
    assert combo.findData("late-law") < 0


def test_a_law_the_cluster_cannot_train_is_listed_and_explained(gui_window, gui_env):
    """The law's plan needs more GPUs than the scenario has: the law is still listed, the
    window keeps the last estimate and says why in the window's words (the field's label,
    never a CLI flag); with enough GPUs the listed law is one pick away."""
    tmp, warnings = gui_env
    w = gui_window
    w.inputs.field("gpus").set_text_and_commit("64")
    w.session.flush()
    before = w.session.estimate
    path = _law_file(tmp / "steep.yaml", "steep", alpha=0.1, beta=0.5)
    ok, message = w._use_law(path)
    assert not ok
    assert "GPUs" in message and "--gpus" not in message and "{f:" not in message
    assert "'steep' is listed under Law" in message
    assert w.session.scenario.law == "epoch-2024" and w.session.estimate is before
    assert w.inputs.law.combo.findData(path) >= 0
    need = int(message.split("at least ")[-1].split()[0].rstrip(".,;:"))
    w.inputs.field("gpus").set_text_and_commit(str(need))
    w.session.flush()
    w.inputs.law.pick(path)
    w.session.flush()
    assert w.session.scenario.law == path and not w.session.errors
    want = estimate(replace(w.session.scenario), catalogue=w.session.catalogue)
    assert w.session.estimate.params == pytest.approx(want.params, rel=1e-12)
