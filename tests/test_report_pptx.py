"""The slide deck: it opens with python-pptx; the title carries the plan; every chart slide has
its picture at slide resolution with a caption; the results come from the registry; the notes
carry the sources; and (with LibreOffice) every slide rasterises to a readable page. The CLI's
report command writes every format and fails in one line without Qt."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("PySide6")
pptx = pytest.importorskip("pptx")

from estimator import units  # noqa: E402
from estimator.breakeven import rent_or_own  # noqa: E402
from estimator.catalogue import default_catalogue  # noqa: E402
from estimator.engine import compare, estimate  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.gui.chart_kinds import CHART_KINDS, CHART_TITLES  # noqa: E402
from estimator.gui.report_pptx import (  # noqa: E402
    CHART_PX,
    deck_bytes,
    save_report_pptx,
    shape_text,
)
from estimator.quantities import QUANTITIES  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def cat():
    return default_catalogue()


@pytest.fixture(scope="module")
def deck(cat):
    s = Scenario(name="Plan C\x07 <b>")
    est = estimate(s, catalogue=cat)
    comp = compare(s, catalogue=cat)
    ro = rent_or_own(est, purchase_usd_per_chip=30_000, depreciation_years=4, usd_per_kwh=0.1,
                     catalogue=cat)
    data = deck_bytes(s, est, comp, catalogue=cat, rent_own=ro, date="2026-12-01")
    return s, est, ro, pptx.Presentation(io.BytesIO(data)), data


def _texts(slide) -> str:
    out = []
    for sh in slide.shapes:
        if sh.has_text_frame:
            out.append(sh.text_frame.text)
        if sh.has_table:
            out += [c.text for row in sh.table.rows for c in row.cells]
    return "\n".join(out)


def _pictures(slide):
    return [sh for sh in slide.shapes if sh.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE


def test_title_slide_carries_the_headline_plan(deck):
    s, est, _ro, prs, _d = deck
    text = _texts(prs.slides[0])
    assert "Plan C <b>" in text and "\x07" not in text  # the name, control character dropped
    assert units.usd(est.cost_usd) in text and units.days(est.wall_clock_days) in text
    assert units.si(est.params) in text


def test_every_chart_has_its_slide_picture_and_caption(deck):
    _s, est, _ro, prs, _d = deck
    chart_slides = [sl for sl in prs.slides if _pictures(sl)]
    assert len(chart_slides) == len(CHART_KINDS)
    descr = []
    for sl in chart_slides:
        (pic,) = _pictures(sl)
        assert pic.image.content_type == "image/png"
        assert pic.image.size == CHART_PX  # 16:9 at 1920 x 1080
        assert abs(pic.width / pic.height - 16 / 9) < 1e-3
        assert pic.left >= 0 and pic.left + pic.width <= prs.slide_width
        assert pic.top + pic.height < prs.slide_height
        descr.append(pic._element.nvPicPr.cNvPr.get("descr"))
        caption = _texts(sl)
        assert "Assumptions:" in caption and "MFU" in caption
        notes = sl.notes_slide.notes_text_frame.text
        assert est.law_name in notes and "source:" in notes
    assert sorted(descr) == sorted(CHART_TITLES[k] for k in CHART_KINDS)


def test_results_iterate_the_registry_with_sources_in_notes(deck):
    _s, est, _ro, prs, _d = deck
    key = next(sl for sl in prs.slides if _texts(sl).startswith("Key results"))
    text = _texts(key)
    for q in QUANTITIES:
        if q.card and q.applies(est):
            assert q.label_for(est) in text and q.text(getattr(est, q.key)) in text
    appendix = "\n".join(_texts(sl) for sl in prs.slides if _texts(sl).startswith("All results"))
    notes = "\n".join(sl.notes_slide.notes_text_frame.text for sl in prs.slides
                      if _texts(sl).startswith("All results"))
    for q in QUANTITIES:
        if q.applies(est):
            assert q.label_for(est) in appendix
            assert q.definition in notes and q.source in notes
    assert " ".join(est.law_citation.split()) in key.notes_slide.notes_text_frame.text


def test_sensitivity_break_even_and_rent_own_slides(deck, cat):
    s, est, ro, prs, _d = deck
    texts = [_texts(sl) for sl in prs.slides]
    sens = next(t for t in texts if t.startswith("What moves the cost"))
    assert "Utilisation (MFU × goodput)" in sens and "Training price tier" in sens
    be = next(t for t in texts if t.startswith("Cheapest hardware as serving grows"))
    assert "(plan)" in be
    rent = next(t for t in texts if t.startswith("Rent or own"))
    assert f"{ro.break_even_occupancy:.0%}" in rent and "$30 k" in rent


def test_shape_text_drops_what_xml_cannot_hold():
    assert shape_text("a\x00b\x1bc\r\nd") == "abc\nd"
    assert shape_text("Plan ünïcode — ok") == "Plan ünïcode — ok"


def test_save_needs_pptx_suffix(tmp_path, deck):
    s, est, *_ = deck
    with pytest.raises(InputError):
        save_report_pptx(tmp_path / "x.ppt", s, est)


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice and poppler are needed to rasterise the slides")
def test_every_slide_rasterises_with_ink(deck, tmp_path):
    """As a reader sees it: LibreOffice draws each slide; none is blank or lost."""
    *_x, prs, data = deck
    src = tmp_path / "deck.pptx"
    src.write_bytes(data)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(src)], check=True, capture_output=True, timeout=300)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "deck.pdf"),
                    str(tmp_path / "s")], check=True, timeout=300)
    from PIL import Image, ImageStat

    pages = sorted(tmp_path.glob("s-*.png"))
    assert len(pages) == len(prs.slides)
    for p in pages:
        grey = Image.open(p).convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 10, p.name  # text or a chart, not blank


# --------------------------------------------------------------------------------------
# The CLI's report command and the window's export
# --------------------------------------------------------------------------------------


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "estimator", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def test_cli_report_every_format(tmp_path):
    outs = {ext: tmp_path / f"r{ext}" for ext in (".md", ".csv", ".json", ".xlsx", ".pptx")}
    for out in outs.values():
        r = _cli("report", "--gpus", "2048", "--name", "CLI plan", "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size > 500
    assert json.loads(outs[".json"].read_text())["inputs"]["gpus"] == 2048
    prs = pptx.Presentation(str(outs[".pptx"]))
    assert "CLI plan" in _texts(prs.slides[0])


def test_cli_report_errors_are_one_line_exit_2(tmp_path):
    for args in (["--out", str(tmp_path / "r.docx")],
                 ["--out", str(tmp_path / "r.md"), "--purchase-usd-per-chip", "30000"],
                 ["--out", str(tmp_path / "r.xlsx"), "--purchase-usd-per-chip", "30000"],
                 ["--out", str(tmp_path / "no" / "r.xlsx")],
                 ["--out", str(tmp_path / "r.md"), "--gpus", "0"]):
        r = _cli("report", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("estimator"), r.stderr


def test_cli_report_without_qt_names_what_to_install(tmp_path):
    from test_architecture import BLOCK_QT

    code = BLOCK_QT + ("import sys\nfrom estimator.cli import main\n"
                       f"sys.exit(main(['report', '--out', {str(tmp_path / 'r.pptx')!r}]))\n")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "pip install" in r.stderr and "Qt" in r.stderr
    # the formats without charts still work with Qt blocked
    code = BLOCK_QT + ("import sys\nfrom estimator.cli import main\n"
                       f"sys.exit(main(['report', '--out', {str(tmp_path / 'r.xlsx')!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr


def test_window_exports_xlsx_and_pptx(qtbot, tmp_path, monkeypatch):
    from estimator.gui import settings
    from estimator.gui.window import REPORT_FORMATS, MainWindow

    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    assert {"xlsx", "pptx"} <= {ext for ext, _label in REPORT_FORMATS}
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    errors = []
    monkeypatch.setattr(w, "_error", lambda *a: errors.append(a))
    for ext in ("xlsx", "pptx"):
        out = tmp_path / f"w.{ext}"
        stem = str(out)[: -len(ext) - 1]  # the dialog's answer without the suffix
        monkeypatch.setattr(w, "_ask_save_path", lambda *a, p=stem: p)
        assert w.export_report_dialog(ext), errors
        assert out.stat().st_size > 1000
    prs = pptx.Presentation(str(tmp_path / "w.pptx"))
    assert sum(1 for sl in prs.slides if _pictures(sl)) == len(w.charts)
    w.session.dirty = False
