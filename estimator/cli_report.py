"""``estimator report``: one scenario's report as Markdown, CSV, JSON, a spreadsheet (.xlsx),
a PDF or a slide deck (.pptx), by the ``--out`` suffix.

The scenario options are exactly those of ``estimator estimate``. PDF and PPTX draw their charts
with Qt, imported only for them; without Qt they fail with one line naming what to install.
Rent-or-own (in the spreadsheet and the deck) needs all three of ``--purchase-usd-per-chip``,
``--depreciation-years`` and ``--usd-per-kwh``: nothing defaults a purchase price.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from estimator.errors import EstimatorError, InputError

#: Suffix -> what the report is, in the order the help lists them.
FORMATS = {".md": "Markdown", ".csv": "CSV", ".json": "JSON", ".xlsx": "spreadsheet",
           ".pdf": "PDF with charts", ".pptx": "slide deck"}
QT_FORMATS = (".pdf", ".pptx")
#: Formats that carry the finance sheets (sensitivity, break-even, rent or own).
FINANCE_FORMATS = (".xlsx", ".pptx")
_RENT_OWN = ("purchase_usd_per_chip", "depreciation_years", "usd_per_kwh")


def add_report_parser(sub) -> argparse.ArgumentParser:
    """Register ``report`` on the ``estimator`` subcommands (``cli.build_parser`` calls it)."""
    from estimator.cli import _add_scenario_args, _number

    r = sub.add_parser(
        "report", help="write a report: " + ", ".join(FORMATS),
        description="Write the scenario's report in the format of the --out suffix: "
        + "; ".join(f"{k} {v}" for k, v in FORMATS.items()) + ". PDF and PPTX need the "
        "window's extra (Qt) for their charts.")
    r.add_argument("--out", required=True, metavar="FILE",
                   help="report file: " + ", ".join(f"*{k}" for k in FORMATS))
    f = r.add_argument_group("finance (.xlsx and .pptx)")
    f.add_argument("--purchase-usd-per-chip", type=_number, metavar="USD",
                   help="rent or own: purchase price of one accelerator with its share of the "
                        "server, in USD (your figure; no default). For scale only: a DGX H100 "
                        "(8 GPUs) sold for about $270,000, $33,750 per GPU (SemiAnalysis, May "
                        "2023, as cited by Epoch AI's training-cost-trends); quotes move fast")
    f.add_argument("--depreciation-years", type=_number, metavar="YEARS",
                   help="rent or own: straight-line depreciation, no resale value")
    f.add_argument("--usd-per-kwh", type=_number, metavar="USD",
                   help="rent or own: electricity price in USD per kWh")
    f.add_argument("--other-usd-per-chip-year", type=_number, metavar="USD", default=0.0,
                   help="rent or own: other owned costs per chip-year (hosting, network, staff; "
                        "default none)")
    f.add_argument("--break-even-hardware", metavar="ID,ID", default="",
                   help="hardware to add to the break-even (default: the plan's chip and every "
                        "chip that is cheapest at some demand up to twice the plan's)")
    _add_scenario_args(r)
    r.set_defaults(func=cmd_report)
    return r


def _check_request(args) -> str:
    """The suffix, and the finance options' consistency, before any work is done."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".markdown":
        suffix = ".md"
    if suffix not in FORMATS:
        raise InputError(f"{out.name}: unknown report format '{suffix or '(none)'}'; save as "
                         + ", ".join(FORMATS), field="out", value=str(out),
                         expected=", ".join(FORMATS))
    given = [n for n in _RENT_OWN if getattr(args, n) is not None]
    if given and suffix not in FINANCE_FORMATS:
        raise InputError(f"--{given[0].replace('_', '-')} is for the .xlsx and .pptx reports "
                         f"(rent or own), not {suffix}", field=given[0])
    if given and len(given) < len(_RENT_OWN):
        missing = [f"--{n.replace('_', '-')}" for n in _RENT_OWN if n not in given]
        raise InputError("rent or own needs " + " and ".join(missing) + " as well",
                         field=missing[0][2:].replace("-", "_"))
    if args.break_even_hardware and suffix not in FINANCE_FORMATS:
        raise InputError(f"--break-even-hardware is for the .xlsx and .pptx reports, not "
                         f"{suffix}", field="break_even_hardware")
    if suffix in QT_FORMATS:
        from estimator.gui.display import qt_problem

        problem = qt_problem()
        if problem is not None:
            raise EstimatorError(f"a {suffix} report draws its charts with Qt, and {problem}")
    if suffix == ".pptx":
        try:
            import pptx  # noqa: F401
        except ImportError:
            raise EstimatorError(
                "a .pptx report needs python-pptx, which is not installed: pip install "
                "\"llm-cost-estimator[gui]\" (from a checkout: pip install \".[gui]\")"
            ) from None
    return suffix


def cmd_report(args) -> int:
    from estimator.catalogue import default_catalogue
    from estimator.cli import scenario_from_args
    from estimator.engine import compare, estimate

    suffix = _check_request(args)
    scenario = scenario_from_args(args)
    cat = default_catalogue()
    est = estimate(scenario, catalogue=cat)
    comparison = compare(scenario, catalogue=cat)
    finance = {}
    if suffix in FINANCE_FORMATS:
        from estimator.breakeven import rent_or_own
        from estimator.report_xlsx import default_break_even

        if args.purchase_usd_per_chip is not None:
            finance["rent_own"] = rent_or_own(
                est, purchase_usd_per_chip=args.purchase_usd_per_chip,
                depreciation_years=args.depreciation_years, usd_per_kwh=args.usd_per_kwh,
                other_usd_per_chip_year=args.other_usd_per_chip_year, catalogue=cat)
        if args.break_even_hardware:
            ids = [h.strip() for h in args.break_even_hardware.split(",") if h.strip()]
            finance["break_even"] = default_break_even(est, comparison, ids)
    if suffix == ".pdf":
        from estimator.gui.report_pdf import save_report_pdf

        save_report_pdf(args.out, scenario, est, comparison)
    elif suffix == ".pptx":
        from estimator.gui.report_pptx import save_report_pptx

        save_report_pptx(args.out, scenario, est, comparison, catalogue=cat, **finance)
    elif suffix == ".xlsx":
        from estimator.report_xlsx import save_report_xlsx

        save_report_xlsx(args.out, scenario, est, comparison, catalogue=cat, **finance)
    else:
        from estimator.report import save_report

        save_report(args.out, scenario, est, comparison)
    print(f"wrote {args.out} ({FORMATS[suffix]})")
    return 0
