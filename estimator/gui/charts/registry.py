"""Chart kind -> chart class, and the factory the window, the exports and the report use."""

from __future__ import annotations

from estimator.errors import InputError
from estimator.gui.chart_kinds import CHART_KINDS
from estimator.gui.charts.base import ChartWidget
from estimator.gui.charts.breakeven import BreakevenChart
from estimator.gui.charts.cost import CostChart
from estimator.gui.charts.frontier import FrontierChart
from estimator.gui.charts.gpus import GpusChart
from estimator.gui.charts.hardware import HardwareChart
from estimator.gui.charts.isoflop import IsoFlopChart
from estimator.gui.charts.isoloss import IsoLossChart
from estimator.gui.charts.law_comparison import LawsChart
from estimator.gui.charts.lifetime import LifetimeChart
from estimator.gui.charts.moe import MoeChart
from estimator.gui.charts.serving import ServingChart
from estimator.gui.charts.tornado import TornadoChart

CHART_CLASSES: dict[str, type[ChartWidget]] = {
    cls.kind: cls
    for cls in (
        FrontierChart,
        IsoLossChart,
        CostChart,
        LifetimeChart,
        HardwareChart,
        IsoFlopChart,
        LawsChart,
        GpusChart,
        ServingChart,
        MoeChart,
        TornadoChart,
        BreakevenChart,
    )
}
if tuple(CHART_CLASSES) != CHART_KINDS:  # the Qt-free list must name every chart class
    raise RuntimeError(f"chart_kinds.CHART_KINDS {CHART_KINDS} != {tuple(CHART_CLASSES)}")


def check_kind(kind: str) -> str:
    if kind not in CHART_CLASSES:
        raise InputError(
            f"unknown chart kind '{kind}': use one of {', '.join(CHART_KINDS)}",
            field="kind",
            value=kind,
            expected=", ".join(CHART_KINDS),
        )
    return kind


def create_chart(
    kind: str,
    theme: str = "normal",
    parent=None,
    *,
    scale: float = 1.0,
    for_export: bool = False,
    options: dict | None = None,
) -> ChartWidget:
    """A new chart widget of ``kind`` (see :data:`CHART_KINDS`) in ``theme``; ``options``: the
    kind's inputs beyond the scenario (e.g. the break-even's rent-or-own prices)."""
    return CHART_CLASSES[check_kind(kind)](
        theme, parent, scale=scale, for_export=for_export, options=options
    )
