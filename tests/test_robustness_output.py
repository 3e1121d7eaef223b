"""Hostile names through every output format (issue 16): Markdown, CSV, JSON, terminals,
HTML/Qt rich text, the PDF report (typeset from the Markdown by Qt), and the helpers the
spreadsheet and slide writers use.

A law's name and citation and a profile's display name come from files people send each other.
Each is fed through every writer with payloads that try to inject HTML, links, remote images
(a tracking pixel), fake sections or table rows, spreadsheet formulas and terminal escapes.
Markdown output is also *rendered* by an independent parser (Qt's md4c, as the PDF does) to
check what a reader would see.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import report, textsafe
from estimator.engine import estimate
from estimator.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent

PAYLOADS = [
    '<script>alert(1)</script>',
    '<img src="http://tracker.example/pixel.png?u=1">',
    '![](http://tracker.example/pixel.png)',
    '[click here](javascript:alert(1))',
    '<javascript:alert(1)>',
    'Real name\n\n## Fake section\n\n- injected bullet',
    'a | b | c\n|---|---|\n| fake | row |',
    '=HYPERLINK("http://evil.example","click")',
    '+cmd|" /C calc"!A0',
    '-2+3',
    '@SUM(A1:A9)',
    '\t=1+1',
    '`code` ``more``',
    '**bold** _em_ ~~strike~~',
    '&lt;img src=x&gt; &#60;b&#62;',
    '\x1b[31mred\x1b[0m \r\u202eevil',
]


def _hostile_catalogue(tmp_path: Path, payload: str):
    """A law and a profile whose names and citation carry ``payload``."""
    from estimator.catalogue import load_catalogue

    law = yaml.safe_load((ROOT / "estimator/data/laws/chinchilla-2022.yaml").read_text())
    law.update(id="hostile-law", name=f"Law {payload}", citation=f"Evil (2024), {payload}",
               notes=payload)
    prof = yaml.safe_load((ROOT / "hardware_profiles/h100-sxm.yaml").read_text())
    prof.update(id="hostile-chip", display_name=f"Chip {payload}")
    (tmp_path / "laws").mkdir(exist_ok=True)
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "laws" / "law.yaml").write_text(yaml.safe_dump(law))
    (tmp_path / "profiles" / "chip.yaml").write_text(yaml.safe_dump(prof))
    cat = load_catalogue(tmp_path / "profiles", tmp_path / "laws")
    assert not cat.errors, cat.errors
    return cat


def _estimate(tmp_path, payload):
    cat = _hostile_catalogue(tmp_path, payload)
    s = Scenario(law="hostile-law", hardware="hostile-chip")
    est = estimate(s, catalogue=cat)
    from estimator.engine import compare

    return s, est, compare(s, catalogue=cat)


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _unescaped_pipes(line: str) -> int:
    return line.replace("\\\\", "").replace("\\|", "").count("|")


def _assert_markdown_safe(md: str, payload: str) -> None:
    lines = md.splitlines()
    assert not any(ln.startswith("## Fake") for ln in lines)
    assert not any(ln.startswith("- injected") for ln in lines)
    assert not any(ln.startswith("| fake") for ln in lines)
    assert "<script" not in md and "<img" not in md and "<javascript" not in md
    assert not re.search(r"(?<!\\)\]\(", md)  # no link or image syntax survives
    width = None  # every row of a table has its header's number of cells
    for ln in lines:
        if not ln.startswith("|"):
            width = None
        elif ln.startswith("| ---"):
            width = _unescaped_pipes(ln)
        elif width is not None:
            assert _unescaped_pipes(ln) == width, ln


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_report_escapes_every_name(tmp_path, payload):
    s, est, comp = _estimate(tmp_path, payload)
    md = report.report_markdown(s, est, comp, date="2026-01-01")
    _assert_markdown_safe(md, payload)
    assert "Chip" in md and "Law" in md


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_renders_the_names_as_text(tmp_path, payload, qapp_or_skip):
    """Qt's Markdown parser (the one the PDF report uses) renders the report with no image but
    the charts', no link, no extra heading: the hostile text shows as text."""
    from PySide6 import QtGui

    s, est, comp = _estimate(tmp_path, payload)
    doc = QtGui.QTextDocument()
    doc.setMarkdown(report.report_markdown(s, est, comp, date="2026-01-01"))
    headings, images, links = [], [], []
    block = doc.begin()
    while block.isValid():
        if block.blockFormat().headingLevel():
            headings.append(block.text())
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            fmt = frag.charFormat()
            if fmt.isImageFormat():
                images.append(fmt.toImageFormat().name())
            if fmt.isAnchor() or fmt.anchorHref():
                links.append(fmt.anchorHref())
            it += 1
        block = block.next()
    assert not images  # no remote image (tracking pixel)
    # no javascript: link; a bare http(s) address may be autolinked, showing where it goes
    assert all(h.startswith(("http://", "https://")) and h in payload for h in links), links
    assert not any("Fake" in h for h in headings)
    text = doc.toPlainText()
    visible = textsafe.flat(payload).replace("\\", "")
    if "\x1b" not in payload:
        assert " ".join(visible.split())[:12] in " ".join(text.replace("\\", "").split())


