"""Charts: pyqtgraph plots of :class:`estimator.curves.Curves` (and of the law comparisons in
:mod:`estimator.law_curves`), and their export to PNG, SVG, PDF and the clipboard for proposals
and slides.

One module per chart kind over a shared base (:mod:`.base`):

=============  ==================================================================
``frontier``   loss vs compute on the compute-optimal frontier (:mod:`.frontier`)
``isoloss``    model size vs tokens with iso-loss contours (:mod:`.isoloss`)
``cost``       training cost vs target loss on every chip (:mod:`.cost`)
``lifetime``   training + lifetime inference cost vs model size (:mod:`.lifetime`)
``hardware``   the plan on every hardware profile (:mod:`.hardware`)
``isoflop``    IsoFLOP profiles, Hoffmann et al. 2022 Fig. 3 (:mod:`.isoflop`)
``laws``       compute-optimal tokens per parameter by law (:mod:`.law_comparison`)
=============  ==================================================================

Every chart explains itself: a title, a subtitle with the plan's numbers, axis labels with
units, a legend and a footnote with the law, the hardware, the date and the estimate's caveats.
Colours come from the theme registry (:mod:`estimator.gui.theme`). Exports (:mod:`.export`)
paint one scene onto every format, so PNG, SVG and PDF are the same picture.
"""

from __future__ import annotations

from estimator.gui.chart_kinds import CHART_KINDS, CHART_SHORT_TITLES, CHART_TITLES
from estimator.gui.charts.axes import SmartAxis, format_tick, log_tick_values
from estimator.gui.charts.base import ChartWidget, footnote_text, summarise_warnings
from estimator.gui.charts.export import (
    _ensure_app,
    copy_chart_to_clipboard,
    export_chart,
    export_scale,
    paint_chart,
    render_chart,
    render_chart_file,
    render_to_image,
    write_file,
)
from estimator.gui.charts.registry import CHART_CLASSES, create_chart
from estimator.gui.theme import CHART_THEME_NAMES, EXPORT_THEME, THEMES

CLI_CHART_KINDS = CHART_KINDS  # every chart exports headlessly

__all__ = [
    "CHART_CLASSES",
    "CHART_KINDS",
    "CHART_SHORT_TITLES",
    "CHART_THEME_NAMES",
    "CHART_TITLES",
    "CLI_CHART_KINDS",
    "EXPORT_THEME",
    "THEMES",
    "ChartWidget",
    "SmartAxis",
    "_ensure_app",
    "copy_chart_to_clipboard",
    "create_chart",
    "export_chart",
    "export_scale",
    "footnote_text",
    "format_tick",
    "log_tick_values",
    "paint_chart",
    "render_chart",
    "render_chart_file",
    "render_to_image",
    "summarise_warnings",
    "write_file",
]
