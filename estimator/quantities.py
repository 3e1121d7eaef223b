"""Result quantities, declared once: key, label, unit, formatters, band, definition, source.

Every face iterates :data:`QUANTITIES`: the CLI's table and ``--json``, the Markdown, CSV, JSON
and PDF reports, the window's cards (with tooltips from the definitions), its hardware table and
the compare dialog. Adding a result is one entry here and one computation in the engine.

``fmt`` shows a value with its unit ("70.0 B params"); ``short`` is the compact form of cards
and tables ("70.0 B"); bands (P10-P90) use ``short``. ``when`` hides a quantity that does not
apply to an estimate (emissions without a grid intensity, epochs without limited data).
``card`` is the window card's title (None: no card); ``column`` the hardware table's header
(None: not a per-hardware column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from estimator import units


@dataclass(frozen=True)
class Quantity:
    key: str
    label: str
    unit: str
    definition: str
    source: str
    group: str  # "plan", "training", "serving", "lifetime"
    fmt: Callable[[Any], str] = str
    short: Callable[[Any], str] | None = None
    band: bool = False
    card: str | None = None
    column: str | None = None
    when: Callable[[Any], bool] | None = None
    label_of: Callable[[Any], str] | None = None  # a label that depends on the estimate
    #: absent from the JSON and CSV (not null) when the estimate has no value for it
    only_when_set: bool = False

    def applies(self, est) -> bool:
        return self.when is None or bool(self.when(est))

    def label_for(self, est) -> str:
        return self.label_of(est) if self.label_of is not None else self.label

    def text(self, value) -> str:
        return "n/a" if value is None else self.fmt(value)

    def short_text(self, value) -> str:
        return "—" if value is None else (self.short or self.fmt)(value)


def _sci(v: float) -> str:
    return f"{v:.2e}".replace("e+", "e")


def _int(v) -> str:
    return f"{int(v):,}"


def _ms(v: float) -> str:
    return f"{v * 1e3:,.1f} ms" if v < 10 else f"{v:,.1f} s"


GROUPS = {"plan": "Training plan", "training": "Training run", "serving": "Serving",
          "lifetime": "Lifetime"}

QUANTITIES: tuple[Quantity, ...] = (
    # -- the plan ------------------------------------------------------------------------------
    Quantity("loss", "Loss", "nats/token", "Final pre-training loss the plan reaches",
             "the scaling law L(N, D)", "plan", fmt=lambda v: f"{v:.4f} nats/token",
             short=lambda v: f"{v:.4f}"),
    Quantity("params", "Parameters", "parameters",
             "Model size N (for a mixture of experts: the active parameters a token uses)",
             "compute-optimal allocation (Hoffmann et al. 2022 eq. 4) or the constraint", "plan",
             fmt=lambda v: units.si(v) + " params", short=units.si, band=True,
             card="PARAMETERS",
             label_of=lambda e: "Active parameters" if e.scenario.is_moe else "Parameters"),
    Quantity("total_params", "Total parameters", "parameters",
             "Every weight a mixture of experts stores (all experts): what memory, "
             "checkpoints and serving hold", "the model shape (estimator.shape)", "plan",
             fmt=lambda v: units.si(v) + " params", short=units.si,
             when=lambda e: e.scenario.is_moe),
    Quantity("tokens", "Training tokens", "tokens", "Training tokens D",
             "compute-optimal allocation or the constraint", "plan",
             fmt=lambda v: units.si(v) + " tokens", short=units.si, band=True,
             card="TRAINING TOKENS"),
    Quantity("tokens_per_param", "Tokens per parameter", "ratio",
             "D / N; Chinchilla-optimal is about 20", "D / N", "plan",
             fmt=lambda v: f"{v:.1f}", card="TOKENS / PARAM"),
    Quantity("train_flops", "Training compute", "FLOPs",
             "Training FLOPs (6ND unless exact counting is on)",
             "Kaplan et al. 2020 eq. 2.2; Hoffmann et al. 2022", "plan", fmt=units.flops,
             short=_sci, band=True, card="TRAINING COMPUTE (FLOPs)"),
    Quantity("train_flops_6nd", "Training compute (6ND)", "FLOPs", "6 N D",
             "Kaplan et al. 2020 Sec. 2.1", "plan", fmt=units.flops, short=_sci,
             when=lambda e: False),
    Quantity("flops_ratio_to_6nd", "Ratio to 6ND", "ratio",
             "Exact training FLOPs (with attention) over 6ND", "Kaplan et al. 2020 eq. 2.2",
             "plan", fmt=lambda v: f"{v:.3f}", when=lambda e: e.flops_ratio_to_6nd != 1.0),
    Quantity("epochs", "Epochs over unique data", "epochs",
             "Training tokens over the unique tokens available", "D / U (Muennighoff et al. 2023)",
             "plan", fmt=lambda v: f"{v:.2f}", card="EPOCHS OVER DATA",
             when=lambda e: bool(e.scenario.unique_tokens)),
    Quantity("extrapolation_factor", "Extrapolation beyond fit", "ratio",
             "How far the plan lies outside the law's fitted range (1 = inside)",
             "the law's fitted range", "plan", fmt=lambda v: f"{v:.1f}x"),
    # -- the training run ----------------------------------------------------------------------
    Quantity("gpu_hours", "GPU-hours", "GPU-hours",
             "Paid accelerator-hours, including lost time (goodput)",
             "train_flops / (peak x MFU x goodput x 3600)", "training", fmt=units.hours,
             short=units.si, band=True, card="GPU-HOURS", column="GPU-hours"),
    Quantity("cost_usd", "Training cost", "USD", "GPU-hours x price per GPU-hour",
             "the profile's dated price tier or your price", "training", fmt=units.usd,
             band=True, card="TRAINING COST", column="Training cost"),
    Quantity("wall_clock_days", "Wall-clock", "days",
             "Calendar time on the chosen number of GPUs", "GPU-hours / GPUs / 24", "training",
             fmt=units.days, band=True, card="WALL-CLOCK", column="Wall-clock"),
    Quantity("energy_mwh", "Energy", "MWh", "Accelerator energy times the data-centre PUE",
             "chip power x GPU-hours x PUE", "training", fmt=units.energy, card="ENERGY",
             column="Energy", label_of=lambda e: f"Energy (PUE {e.scenario.pue:.2g})"),
    Quantity("co2_tonnes", "Emissions", "t CO2e", "Energy times the grid's carbon intensity",
             "energy x grid kg CO2e/kWh", "training", fmt=lambda v: f"{v:,.0f} t CO2e",
             card="CO2 EMISSIONS", when=lambda e: e.co2_tonnes is not None),
    Quantity("min_gpus_for_memory", "Min GPUs for memory", "chips",
             "Fewest GPUs on which some parallel layout holds the model, its optimizer state "
             "and a micro-batch's activations", "the run model's layout search "
             "(docs/run_model.md)", "training", fmt=_int, card="MIN GPUS (MEMORY)",
             column="Min GPUs (memory)"),
    Quantity("training_constants", "Run-model constants", "",
             "Whether the run model's constants for this chip's family are fitted on its own "
             "published layouts and runs, or borrowed from another family (then the band is "
             "wider)", "estimator/data/training_constants.yaml (docs/calibration.md)",
             "training", fmt=lambda v: v, short=lambda v: v.split(" ")[0], column="Constants"),
    Quantity("price_date", "Price date", "",
             "Date of the profile's quote for the chosen price tier; '(stale)' when it is more "
             "than 12 months old or of unknown age: check a current quote",
             "the hardware profile's prices (docs/hardware.md)", "training",
             fmt=lambda v: v, column="Price date", when=lambda e: e.price_date is not None,
             only_when_set=True),
    Quantity("max_useful_gpus", "Max useful GPUs", "chips",
             "GPUs beyond which the global batch passes the useful batch and more GPUs no "
             "longer shorten the run", "useful-batch law (docs/run_model.md)", "training",
             fmt=_int, card="MAX USEFUL GPUS"),
    Quantity("gpus_needed", "GPUs needed", "chips",
             "Fewest GPUs on which the plan's training run finishes within the deadline, in "
             "whole scale-up domains (nodes) above one domain (one domain fewer does not), "
             "counted from the least that hold the model in memory",
             "the run model's wall-clock days against the GPU count "
             "(estimator.training.run.sweep_gpus, docs/run_model.md)", "training", fmt=_int,
             when=lambda e: e.gpus_needed is not None, only_when_set=True),
    Quantity("optimal_batch_tokens", "Useful batch (B_opt)", "tokens",
             "Loss-optimal global batch for this compute; larger batches waste tokens",
             "DeepSeek LLM 2024 B_opt(C), scaled as fitted on published runs "
             "(docs/run_model.md)", "training", fmt=lambda v: units.si(v) + " tokens",
             short=units.si),
    Quantity("global_batch_tokens", "Global batch", "tokens",
             "Tokens per optimizer step of the chosen layout", "the run model's layout search",
             "training", fmt=lambda v: units.si(v) + " tokens", short=units.si),
    Quantity("step_time_s", "Step time", "s", "Wall time of one optimizer step",
             "the run model's step (compute, memory-bound work, exposed communication, bubble)",
             "training", fmt=lambda v: f"{v:,.2f} s"),
    Quantity("tokens_per_s_per_gpu", "Tokens/s per GPU", "tokens/s",
             "Training throughput per GPU during productive steps",
             "global batch / step time / GPUs", "training", fmt=lambda v: f"{v:,.0f}"),
    Quantity("predicted_mfu", "Model FLOPs utilisation", "fraction",
             "6 N_active x tokens/s per GPU over the dense peak at the training precision "
             "(pinned when you give MFU)", "the run model", "training", fmt=units.percent,
             card="MFU"),
    Quantity("expected_interruptions", "Expected interruptions", "interruptions",
             "Job-stopping failures expected over the run on this many GPUs",
             "failure rates of large clusters (Llama 3, OPT; docs/run_model.md)", "training",
             fmt=lambda v: f"{v:,.0f}"),
    Quantity("scaling_efficiency", "Scaling efficiency", "fraction",
             "Throughput per GPU relative to the same model's best layout on one scale-up "
             "domain, or on the fewest whole domains (a power of two) that hold it; above "
             "100% when more GPUs relieve memory (less recomputation, larger micro-batches)",
             "the run model", "training", fmt=units.percent),
    # -- serving -------------------------------------------------------------------------------
    Quantity("serving_output_tokens_per_s_per_chip", "Output tokens/s per chip",
             "tokens/s per chip",
             "Sustained output tokens per second per serving chip for the request mix, its "
             "prefill work included", "serving model (docs/serving_model.md)", "serving",
             fmt=lambda v: f"{v:,.0f} tokens/s per chip", short=lambda v: f"{v:,.0f}"),
    Quantity("serving_batch", "Serving batch", "sequences",
             "Sequences in flight per replica: the largest that meets the latency targets, or "
             "that fits", "serving model", "serving", fmt=_int),
    Quantity("serving_chips_per_replica", "Chips per replica", "chips",
             "Tensor-parallel chips of one serving replica (the cheapest per token)",
             "serving model", "serving", fmt=_int),
    Quantity("ttft_s", "Time to first token", "s",
             "Mean time from a request's arrival to its first output token",
             "serving model: queue + prefill", "serving", fmt=_ms),
    Quantity("tpot_s", "Time per output token", "s",
             "Mean time between output tokens of one request", "serving model: decode step",
             "serving", fmt=_ms),
    Quantity("cost_per_million_input_tokens_usd", "Cost per 1M input tokens",
             "USD per 1M tokens", "Prefill chip-time per prompt token x price",
             "serving model; the profile's price", "serving", fmt=units.usd,
             card="INPUT $ / 1M TOKENS"),
    Quantity("cost_per_million_output_tokens_usd", "Cost per 1M output tokens",
             "USD per 1M tokens", "Decode chip-time per generated token x price",
             "serving model; the profile's price", "serving", fmt=units.usd,
             card="OUTPUT $ / 1M TOKENS"),
    Quantity("inference_cost_per_million_tokens_usd", "All-in cost per 1M output tokens",
             "USD per 1M tokens",
             "Chip-time of whole requests (prompt and answer) per million generated tokens x "
             "price, at full utilisation", "serving model; the profile's price", "serving",
             fmt=units.usd, column="Serving $/1M out"),
    Quantity("serving_replicas", "Serving replicas (peak)", "replicas",
             "Replicas that serve the demand at its peak (peak-to-mean x the daily mean)",
             "serving model: requests/s per replica", "serving", fmt=_int),
    Quantity("serving_chips", "Serving fleet (peak)", "chips",
             "Chips of the replicas that serve the peak demand", "replicas x chips per replica",
             "serving", fmt=_int, card="SERVING FLEET (CHIPS)"),
    # -- lifetime --------------------------------------------------------------------------------
    Quantity("lifetime_inference_cost_usd", "Lifetime inference", "USD",
             "Output tokens/day x days served x all-in cost per output token x peak-to-mean "
             "(the fleet is paid for at the peak)", "the serving model", "lifetime",
             fmt=units.usd, card="LIFETIME INFERENCE",
             when=lambda e: e.lifetime_inference_tokens > 0,
             label_of=lambda e: (f"Lifetime inference ({units.si(e.lifetime_inference_tokens)} "
                                 "tokens)")),
    Quantity("lifetime_total_cost_usd", "Training + lifetime inference", "USD",
             "Training cost plus lifetime inference cost", "training + serving", "lifetime",
             fmt=units.usd, band=True, card="TRAINING + INFERENCE", column="Lifetime total"),
)

BY_KEY: dict[str, Quantity] = {q.key: q for q in QUANTITIES}

#: Values an estimate reports beside the quantities (context, not results): key -> unit.
CONTEXT: dict[str, str] = {
    "law": "", "law_name": "", "hardware": "", "gpus": "chips", "precision": "",
    "mfu": "fraction", "goodput": "fraction", "price_usd_per_hour": "USD/GPU-hour",
    "inference_hardware": "", "serving_bound": "", "lifetime_inference_tokens": "tokens",
}


def unit_of(key: str) -> str:
    """The unit of a result key (a quantity, a context value or a ``*_p10/_p50/_p90`` band)."""
    for suffix in ("_p10", "_p50", "_p90"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    if key in BY_KEY:
        return BY_KEY[key].unit
    return CONTEXT.get(key, "")


def cards() -> tuple[Quantity, ...]:
    return tuple(q for q in QUANTITIES if q.card)


def columns() -> tuple[Quantity, ...]:
    return tuple(q for q in QUANTITIES if q.column)
