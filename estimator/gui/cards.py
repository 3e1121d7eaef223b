"""The result cards: one card per quantity of the registry that declares a card title
(:func:`estimator.quantities.cards`), with its P10–P90 band and a tooltip from the quantity's
definition and source.

A row of key cards is always on screen; the others are under "More results", in a grid whose
columns follow the width so no value is ever cut. Cards of quantities that do not apply to an
estimate (epochs without a unique-data limit) are hidden; a mixture of experts shows active and
total parameters on one card.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from estimator import units
from estimator.engine import Estimate
from estimator.quantities import Quantity, cards

#: The cards always on screen, in this order; every other card is under "More results".
KEY_CARDS = ("cost_usd", "wall_clock_days", "params", "tokens", "lifetime_total_cost_usd")
#: Cards shown even when their quantity does not apply, with what would make it apply.
ALWAYS_SHOWN = {"co2_tonnes": "set grid intensity"}
MAX_COLUMNS = 6


def _set_role(widget: QtWidgets.QWidget, role: str) -> None:
    widget.setProperty("role", role)


def _band(est: Estimate, name: str, fmt) -> str:
    b = est.bands.get(name)
    return f"P10 {fmt(b.p10)} – P90 {fmt(b.p90)}" if b else ""


def card_tooltip(q: Quantity, est: Estimate | None = None) -> str:
    label = q.label_for(est) if est is not None else q.label
    return f"{label}: {q.definition[:1].lower() + q.definition[1:]} ({q.unit}).\n" \
           f"Source: {q.source}."


def card_note(est: Estimate, key: str) -> str:
    """A short fact beside a card without a band: what the number assumes."""
    s = est.scenario
    if key == "energy_mwh":
        return f"at PUE {s.pue:.3g}"
    if key == "co2_tonnes":
        g = s.grid_kg_co2_per_kwh
        return f"at {g:.3g} kg CO2e/kWh" if g is not None else ALWAYS_SHOWN[key]
    if key == "max_useful_gpus":
        return f"the plan uses {est.gpus:,}"
    if key == "min_gpus_for_memory":
        return f"the plan uses {est.gpus:,}"
    if key in ("lifetime_inference_cost_usd", "lifetime_total_cost_usd", "serving_chips",
               "cost_per_million_input_tokens_usd", "cost_per_million_output_tokens_usd") \
            and getattr(est, key) is None and est.lifetime_inference_tokens > 0:
        return f"fits no replica of {est.inference_hardware}"
    if key == "lifetime_inference_cost_usd":
        return f"{units.si(est.lifetime_inference_tokens)} output tokens"
    if key == "epochs" and s.unique_tokens:
        return f"{units.si(s.unique_tokens)} unique tokens"
    if key == "predicted_mfu":
        return f"goodput {est.goodput:.0%}"
    if key == "serving_chips" and est.serving_replicas:
        return f"{est.serving_replicas:,} × {est.serving_chips_per_replica} chips at peak"
    if key in ("cost_per_million_input_tokens_usd", "cost_per_million_output_tokens_usd"):
        return f"on {est.inference_hardware}"
    if key == "tokens_per_param":
        return "Chinchilla: about 20"
    return ""


class ResultCard(QtWidgets.QFrame):
    def __init__(self, key: str, title: str, tooltip: str, parent=None):
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"card_{key}")
        _set_role(self, "card")
        self.setToolTip(tooltip)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(0)
        self.title = QtWidgets.QLabel(title)
        _set_role(self.title, "cardTitle")
        self.value = QtWidgets.QLabel("—")
        _set_role(self.value, "cardValue")
        self.value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.band = QtWidgets.QLabel(" ")
        _set_role(self.band, "cardBand")
        for w in (self.title, self.value, self.band):
            w.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            lay.addWidget(w)
        self._band = ""
        self._width_for: tuple[tuple[str, str, str], int] | None = None
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)

    def set(self, value: str, band: str = "", note: str = "") -> None:
        self.value.setText(value)
        self._band = band
        self.band.setText(band or note or " ")
        self.band.setToolTip("P10–P90 band" if band else "")

    def min_width(self) -> int:
        """``minimumSizeHint().width()``, measured again only when a text or the style
        changed (every edit asks each card twice; Qt lays the card out each time)."""
        key = (self.title.text(), self.value.text(), self.band.text())
        if self._width_for is None or self._width_for[0] != key:
            self._width_for = (key, self.minimumSizeHint().width())
        return self._width_for[1]

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        # a theme (the window's style sheet reaches every card) or a font change resizes
        # every text: measure again
        if event.type() in (QtCore.QEvent.Type.StyleChange, QtCore.QEvent.Type.FontChange):
            self._width_for = None
        super().changeEvent(event)

    def value_text(self) -> str:
        return self.value.text()

    def band_text(self) -> str:
        """The P10–P90 band ("" without one; a note shown in its place is not a band)."""
        return self._band

    def labels(self) -> tuple[QtWidgets.QLabel, ...]:
        return (self.title, self.value, self.band)


class ResultCards(QtWidgets.QWidget):
    """The results as cards: the key row, then "More results" (collapsible)."""

    expanded_changed = QtCore.Signal(bool)  # payload: "More results" open

    def __init__(self, columns: int = MAX_COLUMNS, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.key_grid = QtWidgets.QGridLayout()
        self.more_grid = QtWidgets.QGridLayout()
        for g in (self.key_grid, self.more_grid):
            g.setContentsMargins(0, 0, 0, 0)
            g.setHorizontalSpacing(8)
            g.setVerticalSpacing(8)
        lay.addLayout(self.key_grid)
        self.more_button = QtWidgets.QToolButton()
        self.more_button.setObjectName("moreResultsButton")
        _set_role(self.more_button, "sectionHeader")
        self.more_button.setCheckable(True)
        self.more_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_button.toggled.connect(self.set_expanded)
        lay.addWidget(self.more_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)  # the window
        # may move the button elsewhere (its headline row)
        self.more = QtWidgets.QWidget()
        self.more.setObjectName("moreResults")
        self.more.setLayout(self.more_grid)
        lay.addWidget(self.more)
        self.cards: dict[str, ResultCard] = {}
        self.quantities: dict[str, Quantity] = {}
        for q in cards():
            self.cards[q.key] = ResultCard(q.key, q.card, card_tooltip(q))
            self.quantities[q.key] = q
        self.key_keys = [k for k in KEY_CARDS if k in self.cards]
        self.more_keys = [k for k in self.cards if k not in self.key_keys]
        self.shown: set[str] = set(self.cards)
        self.columns: tuple[int, int] = (0, 0)
        self._width = 0
        self._dirty = True
        self.set_columns(columns)
        self.set_expanded(False)

    # -- layout ----------------------------------------------------------------------------
    def set_expanded(self, on: bool) -> None:
        if self.more_button.isChecked() != on:
            self.more_button.setChecked(on)  # re-enters through toggled
            return
        if on and self._width:  # measured again now that they show (reflow)
            self.reflow(self._width)
        self.more.setVisible(on)
        self._label_more()
        self.expanded_changed.emit(on)

    def is_expanded(self) -> bool:
        return self.more_button.isChecked()

    def _label_more(self) -> None:
        n = sum(1 for k in self.more_keys if k in self.shown)
        on = self.more_button.isChecked()
        self.more_button.setText(f"{'Fewer' if on else 'More'} results ({n})")
        self.more_button.setArrowType(QtCore.Qt.ArrowType.DownArrow if on
                                      else QtCore.Qt.ArrowType.RightArrow)

    def card_min_width(self, keys=None) -> int:
        """The widest card's minimum width (every label's whole text) among ``keys``."""
        keys = self.cards if keys is None else keys
        widths = [self.cards[k].min_width() for k in keys if k in self.shown]
        return max(widths or [120])

    def _fit(self, width: int, keys) -> int:
        sp = self.key_grid.horizontalSpacing()
        n = (width + sp) // (self.card_min_width(keys) + sp)
        return int(max(1, min(MAX_COLUMNS, n)))

    def reflow(self, width: int) -> None:
        """Choose the columns that fit ``width`` px with no card narrower than its text: the
        key cards on one row when they fit (else in even rows), the others in a grid."""
        self._width = width
        n_key = len([k for k in self.key_keys if k in self.shown])
        fit = self._fit(width, self.key_keys)
        key_cols = n_key if fit >= n_key else max(1, min(fit, (n_key + 1) // 2))
        # the other cards are measured only while they are shown (each measure lays a card
        # out; an edit changes every text): collapsed, they keep their columns until expanded
        more_cols = (self._fit(width, self.more_keys) if self.is_expanded() or not self.columns[1]
                     else self.columns[1])
        if (key_cols, more_cols) != self.columns or self._dirty:
            self._lay_out(key_cols, more_cols)

    def set_columns(self, columns: int, force: bool = False) -> None:
        """Lay the cards out in ``columns`` columns (every grid)."""
        if (columns, columns) != self.columns or force or self._dirty:
            self._lay_out(columns, columns)

    def _lay_out(self, key_cols: int, more_cols: int) -> None:
        for grid, keys, cols in ((self.key_grid, self.key_keys, key_cols),
                                 (self.more_grid, self.more_keys, more_cols)):
            for k in keys:
                grid.removeWidget(self.cards[k])
            for c in range(MAX_COLUMNS + 1):
                grid.setColumnStretch(c, 1 if c < cols else 0)
            i = 0
            for k in keys:
                card = self.cards[k]
                card.setParent(self if grid is self.key_grid else self.more)
                if k not in self.shown:
                    card.hide()
                    continue
                grid.addWidget(card, i // cols, i % cols)
                card.show()
                i += 1
        self.columns = (key_cols, more_cols)
        self._dirty = False

    # -- data ------------------------------------------------------------------------------
    def show_estimate(self, est: Estimate, _curves=None) -> None:
        s = est.scenario
        shown = set()
        for key, card in self.cards.items():
            q = self.quantities[key]
            if q.applies(est) or key in ALWAYS_SHOWN:
                shown.add(key)
            value = getattr(est, key)
            band = _band(est, key, q.short_text) if q.band else ""
            text = q.short_text(value)
            title = q.card
            if key == "params" and s.is_moe:
                title = "ACTIVE / TOTAL PARAMS"
                text = f"{q.short_text(value)} / {units.si(est.total_params)}"
            card.title.setText(title)
            card.set(text, band, card_note(est, key))
            card.setToolTip(card_tooltip(q, est))
            if band and est.uncertainty_source:
                card.band.setToolTip("P10–P90 from " + est.uncertainty_source)
        if shown != self.shown:
            self.shown = shown
            self._dirty = True
        if self._width:
            self.reflow(self._width)  # texts changed: the widest card may have too
        elif self._dirty:
            self._lay_out(*(self.columns if self.columns[0] else (MAX_COLUMNS, MAX_COLUMNS)))
        self._label_more()


def alternative_text(est: Estimate) -> str:
    """The other optimum at the same loss and what it would cost over its life: with a
    compute-optimal plan, the lifetime-optimal one (the inference-aware method of Sardana et
    al. 2023); with a lifetime-optimal plan, the compute-optimal one. "" when there is none
    (no serving demand)."""
    from estimator.report import alternative_saving

    s = est.scenario
    lifetime = s.optimize == "lifetime"
    other = est.compute_optimal if lifetime else est.lifetime_optimal
    if not other:
        return ""
    epochs = other.get("epochs") or 1.0
    size = (f"{units.si(other['params'])} params on {units.si(other['tokens'])} tokens"
            + (f" ({epochs:.1f} epochs over the unique data)" if epochs > 1.0 else ""))
    head = ("Compute-optimal plan at the same loss" if lifetime else
            "Lifetime-optimal alternative at the same loss")
    saving = alternative_saving(est)
    total = other.get("lifetime_total_cost_usd")
    if total is None or saving is None or est.lifetime_total_cost_usd is None:
        return (f"{head}: {size}; one of the two models fits on no serving replica of "
                f"{est.inference_hardware}, so their lifetime costs cannot be compared")
    parts = (f" (training {units.usd(other['train_cost_usd'])} + serving "
             f"{units.usd(other['lifetime_inference_cost_usd'])})" if
             other.get("train_cost_usd") is not None
             and other.get("lifetime_inference_cost_usd") is not None else "")
    # the difference first: where the summary has room for one line only, it is the line
    if lifetime:  # saving: what this (lifetime-optimal) plan saves over the other
        verdict = (f"costs {units.usd(abs(saving))} more" if saving >= 0
                   else f"saves {units.usd(abs(saving))}")
    else:
        verdict = (f"saves {units.usd(abs(saving))}" if saving >= 0
                   else f"costs {units.usd(abs(saving))} more")
    return (f"{head} {verdict} over its life: {size}, {units.usd(total)}{parts}, against "
            f"{units.usd(est.lifetime_total_cost_usd)} for this plan")


#: The method behind the alternative, on the strip's tooltip (the text leads with the figures)
ALTERNATIVE_TIP = ("The two optima at the plan's loss: the compute-optimal plan (least "
                   "training compute) and the lifetime-optimal one (least training plus "
                   "serving cost over the deployment: the inference-aware method of Sardana "
                   "et al. 2023, arXiv:2401.00448), each priced with its own training run and "
                   "serving plan")


class AlternativeStrip(QtWidgets.QFrame):
    """The other optimum at the same loss (see :func:`alternative_text`), with a button that
    switches the plan to it."""

    use_requested = QtCore.Signal(str)  # payload: the optimisation to switch to

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("alternativeStrip")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 6, 5)
        lay.setSpacing(8)
        self.label = QtWidgets.QLabel()
        self.label.setObjectName("alternativeText")
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        self.button = QtWidgets.QPushButton()
        self.button.setObjectName("useAlternativeButton")
        self.button.clicked.connect(lambda: self.use_requested.emit(self._target))
        lay.addWidget(self.button, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        self._target = "lifetime"
        self.hide()

    def show_estimate(self, est: Estimate, _curves=None) -> None:
        text = alternative_text(est)
        self.label.setText(text)
        self._target = "compute" if est.scenario.optimize == "lifetime" else "lifetime"
        self.button.setText("Plan for least training compute" if self._target == "compute"
                            else "Plan for least lifetime cost")
        self.label.setToolTip(ALTERNATIVE_TIP)
        self.setVisible(bool(text))

    def text(self) -> str:
        return self.label.text()
