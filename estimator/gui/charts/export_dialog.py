"""The window's chart export dialog: format, style and size, with a preview of the exported
picture, and the remembered export options (the quick "Export as PNG/SVG/PDF" and "Copy
image" actions reuse the last ones)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.chart_kinds import CHART_TITLES
from estimator.gui.charts.export import (
    CSS_DPI,
    MAX_EXPORT_PX,
    MIN_EXPORT_PX,
    export_chart_widget,
    render_to_image,
)
from estimator.gui.theme import CHART_THEME_NAMES, EXPORT_THEME, THEMES

FORMATS = (("png", "PNG image"), ("svg", "SVG vector"), ("pdf", "PDF document"))
# (label, width, height); None: custom
SIZE_PRESETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("Slide 16:10 — 1600 × 1000", 1600, 1000),
    ("Slide 16:9 — 1920 × 1080", 1920, 1080),
    ("Document, full width — 960 × 600", 960, 600),
    ("Document, half width — 640 × 480", 640, 480),
    ("Square — 1000 × 1000", 1000, 1000),
    ("Custom size", None, None),
)
PREVIEW_PX = (480, 300)


@dataclass(frozen=True)
class ExportOptions:
    """How a chart is exported: file format, chart theme and size in pixels (vector formats:
    96 px per inch). ``action``: 'save' to a file or 'copy' to the clipboard."""

    fmt: str = "png"
    theme: str = EXPORT_THEME
    width_px: int = 1600
    height_px: int = 1000
    action: str = "save"


def load_options() -> ExportOptions:
    """The last export options (settings), falling back to the defaults field by field."""
    from estimator.gui import settings

    d = ExportOptions()

    def _int(key: str, default: int) -> int:
        try:
            v = int(settings.value(key, default))
        except (TypeError, ValueError):
            return default
        return v if MIN_EXPORT_PX <= v <= MAX_EXPORT_PX else default

    theme = str(settings.value("export/theme", d.theme))
    fmt = str(settings.value("export/format", d.fmt))
    return ExportOptions(
        fmt=fmt if fmt in dict(FORMATS) else d.fmt,
        theme=theme if theme in CHART_THEME_NAMES else d.theme,
        width_px=_int("export/width", d.width_px),
        height_px=_int("export/height", d.height_px),
    )


def save_options(opts: ExportOptions) -> None:
    from estimator.gui import settings

    settings.set_value("export/format", opts.fmt)
    settings.set_value("export/theme", opts.theme)
    settings.set_value("export/width", int(opts.width_px))
    settings.set_value("export/height", int(opts.height_px))


class ChartExportDialog(QtWidgets.QDialog):
    """Choose format, style and size for exporting chart ``kind``; Save… or Copy image."""

    def __init__(
        self,
        kind: str,
        curves: Curves | None,
        estimate: Estimate | None,
        options: ExportOptions | None = None,
        parent=None,
    ):
        super().__init__(parent)
        self.kind, self.curves, self.estimate = kind, curves, estimate
        self.action = "save"
        opts = options or load_options()
        self.setWindowTitle(f"Export chart — {CHART_TITLES.get(kind, kind)}")
        form = QtWidgets.QFormLayout()
        self.format_box = QtWidgets.QComboBox()
        for key, label in FORMATS:
            self.format_box.addItem(label, key)
        self.format_box.setCurrentIndex([k for k, _ in FORMATS].index(opts.fmt))
        self.theme_box = QtWidgets.QComboBox()
        for name in CHART_THEME_NAMES:
            self.theme_box.addItem(THEMES[name].label, name)
        self.theme_box.setCurrentIndex(CHART_THEME_NAMES.index(opts.theme))
        self.size_box = QtWidgets.QComboBox()
        for label, w, h in SIZE_PRESETS:
            self.size_box.addItem(label, (w, h))
        self.width_box = QtWidgets.QSpinBox()
        self.height_box = QtWidgets.QSpinBox()
        for box, v in ((self.width_box, opts.width_px), (self.height_box, opts.height_px)):
            box.setRange(MIN_EXPORT_PX, MAX_EXPORT_PX)
            box.setSuffix(" px")
            box.setValue(v)
        size_row = QtWidgets.QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QtWidgets.QLabel("×"))
        size_row.addWidget(self.height_box)
        self.size_note = QtWidgets.QLabel()
        self.size_note.setProperty("role", "hint")
        self.size_note.setWordWrap(True)
        form.addRow("Format", self.format_box)
        form.addRow("Style", self.theme_box)
        form.addRow("Size", self.size_box)
        form.addRow("", size_row)
        form.addRow("", self.size_note)
        self.preview = QtWidgets.QLabel()
        self.preview.setObjectName("exportPreview")
        self.preview.setFixedSize(*PREVIEW_PX)
        self.preview.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.preview.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        buttons = QtWidgets.QDialogButtonBox()
        role = QtWidgets.QDialogButtonBox.ButtonRole
        self.save_button = buttons.addButton("Save…", role.AcceptRole)
        self.copy_button = buttons.addButton("Copy image", role.ActionRole)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self._save)
        self.copy_button.clicked.connect(self._copy)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(self.preview)
        lay.addLayout(top)
        lay.addWidget(buttons)
        self._timer = QtCore.QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.update_preview)
        self._select_preset()
        self.size_box.currentIndexChanged.connect(self._preset_chosen)
        for box in (self.width_box, self.height_box):
            box.valueChanged.connect(self._size_edited)
        self.theme_box.currentIndexChanged.connect(lambda _i: self._timer.start())
        self._size_edited()

    # -- options ------------------------------------------------------------------------
    def options(self) -> ExportOptions:
        return ExportOptions(
            fmt=self.format_box.currentData(),
            theme=self.theme_box.currentData(),
            width_px=self.width_box.value(),
            height_px=self.height_box.value(),
            action=self.action,
        )

    def _select_preset(self) -> None:
        size = (self.width_box.value(), self.height_box.value())
        idx = next(
            (i for i, (_l, w, h) in enumerate(SIZE_PRESETS) if (w, h) == size),
            len(SIZE_PRESETS) - 1,
        )
        self.size_box.blockSignals(True)
        self.size_box.setCurrentIndex(idx)
        self.size_box.blockSignals(False)

    def _preset_chosen(self, index: int) -> None:
        w, h = self.size_box.itemData(index)
        if w is None:
            return
        for box, v in ((self.width_box, w), (self.height_box, h)):
            box.blockSignals(True)
            box.setValue(v)
            box.blockSignals(False)
        self._size_edited()

    def _size_edited(self, *_args) -> None:
        self._select_preset()
        w, h = self.width_box.value(), self.height_box.value()
        self.size_note.setText(
            f"SVG and PDF: {w / CSS_DPI:.1f} × {h / CSS_DPI:.1f} in at 96 px per inch. "
            "Type and lines scale with the size: a smaller canvas gives larger text relative "
            "to the chart."
        )
        self._timer.start()

    def update_preview(self) -> None:
        """Render the export as chosen and show it scaled into the preview box."""
        if self.curves is None or self.estimate is None:
            self.preview.setText("No estimate yet")
            return
        o = self.options()
        chart = export_chart_widget(
            self.kind, o.theme, self.curves, self.estimate, o.width_px, o.height_px
        )
        try:
            img = render_to_image(chart, o.width_px, o.height_px)
        finally:
            chart.hide()
            chart.deleteLater()
        pix = QtGui.QPixmap.fromImage(img).scaled(
            self.preview.size(),
            QtCore.Qt.AspectRatioMode.KeepAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )
        self.preview.setPixmap(pix)

    def _save(self) -> None:
        self.action = "save"
        self.accept()

    def _copy(self) -> None:
        self.action = "copy"
        self.accept()


def ask_export_options(kind: str, curves, estimate, parent=None) -> ExportOptions | None:
    """Show the dialog; the chosen options (remembered for next time), or None if cancelled."""
    dialog = ChartExportDialog(kind, curves, estimate, load_options(), parent)
    if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return None
    opts = dialog.options()
    save_options(opts)
    return opts


__all__ = [
    "ChartExportDialog",
    "ExportOptions",
    "ask_export_options",
    "load_options",
    "save_options",
]
