"""Views of a :class:`~estimator.gui.session.Session`: the inputs panel, the result cards, the
warnings strip and the hardware comparison table (comparing scenarios:
:mod:`estimator.gui.compare_dialog`).

Views never compute: they turn user edits into ``session.set_text`` / ``session.update`` calls
and draw what the session's signals carry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from estimator import units
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.session import Session, format_field, friendly_message
from estimator.quantities import Quantity, cards, columns
from estimator.scenario import FIELDS, Scenario
from estimator.textsafe import rich_plain

MODE_LABELS = (
    ("loss", "Target loss"),
    ("compute", "Compute budget"),
    ("model", "Model size and tokens"),
    ("match", "Match a reference model"),
)
PRECISION_LABELS = (("bf16", "BF16"), ("fp8", "FP8"), ("fp4", "FP4"))
TIER_LABELS = (("on_demand", "On-demand"), ("reserved", "Reserved"), ("spot", "Spot"))
OPTIMIZE_LABELS = (("compute", "Compute-optimal plan"),
                   ("lifetime", "Minimise training + inference (Sardana 2023)"))
SLIDER_STEPS = 1000


def _set_role(widget: QtWidgets.QWidget, role: str) -> None:
    widget.setProperty("role", role)


def _repolish(widget: QtWidgets.QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


class LogScale:
    """Maps a slider position 0..SLIDER_STEPS to a value on a log scale, optionally offset
    (the loss slider moves the reducible loss L - E on a log scale)."""

    def __init__(self, lo: float, hi: float, offset: Callable[[], float] | None = None,
                 digits: int = 3, integer: bool = False):
        self.lo, self.hi = math.log10(lo), math.log10(hi)
        self.offset = offset or (lambda: 0.0)
        self.digits = digits
        self.integer = integer

    def to_pos(self, value: float) -> int:
        x = value - self.offset()
        if not (x > 0 and math.isfinite(x)):
            return 0
        f = (math.log10(x) - self.lo) / (self.hi - self.lo)
        return int(round(min(1.0, max(0.0, f)) * SLIDER_STEPS))

    def from_pos(self, pos: int) -> float:
        x = 10 ** (self.lo + (self.hi - self.lo) * pos / SLIDER_STEPS)
        if self.integer:
            return max(1, int(_round_sig(x, 2)))
        if self.digits == 0:  # loss: 3 decimals of the absolute value
            return round(self.offset() + x, 3)
        return _round_sig(self.offset() + x, self.digits)


class NumberField(QtWidgets.QWidget):
    """A line edit for one scenario field, an optional log slider, and an inline error label.

    Typing re-estimates after a short pause (or on Enter/leaving the field); the slider
    re-estimates while it moves. ``committed(text)`` carries what was typed."""

    committed = QtCore.Signal(str)  # payload: the text typed into the field
    slid = QtCore.Signal(object)  # payload: the value picked on the slider (int or float)

    def __init__(self, name: str, placeholder: str = "", scale: LogScale | None = None,
                 tooltip: str = "", parent=None):
        super().__init__(parent)
        self.name = name
        self.scale = scale
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setObjectName(f"field_{name}")
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tooltip)
        self.edit.setClearButtonEnabled(FIELDS[name].optional)
        lay.addWidget(self.edit)
        self.slider: QtWidgets.QSlider | None = None
        if scale is not None:
            self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            self.slider.setObjectName(f"slider_{name}")
            self.slider.setRange(0, SLIDER_STEPS)
            self.slider.setPageStep(SLIDER_STEPS // 20)
            self.slider.setToolTip("Drag: the estimate follows live (log scale)")
            self.slider.valueChanged.connect(self._on_slider)
            lay.addWidget(self.slider)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName(f"error_{name}")
        _set_role(self.error_label, "fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self._typing = QtCore.QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(350)
        self._typing.timeout.connect(self.commit)
        self.edit.textEdited.connect(lambda _t: self._typing.start())
        self.edit.editingFinished.connect(self.commit)
        self._syncing = False
        self._last_committed: str | None = None

    def commit(self) -> None:
        self._typing.stop()
        text = self.edit.text()
        if text == self._last_committed and not self.has_error():
            return
        self._last_committed = text
        self.committed.emit(text)

    def set_text_and_commit(self, text: str) -> None:
        """What typing ``text`` and pressing Enter does (tests, scripted use)."""
        self.edit.setText(text)
        self._last_committed = None
        self.commit()

    def show_value(self, value: Any) -> None:
        """Show the scenario's value (unless the user is typing a different one)."""
        text = format_field(self.name, value)
        if self.edit.hasFocus() and self._typing.isActive():
            return
        if self.edit.text() != text:
            self.edit.setText(text)
        self._last_committed = text
        self.sync_slider(value)

    def sync_slider(self, value: Any) -> None:
        if self.slider is None or value is None:
            return
        self._syncing = True
        self.slider.setValue(self.scale.to_pos(float(value)))
        self._syncing = False

    def _on_slider(self, pos: int) -> None:
        if self._syncing:
            return
        value = self.scale.from_pos(pos)
        text = format_field(self.name, value)
        self.edit.setText(text)
        self._last_committed = text
        self.slid.emit(value)

    def set_error(self, message: str) -> None:
        self.edit.setProperty("invalid", bool(message))
        _repolish(self.edit)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self._tooltip = getattr(self, "_tooltip", self.edit.toolTip())
        self.edit.setToolTip(message or self._tooltip)
        self._fit_error()

    def _fit_error(self) -> None:
        """Reserve the wrapped message's height (form layouts do not ask a word-wrapped label
        inside a nested layout for its height at the final width)."""
        if not self.error_label.text():
            self.error_label.setMinimumHeight(0)
            return
        width = max(self.edit.width(), 120)
        self.error_label.setMinimumHeight(self.error_label.heightForWidth(width))
        self.updateGeometry()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self.error_label.text():
            self._fit_error()

    def has_error(self) -> bool:
        return self.error_label.isVisibleTo(self) or bool(self.error_label.text())

    def error_text(self) -> str:
        return self.error_label.text()


