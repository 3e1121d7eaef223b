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
