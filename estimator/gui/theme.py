"""One theme registry for the window and its charts.

A :class:`Theme` bundles the window's look (:class:`WindowTheme`: a Qt palette and style sheet)
with the charts' look (:class:`ChartTheme`: colours, type sizes and line weights), so a
screenshot of the window and a chart drawn in the same theme match.

* ``normal``: dark and compact, the everyday window;
* ``presentation``: light, large type, for slides and screen sharing;
* ``print``: light, document type sizes, black text on white; the default for every exported
  chart (PNG, SVG, PDF, clipboard) and the PDF report, whatever theme the window shows.

The window's View menu offers :data:`THEME_NAMES`; exports offer :data:`CHART_THEME_NAMES`.
Nothing here imports Qt at module level (the CLI reads the names to build its parser).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from estimator.errors import InputError

THEME_NAMES = ("normal", "presentation")  # the window's View menu
CHART_THEME_NAMES = ("print", "presentation", "normal")  # chart exports and reports
EXPORT_THEME = "print"  # exports default to it whatever the window shows

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, yellow, black. Colour-blind safe; line styles are a second cue.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class WindowTheme:
    name: str
    window: str  # main background
    panel: str  # input panel and cards
    card: str
    border: str
    text: str
    muted: str
    accent: str
    error: str
    error_bg: str
    warn_text: str
    warn_bg: str
    input_bg: str
    selection: str
    font_px: int
    min_card_px: int  # narrowest result card; sets how many cards fit on a row
    card_value_px: int
    card_title_px: int
    small_px: int


@dataclass(frozen=True)
class ChartTheme:
    """Chart colours and sizes, in pixels on the reference canvas (1000 x 625 px); an export
    of another size scales every size by :func:`estimator.gui.charts.export.export_scale`."""

    name: str
    background: str
    foreground: str
    muted: str
    grid_alpha: float
    palette: tuple[str, ...]
    plan_color: str
    optimum_color: str
    title_px: float
    subtitle_px: float
    label_px: float
    tick_px: float
    legend_px: float
    footnote_px: float
    annotation_px: float
    line_width: float
    marker_px: float
    band_alpha: int


@dataclass(frozen=True)
class Theme:
    """One named look: the window's and the charts'."""

    name: str
    label: str
    description: str
    window: WindowTheme
    chart: ChartTheme


_NORMAL_WINDOW = WindowTheme(
    name="normal",
    window="#1e1f22",
    panel="#25272b",
    card="#2b2d31",
    border="#3a3d43",
    text="#e8e8e8",
    muted="#a0a4aa",
    accent="#56B4E9",
    error="#ff6b5b",
    error_bg="#3a2222",
    warn_text="#f3d58a",
    warn_bg="#3a3320",
    input_bg="#1b1c1f",
    selection="#2f5f86",
    font_px=13,
    min_card_px=190,
    card_value_px=20,
    card_title_px=11,
    small_px=11,
)
_LIGHT_WINDOW = WindowTheme(
    name="presentation",
    window="#ffffff",
    panel="#f5f6f8",
    card="#ffffff",
    border="#c9ced6",
    text="#1a1a1a",
    muted="#55595f",
    accent="#0072B2",
    error="#c0392b",
    error_bg="#fdecea",
    warn_text="#6b4a00",
    warn_bg="#fff4d6",
    input_bg="#ffffff",
    selection="#cfe3f3",
    font_px=16,
    min_card_px=265,
    card_value_px=26,
    card_title_px=14,
    small_px=14,
)

THEMES: dict[str, Theme] = {
    "normal": Theme(
        name="normal",
        label="Normal (dark, like the window)",
        description="dark background, compact type: the everyday window",
        window=_NORMAL_WINDOW,
        chart=ChartTheme(
            name="normal",
            background="#1e1f22",
            foreground="#e8e8e8",
            muted="#a0a4aa",
            grid_alpha=0.18,
            palette=(
                "#56B4E9",
                "#E69F00",
                "#009E73",
                "#F0E442",
                "#CC79A7",
                "#D55E00",
                "#0072B2",
                "#BBBBBB",
            ),
            plan_color="#D55E00",
            optimum_color="#009E73",
            title_px=17,
            subtitle_px=13,
            label_px=13,
            tick_px=12,
            legend_px=12,
            footnote_px=11,
            annotation_px=12,
            line_width=2.0,
            marker_px=13,
            band_alpha=70,
        ),
    ),
    "presentation": Theme(
        name="presentation",
        label="Presentation (light, large type for slides)",
        description="white background, large type and thick lines: slides and screen sharing",
        window=_LIGHT_WINDOW,
        chart=ChartTheme(
            name="presentation",
            background="#ffffff",
            foreground="#1a1a1a",
            muted="#5a5a5a",
            grid_alpha=0.22,
            palette=OKABE_ITO[:6] + ("#000000", "#999999"),
            plan_color="#D55E00",
            optimum_color="#009E73",
            title_px=24,
            subtitle_px=16,
            label_px=17,
            tick_px=16,
            legend_px=15,
            footnote_px=12.5,
            annotation_px=15,
            line_width=3.2,
            marker_px=17,
            band_alpha=60,
        ),
    ),
    "print": Theme(
        name="print",
        label="Print (light, for documents and proposals)",
        description="white background, black text, document type sizes: reports, proposals",
        window=replace(
            _LIGHT_WINDOW,
            name="print",
            font_px=13,
            min_card_px=190,
            card_value_px=20,
            card_title_px=11,
            small_px=11,
        ),
        chart=ChartTheme(
            name="print",
            background="#ffffff",
            foreground="#000000",
            muted="#4d4d4d",
            grid_alpha=0.16,
            palette=OKABE_ITO[:6] + ("#000000", "#999999"),
            plan_color="#D55E00",
            optimum_color="#009E73",
            title_px=21,
            subtitle_px=14.5,
            label_px=15.5,
            tick_px=14.5,
            legend_px=14,
            footnote_px=12,
            annotation_px=13.5,
            line_width=2.6,
            marker_px=15,
            band_alpha=55,
        ),
    ),
}


def get_theme(name: str) -> Theme:
    """The theme called ``name``; an unknown name is an InputError listing the choices."""
    if isinstance(name, Theme):
        return name
    if name not in THEMES:
        raise InputError(
            f"unknown chart theme '{name}': use one of {', '.join(CHART_THEME_NAMES)}",
            field="theme",
            value=name,
            expected=", ".join(CHART_THEME_NAMES),
            hint="print suits documents, presentation slides, normal matches the dark window",
        )
    return THEMES[name]


def chart_theme(name: str | ChartTheme) -> ChartTheme:
    """The chart colours and sizes of theme ``name`` (InputError for an unknown name)."""
    if isinstance(name, ChartTheme):
        return name
    return get_theme(name).chart


def window_theme(name: str) -> WindowTheme:
    """The window look of theme ``name`` (an unknown name falls back to ``normal``)."""
    return THEMES[name if name in THEMES else "normal"].window


def palette(name: str):
    """The window's QPalette for theme ``name``."""
    from PySide6 import QtGui

    t = window_theme(name)
    pal = QtGui.QPalette()
    c = QtGui.QColor
    role = QtGui.QPalette.ColorRole
    pal.setColor(role.Window, c(t.window))
    pal.setColor(role.WindowText, c(t.text))
    pal.setColor(role.Base, c(t.input_bg))
    pal.setColor(role.AlternateBase, c(t.panel))
    pal.setColor(role.Text, c(t.text))
    pal.setColor(role.Button, c(t.card))
    pal.setColor(role.ButtonText, c(t.text))
    pal.setColor(role.Highlight, c(t.selection))
    pal.setColor(role.HighlightedText, c(t.text))
    pal.setColor(role.ToolTipBase, c(t.card))
    pal.setColor(role.ToolTipText, c(t.text))
    pal.setColor(role.PlaceholderText, c(t.muted))
    pal.setColor(role.Link, c(t.accent))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, role.Text, c(t.muted))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, role.ButtonText, c(t.muted))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, role.WindowText, c(t.muted))
    return pal