class ChoiceField(QtWidgets.QWidget):
    """A combo box with an inline error label."""

    picked = QtCore.Signal(str)  # payload: the chosen item's data (an id)

    def __init__(self, name: str, items: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.name = name
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName(f"combo_{name}")
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        for data, label in items:
            self.combo.addItem(label, data)
        lay.addWidget(self.combo)
        self.error_label = QtWidgets.QLabel()
        _set_role(self.error_label, "fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.combo.activated.connect(lambda i: self.picked.emit(str(self.combo.itemData(i))))

    def set_current(self, data: str) -> None:
        i = self.combo.findData(data)
        if i >= 0 and i != self.combo.currentIndex():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(i)
            self.combo.blockSignals(False)

    def pick(self, data: str) -> None:
        """Choose the item with ``data`` as a user would."""
        i = self.combo.findData(data)
        if i < 0:
            raise KeyError(data)
        self.combo.setCurrentIndex(i)
        self.combo.activated.emit(i)

    def current(self) -> str:
        return str(self.combo.currentData())

    def set_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))


def _hint(text: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    _set_role(label, "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class _Form(QtWidgets.QGroupBox):
    def __init__(self, title: str):
        super().__init__(title)
        self.form = QtWidgets.QFormLayout(self)
        self.form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(7)

    def row(self, label: str, widget, tip: str = "") -> QtWidgets.QLabel:
        lab = _row_label(label, tip)
        self.form.addRow(lab, widget)
        return lab


def _row_label(text: str, tip: str = "") -> QtWidgets.QLabel:
    lab = QtWidgets.QLabel(text)
    lab.setToolTip(tip)
    lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
    lab.setContentsMargins(0, 5, 0, 0)
    _set_role(lab, "rowLabel")  # the theme gives every row label the same width
    return lab


def _pair(left: QtWidgets.QWidget, label: str, right: QtWidgets.QWidget,
          tip: str = "") -> QtWidgets.QWidget:
    """Two fields on one row: [left]  label [right]."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(8)
    lay.addWidget(left, 1)
    lab = QtWidgets.QLabel(label)
    lab.setToolTip(tip)
    lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
    lab.setContentsMargins(0, 5, 0, 0)
    lay.addWidget(lab, 0, QtCore.Qt.AlignmentFlag.AlignTop)
    lay.addWidget(right, 1)
    return w


class InputsPanel(QtWidgets.QWidget):
    """Every input of the scenario, grouped: target, constraints, law, cluster, serving."""

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.setObjectName("inputsPanel")
        self.session = session
        self.profiles = session.catalogue.profiles.profiles
        self.laws = session.catalogue.laws
        self.fields: dict[str, list[NumberField]] = {}
        self.choices: dict[str, ChoiceField] = {}
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(10)

        # -- target ---------------------------------------------------------------------
        target = _Form("Target")
        self.mode = self._choice("mode", [(m, label) for m, label in MODE_LABELS])
        self.mode.picked.connect(session.set_mode)
        target.row("Plan for", self.mode)
        self.pages: dict[str, QtWidgets.QWidget] = {}

        p_loss = self._page("loss")
        self._number(p_loss, "target_loss", "e.g. 2.05",
                     LogScale(0.02, 2.5, offset=session.irreducible_loss, digits=0))
        self.loss_hint = _hint()
        p_loss.addRow(self.loss_hint)

        p_comp = self._page("compute")
        self._number(p_comp, "compute_flops", "e.g. 5.76e23", LogScale(1e18, 1e28))
        p_comp.addRow(_hint("Training FLOPs (6ND). Chinchilla used 5.76e23."))

        p_model = self._page("model")
        self._number(p_model, "params", "e.g. 70B", LogScale(1e8, 1e13))
        self._number(p_model, "tokens", "or tokens/param below")
        p_model.addRow(_hint("Give tokens, or leave empty and set tokens per parameter."))

        p_match = self._page("match")
        self._number(p_match, "match_params", "e.g. 70B")
        self._number(p_match, "match_tokens", "e.g. 1.4T")
        p_match.addRow(_hint("Reach the loss of this model at the lowest cost. "
                             "Chinchilla: 70B on 1.4T."))
        for page in self.pages.values():
            target.form.addRow(page)
        lay.addWidget(target)

        # -- constraints ----------------------------------------------------------------
        cons = _Form("Constraints")
        self.constraints = cons
        self._number(cons, "params", "free (optimal)", label="Fixed model size")
        self._number(cons, "tokens_per_param", "free (optimal)")
        self._number(cons, "unique_tokens", "unlimited")
        lay.addWidget(cons)

        # -- law ------------------------------------------------------------------------
        law = _Form("Scaling law")
        self.law_files: list[str] = []  # law files opened or saved in this session
        self._law_items: list[tuple[str, str]] = []
        self.law = self._choice("law", [])
        self.refresh_laws()
        self.law.picked.connect(lambda lid: session.update(law=lid))
        law.row("Law", self.law)
        self.law_info = _hint()
        self.law_info.setObjectName("lawInfo")
        self.law_info.setTextFormat(QtCore.Qt.TextFormat.RichText)
        law.form.addRow(self.law_info)
        lay.addWidget(law)

        # -- cluster --------------------------------------------------------------------
        hw = _Form("Training cluster")
        self.hardware = self._choice(
            "hardware", [(pid, p.display_name) for pid, p in self.profiles.items()])
        self.hardware.picked.connect(session.set_hardware)
        hw.row("Hardware", self.hardware)
        self._number(hw, "gpus", "e.g. 1024", LogScale(8, 131072, integer=True))
        self.precision = self._choice("precision", list(PRECISION_LABELS))
        self.precision.picked.connect(lambda p: session.update(precision=p))
        self.precision.combo.setMinimumContentsLength(4)
        self.price_tier = self._choice("price_tier", list(TIER_LABELS))
        self.price_tier.picked.connect(lambda t: session.update(price_tier=t))
        self.price_tier.combo.setMinimumContentsLength(6)
        hw.row("Precision", _pair(self.precision, "Prices", self.price_tier,
                                  "Price tier of the profile"))
        mfu = self._number(None, "mfu", "default")
        good = self._number(None, "goodput", "default")
        hw.row(FIELDS["mfu"].label, _pair(mfu, FIELDS["goodput"].label, good,
                                          good.edit.toolTip()), mfu.edit.toolTip())
        self._number(hw, "price_per_hour", "profile price")
        lay.addWidget(hw)

        # -- serving --------------------------------------------------------------------
        srv = _Form("Serving")
        self._number(srv, "inference_tokens_per_day", "e.g. 10B")
        self._number(srv, "deployment_days", "e.g. 730")
        self.optimize = self._choice("optimize", list(OPTIMIZE_LABELS))
        self.optimize.picked.connect(lambda o: session.update(optimize=o))
        srv.row("Optimise", self.optimize)
        lay.addWidget(srv)
        lay.addStretch(1)

        session.scenario_changed.connect(self.show_scenario)
        session.estimate_changed.connect(self.show_estimate)
        session.error_changed.connect(self.show_error)
        self.show_scenario(session.pending)
        if session.estimate is not None:
            self.show_estimate(session.estimate, session.curves)

    # -- building helpers ------------------------------------------------------------------
    def _page(self, mode: str) -> QtWidgets.QFormLayout:
        """The target fields of one mode (only the current mode's page is visible)."""
        w = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(7)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.pages[mode] = w
        return form

    def _number(self, form, name: str, placeholder: str, scale: LogScale | None = None,
                label: str | None = None) -> NumberField:
        """An editor of field ``name``, labelled and explained by the field's spec."""
        spec = FIELDS[name]
        label = label or spec.label
        tooltip = spec.help[:1].upper() + spec.help[1:] + (f" ({spec.unit})" if spec.unit else "")
        f = NumberField(name, placeholder, scale, tooltip)
        f.committed.connect(lambda text, n=name: self.session.set_text(n, text))
        f.slid.connect(lambda v, n=name: self.session.update(**{n: v}))
        if isinstance(form, _Form):
            form.row(label, f, tooltip)
        elif form is not None:
            form.addRow(_row_label(label, tooltip), f)
        self.fields.setdefault(name, []).append(f)
        return f

    def _choice(self, name: str, items) -> ChoiceField:
        c = ChoiceField(name, items)
        self.choices[name] = c
        return c

    def field(self, name: str) -> NumberField:
        """The visible editor of ``name`` (the params field exists on two pages)."""
        editors = self.fields[name]
        if name == "params":
            return editors[0] if self.session.pending.mode == "model" else editors[1]
        return editors[0]

    # -- views -----------------------------------------------------------------------------
    def show_scenario(self, s: Scenario) -> None:
        for name, editors in self.fields.items():
            for f in editors:
                if name in self.session.errors:
                    continue
                f.show_value(getattr(s, name))
        self.refresh_laws()
        for name in ("mode", "law", "hardware", "precision", "price_tier", "optimize"):
            self.choices[name].set_current(getattr(s, name))
        for mode, page in self.pages.items():
            page.setVisible(mode == s.mode)
        # in "model" mode params is the model (target page), otherwise a constraint
        self.constraints.form.setRowVisible(self.fields["params"][1], s.mode != "model")
        profile = self.profiles.get(s.hardware)
        if profile is not None:
            model = self.precision.combo.model()
            for i, (p, _label) in enumerate(PRECISION_LABELS):
                model.item(i).setEnabled(p in profile.peak_tflops)
            model = self.price_tier.combo.model()
            for i, (t, _label) in enumerate(TIER_LABELS):
                model.item(i).setEnabled(t in profile.prices)
        self._show_law(s)

    def law_items(self) -> list[tuple[str, str]]:
        """(ref, label) of every law the picker offers: the catalogue's (built-in and the user
        law folder's, reloaded when the folder changes) and the law files of this session."""
        cat = self.session.catalogue
        items = [(lid, lw.name if cat.law_origin.get(lid, "built-in") == "built-in"
                  else f"{lw.name} (user law)") for lid, lw in cat.laws.items()]
        for ref in self.law_files:
            if ref in cat.laws:
                continue
            try:
                law = cat.law(ref)
            except EstimatorError:
                continue  # the file went away or broke: it leaves the list
            items.append((ref, f"{law.name} ({Path(ref).name})"))
        return items

    def refresh_laws(self) -> None:
        """Rebuild the Law picker's items when the laws on offer changed."""
        items = self.law_items()
        if items == self._law_items:
            return
        self._law_items = items
        combo = self.law.combo
        combo.blockSignals(True)
        combo.clear()
        for ref, label in items:
            combo.addItem(label, ref)
        combo.blockSignals(False)
        self.law.set_current(self.session.pending.law)

    def add_law(self, ref: str) -> None:
        """List the law ``ref`` (a file path or an id) in the picker."""
        if ref not in self.law_files and ref not in self.session.catalogue.laws:
            self.law_files.append(ref)
        self.refresh_laws()

    def _show_law(self, s: Scenario) -> None:
        try:
            law = self.session.catalogue.law(s.law)
        except EstimatorError as exc:
            self.law_info.setText(friendly_message(exc))
            return
        if self.law.combo.findData(s.law) < 0:
            self.add_law(s.law)
            self.law.set_current(s.law)
        fr = law.fitted_range
        e = law.irreducible_loss
        self.law_info.setText(
            f"{_esc(_short_citation(law.citation))}<br>"
            f"Fitted on {units.si(fr.params_min)}–{units.si(fr.params_max)} params, "
            f"{units.si(fr.tokens_min)}–{units.si(fr.tokens_max)} tokens"
            + (f" · irreducible loss {e:.3f}" if e > 0 else "")
            + ("" if law.comparable else "<br><b>Losses not comparable with the Chinchilla "
               "family (other data and tokenizer).</b>"))
        self.law_info.setToolTip(rich_plain(f"{law.citation}\n\n{law.notes}"))
        self.loss_hint.setText(
            f"nats/token · must be above {e:.3f}, the irreducible loss of {law.id}"
            if e > 0 else "nats/token")

    def show_estimate(self, est: Estimate, _curves=None) -> None:
        s = est.scenario
        self.field("mfu").edit.setPlaceholderText(f"default {est.mfu:.0%}" if s.mfu is None
                                                  else "default")
        self.field("goodput").edit.setPlaceholderText(
            f"default {est.goodput:.0%}" if s.goodput is None else "default")
        self.field("price_per_hour").edit.setPlaceholderText(
            f"default {units.usd_per_hour(est.price_usd_per_hour)}" if s.price_per_hour is None
            else "default")
        if s.mode != "loss":
            self.fields["target_loss"][0].sync_slider(est.loss)

    def show_error(self, name: str, message: str) -> None:
        if name in self.fields:
            for f in self.fields[name]:
                f.set_error(message)
        elif name in self.choices:
            self.choices[name].set_error(message)
        elif name:
            # a field without an editor here (e.g. seq_len from a file): show at the target
            self.mode.set_error(message)


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _short_citation(citation: str) -> str:
    try:
        from estimator.report import short_citation

        return short_citation(citation)
    except Exception:  # noqa: BLE001 - a display nicety only
        return citation.split(",")[0]


# ---------------------------------------------------------------------------------------
# Result cards
# ---------------------------------------------------------------------------------------

def _band(est: Estimate, name: str, fmt) -> str:
    b = est.bands.get(name)
    return f"P10 {fmt(b.p10)} – P90 {fmt(b.p90)}" if b else ""


def _sci(v: float) -> str:
    return f"{v:.2e}".replace("e+", "e")


def _tooltip(q: Quantity) -> str:
    return f"{q.definition} ({q.unit}).\nSource: {q.source}."


class ResultCard(QtWidgets.QFrame):
    def __init__(self, key: str, title: str, tooltip: str, parent=None):
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"card_{key}")
        _set_role(self, "card")
        self.setToolTip(tooltip)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 7, 10, 7)
        lay.setSpacing(1)
        self.title = QtWidgets.QLabel(title)
        _set_role(self.title, "cardTitle")
        self.value = QtWidgets.QLabel("—")
        _set_role(self.value, "cardValue")
        self.value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.band = QtWidgets.QLabel("")
        _set_role(self.band, "cardBand")
        for w in (self.title, self.value, self.band):
            lay.addWidget(w)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)

    def set(self, value: str, band: str = "") -> None:
        self.value.setText(value)
        self.band.setText(band or " ")
        self.band.setToolTip("P10–P90 band" if band else "")

    def value_text(self) -> str:
        return self.value.text()

    def band_text(self) -> str:
        return self.band.text().strip()


