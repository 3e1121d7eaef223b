"""A small evaluator for the formula subset the .xlsx report writes, so the tests can recompute
a workbook the way a spreadsheet would: numbers, defined names, cell references (``A1``,
``$A$1``, ``'Sheet name'!$A$1``), ``+ - * /``, unary minus, parentheses and ``ABS``, ``MIN``,
``MAX``. Anything else is an error (so the report cannot quietly start using a function a test
does not understand). Empty or text cells referenced by a formula are errors too."""

from __future__ import annotations

import re

from openpyxl.utils import column_index_from_string

_TOKEN = re.compile(r"""
    (?P<sheetref>(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!\$?[A-Z]{1,3}\$?\d+)
  | (?P<cellref>\$?[A-Z]{1,3}\$?\d+(?![A-Za-z0-9_]))
  | (?P<number>\d+(?:\.\d*)?(?:[Ee][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>[-+*/(),])
  | (?P<space>\s+)
""", re.VERBOSE)

FUNCTIONS = {"ABS": lambda a: abs(a[0]), "MIN": min, "MAX": max}


class FormulaError(Exception):
    pass


def _split_ref(ref: str, default_sheet: str) -> tuple[str, str]:
    if "!" in ref:
        sheet, cell = ref.rsplit("!", 1)
        if sheet.startswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
    else:
        sheet, cell = default_sheet, ref
    return sheet, cell.replace("$", "")


class Evaluator:
    """Values of a workbook's cells, formulas evaluated on demand (memoised; :meth:`set`
    changes an input and forgets every computed value)."""

    def __init__(self, wb):
        self.wb = wb
        self.names: dict[str, tuple[str, str]] = {}
        for name, dn in wb.defined_names.items():
            (dest,) = list(dn.destinations)
            self.names[name] = (dest[0], dest[1].replace("$", ""))
        self._cache: dict[tuple[str, str], float] = {}
        self._busy: set[tuple[str, str]] = set()

    # -- public ----------------------------------------------------------------------------
    def value(self, sheet: str, cell: str) -> float:
        key = (sheet, cell.replace("$", ""))
        if key in self._cache:
            return self._cache[key]
        if key in self._busy:
            raise FormulaError(f"circular reference at {sheet}!{cell}")
        raw = self.wb[sheet][key[1]].value
        self._busy.add(key)
        try:
            if isinstance(raw, str) and raw.startswith("="):
                v = self._eval(raw[1:], sheet)
            elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise FormulaError(f"{sheet}!{cell} is not a number: {raw!r}")
            else:
                v = float(raw)
        finally:
            self._busy.discard(key)
        self._cache[key] = v
        return v

    def name(self, name: str) -> float:
        return self.value(*self.names[name])

    def set(self, sheet: str, cell: str, value: float) -> None:
        self.wb[sheet][cell].value = value
        self._cache.clear()

    def set_name(self, name: str, value: float) -> None:
        self.set(*self.names[name], value)

    def formulas(self):
        """(sheet, cell) of every formula in the workbook."""
        for ws in self.wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value.startswith("="):
                        yield ws.title, c.coordinate

    # -- parsing -----------------------------------------------------------------------------
    def _eval(self, text: str, sheet: str) -> float:
        tokens = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise FormulaError(f"cannot read formula at {text[pos:]!r} in {text!r}")
            pos = m.end()
            if m.lastgroup != "space":
                tokens.append((m.lastgroup, m.group(0)))
        saved = getattr(self, "_tokens", None), getattr(self, "_i", 0), getattr(self, "_sheet", "")
        self._tokens, self._i, self._sheet = tokens, 0, sheet  # a reference parses another
        try:
            v = self._expr()
            if self._i != len(tokens):
                raise FormulaError(f"unexpected {tokens[self._i][1]!r} in {text!r}")
            return v
        finally:
            self._tokens, self._i, self._sheet = saved

    def _peek(self):
        return self._tokens[self._i] if self._i < len(self._tokens) else (None, None)

    def _take(self, want: str | None = None):
        kind, tok = self._peek()
        if tok is None or (want is not None and tok != want):
            raise FormulaError(f"expected {want!r}, got {tok!r}")
        self._i += 1
        return kind, tok

    def _expr(self) -> float:
        v = self._term()
        while self._peek()[1] in ("+", "-"):
            _k, op = self._take()
            rhs = self._term()
            v = v + rhs if op == "+" else v - rhs
        return v

    def _term(self) -> float:
        v = self._unary()
        while self._peek()[1] in ("*", "/"):
            _k, op = self._take()
            rhs = self._unary()
            if op == "/" and rhs == 0:
                raise FormulaError("#DIV/0!")
            v = v * rhs if op == "*" else v / rhs
        return v

    def _unary(self) -> float:
        if self._peek()[1] == "-":
            self._take()
            return -self._unary()
        if self._peek()[1] == "+":
            self._take()
            return self._unary()
        return self._primary()

    def _primary(self) -> float:
        kind, tok = self._take()
        if tok == "(":
            v = self._expr()
            self._take(")")
            return v
        if kind == "number":
            return float(tok)
        if kind in ("cellref", "sheetref"):
            s, c = _split_ref(tok, self._sheet)
            column_index_from_string(re.match(r"[A-Z]+", c).group(0))  # a valid column
            return self.value(s, c)
        if kind == "word":
            if self._peek()[1] == "(":
                fn = FUNCTIONS.get(tok.upper())
                if fn is None:
                    raise FormulaError(f"function {tok} is not in the report's subset")
                self._take("(")
                args = [self._expr()]
                while self._peek()[1] == ",":
                    self._take(",")
                    args.append(self._expr())
                self._take(")")
                return float(fn(args))
            if tok not in self.names:
                raise FormulaError(f"undefined name {tok!r}")
            return self.name(tok)
        raise FormulaError(f"unexpected {tok!r}")