def stylesheet(name: str) -> str:
    """The window's style sheet. Widgets opt in to roles with object names and the
    ``role`` dynamic property (card, cardTitle, cardValue, cardBand, error, warnings ...)."""
    t = window_theme(name)
    return f"""
QWidget {{ font-size: {t.font_px}px; color: {t.text}; }}
QMainWindow, QDialog {{ background: {t.window}; }}
QWidget#inputsPanel, QScrollArea#inputsScroll, QScrollArea#inputsScroll > QWidget > QWidget {{
    background: {t.panel}; }}
QScrollArea#inputsScroll {{ border: none; border-right: 1px solid {t.border}; }}
QGroupBox {{ border: 1px solid {t.border}; border-radius: 6px; margin-top: 1.1em;
    padding: 8px 8px 6px 8px; font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {t.accent}; }}
QLineEdit, QComboBox, QSpinBox {{ background: {t.input_bg}; border: 1px solid {t.border};
    border-radius: 4px; padding: 3px 6px; min-height: 1.5em; }}
QLineEdit:focus, QComboBox:focus {{ border: 1px solid {t.accent}; }}
QLineEdit[invalid="true"] {{ border: 2px solid {t.error}; background: {t.error_bg}; }}
QComboBox QAbstractItemView {{ background: {t.card}; selection-background-color: {t.selection}; }}
QLabel[role="rowLabel"] {{ min-width: 8.4em; max-width: 8.4em; }}
QToolButton[role="sectionHeader"] {{ border: none; background: none; padding: 2px 2px;
    font-weight: 600; color: {t.accent}; }}
QToolButton[role="sectionHeader"]:hover {{ color: {t.text}; }}
QFrame[role="section"] {{ border: none; }}
QWidget#summary, QScrollArea#summaryScroll {{ background: {t.window}; }}
QFrame#alternativeStrip {{ background: {t.card}; border: 1px solid {t.accent};
    border-radius: 6px; }}
QToolButton#warningsBadge {{ color: {t.warn_text}; background: {t.warn_bg};
    border: 1px solid {t.warn_text}; border-radius: 4px; padding: 2px 8px; }}
QLabel[role="fieldError"] {{ color: {t.error}; font-size: {t.small_px}px; }}
QLabel[role="unit"] {{ color: {t.muted}; }}
QLabel[role="hint"] {{ color: {t.muted}; font-size: {t.small_px}px; }}
QLabel[role="headline"] {{ font-size: {t.font_px + 2}px; font-weight: 600; }}
QLabel[role="subhead"] {{ color: {t.muted}; }}
QFrame[role="card"] {{ background: {t.card}; border: 1px solid {t.border}; border-radius: 8px; }}
QFrame[role="card"][plan="true"] {{ border: 1px solid {t.accent}; }}
QLabel[role="cardTitle"] {{ color: {t.muted}; font-size: {t.card_title_px}px;
    font-weight: 600; letter-spacing: 0.2px; }}
QLabel[role="cardValue"] {{ font-size: {t.card_value_px}px; font-weight: 600; }}
QLabel[role="cardBand"] {{ color: {t.muted}; font-size: {t.small_px}px; }}
QFrame#warningsStrip {{ background: {t.warn_bg}; border: 1px solid {t.warn_text};
    border-radius: 6px; }}
QFrame#warningsStrip QLabel {{ color: {t.warn_text}; }}
QFrame#errorStrip {{ background: {t.error_bg}; border: 1px solid {t.error}; border-radius: 6px; }}
QFrame#errorStrip QLabel {{ color: {t.error}; }}
QTabWidget::pane {{ border: 1px solid {t.border}; border-radius: 4px; top: -1px; }}
QTabBar::tab {{ background: {t.panel}; border: 1px solid {t.border}; padding: 5px 10px;
    border-bottom: none; border-top-left-radius: 4px; border-top-right-radius: 4px;
    margin-right: 2px; color: {t.muted}; }}
QTabBar::scroller {{ width: 26px; }}
QTabBar QToolButton {{ background: {t.card}; border: 1px solid {t.border}; padding: 0; }}
QTabBar::tab:selected {{ background: {t.card}; color: {t.text}; border-color: {t.accent}; }}
QTableView {{ background: {t.card}; alternate-background-color: {t.panel};
    gridline-color: {t.border}; border: 1px solid {t.border};
    selection-background-color: {t.selection}; selection-color: {t.text}; }}
QHeaderView::section {{ background: {t.panel}; color: {t.text}; border: none;
    border-right: 1px solid {t.border}; border-bottom: 1px solid {t.border}; padding: 4px 6px;
    font-weight: 600; }}
QPushButton, QToolButton {{ background: {t.card}; border: 1px solid {t.border};
    border-radius: 4px; padding: 4px 12px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {t.accent}; }}
QSlider::groove:horizontal {{ height: 4px; background: {t.border}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {t.accent}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {t.accent}; width: 14px; margin: -6px 0;
    border-radius: 7px; }}
QScrollBar:vertical {{ background: {t.panel}; width: 12px; margin: 0; }}
QScrollBar:horizontal {{ background: {t.panel}; height: 12px; margin: 0; }}
QScrollBar::handle {{ background: {t.border}; border-radius: 5px; min-height: 24px;
    min-width: 24px; margin: 2px; }}
QScrollBar::handle:hover {{ background: {t.muted}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QMenuBar {{ background: {t.window}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {t.selection}; }}
QMenu {{ background: {t.card}; border: 1px solid {t.border}; }}
QStatusBar {{ color: {t.muted}; }}
QToolTip {{ background: {t.card}; color: {t.text}; border: 1px solid {t.border}; }}
QRadioButton, QCheckBox {{ spacing: 6px; }}
"""


def apply_theme(widget, name: str) -> None:
    """Style ``widget`` (and its children) for theme ``name``."""
    widget.setPalette(palette(name))
    widget.setStyleSheet(stylesheet(name))
