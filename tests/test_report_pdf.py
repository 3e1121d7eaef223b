"""The PDF report read back as a reader gets it (``pdftotext``): table headers are whole words,
the inputs table names inputs by their labels and lists only what the scenario's mode uses (no
stale target of another mode, no raw field name), no heading ends a page, rows stay whole."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

import pytest

pytest.importorskip("PySide6")

from PySide6 import QtCore  # noqa: E402

from estimator.engine import compare, estimate  # noqa: E402
from estimator.gui.report_pdf import (  # noqa: E402
    Charts,
    Heading,
    Table,
    _chart_sources,
    _split_markdown,
    _typeset,
    _with_inputs_table,
    a4_writer,
    inputs_table,
    parse_markdown,
    save_report_pdf,
)
from estimator.report import report_markdown  # noqa: E402
from estimator.scenario import FIELDS, Scenario  # noqa: E402

pytestmark = pytest.mark.gui
PDFTOTEXT = shutil.which("pdftotext")

#: A loss target with stale inputs of other modes (a reference model, a compute budget) left
#: in the file, limited data, serving demand, lifetime optimisation and a grid intensity.
STALE = Scenario(mode="loss", target_loss=1.95, match_params=70e9, match_tokens=15e12,
                 compute_flops=1e24, unique_tokens=5e12, inference_tokens_per_day=1e11,
                 optimize="lifetime", grid_kg_co2_per_kwh=0.4, pue=1.6)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    s = STALE
    e = estimate(s)
    comp = compare(s)
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    save_report_pdf(out, s, e, comp)
    return s, e, comp, out


def _text(path, layout: bool = True) -> str:
    args = [PDFTOTEXT] + (["-layout"] if layout else []) + [str(path), "-"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", out)  # ligatures ("fi") back to letters


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext not installed (poppler-utils)")
def test_headers_are_whole_words_and_inputs_are_labelled(report):
    s, e, comp, out = report
    text = _text(out)
    words = re.findall(r"\S+", text)
    # every word of every table header comes back whole (a header broken inside a word,
    # "Hardwar e", would leave its pieces instead)
    head, tail = _split_markdown(report_markdown(s, e, comp))
    tables = [b for b in parse_markdown(head) + parse_markdown(tail) if isinstance(b, Table)]
    assert len(tables) >= 4
    for t in tables:
        for cell in t.header:
            for word in cell.replace("*", "").split():
                assert word in words, (word, cell)
    assert not re.search(r"Hardwar\s+e\b", text)
    # no raw field name anywhere: inputs are named by their labels
    raw = [name for name in FIELDS if "_" in name and name in text]
    assert raw == [], raw
    assert "target_loss" not in text
    inputs = text[re.search(r"^Inputs\s*$", text, re.M).start():]
    for name in ("target_loss", "unique_tokens", "gpus", "pue", "optimize"):
        assert FIELDS[name].label in inputs, name
    # only what the mode uses: the stale reference model and compute budget are not listed
    for name in ("match_params", "match_tokens", "compute_flops"):
        assert FIELDS[name].label not in inputs, name
    # values as words: the hardware and law by name, a choice without underscores
    assert e.hardware_name in inputs and "on-demand" in inputs and "on_demand" not in text
    assert "h100-sxm\n" not in inputs
    # the closing assumptions line sits under the Assumptions heading, not above it
    lines = [ln.strip() for ln in _text(out, layout=False).splitlines() if ln.strip()]
    at = lines.index("Assumptions")
    assert lines[at + 1].startswith("Law: ") and not lines[at - 1].startswith("Law: ")


def test_no_heading_ends_a_page_and_rows_stay_whole(qtbot, report):
    s, e, comp, _out = report
    head, tail = _split_markdown(report_markdown(s, e, comp))
    blocks = parse_markdown(head) + [Charts()] + _with_inputs_table(
        parse_markdown(tail), inputs_table(s, e))
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pages = _typeset(a4_writer(buf), blocks, _chart_sources(s, e, None), draw=False, total=0,
                     footer="")
    assert pages.page >= 4
    for kind, _page, y, h, _x in pages.placed:
        assert y >= 0 and y + h <= pages.bottom + 1e-6, kind  # no row split over pages
    # after each heading there is room for the start of what follows (a chart: all of it)
    for text, page, y in pages.headings:
        room = pages.bottom - y
        need = pages.chart_height() if text == "Charts" else pages.pt(9.5) * 3
        assert room >= need, (text, page, room, need)
    charts = next(h for h in pages.headings if h[0] == "Charts")
    assert charts[2] + pages.chart_height() <= pages.bottom
    # the inputs table: labels, the values the report states, nothing stale
    table = next(b for b in blocks if isinstance(b, Table) and b.header == ["Input", "Value"])
    labels = [r[0] for r in table.rows]
    assert FIELDS["target_loss"].label in labels
    assert FIELDS["match_params"].label not in labels
    assert all("_" not in r[0] for r in table.rows)
    assert any(isinstance(b, Heading) and b.text == "Inputs" for b in blocks)
