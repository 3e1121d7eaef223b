"""Window themes: a Qt palette and style sheet for the normal (dark, compact) and presentation
(light background, large fonts, for slides and screen sharing) looks.

The chart colours live in :mod:`estimator.gui.charts` under the same theme names; the window
applies both together so a screenshot of the window and an exported chart match.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtGui, QtWidgets

THEME_NAMES = ("normal", "presentation")


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


THEMES: dict[str, WindowTheme] = {
    "normal": WindowTheme(
        name="normal", window="#1e1f22", panel="#25272b", card="#2b2d31", border="#3a3d43",
        text="#e8e8e8", muted="#a0a4aa", accent="#56B4E9", error="#ff6b5b",
        error_bg="#3a2222", warn_text="#f3d58a", warn_bg="#3a3320", input_bg="#1b1c1f",
        selection="#2f5f86", font_px=13, min_card_px=190, card_value_px=20,
        card_title_px=11, small_px=11,
    ),
    "presentation": WindowTheme(
        name="presentation", window="#ffffff", panel="#f5f6f8", card="#ffffff",
        border="#c9ced6", text="#1a1a1a", muted="#55595f", accent="#0072B2", error="#c0392b",
        error_bg="#fdecea", warn_text="#6b4a00", warn_bg="#fff4d6", input_bg="#ffffff",
        selection="#cfe3f3", font_px=16, min_card_px=265, card_value_px=26,
        card_title_px=14, small_px=14,
    ),
}


def window_theme(name: str) -> WindowTheme:
    return THEMES[name if name in THEMES else "normal"]


def palette(name: str) -> QtGui.QPalette:
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
QLabel[role="rowLabel"] {{ min-width: 6.4em; max-width: 6.4em; }}
QLabel[role="fieldError"] {{ color: {t.error}; font-size: {t.small_px}px; }}
QLabel[role="hint"] {{ color: {t.muted}; font-size: {t.small_px}px; }}
QLabel[role="headline"] {{ font-size: {t.font_px + 2}px; font-weight: 600; }}
QLabel[role="subhead"] {{ color: {t.muted}; }}
QFrame[role="card"] {{ background: {t.card}; border: 1px solid {t.border}; border-radius: 8px; }}
QFrame[role="card"][plan="true"] {{ border: 1px solid {t.accent}; }}
QLabel[role="cardTitle"] {{ color: {t.muted}; font-size: {t.card_title_px}px;
    font-weight: 600; letter-spacing: 0.4px; }}
QLabel[role="cardValue"] {{ font-size: {t.card_value_px}px; font-weight: 600; }}
QLabel[role="cardBand"] {{ color: {t.muted}; font-size: {t.small_px}px; }}
QFrame#warningsStrip {{ background: {t.warn_bg}; border: 1px solid {t.warn_text};
    border-radius: 6px; }}
QFrame#warningsStrip QLabel {{ color: {t.warn_text}; }}
QFrame#errorStrip {{ background: {t.error_bg}; border: 1px solid {t.error}; border-radius: 6px; }}
QFrame#errorStrip QLabel {{ color: {t.error}; }}
QTabWidget::pane {{ border: 1px solid {t.border}; border-radius: 4px; top: -1px; }}
QTabBar::tab {{ background: {t.panel}; border: 1px solid {t.border}; padding: 6px 14px;
    border-bottom: none; border-top-left-radius: 4px; border-top-right-radius: 4px;
    margin-right: 2px; color: {t.muted}; }}
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


def apply_theme(widget: QtWidgets.QWidget, name: str) -> None:
    """Style ``widget`` (and its children) for theme ``name``."""
    widget.setPalette(palette(name))
    widget.setStyleSheet(stylesheet(name))
