"""Chart exports from the window: the export dialog (format, style, size), the remembered
options, Copy image to the clipboard, the new chart tabs; and the PDF report's layout (column
widths, whole rows, repeated headers, every page looked at). Settings go to tmp_path."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from estimator.engine import compare, estimate  # noqa: E402
from estimator.gui import settings  # noqa: E402
from estimator.gui.charts.export_dialog import (  # noqa: E402
    ChartExportDialog,
    ExportOptions,
    load_options,
    save_options,
)
from estimator.gui.report_pdf import (  # noqa: E402
    Table,
    _typeset,
    a4_writer,
    column_widths,
    parse_markdown,
    save_report_pdf,
)
from estimator.gui.theme import chart_theme  # noqa: E402
from estimator.gui.window import MainWindow  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402

pytestmark = pytest.mark.gui
PDFTOPPM = shutil.which("pdftoppm")
PDFTOTEXT = shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    PDFTOPPM is None or PDFTOTEXT is None,
    reason="pdftoppm/pdftotext not installed (apt-get install poppler-utils)",
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    return tmp_path


@pytest.fixture
def window(qtbot, isolated, monkeypatch):
    monkeypatch.setattr(
        QtWidgets.QMessageBox,
        "warning",
        staticmethod(lambda *a, **k: pytest.fail(f"error dialog: {a[1:3]}")),
    )
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.session.dirty = False


def test_new_charts_are_tabs_with_data(window):
    w = window
    titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert "IsoFLOP profiles" in titles and "Laws compared" in titles
    w.refresh_all()
    assert len(w.charts["isoflop"].series("profile_2")[0]) > 10
    assert len(w.charts["laws"].series("plan")[0]) == 1


def test_window_exports_in_print_style_by_default(window, isolated):
    w = window  # the dark theme on screen
    out = isolated / "f.png"
    assert w.export_chart("frontier", out, 800, 500)
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (800, 500)
    assert QtGui.QColor(img.pixel(3, 3)).name() == chart_theme("print").background


def test_export_dialog_offers_style_and_size(window, isolated, qtbot):
    w = window
    w.refresh_all()
    chart = w.charts["cost"]
    d = ChartExportDialog("cost", chart.curves, chart.estimate, ExportOptions(), w)
    qtbot.addWidget(d)
    assert d.options() == ExportOptions()  # first time: PNG, print, 1600 x 1000
    d.theme_box.setCurrentIndex(d.theme_box.findData("presentation"))
    d.format_box.setCurrentIndex(d.format_box.findData("svg"))
    d.size_box.setCurrentIndex(3)  # "Document, half width — 640 × 480"
    o = d.options()
    assert (o.fmt, o.theme, o.width_px, o.height_px) == ("svg", "presentation", 640, 480)
    d.width_box.setValue(700)
    assert d.size_box.currentText() == "Custom size"
    assert "7.3 × 5.0 in" in d.size_note.text()
    d.update_preview()
    pix = d.preview.pixmap()
    assert not pix.isNull() and pix.width() <= d.preview.width()
    # the preview is the export: white (presentation) background
    assert QtGui.QColor(pix.toImage().pixel(pix.width() // 2, 2)).name() == "#ffffff"


def test_export_with_options_saves_what_was_chosen_and_remembers_it(window, isolated, monkeypatch):
    w = window
    chosen = ExportOptions(fmt="svg", theme="presentation", width_px=800, height_px=500)
    monkeypatch.setattr(w, "_ask_export_options", lambda kind: chosen)
    monkeypatch.setattr(w, "_ask_save_path", lambda *a: str(isolated / "chart"))
    assert w.export_chart_with_options("hardware")
    root = ET.parse(isolated / "chart.svg").getroot()
    assert root.get("width") == "800px"
    # the dialog stores its choice; the quick actions reuse it
    save_options(chosen)
    assert load_options() == chosen
    monkeypatch.setattr(w, "_ask_save_path", lambda *a: str(isolated / "quick.png"))
    assert w.export_chart_dialog("frontier", "png")
    img = QtGui.QImage(str(isolated / "quick.png"))
    assert (img.width(), img.height()) == (800, 500)
    monkeypatch.setattr(w, "_ask_export_options", lambda kind: None)
    assert not w.export_chart_with_options("hardware")  # cancelled


def test_copy_image_puts_the_chart_on_the_clipboard(window, isolated, monkeypatch):
    w = window
    clip = QtGui.QGuiApplication.clipboard()
    clip.clear()
    save_options(ExportOptions(width_px=900, height_px=560))
    w.tabs.setCurrentWidget(w.charts["lifetime"])
    w.act_copy_chart.trigger()
    img = clip.image()
    assert (img.width(), img.height()) == (900, 560)
    assert QtGui.QColor(img.pixel(3, 3)).name() == "#ffffff"  # print style
    assert "Copied" in w.statusBar().currentMessage()
    # the dialog's Copy image button copies with the dialog's choice
    monkeypatch.setattr(
        w,
        "_ask_export_options",
        lambda kind: ExportOptions(theme="normal", width_px=640, height_px=400, action="copy"),
    )
    assert w.export_chart_with_options("laws")
    img = clip.image()
    assert (img.width(), img.height()) == (640, 400)
    assert QtGui.QColor(img.pixel(3, 3)).name() == chart_theme("normal").background


def test_chart_menus_offer_copy_export_and_formats(window):
    w = window
    texts = [a.text() for a in w._chart_menu("cost").actions() if a.text()]  # noqa: SLF001
    assert texts[:2] == ["Copy image", "Export…"]
    assert any(".svg" in t for t in texts) and any(".pdf" in t for t in texts)
    w.tabs.setCurrentWidget(w.charts["isoflop"])
    w._fill_export_button_menu()  # noqa: SLF001
    assert [a.text() for a in w.export_button.menu().actions()][:2] == ["Copy image", "Export…"]


# -- PDF report layout -----------------------------------------------------------------------


def test_column_widths_from_content():
    # fits: natural widths
    assert column_widths([50, 60], [50, 40], [20, 30], 200) == [50, 60]
    # headers wrap first; the room left goes to the headers that wrap least
    w = column_widths([100, 40], [30, 40], [30, 20], 100)
    assert sum(w) == pytest.approx(100) and w[0] >= 30 and w[1] >= 40
    # then cells wrap, never below the longest word
    w = column_widths([300, 300], [250, 100], [60, 50], 200)
    assert sum(w) == pytest.approx(200) and w[0] >= 60 and w[1] >= 50 and w[0] > w[1]
    assert column_widths([300], [300], [250], 200) is None


def test_markdown_tables_parse_with_alignment_and_underscored_names():
    blocks = parse_markdown(
        "# T\n\n| Field | Value |\n| --- | ---: |\n| target_loss | 2.1 |\n"
        "| **plan** | x |\n\n- a _b_ c\n- d\n"
    )
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.aligns == ["left", "right"] and table.rows[0] == ["target_loss", "2.1"]
    bullets = blocks[-1]
    assert bullets.items == ["a <i>b</i> c", "d"]


def _long_table_md(rows: int) -> str:
    head = "| Hardware | $/GPU-h | GPU-hours | Training cost | P10 – P90 | Wall-clock |\n"
    head += "| --- | ---: | ---: | ---: | ---: | ---: |\n"
    body = "".join(
        f"| Accelerator model number {i} with a long name | $2.{i % 10}0 | "
        f"{i} k | ${i}.5 M | ${i} k – ${i + 1}.2 M | {i} days |\n"
        for i in range(rows)
    )
    return "## Hardware\n\n" + head + body


def test_rows_stay_whole_and_headers_repeat_on_every_page(qtbot):
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pages = _typeset(
        a4_writer(buf), parse_markdown(_long_table_md(120)), [], draw=False, total=0, footer=""
    )
    assert pages.page >= 3
    placed = pages.placed
    assert sum(kind == "row" for kind, *_ in placed) == 120
    for _kind, _page, y, h, _x in placed:
        assert y >= 0 and y + h <= pages.bottom + 1e-6  # inside the page: no row split
    by_page: dict[int, list[str]] = {}
    for kind, page, *_ in placed:
        by_page.setdefault(page, []).append(kind)
    for kinds in by_page.values():
        assert kinds[0] == "header" and kinds.count("header") == 1


@needs_poppler
def test_report_pdf_every_page_read_back(qtbot, tmp_path):
    s = Scenario()
    e = estimate(s)
    out = tmp_path / "report.pdf"
    save_report_pdf(out, s, e, compare(s))
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = unicodedata.normalize("NFKC", text)  # the fonts' "fi" ligatures back to letters
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    n = len(pages)
    for i, page in enumerate(pages, start=1):
        assert f"page {i} of {n}" in page  # the footer, on every page
    # headers whole: each word of the hardware table's header is on one line, unbroken
    header = next(ln for ln in text.splitlines() if "$/GPU-h" in ln)
    for word in ("Hardware", "$/GPU-h", "GPU-hours", "Wall-clock", "Energy"):
        assert word in header, header
    assert not re.search(r"Hardwar\s*\n\s*e\b", text)
    assert "461 MWh" in text  # a number and its unit stay on one line
    # every hardware row made it, each once
    for name in ("MI300X", "TPU v4", "H100 SXM5 80GB", "A100 40GB SXM4"):
        assert name in text
    # every chart, drawn as vectors (text in the PDF), in the print style
    for title in ("IsoFLOP profiles", "how the scaling laws disagree", "The plan on every"):
        assert title in text
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(out), str(tmp_path / "pg")], check=True)
    images = sorted(tmp_path.glob("pg-*.png"))
    assert len(images) == n
    for path in images:
        img = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
        a = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
        a = a.reshape(img.height(), img.bytesPerLine())[:, : img.width()]
        assert a[0].min() > 200 and a[-1].min() > 200  # the margins stay white: nothing
        assert a[:, 0].min() > 200 and a[:, -1].min() > 200  # runs off the page
        assert (a < 128).mean() > 0.005  # and no page is blank


def test_report_pdf_with_the_windows_charts(qtbot, window, isolated):
    w = window
    w.refresh_all()
    one = isolated / "one.pdf"
    save_report_pdf(
        one, w.session.scenario, w.session.estimate, None, charts={"frontier": w.charts["frontier"]}
    )
    every = isolated / "every.pdf"
    assert w.export_report(every)
    assert one.read_bytes().startswith(b"%PDF") and every.read_bytes().startswith(b"%PDF")
    assert one.stat().st_size < every.stat().st_size  # one chart instead of seven
    with pytest.raises(Exception, match=r"\.pdf"):
        save_report_pdf(isolated / "report.docx", w.session.scenario, w.session.estimate)
