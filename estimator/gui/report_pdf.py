"""PDF report: the Markdown report (:func:`estimator.report.report_markdown`) laid out on A4
pages with every chart drawn as vectors in the print style (whatever theme the window shows).

The layout is our own, not ``QTextDocument``'s page flow, which broke table headers inside words
("Hardwar e") and split rows across pages. Here:

* a table's column widths come from its content: each column gets at least its longest word
  (headers and cells never break inside a word) and shares the remaining width in proportion
  to how much wider its unwrapped text is; a table too wide even so is set in a smaller size;
* a row is kept whole: one that does not fit goes to the next page, under a repeated header;
* a long narrow table (the inputs) is set in two side-by-side halves;
* a heading is kept with what follows it, a chart is never split, and every page carries a
  footer with the page number.

Any Markdown table renders the same way (the cells' text is all it needs), so the report's
content can change without touching this module. Supported Markdown: headings ``#``-``###``,
paragraphs (two trailing spaces: line break), ``- `` bullets, pipe tables with ``---:``
alignment, and ``**bold**``, ``_italic_`` and ``code`` inline.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtCore, QtGui

from estimator.curves import Curves, compute_curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError, InputError
from estimator.gui.chart_kinds import CHART_KINDS
from estimator.gui.charts import ChartWidget, _ensure_app, write_file
from estimator.gui.charts.export import export_chart_widget, layout_chart, paint_chart, picture_dpi
from estimator.gui.theme import EXPORT_THEME
from estimator.report import report_markdown, today
from estimator.scenario import FIELDS, Scenario
from estimator.textsafe import markdown_inline_to_html, markdown_inline_to_text, split_markdown_row

# The charts that explain the plan's size come right after the frontier.
PDF_CHART_ORDER = ("frontier", "isoflop", "laws", "isoloss", "cost", "lifetime", "hardware")
MARGIN_MM = 15.0
CHART_ASPECT = 0.625  # height / width of a chart on the page
BODY_PT = 9.5
TABLE_PT = 8.5
MIN_TABLE_PT = 6.5
HEADING_PT = {1: 16.0, 2: 12.5, 3: 11.0}
CELL_PAD_PX = (5.0, 2.5)  # horizontal, vertical padding inside a cell (96-dpi px)
SPLIT_TABLE_MIN_ROWS = 14  # narrow tables with more rows are set in two halves
INK = "#000000"
MUTED = "#555555"
RULE = "#b8bcc2"
HEADER_BG = "#eef0f3"
ZEBRA_BG = "#f7f8fa"
EMPHASIS_BG = "#fff1e6"


# --------------------------------------------------------------------------------------
# Markdown subset -> blocks
# --------------------------------------------------------------------------------------


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    html: str


@dataclass
class Bullets:
    items: list[str]  # html


@dataclass
class Table:
    header: list[str]  # markdown cell text
    aligns: list[str]  # "left" | "right" | "center"
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Charts:
    """Where the charts go."""


def inline_html(md: str) -> str:
    """Inline Markdown to HTML: escaping, then **bold**, `code`, _italic_ (underscores inside
    words, as in field names, stay); backslash escapes and entities of text from files show as
    their characters (:func:`estimator.textsafe.markdown_inline_to_html`)."""
    return markdown_inline_to_html(md)


def plain_text(md: str) -> str:
    """A cell's text without inline markers (escapes undone)."""
    return markdown_inline_to_text(md)


NBSP = "\u00a0"


def cell_text(md: str, align: str) -> str:
    """A cell as it is set: plain text; in a right-aligned (numeric) column a line may break
    only after a range's dash ("$936 k –" / "$1.7 M"), never between a number and its unit
    ("461 MWh"), so the spaces inside each piece are non-breaking."""
    text = plain_text(md)
    if align == "left":
        return text
    pieces = re.split(r"(?<=[–-])\s+", text)
    return " ".join(piece.replace(" ", NBSP) for piece in pieces)


def _cells(line: str) -> list[str]:
    return split_markdown_row(line)  # an escaped '|' from a file stays in its cell


