"""The inputs panel: every scenario field, built from the field registry
(:func:`estimator.fields.specs_of` via :data:`estimator.scenario.FIELDS`).

Fields are grouped by their spec's ``group`` into collapsible sections (target, scaling law,
mixture of experts, training cluster, serving, energy, advanced); each field's editor follows
its ``kind`` (a line edit parsed with :func:`estimator.fields.parse_text` and shown with
:func:`estimator.fields.format_value`, a combo box for a choice, a check box for a flag).
Labels, tooltips and error messages come from the specs, so a field added to the scenario
appears here without a window edit; the "Plan for" picker lists the scenario's declared modes.

Views never compute: edits become ``session.set_text`` / ``session.update`` calls.
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
from estimator.fields import FieldSpec
from estimator.gui import settings
from estimator.gui.session import Session, format_field, friendly_message
from estimator.scenario import FIELDS, MODE_ONLY, TARGET_FIELD, Scenario
from estimator.textsafe import rich_plain

SLIDER_STEPS = 1000

#: How the "Plan for" picker names a mode; a mode declared later falls back to its target
#: field's label.
MODE_LABELS = {
    "loss": "Target loss",
    "compute": "Compute budget",
    "model": "Model size and tokens",
    "match": "Match a reference model",
    "budget": "Dollar budget",
    "deadline": "Deadline",
}
MODE_HINTS = {
    "compute": "Training FLOPs (6ND). Chinchilla used 5.76e23.",
    "model": "Give tokens, or leave them empty and set tokens per parameter below.",
    "match": "Reach the loss of this model at the lowest cost. Chinchilla: 70B on 1.4T.",
}
#: Display names of choice values (anything else: the value, capitalised).
CHOICE_LABELS = {
    "bf16": "BF16", "fp16": "FP16", "fp8": "FP8", "fp4": "FP4", "int8": "INT8", "int4": "INT4",
    "on_demand": "On-demand", "reserved": "Reserved", "spot": "Spot",
    "capacity_block": "Capacity block",
    "none": "None", "selective": "Selective", "full": "Full",
    # the optimisation names the method, never a law (the law is picked separately)
    "compute": "Least training compute",
    "lifetime": "Least training + serving cost",
}
#: Tooltips of choice values that need a sentence.
CHOICE_TIPS = {
    "compute": "Compute-optimal: the model size and tokens that reach the target with the "
               "least training compute under the chosen scaling law",
    "lifetime": "Lifetime-optimal (the method of Sardana et al. 2023): the model size and "
                "tokens that minimise training plus lifetime serving dollars for the demand "
                "below, under the chosen scaling law",
}
#: What an optional choice left empty means.
DEFAULT_CHOICE = {
    "recompute": "automatic",
    "inference_price_tier": "same as training",
    "inference_hardware": "same as training",
}
#: Section titles by field group, in panel order; ``law`` is the scaling-law section.
SECTIONS = (
    ("target", "Target"),
    ("constraints", "Constraints"),
    ("law", "Scaling law"),
    ("training", "Training cluster"),
    ("moe", "Mixture of experts"),
    ("serving", "Serving"),
    ("energy", "Energy and emissions"),
    ("advanced", "Advanced: run, shape and layout"),
)
#: Sections shown collapsed until opened (opened once, they stay open: settings).
COLLAPSED = {"moe", "advanced"}
#: Units shown after a value (the others are in the label or the way values are typed).
UNIT_SUFFIX = {"ms": "ms", "GB/s": "GB/s", "days": "days", "kg CO2e/kWh": "kg/kWh",
               "requests/day": "/day", "output tokens/day": "/day"}
#: Fields whose editor spans the panel under its label (long names).
WIDE_FIELDS = ("law", "hardware", "inference_hardware")
#: Target-group fields that are constraints, not a mode's target.
CONSTRAINTS = ("params", "tokens_per_param", "unique_tokens")
PLACEHOLDERS = {
    "target_loss": "e.g. 2.05", "compute_flops": "e.g. 5.76e23", "params": "e.g. 70B",
    "tokens": "or tokens/param below", "match_params": "e.g. 70B", "match_tokens": "e.g. 1.4T",
    "gpus": "e.g. 1024", "mfu": "default", "goodput": "default",
    "price_per_hour": "profile price", "inference_tokens_per_day": "e.g. 10B",
    "deployment_days": "e.g. 730", "requests_per_day": "or output tokens/day below",
    "active_params": "dense model", "n_experts": "dense model", "experts_per_token": "dense",
    "shared_experts": "none", "ttft_ms": "no target", "tpot_ms": "no target",
    "inference_batch": "best under the targets", "inference_chips_per_replica": "cheapest",
    "inference_price_per_hour": "profile price", "grid_kg_co2_per_kwh": "e.g. 0.4",
    "name": "untitled",
}
#: Placeholder for constraint use of params, and its label there.
CONSTRAINT_LABELS = {"params": "Fixed model size"}


def _set_role(widget: QtWidgets.QWidget, role: str) -> None:
    widget.setProperty("role", role)


def _repolish(widget: QtWidgets.QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value, value.replace("_", " ").capitalize())


def mode_label(mode: str) -> str:
    if mode in MODE_LABELS:
        return MODE_LABELS[mode]
    target = TARGET_FIELD.get(mode)
    return FIELDS[target].label if target in FIELDS else mode.replace("_", " ").capitalize()


def tooltip_of(spec: FieldSpec) -> str:
    text = spec.help[:1].upper() + spec.help[1:] if spec.help else spec.label
    return text + (f" ({spec.unit})" if spec.unit else "") + f". Type {spec.expected}."


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


class CeilingSlider(QtWidgets.QSlider):
    """A slider that marks a ceiling: positions past it are shaded (for GPUs: past the
    useful-batch limit more GPUs no longer shorten the run)."""

    def __init__(self, parent=None):
        super().__init__(QtCore.Qt.Orientation.Horizontal, parent)
        self.ceiling_pos: int | None = None
        self.ceiling_color = QtGui.QColor("#D55E00")

    def set_ceiling(self, pos: int | None) -> None:
        self.ceiling_pos = pos
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self.ceiling_pos is None or self.ceiling_pos >= self.maximum():
            return
        opt = QtWidgets.QStyleOptionSlider()
        self.initStyleOption(opt)
        span = max(1, self.width() - 14)
        x = 7 + span * (self.ceiling_pos - self.minimum()) / max(1, self.maximum()
                                                                  - self.minimum())
        p = QtGui.QPainter(self)
        shade = QtGui.QColor(self.ceiling_color)
        shade.setAlpha(70)
        mid = self.height() / 2
        p.fillRect(QtCore.QRectF(x, mid - 3, self.width() - 7 - x, 6), shade)
        p.setPen(QtGui.QPen(self.ceiling_color, 2))
        p.drawLine(QtCore.QPointF(x, mid - 8), QtCore.QPointF(x, mid + 8))
        p.end()


class NumberField(QtWidgets.QWidget):
    """A line edit for one scenario field, an optional log slider, and an inline error label.

    Typing re-estimates after a short pause (or on Enter/leaving the field); the slider
    re-estimates while it moves. ``committed(text)`` carries what was typed."""

    committed = QtCore.Signal(str)  # payload: the text typed into the field
    slid = QtCore.Signal(object)  # payload: the value picked on the slider (int or float)

    def __init__(self, name: str, placeholder: str = "", scale: LogScale | None = None,
                 tooltip: str = "", parent=None, unit: str = ""):
        super().__init__(parent)
        self.name = name
        self.scale = scale
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.edit = QtWidgets.QLineEdit()
        self.unit_label: QtWidgets.QLabel | None = None
        self.edit.setObjectName(f"field_{name}")
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tooltip)
        self._tooltip = tooltip
        self.edit.setClearButtonEnabled(FIELDS[name].optional)
        self.edit.setMinimumWidth(60)
        if unit:  # a unit the label does not say, shown after the value
            row = QtWidgets.QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(6)
            row.addWidget(self.edit, 1)
            self.unit_label = QtWidgets.QLabel(unit)
            self.unit_label.setObjectName(f"unit_{name}")
            _set_role(self.unit_label, "unit")
            row.addWidget(self.unit_label)
            lay.addLayout(row)
        else:
            lay.addWidget(self.edit)
        self.slider: CeilingSlider | None = None
        if scale is not None:
            self.slider = CeilingSlider()
            self.slider.setObjectName(f"slider_{name}")
            self.slider.setRange(0, SLIDER_STEPS)
            self.slider.setPageStep(SLIDER_STEPS // 20)
            self.slider.setToolTip("Drag: the estimate follows live (log scale)")
            self.slider.valueChanged.connect(self._on_slider)
            lay.addWidget(self.slider)
        self.note = QtWidgets.QLabel()  # a fact about the value (e.g. the GPU ceiling)
        self.note.setObjectName(f"note_{name}")
        _set_role(self.note, "hint")
        self.note.setWordWrap(True)
        self.note.hide()
        lay.addWidget(self.note)
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

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def set_error(self, message: str) -> None:
        self.edit.setProperty("invalid", bool(message))
        _repolish(self.edit)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
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

    picked = QtCore.Signal(str)  # payload: the chosen item's data (an id; "" = default)

    def __init__(self, name: str, items: list[tuple[str, str]], parent=None, tooltip: str = ""):
        super().__init__(parent)
        self.name = name
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName(f"combo_{name}")
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.combo.setToolTip(tooltip)
        for data, label in items:
            self.combo.addItem(label, data)
            self.combo.setItemData(self.combo.count() - 1, CHOICE_TIPS.get(data, label),
                                   QtCore.Qt.ItemDataRole.ToolTipRole)
        lay.addWidget(self.combo)
        self.error_label = QtWidgets.QLabel()
        _set_role(self.error_label, "fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.combo.activated.connect(lambda i: self.picked.emit(str(self.combo.itemData(i))))

    def set_current(self, data: str | None) -> None:
        i = self.combo.findData("" if data is None else data)
        if i >= 0 and i != self.combo.currentIndex():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(i)
            self.combo.blockSignals(False)
        self.combo.setToolTip(str(self.combo.currentData(QtCore.Qt.ItemDataRole.ToolTipRole)
                                  or self.combo.currentText()))

    def pick(self, data: str) -> None:
        """Choose the item with ``data`` as a user would."""
        i = self.combo.findData(data)
        if i < 0:
            raise KeyError(data)
        self.combo.setCurrentIndex(i)
        self.combo.activated.emit(i)

    def current(self) -> str:
        return str(self.combo.currentData())

    def items(self) -> list[str]:
        return [str(self.combo.itemData(i)) for i in range(self.combo.count())]

    def set_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def has_error(self) -> bool:
        return bool(self.error_label.text())


class FlagField(QtWidgets.QCheckBox):
    """A check box for a true/false field."""

    def __init__(self, name: str, text: str, tooltip: str = "", parent=None):
        super().__init__(text, parent)
        self.name = name
        self.setObjectName(f"check_{name}")
        self.setToolTip(tooltip)

    def set_error(self, message: str) -> None:
        self.setToolTip(message or self.toolTip())

    def has_error(self) -> bool:
        return False


def _hint(text: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    _set_role(label, "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _row_label(text: str, tip: str = "") -> QtWidgets.QLabel:
    """A row label that wraps onto a second line instead of being cut."""
    lab = QtWidgets.QLabel(text)
    lab.setToolTip(tip)
    lab.setWordWrap(True)
    lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
    lab.setContentsMargins(0, 4, 0, 0)
    _set_role(lab, "rowLabel")  # the theme gives every row label the same width
    return lab


def _wide_row(form: QtWidgets.QFormLayout, label: str, widget: QtWidgets.QWidget,
              tip: str = "") -> QtWidgets.QLabel:
    """A label on its own row and the editor under it at the panel's full width (long names:
    laws, hardware)."""
    lab = QtWidgets.QLabel(label)
    lab.setToolTip(tip)
    lab.setWordWrap(True)
    _set_role(lab, "wideLabel")
    form.addRow(lab)
    form.addRow(widget)
    return lab


def _form(parent: QtWidgets.QWidget | None = None) -> QtWidgets.QFormLayout:
    form = QtWidgets.QFormLayout(parent)
    form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
    form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(6)
    return form


class Section(QtWidgets.QFrame):
    """A titled, collapsible group of rows (the header is a button with an arrow)."""

    toggled = QtCore.Signal(bool)  # payload: open

    def __init__(self, key: str, title: str, open_: bool = True, parent=None):
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"section_{key}")
        _set_role(self, "section")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.header = QtWidgets.QToolButton()
        self.header.setObjectName(f"sectionHeader_{key}")
        _set_role(self.header, "sectionHeader")
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                  QtWidgets.QSizePolicy.Policy.Fixed)
        self.header.toggled.connect(self._set_open)
        lay.addWidget(self.header)
        self.body = QtWidgets.QWidget()
        self.body.setObjectName(f"sectionBody_{key}")
        self.form = _form(self.body)
        self.form.setContentsMargins(6, 2, 2, 6)
        lay.addWidget(self.body)
        self.header.setChecked(open_)
        self._set_open(open_)

    def _set_open(self, open_: bool) -> None:
        self.header.setArrowType(QtCore.Qt.ArrowType.DownArrow if open_
                                 else QtCore.Qt.ArrowType.RightArrow)
        self.body.setVisible(open_)
        self.toggled.emit(open_)

    def is_open(self) -> bool:
        return self.header.isChecked()

    def set_open(self, open_: bool) -> None:
        self.header.setChecked(open_)

    def row(self, label: str, widget, tip: str = "") -> QtWidgets.QLabel:
        lab = _row_label(label, tip)
        self.form.addRow(lab, widget)
        return lab


class InputsPanel(QtWidgets.QWidget):
    """Every input of the scenario, in sections by field group (see the module docstring)."""

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.setObjectName("inputsPanel")
        self.session = session
        self.profiles = session.catalogue.profiles.profiles
        self.laws = session.catalogue.laws
        self.fields: dict[str, list[NumberField]] = {}
        self.choices: dict[str, ChoiceField] = {}
        self.flags: dict[str, FlagField] = {}
        self.labels: dict[str, list[QtWidgets.QLabel]] = {}
        self.sections: dict[str, Section] = {}
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(8)
        for key, title in SECTIONS:
            stored = settings.value(f"section_open/{key}", None)
            open_ = (str(stored).lower() in ("true", "1")) if stored is not None \
                else key not in COLLAPSED
            sec = Section(key, title, open_)
            sec.toggled.connect(lambda o, k=key: settings.set_value(f"section_open/{k}", o))
            self.sections[key] = sec
            lay.addWidget(sec)
        lay.addStretch(1)
        placed: set[str] = set()

        # -- target: the mode, then one page of fields per declared mode ------------------
        target = self.sections["target"]
        self._editor(target, "name")
        placed.add("name")
        self.mode = self._choice("mode", [(m, mode_label(m)) for m in FIELDS["mode"].choices])
        self.mode.picked.connect(session.set_mode)
        target.row(FIELDS["mode"].label, self.mode, tooltip_of(FIELDS["mode"]))
        placed.add("mode")
        self.pages: dict[str, QtWidgets.QWidget] = {}
        for mode in FIELDS["mode"].choices:
            page = QtWidgets.QWidget()
            form = _form(page)
            form.setContentsMargins(0, 0, 0, 0)
            self.pages[mode] = page
            names = [TARGET_FIELD[mode]] if TARGET_FIELD.get(mode) in FIELDS else []
            names += [n for n, m in MODE_ONLY.items() if m == mode and n not in names
                      and n in FIELDS]
            for name in names:
                self._editor(form, name)
                placed.add(name)
            if mode == "loss":
                self.loss_hint = _hint()
                form.addRow(self.loss_hint)
            elif mode in MODE_HINTS:
                form.addRow(_hint(MODE_HINTS[mode]))
            target.form.addRow(page)

        cons = self.sections["constraints"]
        self.constraints = cons
        for name in CONSTRAINTS:
            self._editor(cons, name, label=CONSTRAINT_LABELS.get(name),
                         placeholder="free (optimal)" if name != "unique_tokens" else "unlimited")
            placed.add(name)

        # -- law --------------------------------------------------------------------------
        law = self.sections["law"]
        self.law_files: list[str] = []  # law files opened or saved in this session
        self._law_items: list[tuple[str, str]] = []
        self._law_shown: tuple[str, object] | None = None  # the law whose texts are shown
        self.law = self._choice("law", [])
        self.refresh_laws()
        self.law.picked.connect(lambda lid: session.update(law=lid))
        self._label("law", _wide_row(law.form, FIELDS["law"].label, self.law,
                                     tooltip_of(FIELDS["law"])))
        placed.add("law")
        self.law_info = _hint()
        self.law_info.setObjectName("lawInfo")
        self.law_info.setTextFormat(QtCore.Qt.TextFormat.RichText)
        law.form.addRow(self.law_info)

        # -- every other field, in its group's section, in declaration order --------------
        for name, spec in FIELDS.items():
            if name in placed:
                continue
            group = spec.group if spec.group in self.sections else "advanced"
            if group == "target":
                group = "constraints"
            self._editor(self.sections[group], name)
        self.hardware = self.choices["hardware"]
        self.precision = self.choices["precision"]
        self.price_tier = self.choices["price_tier"]
        self.optimize = self.choices["optimize"]

        session.scenario_changed.connect(self.show_scenario)
        session.estimate_changed.connect(self.show_estimate)
        session.error_changed.connect(self.show_error)
        self.show_scenario(session.pending)
        if session.estimate is not None:
            self.show_estimate(session.estimate, session.curves)

    # -- building helpers ------------------------------------------------------------------
    def _scale(self, name: str) -> LogScale | None:
        s = self.session
        return {
            "target_loss": lambda: LogScale(0.02, 2.5, offset=s.irreducible_loss, digits=0),
            "compute_flops": lambda: LogScale(1e18, 1e28),
            "gpus": lambda: LogScale(8, 131072, integer=True),
            "params": lambda: LogScale(1e8, 1e13),
        }.get(name, lambda: None)() if not (name == "params" and "params" in self.fields) \
            else None

    def _label(self, name: str, label) -> None:
        if isinstance(label, QtWidgets.QLabel):
            self.labels.setdefault(name, []).append(label)

    def _editor(self, form, name: str, label: str | None = None,
                placeholder: str | None = None) -> QtWidgets.QWidget:
        """The editor of field ``name`` by its kind, labelled and explained by its spec."""
        spec = FIELDS[name]
        label = label or spec.label
        tip = tooltip_of(spec)
        if spec.kind == "bool":
            w: QtWidgets.QWidget = FlagField(name, label, tip)
            w.toggled.connect(lambda on, n=name: self.session.update(**{n: bool(on)}))
            self.flags[name] = w
            form.form.addRow(w) if isinstance(form, Section) else form.addRow(w)
            return w
        if spec.kind == "choice" or (spec.kind == "ref" and name in ("hardware",
                                                                     "inference_hardware")):
            items = self._choice_items(name, spec)
            w = self._choice(name, items, tip)
            if name == "hardware":
                w.picked.connect(self.session.set_hardware)
            else:
                w.picked.connect(lambda d, n=name: self.session.update(
                    **{n: (d or None) if FIELDS[n].optional else d}))
        else:
            if placeholder is None:
                placeholder = PLACEHOLDERS.get(name, "default" if spec.optional else "")
            w = NumberField(name, placeholder, self._scale(name), tip,
                            unit=UNIT_SUFFIX.get(spec.unit, ""))
            w.committed.connect(lambda text, n=name: self.session.set_text(n, text))
            w.slid.connect(lambda v, n=name: self.session.update(**{n: v}))
            self.fields.setdefault(name, []).append(w)
        if name in WIDE_FIELDS:
            lab = _wide_row(form.form if isinstance(form, Section) else form, label, w, tip)
        elif isinstance(form, Section):
            lab = form.row(label, w, tip)
        else:
            lab = _row_label(label, tip)
            form.addRow(lab, w)
        self._label(name, lab)
        buddy = getattr(w, "edit", None) or getattr(w, "combo", None)
        if buddy is not None:
            lab.setBuddy(buddy)  # screen readers and focus go from the label to the editor
        return w

    def _choice_items(self, name: str, spec: FieldSpec) -> list[tuple[str, str]]:
        if name in ("hardware", "inference_hardware"):
            items = [(pid, p.display_name) for pid, p in self.profiles.items()]
        else:
            items = [(c, choice_label(c)) for c in spec.choices]
        if spec.optional:
            items.insert(0, ("", DEFAULT_CHOICE.get(name, "default")))
        return items

    def _choice(self, name: str, items, tooltip: str = "") -> ChoiceField:
        c = ChoiceField(name, items, tooltip=tooltip)
        self.choices[name] = c
        return c

    def field(self, name: str) -> NumberField:
        """The visible editor of ``name`` (the params field exists on two pages)."""
        editors = self.fields[name]
        if name == "params" and len(editors) > 1:
            return editors[0] if self.session.pending.mode == "model" else editors[1]
        return editors[0]

    def editor(self, name: str) -> QtWidgets.QWidget:
        """The editor of any field (line edit field, combo or check box)."""
        if name in self.fields:
            return self.field(name)
        if name in self.choices:
            return self.choices[name]
        return self.flags[name]

    def row_labels(self) -> list[QtWidgets.QLabel]:
        return [lab for labs in self.labels.values() for lab in labs]

    # -- views -----------------------------------------------------------------------------
    def show_scenario(self, s: Scenario) -> None:
        self.refresh_laws()
        for name, editors in self.fields.items():
            for f in editors:
                if name in self.session.errors:
                    continue
                f.show_value(getattr(s, name))
        for name, c in self.choices.items():
            value = getattr(s, name)
            if name in ("hardware", "inference_hardware") and value and \
                    c.combo.findData(value) < 0:  # a profile file: listed by its name
                c.combo.addItem(str(value).replace("\\", "/").rsplit("/", 1)[-1], value)
            c.set_current(value)
        for name, f in self.flags.items():
            f.blockSignals(True)
            f.setChecked(bool(getattr(s, name)))
            f.blockSignals(False)
        for mode, page in self.pages.items():
            page.setVisible(mode == s.mode)
        # in "model" mode params is the model (target page), otherwise a constraint
        if len(self.fields["params"]) > 1:
            self.constraints.form.setRowVisible(self.fields["params"][1], s.mode != "model")
        if s.is_moe and not self.sections["moe"].is_open():
            self.sections["moe"].set_open(True)
        for combo_name, hw in (("precision", s.hardware),
                               ("inference_precision", s.inference_hardware or s.hardware)):
            profile = self.profiles.get(hw)
            c = self.choices.get(combo_name)
            if profile is None or c is None:
                continue
            model = c.combo.model()
            for i, p in enumerate(c.items()):
                if combo_name == "precision":
                    model.item(i).setEnabled(p in profile.peak_tflops)
        profile = self.profiles.get(s.hardware)
        if profile is not None:
            model = self.price_tier.combo.model()
            for i, t in enumerate(self.price_tier.items()):
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
            self._law_shown = None
            self.law_info.setText(rich_plain(friendly_message(exc)))
            return
        listed = self.law.combo.findData(s.law) >= 0
        shown = self._law_shown
        if listed and shown is not None and shown[0] == s.law and shown[1] is law:
            return  # the same law object (a changed file is a new one): its texts stand
        self._law_shown = (s.law, law)
        if not listed:
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
        self._show_gpu_ceiling(est)

    def _show_gpu_ceiling(self, est: Estimate) -> None:
        """Mark the useful-batch ceiling on the GPUs slider and say what it means."""
        f = self.field("gpus")
        ceiling = int(est.max_useful_gpus)
        if f.slider is not None:
            f.slider.set_ceiling(f.scale.to_pos(ceiling) if ceiling > 0 else None)
            f.slider.setToolTip(
                f"Drag: the estimate follows live (log scale). Past the mark, "
                f"{ceiling:,} GPUs (max useful GPUs), the global batch passes the useful batch "
                "and more GPUs no longer shorten the run.")
        over = est.gpus > ceiling
        f.set_note(f"Max useful: {ceiling:,} GPUs" + (" — more do not shorten the run"
                                                      if over else ""))

    def show_error(self, name: str, message: str) -> None:
        if name in self.fields:
            for f in self.fields[name]:
                f.set_error(message)
        elif name in self.choices:
            self.choices[name].set_error(message)
        elif name in self.flags:
            self.flags[name].set_error(message)
        elif name:
            self.mode.set_error(message)
        elif not message:
            self.mode.set_error("")
        if message and name:
            self._reveal(name)

    def _reveal(self, name: str) -> None:
        """Open the section that holds a field with an error, so the mark is on screen."""
        for sec in self.sections.values():
            w = self.editor(name) if name in FIELDS else None
            if w is not None and sec.isAncestorOf(w) and not sec.is_open():
                sec.set_open(True)


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _short_citation(citation: str) -> str:
    try:
        from estimator.report import short_citation

        return short_citation(citation)
    except Exception:  # noqa: BLE001 - a display nicety only
        return citation.split(",")[0]
