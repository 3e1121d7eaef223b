"""Text from files, made safe for the format it is written to.

A scenario, law or hardware profile is something people email each other, so every text field
read from a file (a law's name and citation, a profile's display name, an id, a path) is
untrusted. Each writer escapes it for its own format, with one helper per format:

==========================  =================================================================
:func:`terminal`            stdout/stderr: control characters (ESC sequences, a carriage
                            return, a newline inside a name) and bidi overrides shown escaped
:func:`one_line`            :func:`terminal` on one line, cut to a length (error messages)
:func:`excerpt`             a short, sanitised quote of a wrong value for an error message
:func:`markdown_inline`     Markdown text: no raw HTML, no links or images (``[``, ``<``
                            escaped), no new lines or table cells injected
:func:`markdown_code`       a Markdown code span that its content cannot close
:func:`markdown_inline_to_html`  the reports' inline Markdown as HTML for a writer that sets
                            it itself (the PDF): escapes undone, HTML escaped
:func:`split_markdown_row`  a table row's cells, split at unescaped ``|`` only
:func:`csv_cell`            CSV/spreadsheet text: the leading ``= + - @`` (and tab, CR)
                            formula guard (OWASP "CSV injection")
:func:`spreadsheet_cell`    a cell value for an xlsx writer: numbers pass, text is guarded as
                            for CSV and stripped of characters XML cannot hold
:func:`xml_text`            text for an XML-based document (xlsx, pptx, docx, SVG): drops the
                            characters XML 1.0 forbids, which those writers reject
:func:`html_text`           HTML or Qt rich text: ``& < >`` escaped, new lines as ``<br>``
:func:`rich_plain`          plain text for a Qt widget that guesses rich text (message boxes,
                            tooltips): escaped and wrapped so Qt shows it literally
==========================  =================================================================

Every helper returns ordinary text unchanged, so a benign name reads the same everywhere.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

#: Bidirectional-override, isolate and mark characters: shown escaped on a terminal (a name
#: with U+202E reads backwards and can disguise what follows it, CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
#: Characters that start a formula in a spreadsheet when they begin a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")
# an underscore inside a word never starts emphasis (CommonMark 6.2): escape only the others
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_ENTITY = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _unsafe(ch: str, keep: str = "") -> bool:
    """A character a terminal or a one-line field must not receive raw."""
    if ch in keep:
        return False
    if ch in BIDI_CONTROLS:
        return True
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls and DEL; Zl/Zp: line and paragraph separators; Cs: lone surrogates
    return cat in ("Cc", "Zl", "Zp", "Cs")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def terminal(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` safe to print on a terminal: every control character (ESC, CR, BEL, C1, a
    newline unless ``keep_newlines``) and bidi override is shown as an escape (``\\x1b``)."""
    keep = "\n" if keep_newlines else ""
    s = str(text)
    if all(not _unsafe(ch, keep) for ch in s):
        return s
    return "".join(_escaped(ch) if _unsafe(ch, keep) else ch for ch in s)