@pytest.fixture
def qapp_or_skip():
    pytest.importorskip("PySide6")
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text())
def test_markdown_inline_never_lets_markup_through(text):
    out = textsafe.markdown_inline(text)
    assert "\n" not in out and "\r" not in out
    assert "<" not in out and ">" not in out
    i = 0
    while i < len(out):
        if out[i] == "\\":
            i += 2
            continue
        assert out[i] not in "[]`*|~", (text, out)
        i += 1


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text())
def test_markdown_code_cannot_be_closed_from_inside(text):
    out = textsafe.markdown_code(text)
    fence = len(out) - len(out.lstrip("`"))
    inner = out[fence:len(out) - fence]
    assert "`" * fence not in inner and "\n" not in out


# --------------------------------------------------------------------------------------
# CSV and spreadsheets
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_report_has_no_formula_cells(tmp_path, payload):
    s, est, comp = _estimate(tmp_path, payload)
    rows = list(csv.reader(io.StringIO(report.report_csv(s, est, comp, date="2026-01-01"))))
    assert all(len(r) == 4 for r in rows)
    for r in rows:
        for cell in r:
            try:
                float(cell)
                continue  # a number (a negative one starts with '-')
            except ValueError:
                pass
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), r


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text())
def test_csv_cell_guard(text):
    out = textsafe.csv_cell(text)
    assert not out.lstrip(" ").startswith(textsafe.FORMULA_PREFIXES)
    assert "\n" not in out and "\r" not in out


def test_spreadsheet_and_xml_helpers():
    assert textsafe.spreadsheet_cell(1.5) == 1.5 and textsafe.spreadsheet_cell(None) is None
    assert textsafe.spreadsheet_cell(float("nan")) is None
    assert textsafe.spreadsheet_cell('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"
    assert textsafe.spreadsheet_cell("a\x00b\x0bc") == "a b c"
    assert textsafe.xml_text("ok\x00\x1f\ufffe text\t\n") == "ok text\t\n"


# --------------------------------------------------------------------------------------
# JSON, terminals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_json_report_keeps_names_exactly_and_strictly(tmp_path, payload):
    s, est, comp = _estimate(tmp_path, payload)
    text = report.report_json(s, est, comp, date="2026-01-01")
    assert "\x1b" not in text and "\r" not in text  # escaped as \u001b / \r
    d = json.loads(text)
    assert d["law_name"] == f"Law {payload}"  # data keeps the name; each viewer escapes


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text())
def test_terminal_text_has_no_control_characters(text):
    out = textsafe.terminal(text)
    assert all(not textsafe._unsafe(ch) for ch in out)
    assert textsafe.terminal("plain Ünïcode ✓ 70 B") == "plain Ünïcode ✓ 70 B"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cli_text_of_a_hostile_estimate_is_safe(tmp_path, payload):
    from estimator.cli import format_estimate

    s, est, comp = _estimate(tmp_path, payload)
    out = textsafe.terminal(format_estimate(est), keep_newlines=True)
    assert not any(ch in out for ch in "\x1b\r\u202e\x07")


# --------------------------------------------------------------------------------------
# HTML / Qt rich text
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rich_plain_shows_exactly_the_text(payload, qapp_or_skip):
    from PySide6 import QtGui

    doc = QtGui.QTextDocument()
    doc.setHtml(textsafe.rich_plain(payload))
    expected = "".join(ch for ch in payload.replace("\r\n", "\n")
                       if ch == "\n" or not textsafe._unsafe(ch))
    assert doc.toPlainText().replace("\u2028", "\n") == expected
    assert "<img" not in textsafe.html_text(payload)


def test_a_message_box_shows_a_hostile_name_as_text(qapp_or_skip):
    """QMessageBox's static functions guess rich text; the window passes rich_plain text, which
    Qt renders as exactly the original characters."""
    from PySide6 import QtGui

    for payload in PAYLOADS[:3]:
        shown = QtGui.QTextDocumentFragment.fromHtml(textsafe.rich_plain(payload)).toPlainText()
        assert shown == payload


# --------------------------------------------------------------------------------------
# PDF (typeset from the Markdown by the window's report writer)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [PAYLOADS[2], PAYLOADS[6], PAYLOADS[14]])
def test_pdf_report_shows_hostile_names_as_they_are(tmp_path, payload, qapp_or_skip,
                                                    monkeypatch):
    """Read back with poppler: the name shows exactly (no markup rendered, no escape
    characters left), and the tables keep their shape."""
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from estimator.engine import compare
    from estimator.gui.report_pdf import save_report_pdf

    _hostile_catalogue(tmp_path, payload)
    monkeypatch.setenv("ESTIMATOR_PROFILE_DIR", str(tmp_path / "profiles"))
    monkeypatch.setenv("ESTIMATOR_LAW_DIR", str(tmp_path / "no-laws"))
    s = Scenario(law=str(tmp_path / "laws" / "law.yaml"), hardware="hostile-chip")
    est = estimate(s)
    out = tmp_path / "report.pdf"
    save_report_pdf(out, s, est, compare(s))
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True,
                          text=True).stdout
    flat = " ".join(text.split())
    shown = " ".join(textsafe.flat(payload).split())
    assert f"Law {shown}" in flat, flat[:600]
    assert "&lt;" not in flat.replace(shown, "") and "\\[" not in flat
