"""PDF report: the Markdown report (:func:`estimator.report.report_markdown`) typeset by
``QTextDocument`` on A4 pages through ``QPdfWriter``, with every chart as a print-quality image
(presentation theme: light background, whatever theme the window shows)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui

from estimator.curves import Curves, compute_curves
from estimator.errors import InputError
from estimator.gui.charts import (
    CHART_KINDS,
    ChartWidget,
    _ensure_app,
    export_scale,
    render_to_image,
    write_file,
)
from estimator.report import report_markdown
from estimator.scenario import Scenario
from estimator.engine import Estimate

CHART_PX = (1600, 1000)
PAGE_TEXT_PX = ((595.0 - 2 * 42.5) * 96 / 72, (842.0 - 2 * 42.5) * 96 / 72)
PDF_CHART_ORDER = ("frontier", "isoloss", "cost", "lifetime", "hardware")


def _chart_image(kind: str, curves: Curves, est: Estimate) -> QtGui.QImage:
    w, h = CHART_PX
    widget = ChartWidget(kind, "presentation", scale=export_scale(w, h))
    try:
        widget.update_chart(curves, est)
        return render_to_image(widget, w, h)
    finally:
        widget.hide()
        widget.deleteLater()


def _split_markdown(md: str) -> tuple[str, str]:
    """Results first, then the charts, then assumptions and inputs."""
    key = "\n## Assumptions"
    i = md.find(key)
    return (md, "") if i < 0 else (md[:i], md[i:])


def save_report_pdf(path: str | Path, scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None,
                    charts: dict[str, ChartWidget] | None = None) -> None:
    """Write an A4 PDF: the report text with its tables, then each chart as an image.

    ``charts``: the window's chart widgets (their data is re-rendered at print size in the
    presentation theme); None draws every chart kind from a fresh computation."""
    p = Path(path)
    if p.suffix.lower() != ".pdf":
        raise InputError(f"{p.name}: a PDF report needs a .pdf file name")
    _ensure_app()
    curves = None
    sources: list[tuple[str, Curves, Estimate]] = []
    if charts:
        for kind in PDF_CHART_ORDER:
            w = charts.get(kind)
            if w is not None and w.curves is not None and w.estimate is not None:
                sources.append((kind, w.curves, w.estimate))
    if not sources:
        curves = compute_curves(scenario, estimate)
        sources = [(k, curves, estimate) for k in PDF_CHART_ORDER if k in CHART_KINDS]

    doc = QtGui.QTextDocument()
    font = QtGui.QFont()
    font.setPointSizeF(9.5)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet("table { border-collapse: collapse; } th, td { padding: 2px 6px; }")
    head, tail = _split_markdown(report_markdown(scenario, estimate, comparison))
    cursor = QtGui.QTextCursor(doc)
    cursor.insertMarkdown(head)
    cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
    block = QtGui.QTextBlockFormat()
    block.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    block.setTopMargin(8)
    block.setBottomMargin(8)
    width_pt = PAGE_TEXT_PX[0] - 20
    for i, (kind, curv, est) in enumerate(sources):
        img = _chart_image(kind, curv, est)
        name = f"chart://{kind}/{i}"
        doc.addResource(QtGui.QTextDocument.ResourceType.ImageResource, QtCore.QUrl(name), img)
        cursor.insertBlock(block)
        if i % 2 == 0 and i > 0:
            fmt = QtGui.QTextBlockFormat(block)
            fmt.setPageBreakPolicy(QtGui.QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
            cursor.setBlockFormat(fmt)
        image = QtGui.QTextImageFormat()
        image.setName(name)
        image.setWidth(width_pt)
        image.setHeight(width_pt * img.height() / img.width())
        cursor.insertImage(image)
    if tail:
        cursor.insertBlock(QtGui.QTextBlockFormat())
        cursor.insertMarkdown(tail)

    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pdf = QtGui.QPdfWriter(buf)
    pdf.setPageSize(QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4))
    pdf.setPageMargins(QtCore.QMarginsF(15, 15, 15, 15), QtGui.QPageLayout.Unit.Millimeter)
    pdf.setTitle(f"LLM cost estimate — {scenario.law}, {estimate.hardware_name}")
    pdf.setCreator("LLM cost estimator")
    pdf.setResolution(300)
    # Lay the text out on the A4 text area (595 x 842 pt less 15 mm margins) in the
    # document's 96-dpi pixels; print_() scales it onto the page.
    doc.setPageSize(QtCore.QSizeF(PAGE_TEXT_PX[0], PAGE_TEXT_PX[1]))
    doc.print_(pdf)
    data = bytes(buf.data())
    if not data.startswith(b"%PDF"):
        raise InputError(f"{p}: the PDF could not be generated")
    write_file(p, data, "the report")