def one_line(text: object, limit: int = 2000) -> str:
    """A message as exactly one printable line: control characters (a newline in a user's
    hardware name, say) are shown escaped, and a runaway message is cut at ``limit``."""
    out = terminal(text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def excerpt(value: object, limit: int = 40) -> str:
    """A short, sanitised quote of a wrong value for an error message: its ``repr`` for a
    non-string, escaped and cut to ``limit`` characters. Never more of a file than that."""
    if isinstance(value, str):
        s = value.strip()
    else:
        try:
            s = repr(value) if not isinstance(value, (dict, list, tuple, set)) else \
                f"a {type(value).__name__}"
        except Exception:  # noqa: BLE001 - an object whose repr fails
            s = f"a {type(value).__name__}"
    s = terminal(s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def quote(value: object, limit: int = 40) -> str:
    """A wrong value as an error message shows it: a string in quotes, anything else as its
    ``repr``; sanitised and cut by :func:`excerpt`."""
    if isinstance(value, str):
        return "'" + excerpt(value, limit) + "'"
    return excerpt(value, limit)


def names_phrase(names, limit: int = 3, width: int = 30) -> str:
    """Up to ``limit`` names from a file (unknown keys, say), each quoted and cut, and how many
    more: never a whole file's worth of keys in one message."""
    names = sorted(map(str, names))
    shown = ", ".join(quote(n, width) for n in names[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def flat(text: object) -> str:
    """``text`` on one line: every control character and line separator becomes a space."""
    s = str(text)
    if all(not _unsafe(ch) for ch in s):
        return s
    return " ".join("".join(" " if _unsafe(ch) else ch for ch in s).split())


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def markdown_inline(text: object) -> str:
    """Untrusted text inside a Markdown line (a table cell, a list item, a heading).

    New lines and control characters become spaces (no injected sections or rows); ``<``,
    ``>`` become entities (no raw HTML, no ``<javascript:…>`` autolinks); ``[ ] ` * | ~ \\``
    and an ``_`` at a word's edge are backslash-escaped (no links, no remote images, no code
    spans, no table cells); an ``&`` that would start an entity becomes ``&amp;``."""
    s = flat(text)
    s = _MD_ENTITY.sub("&amp;", s)
    s = s.replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return _MD_UNDERSCORE.sub(r"\\_", s)


def markdown_code(text: object) -> str:
    """Untrusted text as a Markdown code span: the fence is one backtick longer than the
    longest run of backticks inside, so the content cannot close it (CommonMark 6.1). HTML in
    a code span is shown, not rendered."""
    s = flat(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


#: A CommonMark backslash escape: a backslash before any ASCII punctuation character.
_MD_BACKSLASH = re.compile(r"\\([!-/:-@\[-`{-~])")
_PUA = re.compile("[\ue000\ue001]")


def _protect_escapes(md: str) -> tuple[str, list[str]]:
    """``md`` with every backslash escape replaced by a placeholder (so inline markers inside
    escaped text are not markers), and the escaped characters."""
    chars: list[str] = []

    def keep(m: re.Match) -> str:
        chars.append(m.group(1))
        return f"\ue000{len(chars) - 1}\ue001"

    return _MD_BACKSLASH.sub(keep, _PUA.sub("", str(md))), chars


def _restore(text: str, chars: list[str], esc) -> str:
    return re.sub("\ue000(\\d+)\ue001", lambda m: esc(chars[int(m.group(1))]), text)


def markdown_inline_to_html(md: str) -> str:
    """Inline Markdown written by this package's reports (``**bold**``, `` `code` ``,
    ``_italic_``, backslash escapes, the entities of :func:`markdown_inline`) as HTML for a
    writer that sets it itself (the PDF report): escapes shown as their characters, HTML
    escaped, so text from a file shows exactly as it was and never as markup."""
    t, chars = _protect_escapes(md)
    t = html.escape(html.unescape(t), quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"<i>\1</i>", t)
    return _restore(t, chars, lambda c: html.escape(c, quote=False))


def markdown_inline_to_text(md: str) -> str:
    """The same Markdown as plain text: markers dropped, escapes and entities shown as their
    characters."""
    t, chars = _protect_escapes(md)
    t = html.unescape(t)
    t = re.sub(r"\*\*(.+?)\*\*", r"\1", t)
    t = re.sub(r"`([^`]+)`", r"\1", t)
    t = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", t)
    return _restore(t, chars, lambda c: c)


def split_markdown_row(line: str) -> list[str]:
    """The cells of a Markdown table row, split at unescaped ``|`` only (a ``\\|`` written by
    :func:`markdown_inline` stays in its cell), each stripped; escapes are kept for the cell's
    own inline conversion."""
    s = line.strip()
    cells, cur, i = [], [], 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur))
    if s.startswith("|"):
        cells = cells[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        cells = cells[:-1]
    return [c.strip() for c in cells]


# --------------------------------------------------------------------------------------
# CSV and spreadsheets
# --------------------------------------------------------------------------------------


def csv_cell(text: object) -> str:
    """Untrusted text for a CSV cell a spreadsheet will open: a cell whose first visible
    character starts a formula (``= + - @``, or a tab or CR) gets a leading apostrophe, the
    OWASP guard, so ``=HYPERLINK(...)`` shows as text. New lines become spaces."""
    s = flat(text)
    if s.lstrip(" ").startswith(FORMULA_PREFIXES) or str(text).startswith(("\t", "\r")):
        return "'" + s
    return s


def csv_value(v: object) -> str:
    """A CSV cell for a value: numbers in full precision (``repr``; not finite: empty),
    booleans as ``true``/``false``, None empty, anything else as text guarded by
    :func:`csv_cell` (it may come from a file)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if isinstance(v, int):
        return str(v)
    return csv_cell(v)


def xml_text(text: object) -> str:
    """``text`` without the characters XML 1.0 cannot hold (C0 controls other than tab and
    new line, lone surrogates, U+FFFE/U+FFFF), which xlsx, pptx, docx and SVG writers reject."""
    return _XML_ILLEGAL.sub("", str(text))


def spreadsheet_cell(value: object) -> object:
    """A value for a spreadsheet writer (openpyxl and the like): finite numbers and booleans
    pass as they are, None stays empty, non-finite numbers become empty, and text is guarded
    against formulas (:func:`csv_cell`) and stripped of XML-illegal characters."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    return xml_text(csv_cell(value))


# --------------------------------------------------------------------------------------
# HTML and Qt rich text
# --------------------------------------------------------------------------------------


def html_text(text: object) -> str:
    """Untrusted text inside HTML or Qt rich text: ``& < >`` (and quotes) escaped, new lines
    as ``<br>``, other control characters dropped."""
    s = str(text).replace("\r\n", "\n")
    s = "".join(ch for ch in s if ch == "\n" or not _unsafe(ch))
    return html.escape(s, quote=True).replace("\n", "<br>")


def rich_plain(text: object) -> str:
    """Plain text for a Qt widget that guesses whether its text is rich (``QMessageBox``'s
    static functions, tooltips): escaped and wrapped in a paragraph, so Qt always renders it as
    rich text that shows exactly ``text`` (a ``<img src=...>`` in a name stays visible text)."""
    return f"<p>{html_text(text)}</p>"