class ResultCards(QtWidgets.QWidget):
    """The headline results as cards, with their P10–P90 bands."""

    def __init__(self, columns: int = 6, parent=None):
        super().__init__(parent)
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(8)
        self.cards: dict[str, ResultCard] = {}
        for q in cards():
            self.cards[q.key] = ResultCard(q.key, q.card, _tooltip(q))
        self.columns = 0
        self.set_columns(columns)

    def set_columns(self, columns: int) -> None:
        """Lay the cards out in ``columns`` columns (the window picks it from its width)."""
        if columns == self.columns:
            return
        for card in self.cards.values():
            self.grid.removeWidget(card)
        for c in range(max(columns, self.columns)):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        for i, card in enumerate(self.cards.values()):
            self.grid.addWidget(card, i // columns, i % columns)
        self.columns = columns

    def show_estimate(self, est: Estimate, _curves=None) -> None:
        for q in cards():
            value = getattr(est, q.key)
            self.cards[q.key].set(q.short_text(value), _band(est, q.key, q.short_text)
                                  if q.band else "")
        if est.bands:
            tip = "P10–P90 from " + est.uncertainty_source
            for key in est.bands:
                if key in self.cards:
                    self.cards[key].band.setToolTip(tip)


class MessageStrip(QtWidgets.QFrame):
    """A coloured strip listing messages (warnings of the estimate, or an input problem)."""

    def __init__(self, object_name: str, icon: str, parent=None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.icon = icon
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(2)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # messages quote file text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label)
        self.messages: tuple[str, ...] = ()
        self.hide()

    def set_messages(self, messages) -> None:
        self.messages = tuple(messages)
        self.label.setText("\n".join(f"{self.icon}  {m[0].upper()}{m[1:]}" for m in self.messages))
        self.setVisible(bool(self.messages))


# ---------------------------------------------------------------------------------------
# Hardware comparison table
# ---------------------------------------------------------------------------------------

class NumericItem(QtWidgets.QTableWidgetItem):
    """A table cell shown as text and sorted by its number (UserRole)."""

    def __init__(self, text: str, value: Any):
        super().__init__(text)
        self.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        if isinstance(value, (int, float)):
            self.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                  | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def sort_value(self):
        return self.data(QtCore.Qt.ItemDataRole.UserRole)

    def __lt__(self, other):  # noqa: D105 - Qt sorting hook
        a, b = self.sort_value(), getattr(other, "sort_value", lambda: None)()
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)


class CopyableTable(QtWidgets.QTableWidget):
    """A table whose Ctrl+C copies whole selected rows (the view's own copy is one cell)."""

    copy_requested = QtCore.Signal()  # payload: none

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.matches(QtGui.QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


def _column(q: Quantity) -> tuple[str, str, Callable, Callable]:
    return (q.column, q.unit, lambda e: getattr(e, q.key),
            lambda e: q.short_text(getattr(e, q.key)))


# header, unit for copying, raw value, display text: the context columns, then every
# per-hardware quantity of the registry
TABLE_COLUMNS: tuple[tuple[str, str, Callable, Callable], ...] = (
    ("Hardware", "", lambda e: e.hardware_name, lambda e: e.hardware_name),
    ("$/GPU-h", "USD", lambda e: e.price_usd_per_hour,
     lambda e: units.usd_per_hour(e.price_usd_per_hour)),
    ("MFU", "fraction", lambda e: e.mfu, lambda e: f"{e.mfu:.0%}"),
    ("Goodput", "fraction", lambda e: e.goodput, lambda e: f"{e.goodput:.0%}"),
    *(_column(q) for q in columns()),
)
COST_COLUMN = next(i for i, c in enumerate(TABLE_COLUMNS) if c[0] == "Training cost")


def _raw(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class ComparisonTable(QtWidgets.QWidget):
    """The current scenario on every hardware profile: sortable (numerically), copyable."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        bar = QtWidgets.QHBoxLayout()
        self.caption = _hint("")
        bar.addWidget(self.caption, 1)
        self.copy_button = QtWidgets.QPushButton("Copy table")
        self.copy_button.setToolTip("Copy every row as tab-separated values (paste into a "
                                    "spreadsheet); Ctrl+C copies the selected rows")
        self.copy_button.clicked.connect(lambda: self.copy(all_rows=True))
        bar.addWidget(self.copy_button)
        lay.addLayout(bar)
        self.table = CopyableTable(0, len(TABLE_COLUMNS))
        self.table.setObjectName("comparisonTable")
        self.table.setHorizontalHeaderLabels([c[0] for c in TABLE_COLUMNS])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setSortIndicatorShown(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COST_COLUMN, QtCore.Qt.SortOrder.AscendingOrder)
        lay.addWidget(self.table)
        self.table.copy_requested.connect(self.copy)
        self.estimates: list[Estimate] = []

    def show_comparison(self, comparison: list[Estimate], plan_hardware: str = "") -> None:
        self.estimates = list(comparison)
        t = self.table
        sort_col = t.horizontalHeader().sortIndicatorSection()
        order = t.horizontalHeader().sortIndicatorOrder()
        t.setSortingEnabled(False)
        t.setRowCount(len(comparison))
        bold = QtGui.QFont()
        bold.setBold(True)
        for r, e in enumerate(comparison):
            plan = e.hardware == plan_hardware
            for c, (_h, _u, raw, disp) in enumerate(TABLE_COLUMNS):
                text = disp(e)
                if c == 0 and plan:
                    text = f"{text}  (plan)"
                item = NumericItem(text, raw(e))
                if c == 0:
                    item.setData(QtCore.Qt.ItemDataRole.UserRole + 1, e.hardware)
                if c == COST_COLUMN and e.bands.get("cost_usd"):
                    b = e.bands["cost_usd"]
                    item.setToolTip(f"P10 {units.usd(b.p10)} – P90 {units.usd(b.p90)}")
                if plan:
                    item.setFont(bold)
                t.setItem(r, c, item)
        t.setSortingEnabled(True)
        t.sortByColumn(sort_col, order)
        if comparison:
            s = comparison[0].scenario
            self.caption.setText(
                f"{s.gpus:,} GPUs · {s.precision.upper()} · {s.price_tier.replace('_', '-')} "
                "prices · profiles lacking the precision are left out. Click a header to sort.")

    def column_values(self, col: int) -> list:
        t = self.table
        return [t.item(r, col).data(QtCore.Qt.ItemDataRole.UserRole) for r in range(t.rowCount())]

    def row_ids(self) -> list[str]:
        t = self.table
        return [t.item(r, 0).data(QtCore.Qt.ItemDataRole.UserRole + 1) for r in range(t.rowCount())]

    def tsv(self, rows: list[int] | None = None) -> str:
        """Rows (all when None) as TSV with a header; numbers unformatted for spreadsheets."""
        t = self.table
        rows = list(range(t.rowCount())) if rows is None else rows
        head = [h if not u or u in ("",) else f"{h} ({u})" for h, u, _r, _d in TABLE_COLUMNS]
        lines = ["\t".join(head)]
        for r in rows:
            lines.append("\t".join(_raw(t.item(r, c).data(QtCore.Qt.ItemDataRole.UserRole))
                                   for c in range(t.columnCount())))
        return "\n".join(lines) + "\n"

    def copy(self, all_rows: bool = False) -> str:
        rows = None
        if not all_rows:
            sel = sorted({i.row() for i in self.table.selectedIndexes()})
            rows = sel or None
        text = self.tsv(rows)
        QtWidgets.QApplication.clipboard().setText(text)
        return text