def parse_markdown(md: str) -> list:
    """The report's Markdown as blocks (Heading, Paragraph, Bullets, Table)."""
    blocks: list = []
    lines = md.splitlines()
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            parts = []
            for k, ln in enumerate(para):
                brk = ln.endswith("  ") and k < len(para) - 1
                parts.append(inline_html(ln.strip()) + ("<br>" if brk else " "))
            blocks.append(Paragraph("".join(parts).strip()))
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        m = re.match(r"^(#{1,3})\s+(.*)$", s)
        if m:
            flush()
            blocks.append(Heading(len(m.group(1)), m.group(2).strip()))
            i += 1
        elif (
            s.startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", lines[i + 1].strip())
        ):
            flush()
            header = _cells(s)
            aligns = []
            for sep in _cells(lines[i + 1]):
                right, left = sep.endswith(":"), sep.startswith(":")
                aligns.append("center" if left and right else "right" if right else "left")
            table = Table(header, aligns + ["left"] * (len(header) - len(aligns)))
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                row = _cells(lines[i])
                table.rows.append((row + [""] * len(header))[: len(header)])
                i += 1
            blocks.append(table)
        elif s.startswith("- ") or s.startswith("* "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(inline_html(lines[i].strip()[2:]))
                i += 1
                # continuation lines of the same bullet
                while (
                    i < len(lines)
                    and lines[i].startswith("  ")
                    and lines[i].strip()
                    and not lines[i].strip().startswith(("- ", "* ", "|", "#"))
                ):
                    items[-1] += " " + inline_html(lines[i].strip())
                    i += 1
            blocks.append(Bullets(items))
        elif not s:
            flush()
            i += 1
        else:
            para.append(line)
            i += 1
    flush()
    return blocks


# --------------------------------------------------------------------------------------
# Table geometry (pure arithmetic on measured widths, so it is testable without a PDF)
# --------------------------------------------------------------------------------------


def _share(base: list[float], target: list[float], room: float) -> list[float]:
    """``base`` plus ``room`` shared in proportion to how far each column is from ``target``."""
    gaps = [max(0.0, t - b) for b, t in zip(base, target, strict=True)]
    total = sum(gaps)
    if total <= 0:
        return list(base)
    return [b + room * g / total for b, g in zip(base, gaps, strict=True)]


def column_widths(
    full: list[float], body: list[float], minimum: list[float], avail: float
) -> list[float] | None:
    """Column widths that fit ``avail``, from each column's width with its header on one line
    (``full``), with its header wrapped (``body``: the widest cell) and at its longest
    unbreakable word (``minimum``):

    1. every column at ``full`` when that fits;
    2. else every column at ``body`` (headers wrap at spaces) and the rest of the width shared
       towards ``full``, so the headers that wrap least get the room;
    3. else every column at ``minimum`` and the rest shared towards ``body``, so the columns
       with the most text wrap least;
    4. None when even the minimums do not fit.
    """
    body = [max(b, m) for b, m in zip(body, minimum, strict=True)]
    if sum(full) <= avail:
        return list(full)
    if sum(body) <= avail:
        return _share(body, full, avail - sum(body))
    if sum(minimum) <= avail:
        return _share(minimum, body, avail - sum(minimum))
    return None


# --------------------------------------------------------------------------------------
# Page layout
# --------------------------------------------------------------------------------------


class _Pages:
    """A cursor over A4 pages of a QPdfWriter; with ``draw=False`` it only measures (the
    first pass counts the pages for the footer)."""

    def __init__(self, pdf: QtGui.QPdfWriter, draw: bool, total_pages: int = 0, footer: str = ""):
        self.pdf = pdf
        self.draw = draw
        self.dpi = pdf.resolution()
        self.px = self.dpi / 96.0  # device pixels per 96-dpi px
        rect = pdf.pageLayout().paintRectPixels(self.dpi)
        self.width = float(rect.width())
        self.height = float(rect.height())
        self.footer_h = self.pt(BODY_PT) * 2.2
        self.bottom = self.height - self.footer_h
        self.y = 0.0
        self.page = 1
        self.total = total_pages
        self.footer = footer
        # every table row set: (what, page, y, height, x); tests check rows stay whole
        self.placed: list[tuple[str, int, float, float, float]] = []
        # every heading set: (text, page, y below it); tests check none ends a page
        self.headings: list[tuple[str, int, float]] = []
        self.painter = QtGui.QPainter(pdf) if draw else None
        if self.painter is not None:
            self.painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            self.painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)

    def pt(self, points: float) -> float:
        """Device pixels of ``points`` typographic points."""
        return points * self.dpi / 72.0

    def font(self, points: float, bold: bool = False, italic: bool = False) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPointSizeF(points)
        f.setBold(bold)
        f.setItalic(italic)
        f.setHintingPreference(QtGui.QFont.HintingPreference.PreferNoHinting)
        return f

    def metrics(self, font: QtGui.QFont) -> QtGui.QFontMetricsF:
        return QtGui.QFontMetricsF(font, self.pdf)

    def room(self) -> float:
        return self.bottom - self.y

    def new_page(self) -> None:
        self._draw_footer()
        if self.draw:
            self.pdf.newPage()
        self.page += 1
        self.y = 0.0

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` fits below the cursor (a block taller than a
        page starts at the top of one)."""
        if self.y > 0 and height > self.room():
            self.new_page()

    def finish(self) -> int:
        self._draw_footer()
        if self.painter is not None:
            self.painter.end()
        return self.page

    def _draw_footer(self) -> None:
        if self.painter is None:
            return
        p = self.painter
        p.save()
        p.setFont(self.font(7.5))
        p.setPen(QtGui.QColor(MUTED))
        y = self.height - self.footer_h * 0.55
        p.setPen(QtGui.QPen(QtGui.QColor(RULE), max(1.0, 0.6 * self.px)))
        p.drawLine(
            QtCore.QPointF(0, y - self.pt(7.5) * 1.1),
            QtCore.QPointF(self.width, y - self.pt(7.5) * 1.1),
        )
        p.setPen(QtGui.QColor(MUTED))
        box = QtCore.QRectF(0, y - self.pt(7.5), self.width, self.pt(7.5) * 2)
        p.drawText(
            box,
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
            self.footer,
        )
        pages = f"page {self.page} of {self.total}" if self.total else f"page {self.page}"
        p.drawText(
            box, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, pages
        )
        p.restore()

    # -- rich text blocks ----------------------------------------------------------------
    def _doc(self, html_text: str, points: float, width: float) -> QtGui.QTextDocument:
        doc = QtGui.QTextDocument()
        doc.documentLayout().setPaintDevice(self.pdf)
        doc.setDefaultFont(self.font(points))
        doc.setDocumentMargin(0)
        doc.setDefaultStyleSheet(f"body {{ color: {INK}; }} code {{ font-family: monospace; }}")
        doc.setHtml(html_text)
        doc.setTextWidth(width)
        return doc

    def text(
        self,
        html_text: str,
        points: float = BODY_PT,
        space_after: float = 0.55,
        indent: float = 0.0,
        keep_with: float = 0.0,
    ) -> None:
        """A paragraph of rich text, ``space_after`` lines of space below it; moved to the
        next page whole when it and ``keep_with`` more pixels do not fit."""
        doc = self._doc(html_text, points, self.width - indent)
        h = doc.size().height()
        self.ensure(h + keep_with)
        if self.painter is not None:
            self.painter.save()
            self.painter.translate(indent, self.y)
            doc.drawContents(self.painter)
            self.painter.restore()
        self.y += h + self.pt(points) * space_after

    def heading(self, level: int, text: str, keep_with: float | None = None) -> None:
        """A heading, kept on one page with the first lines of what follows (``keep_with``
        pixels of it: a chart's whole height)."""
        points = HEADING_PT.get(level, BODY_PT)
        if self.y > 0:
            self.y += self.pt(points) * (0.7 if level > 1 else 0.2)
        keep = self.pt(BODY_PT) * 5 if keep_with is None else keep_with
        self.text(f"<b>{inline_html(text)}</b>", points, space_after=0.35, keep_with=keep)
        self.headings.append((text, self.page, self.y))

    def chart_height(self) -> float:
        """Device pixels one chart takes on the page."""
        return self.width * CHART_ASPECT

    def bullets(self, items: list[str]) -> None:
        indent = self.pt(BODY_PT) * 1.3
        for item in items:
            doc = self._doc(item, BODY_PT, self.width - indent)
            h = doc.size().height()
            self.ensure(h)
            if self.painter is not None:
                self.painter.save()
                self.painter.setFont(self.font(BODY_PT))
                self.painter.setPen(QtGui.QColor(INK))
                self.painter.drawText(QtCore.QPointF(indent * 0.3, self.y + self.pt(BODY_PT)), "•")
                self.painter.translate(indent, self.y)
                doc.drawContents(self.painter)
                self.painter.restore()
            self.y += h + self.pt(BODY_PT) * 0.2
        self.y += self.pt(BODY_PT) * 0.4

    # -- tables --------------------------------------------------------------------------
    def table(self, t: Table) -> None:
        ncol = len(t.header)
        if ncol == 0:
            return
        self.y = float(round(self.y))  # whole pixels: fills and rules meet without seams
        for points in (TABLE_PT, TABLE_PT - 1.0, MIN_TABLE_PT):
            geo = self._table_geometry(t, points, self.width)
            if geo is not None:
                break
        else:  # even the longest words do not fit: share the width by longest word
            geo = self._table_geometry(t, MIN_TABLE_PT, self.width, force=True)
        widths, points = geo
        # long narrow tables: two halves side by side (cells may wrap at spaces in a half,
        # never inside a word)
        gap = self.pt(BODY_PT) * 2
        halves = False
        if len(t.rows) >= SPLIT_TABLE_MIN_ROWS and ncol <= 3:
            halves = 2 * sum(widths) + gap <= self.width
            if not halves and ncol == 2:  # a label-value list may wrap its values in a half
                half_geo = self._table_geometry(t, points, (self.width - gap) / 2)
                if half_geo is not None:
                    widths, halves = half_geo[0], True
        if halves:
            half = (len(t.rows) + 1) // 2
            left = Table(t.header, t.aligns, t.rows[:half])
            right = Table(t.header, t.aligns, t.rows[half:])
            self._table_halves(left, right, widths, points, sum(widths) + gap)
        else:
            self._table_rows(t, widths, points, x0=0.0)
        self.y += self.pt(BODY_PT) * 0.6

    def _cell_font(self, points: float, bold: bool) -> QtGui.QFont:
        return self.font(points, bold=bold)

    def _table_geometry(self, t: Table, points: float, avail: float, force: bool = False):
        pad = 2 * CELL_PAD_PX[0] * self.px + 1
        full, body, minimum = [], [], []
        fm_bold, fm = (self.metrics(self._cell_font(points, b)) for b in (True, False))
        for j in range(len(t.header)):
            head = plain_text(t.header[j])
            cells = [
                (cell_text(r[j], t.aligns[j]), fm_bold if "**" in r[j] else fm) for r in t.rows
            ]
            widest = max((m.horizontalAdvance(c) for c, m in cells), default=0.0)
            words = [(w, fm_bold) for w in head.split(" ")]
            words += [(w, m) for c, m in cells for w in c.split(" ")]
            full.append(max(widest, fm_bold.horizontalAdvance(head)) + pad)
            body.append(widest + pad)
            minimum.append(max((m.horizontalAdvance(w) for w, m in words), default=0.0) + pad)
        widths = column_widths(full, body, minimum, avail)
        if widths is None:
            if not force:
                return None
            total = sum(minimum)
            widths = [avail * m / total for m in minimum]
        # whole pixels, rounded up so a column is never a hair narrower than its longest
        # word; the widest column gives back what rounding added
        widths = [float(math.ceil(w - 1e-6)) for w in widths]
        excess = sum(widths) - math.floor(avail)
        if excess > 0:
            k = widths.index(max(widths))
            widths[k] -= excess
        return widths, points

    def _row_height(
        self, cells: list[str], aligns: list[str], widths: list[float], points: float, header: bool
    ) -> float:
        h = 0.0
        for text, w, align in zip(cells, widths, aligns, strict=True):
            bold = header or "**" in text
            fm = self.metrics(self._cell_font(points, bold))
            inner = max(1.0, w - 2 * CELL_PAD_PX[0] * self.px)
            shown = plain_text(text) if header else cell_text(text, align)
            r = fm.boundingRect(QtCore.QRectF(0, 0, inner, 1e6), self._wrap_flags("left"), shown)
            h = max(h, r.height())
        return float(round(h + 2 * CELL_PAD_PX[1] * self.px))

    @staticmethod
    def _wrap_flags(align: str) -> int:
        a = {
            "left": QtCore.Qt.AlignmentFlag.AlignLeft,
            "right": QtCore.Qt.AlignmentFlag.AlignRight,
            "center": QtCore.Qt.AlignmentFlag.AlignHCenter,
        }[align]
        return int(a | QtCore.Qt.AlignmentFlag.AlignTop) | int(QtCore.Qt.TextFlag.TextWordWrap)

    def _draw_row(
        self,
        cells: list[str],
        aligns: list[str],
        widths: list[float],
        points: float,
        x0: float,
        y: float,
        height: float,
        kind: str,
    ) -> None:
        self.placed.append(("header" if kind == "header" else "row", self.page, y, height, x0))
        p = self.painter
        if p is None:
            return
        total = sum(widths)
        bg = {"header": HEADER_BG, "zebra": ZEBRA_BG, "emphasis": EMPHASIS_BG}.get(kind)
        if bg:
            p.fillRect(QtCore.QRectF(x0, y, total, height), QtGui.QColor(bg))
        x = x0
        for text, w, align in zip(cells, widths, aligns, strict=True):
            bold = kind == "header" or "**" in text
            p.setFont(self._cell_font(points, bold))
            p.setPen(QtGui.QColor(INK))
            rect = QtCore.QRectF(
                x + CELL_PAD_PX[0] * self.px,
                y + CELL_PAD_PX[1] * self.px,
                w - 2 * CELL_PAD_PX[0] * self.px,
                height - 2 * CELL_PAD_PX[1] * self.px,
            )
            shown = plain_text(text) if kind == "header" else cell_text(text, align)
            p.drawText(rect, self._wrap_flags(align), shown)
            x += w
        pen = QtGui.QPen(
            QtGui.QColor(INK if kind == "header" else RULE),
            max(1.0, (0.9 if kind == "header" else 0.5) * self.px),
        )
        p.setPen(pen)
        p.drawLine(QtCore.QPointF(x0, y + height), QtCore.QPointF(x0 + total, y + height))

    def _table_rows(self, t: Table, widths: list[float], points: float, x0: float) -> None:
        head_h = self._row_height(t.header, t.aligns, widths, points, header=True)
        rows = [(r, self._row_height(r, t.aligns, widths, points, header=False)) for r in t.rows]
        first_h = rows[0][1] if rows else 0.0
        self.ensure(head_h + first_h)  # never a header alone at the foot of a page
        self._draw_row(t.header, t.aligns, widths, points, x0, self.y, head_h, "header")
        self.y += head_h
        for k, (row, h) in enumerate(rows):
            if h > self.room():
                self.new_page()
                self._draw_row(t.header, t.aligns, widths, points, x0, self.y, head_h, "header")
                self.y += head_h
            kind = "emphasis" if "**" in row[0] else ("zebra" if k % 2 else "plain")
            self._draw_row(row, t.aligns, widths, points, x0, self.y, h, kind)
            self.y += h

    def _table_halves(
        self, left: Table, right: Table, widths: list[float], points: float, offset: float
    ) -> None:
        """Two halves of one table side by side, row by row (pages break for both)."""
        head_h = self._row_height(left.header, left.aligns, widths, points, header=True)
        pairs = []
        for k in range(len(left.rows)):
            rl = left.rows[k]
            rr = right.rows[k] if k < len(right.rows) else None
            h = self._row_height(rl, left.aligns, widths, points, header=False)
            if rr is not None:
                h = max(h, self._row_height(rr, right.aligns, widths, points, header=False))
            pairs.append((rl, rr, h))
        self.ensure(head_h + (pairs[0][2] if pairs else 0.0))

        def header() -> None:
            self._draw_row(left.header, left.aligns, widths, points, 0.0, self.y, head_h, "header")
            self._draw_row(
                right.header, right.aligns, widths, points, offset, self.y, head_h, "header"
            )
            self.y += head_h

        header()
        for k, (rl, rr, h) in enumerate(pairs):
            if h > self.room():
                self.new_page()
                header()
            kind = "zebra" if k % 2 else "plain"
            self._draw_row(rl, left.aligns, widths, points, 0.0, self.y, h, kind)
            if rr is not None:
                self._draw_row(rr, right.aligns, widths, points, offset, self.y, h, kind)
            self.y += h

    # -- charts --------------------------------------------------------------------------
    def chart(self, kind: str, curves: Curves, est: Estimate) -> None:
        """One chart across the text width, drawn as vectors; never split over pages."""
        w_css = self.width / self.px
        h_css = w_css * CHART_ASPECT
        h = h_css * self.px
        self.ensure(h)
        if self.painter is not None:
            chart = export_chart_widget(kind, EXPORT_THEME, curves, est, round(w_css), round(h_css))
            try:
                layout_chart(chart, round(w_css), round(h_css))
                p = self.painter
                p.save()
                p.translate(0, self.y)
                if self.px != 1.0:
                    p.scale(self.px, self.px)
                paint_chart(chart, p, round(w_css), round(h_css))
                p.restore()
            finally:
                chart.hide()
                chart.deleteLater()
        self.y += h + self.pt(BODY_PT) * 1.2


def _split_markdown(md: str) -> tuple[str, str]:
    """Results first, then the charts, then assumptions and inputs. The report's closing
    assumptions line moves up under the Assumptions heading, so it never sits alone on a last
    page after the long inputs table."""
    key = "\n## Assumptions"
    i = md.find(key)
    if i < 0:
        return md, ""
    head, tail = md[:i], md[i:]
    lines = tail.rstrip("\n").split("\n")
    if lines and lines[-1].startswith("_Law:"):
        closing = lines.pop()
        at = next(i for i, ln in enumerate(lines) if ln.startswith("## Assumptions")) + 1
        lines[at:at] = ["", closing]  # right under the heading, never above it
        tail = "\n".join(lines) + "\n"
    return head, tail


def _choice_text(value: str) -> str:
    return value.replace("_", "-")


def inputs_table(scenario: Scenario, est: Estimate, catalogue=None) -> Table:
    """The inputs the scenario's mode uses (:func:`estimator.report.input_rows`, from
    :meth:`Scenario.relevant`), labelled by their field specs, with hardware and laws by their
    names and choices as words (never a raw field name or id)."""
    from estimator.catalogue import resolve
    from estimator.report import input_rows

    cat = resolve(catalogue)
    rows = []
    for label, text, name in input_rows(scenario):
        value = getattr(scenario, name)
        if name == "law":
            text = est.law_name
        elif name == "hardware":
            text = est.hardware_name
        elif name == "inference_hardware":
            try:
                text = cat.profile(value).display_name
            except EstimatorError:
                pass
        elif FIELDS[name].kind == "choice" and isinstance(value, str):
            text = _choice_text(value)
        rows.append([md_cell(label), md_cell(text)])
    return Table(["Input", "Value"], ["left", "left"], rows)


def md_cell(text: str) -> str:
    """Text from a file or a spec as a Markdown table cell (escaped)."""
    from estimator.textsafe import markdown_inline

    return markdown_inline(text)


def _with_inputs_table(blocks: list, table: Table) -> list:
    """``blocks`` with the table under the "Inputs" heading replaced by ``table``."""
    out = list(blocks)
    for i, b in enumerate(out):
        if isinstance(b, Heading) and b.text.strip() == "Inputs":
            for k in range(i + 1, len(out)):
                if isinstance(out[k], Table):
                    out[k] = table
                    return out
                if isinstance(out[k], Heading):
                    break
    return out


def _chart_sources(
    scenario: Scenario, estimate: Estimate, charts: dict[str, ChartWidget] | None
) -> list[tuple[str, Curves, Estimate]]:
    sources: list[tuple[str, Curves, Estimate]] = []
    if charts:
        for kind in PDF_CHART_ORDER:
            w = charts.get(kind)
            if w is not None and w.curves is not None and w.estimate is not None:
                sources.append((kind, w.curves, w.estimate))
    if not sources:
        curves = compute_curves(scenario, estimate)
        sources = [(k, curves, estimate) for k in PDF_CHART_ORDER if k in CHART_KINDS]
    return sources


def _typeset(
    pdf: QtGui.QPdfWriter, blocks: list, sources, draw: bool, total: int, footer: str
) -> _Pages:
    pages = _Pages(pdf, draw, total, footer)
    first_heading = True
    for b in blocks:
        if isinstance(b, Heading):
            if first_heading and b.level == 1:
                pages.text(f"<b>{inline_html(b.text)}</b>", 18.0, space_after=0.5)
            else:
                pages.heading(b.level, b.text)
            first_heading = False
        elif isinstance(b, Paragraph):
            pages.text(b.html)
        elif isinstance(b, Bullets):
            pages.bullets(b.items)
        elif isinstance(b, Table):
            pages.table(b)
        elif isinstance(b, Charts):
            if sources:
                pages.heading(2, "Charts", keep_with=pages.chart_height())
            for kind, curves, est in sources:
                pages.chart(kind, curves, est)
    pages.finish()
    return pages


def a4_writer(buf: QtCore.QIODevice, title: str = "") -> QtGui.QPdfWriter:
    """An A4 PDF writer with the report's margins, at the charts' QPicture DPI (their cached
    axes replay scaled by the device DPI over theirs, see :mod:`estimator.gui.charts.export`)."""
    pdf = QtGui.QPdfWriter(buf)
    pdf.setPageSize(QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4))
    pdf.setPageMargins(
        QtCore.QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
        QtGui.QPageLayout.Unit.Millimeter,
    )
    pdf.setTitle(title)
    pdf.setCreator("LLM cost estimator")
    pdf.setResolution(picture_dpi())
    return pdf


def save_report_pdf(
    path: str | Path,
    scenario: Scenario,
    estimate: Estimate,
    comparison: list[Estimate] | None = None,
    charts: dict[str, ChartWidget] | None = None,
) -> None:
    """Write an A4 PDF: the report's text and tables, then every chart as vectors in the
    print style, then the assumptions and inputs.

    ``charts``: the window's chart widgets (their data is drawn again at print size in the
    print style); None draws every chart kind from a fresh computation."""
    p = Path(path)
    if p.suffix.lower() != ".pdf":
        raise InputError(
            f"{p.name}: a PDF report needs a .pdf file name",
            field="out",
            value=str(p),
            expected="a .pdf file name",
        )
    _ensure_app()
    sources = _chart_sources(scenario, estimate, charts)
    head, tail = _split_markdown(report_markdown(scenario, estimate, comparison))
    blocks = parse_markdown(head) + [Charts()] + _with_inputs_table(
        parse_markdown(tail), inputs_table(scenario, estimate))
    footer = f"LLM cost estimate · {estimate.law_name} · generated {today()}"

    title = f"LLM cost estimate — {estimate.law_name}, {estimate.hardware_name}"

    def writer(buf: QtCore.QBuffer) -> QtGui.QPdfWriter:
        return a4_writer(buf, title)

    measure = QtCore.QBuffer()
    measure.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    total = _typeset(writer(measure), blocks, sources, draw=False, total=0, footer=footer).page
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    _typeset(writer(buf), blocks, sources, draw=True, total=total, footer=footer)
    data = bytes(buf.data())
    if not data.startswith(b"%PDF"):
        raise InputError(f"{p}: the PDF could not be generated")
    write_file(p, data, "the report")
