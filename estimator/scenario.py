"""A scenario: every input of an estimate, declared once, validated, saved and loaded.

Each field of :class:`Scenario` carries its :class:`~estimator.fields.FieldSpec` (label, unit,
kind, bounds, CLI flag, help), which drives validation here, coercion of scenario files, the
CLI's options and the window's fields (:data:`FIELDS`). The estimate itself is computed by
:mod:`estimator.engine`. Scenarios save to and load from YAML (safe loader, atomic writes).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from estimator.errors import InputError, ReadOnlyFileError, ScenarioError
from estimator.fields import check_value, coerce, ref, spec, specs_of
from estimator.hardware import PRICE_TIERS
from estimator.textsafe import names_phrase

MODES = ("loss", "compute", "model", "match", "budget", "deadline")
PRECISIONS = ("bf16", "fp8", "fp4")
SERVING_PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "fp4")
KV_PRECISIONS = ("bf16", "fp16", "fp8", "int8")
RECOMPUTE = ("none", "selective", "full")
OPTIMIZE = ("compute", "lifetime")
SCENARIO_SCHEMA_VERSION = 2

#: The field each mode's target lives in.
TARGET_FIELD = {"loss": "target_loss", "compute": "compute_flops", "model": "params",
                "match": "match_params", "budget": "budget_usd", "deadline": "deadline_days"}
#: Fields that only mean something in one mode (other modes keep but ignore them).
MODE_ONLY = {"target_loss": "loss", "compute_flops": "compute", "match_params": "match",
             "match_tokens": "match", "tokens": "model", "budget_usd": "budget"}
#: Modes whose plan is solved on the training run model (stage 2), not on the law alone
#: (:mod:`estimator.targets`).
RUN_MODES = ("budget", "deadline")
#: Fields shown (in reports, ``relevant()``) only when set, outside the mode they target: a
#: deadline beside another target asks for the fewest GPUs that meet it.
SHOWN_WHEN_SET = {"deadline_days": "deadline"}


@dataclass(frozen=True)
class Scenario:
    """Every input of an estimate. Units: parameters, tokens, FLOPs, dollars, days.

    ``mode`` picks the target: ``loss`` (target_loss), ``compute`` (compute_flops), ``model``
    (params with tokens or tokens_per_param), ``match`` (the loss of a reference model of
    match_params trained on match_tokens), ``budget`` (the lowest loss budget_usd buys on the
    cluster) or ``deadline`` (the lowest loss that finishes in deadline_days on ``gpus``). In
    every mode but ``model`` ``params``, ``tokens_per_param`` and ``unique_tokens`` act as
    constraints. ``deadline_days`` beside another target (not budget) asks for the fewest GPUs
    that finish its plan in time (``gpus`` is then solved for, not used).
    """

    name: str = spec("Scenario name", "text", "", flag="--name", metavar="TEXT", group="target",
                     help="a name for this scenario, shown in chart titles and reports")
    # -- target ------------------------------------------------------------------------------
    mode: str = spec("Plan for", "choice", "match", choices=MODES, group="target",
                     help="what the plan must achieve: a loss, a compute budget, a given model, "
                          "the loss of a reference model, the lowest loss a dollar budget buys, "
                          "or the lowest loss that finishes by a deadline")
    target_loss: float | None = spec(
        "Target loss", "loss", None, unit="nats/token", lo=0.0, lo_open=True, hi=100.0,
        flag="--target-loss", metavar="L", group="target", optional=True,
        help="final pre-training loss to reach, in nats/token")
    compute_flops: float | None = spec(
        "Compute budget", "flops", None, unit="FLOPs", lo=1.0, hi=1e40, flag="--compute",
        metavar="C", group="target", optional=True, help="training compute budget in FLOPs")
    params: float | None = spec(
        "Model size", "count", None, unit="parameters", lo=1.0, hi=1e16, flag="--params",
        metavar="N", group="target", optional=True,
        help="model size (with --tokens or --tokens-per-param: a given model; with "
             "--target-loss/--compute/--match: a fixed-size constraint)")
    tokens: float | None = spec(
        "Training tokens", "count", None, unit="tokens", lo=1.0, hi=1e20, flag="--tokens",
        metavar="D", group="target", optional=True, help="training tokens (with --params)")
    tokens_per_param: float | None = spec(
        "Tokens per parameter", "ratio", None, unit="tokens per parameter", lo=1e-3, hi=1e8,
        flag="--tokens-per-param", metavar="R", group="target", optional=True,
        help="tokens per parameter (a given ratio, e.g. over-training)")
    match_params: float | None = spec(
        "Reference model size", "count", 70e9, unit="parameters", lo=1.0, hi=1e16,
        group="target", optional=True,
        help="size of the reference model whose loss to match (Chinchilla: 70B)")
    match_tokens: float | None = spec(
        "Reference training tokens", "count", 1.4e12, unit="tokens", lo=1.0, hi=1e20,
        group="target", optional=True,
        help="tokens the reference model was trained on (Chinchilla: 1.4T)")
    budget_usd: float | None = spec(
        "Budget", "usd", None, unit="USD", lo=0.0, lo_open=True, hi=1e13, flag="--budget-usd",
        metavar="USD", group="target", optional=True,
        hint="give the dollars available for training, e.g. 10M or $2.5B",
        help="training budget in dollars, e.g. 10M: the lowest-loss plan it buys on the "
             "chosen hardware, GPUs and price (with --optimize lifetime: training plus "
             "lifetime serving)")
    deadline_days: float | None = spec(
        "Deadline", "days", None, unit="days", lo=0.0, lo_open=True, hi=36_500.0,
        flag="--deadline-days", metavar="DAYS", group="target", optional=True,
        hint="give the wall-clock days the training run may take, e.g. 60",
        help="wall-clock days the training run may take: with --gpus and no other target, "
             "the lowest-loss plan that finishes in time; with another target, the fewest "
             "GPUs that finish its plan in time (GPUs needed)")
    unique_tokens: float | None = spec(
        "Unique tokens", "count", None, unit="tokens", lo=1.0, hi=1e20, flag="--unique-tokens",
        metavar="U", group="target", optional=True,
        help="unique data available; repeated epochs valued per Muennighoff et al. 2023")
    active_params: float | None = spec(
        "Active parameters", "count", None, unit="parameters", lo=1.0, hi=1e16,
        flag="--active-params", metavar="N_ACT", group="moe", optional=True,
        help="parameters one token uses (a mixture of experts; --params is then the total). "
             "In the loss, compute and match modes: a fixed active size")
    n_experts: int | None = spec(
        "Routed experts", "int", None, unit="experts", lo=1, hi=100_000, flag="--experts",
        metavar="E", group="moe", optional=True,
        help="routed experts per MoE layer (default: a dense model)")
    experts_per_token: int | None = spec(
        "Experts per token", "int", None, unit="experts", lo=1, hi=100_000,
        flag="--experts-per-token", metavar="K", group="moe", optional=True,
        help="routed experts each token uses (top-k)")
    shared_experts: int | None = spec(
        "Shared experts", "int", None, unit="experts", lo=0, hi=100_000,
        flag="--shared-experts", metavar="S", group="moe", optional=True,
        help="always-on experts per MoE layer (DeepSeek: 1 or 2)")
    law: str = spec("Scaling law", "ref", "epoch-2024", flag="--law", metavar="NAME|FILE",
                    group="target",
                    help="scaling law: epoch-2024 (default), chinchilla-2022, kaplan-2020, or a "
                         "law .yaml")
    # -- training cluster ----------------------------------------------------------------------
    hardware: str = spec("Hardware", "ref", "h100-sxm", flag="--hardware", metavar="ID",
                         help="hardware profile id (see 'estimator profiles') or a profile .yaml")
    gpus: int = spec("GPUs", "int", 1024, lo=1, hi=10_000_000, flag="--gpus", metavar="K",
                     help="accelerators in the training cluster")
    precision: str = spec("Precision", "choice", "bf16", choices=PRECISIONS, flag="--precision",
                          help="training precision")
    mfu: float | None = spec(
        "MFU", "fraction", None, lo=0.01, hi=1.0, flag="--mfu", metavar="X", optional=True,
        help="model FLOPs utilisation: 35% or 0.35 (default: the calibrated value)")
    goodput: float | None = spec(
        "Goodput", "fraction", None, lo=0.01, hi=1.0, flag="--goodput", metavar="X",
        optional=True,
        help="share of paid hours doing useful steps: 90% or 0.9 (default: calibrated)")
    price_tier: str = spec("Price tier", "choice", "on_demand", choices=PRICE_TIERS,
                           flag="--price-tier", help="price tier of the hardware profile")
    price_per_hour: float | None = spec(
        "Price per GPU-hour", "usd", None, unit="USD per GPU-hour", lo=1e-4, hi=1e4,
        flag="--price-per-hour", metavar="USD", optional=True,
        help="override the profile's price per chip-hour (USD)")
    pue: float = spec("PUE", "ratio", 1.2, lo=1.0, hi=5.0, flag="--pue", group="energy",
                      help="data-centre power usage effectiveness")
    grid_kg_co2_per_kwh: float | None = spec(
        "Grid carbon intensity", "ratio", None, unit="kg CO2e/kWh", lo=0.0, hi=5.0,
        flag="--grid-kg-co2-per-kwh", metavar="KG", group="energy", optional=True,
        help="grid carbon intensity, for the CO2 estimate")
    exact_flops: bool = spec("Count attention FLOPs", "bool", False, flag="--exact-flops",
                             group="advanced",
                             help="count attention FLOPs (Kaplan 2020 eq. 2.2) instead of 6ND")
    seq_len: int = spec("Sequence length", "int", 4096, unit="tokens", lo=1, hi=10_000_000,
                        flag="--seq-len", metavar="S", group="advanced",
                        help="training sequence length")
    micro_batch: int | None = spec(
        "Micro-batch", "int", None, unit="sequences", lo=1, hi=1_000_000, flag="--micro-batch",
        metavar="B", group="advanced", optional=True,
        help="pin the sequences per GPU per micro-step (default: the run model's fastest)")
    recompute: str | None = spec(
        "Activation recompute", "choice", None, choices=RECOMPUTE, flag="--recompute",
        group="advanced", optional=True,
        help="pin activation recomputation (default: the run model's fastest that fits)")
    tp: int | None = spec("Tensor parallel", "int", None, unit="GPUs", lo=1, hi=1024, flag="--tp",
                          group="advanced", optional=True,
                          help="pin the tensor-parallel degree (default: searched)")
    pp: int | None = spec("Pipeline parallel", "int", None, unit="stages", lo=1, hi=4096,
                          flag="--pp", group="advanced", optional=True,
                          help="pin the pipeline-parallel degree (default: searched)")
    cp: int | None = spec("Context parallel", "int", None, unit="GPUs", lo=1, hi=1024,
                          flag="--cp", group="advanced", optional=True,
                          help="pin the context-parallel degree (default: searched)")
    ep: int | None = spec("Expert parallel", "int", None, unit="GPUs", lo=1, hi=65_536,
                          flag="--ep", group="advanced", optional=True,
                          help="pin the expert-parallel degree of an MoE model (default: "
                               "searched)")
    global_batch_tokens: float | None = spec(
        "Global batch", "count", None, unit="tokens", lo=1.0, hi=1e12,
        flag="--global-batch-tokens", metavar="TOKENS", group="advanced", optional=True,
        help="pin the global batch in tokens (default: the useful-batch law's, "
             "docs/run_model.md)")
    checkpoint_storage_gb_per_s: float | None = spec(
        "Checkpoint storage bandwidth", "ratio", None, unit="GB/s", lo=0.001, hi=1e6,
        flag="--checkpoint-storage-gb-per-s", metavar="GB/S", group="advanced", optional=True,
        help="aggregate write bandwidth of checkpoint storage (default: the run model's "
             "judgement, docs/run_model.md)")
    n_layers: int | None = spec("Layers", "int", None, lo=1, hi=1_000_000, flag="--n-layers",
                                group="advanced", optional=True,
                                help="model depth (default: derived from the size)")
    d_model: int | None = spec("Model width", "int", None, lo=1, hi=1_000_000, flag="--d-model",
                               group="advanced", optional=True,
                               help="model width d_model (default: derived from the size)")
    n_heads: int | None = spec("Attention heads", "int", None, lo=1, hi=100_000,
                               flag="--n-heads", group="advanced", optional=True,
                               help="query heads (default: d_model / 128)")
    n_kv_heads: int | None = spec("KV heads", "int", None, lo=1, hi=100_000, flag="--n-kv-heads",
                                  group="advanced", optional=True,
                                  help="key/value heads, grouped-query attention (default: "
                                       "heads / 8)")
    ffn_dim: int | None = spec("MLP width", "int", None, lo=1, hi=10_000_000, flag="--ffn-dim",
                               group="advanced", optional=True,
                               help="hidden width of the gated MLP (default: 3.5 d_model)")
    vocab: int | None = spec("Vocabulary", "int", None, unit="tokens", lo=1, hi=10_000_000,
                             flag="--vocab", group="advanced", optional=True,
                             help="vocabulary size (default: 32,000, the Chinchilla models')")
    # -- serving -------------------------------------------------------------------------------
    inference_hardware: str | None = spec(
        "Serving hardware", "ref", None, flag="--inference-hardware", metavar="ID",
        group="serving", optional=True, help="serving hardware (default: the training hardware)")
    inference_precision: str = spec(
        "Serving precision", "choice", "bf16", choices=SERVING_PRECISIONS,
        flag="--inference-precision", group="serving",
        help="precision of the weights when serving (post-training quantisation below bf16)")
    kv_precision: str = spec(
        "KV-cache precision", "choice", "bf16", choices=KV_PRECISIONS, flag="--kv-precision",
        group="serving", help="precision of the KV cache when serving")
    input_tokens_per_request: float = spec(
        "Input tokens per request", "count", 2048.0, unit="tokens", lo=1.0, hi=1e7,
        flag="--input-tokens-per-request", metavar="I", group="serving",
        help="prompt tokens per request (default 2,048: a judgement for a chat turn with a "
             "system prompt and history)")
    output_tokens_per_request: float = spec(
        "Output tokens per request", "count", 512.0, unit="tokens", lo=1.0, hi=1e7,
        flag="--output-tokens-per-request", metavar="O", group="serving",
        help="generated tokens per request, reasoning tokens included (default 512: a "
             "judgement)")
    ttft_ms: float | None = spec(
        "Time to first token", "ratio", None, unit="ms", lo=0.0, lo_open=True, hi=1e7,
        flag="--ttft-ms", metavar="MS", group="serving", optional=True,
        help="latency target: mean time to first token")
    tpot_ms: float | None = spec(
        "Time per output token", "ratio", None, unit="ms", lo=0.0, lo_open=True, hi=1e7,
        flag="--tpot-ms", metavar="MS", group="serving", optional=True,
        help="latency target: mean time per output token")
    inference_batch: int | None = spec(
        "Serving batch", "int", None, unit="sequences", lo=1, hi=1_000_000,
        flag="--inference-batch", metavar="B", group="serving", optional=True,
        help="pin the sequences in flight per replica (default: the largest that meets the "
             "latency targets, or that fits)")
    inference_chips_per_replica: int | None = spec(
        "Chips per serving replica", "int", None, unit="chips", lo=1, hi=65_536,
        flag="--inference-chips-per-replica", metavar="T", group="serving", optional=True,
        help="pin the tensor-parallel replica size (default: the cheapest per token)")
    inference_price_tier: str | None = spec(
        "Serving price tier", "choice", None, choices=PRICE_TIERS, flag="--inference-price-tier",
        group="serving", optional=True, help="price tier for serving (default: the training tier)")
    inference_price_per_hour: float | None = spec(
        "Serving price per chip-hour", "usd", None, unit="USD per chip-hour", lo=1e-4, hi=1e4,
        flag="--inference-price-per-hour", metavar="USD", group="serving", optional=True,
        help="override the serving price per chip-hour (USD)")
    requests_per_day: float | None = spec(
        "Requests per day", "count", None, unit="requests/day", lo=0.0, hi=1e16,
        flag="--requests-per-day", metavar="R", group="serving", optional=True,
        help="demand in requests per day (else the output tokens per day below)")
    inference_tokens_per_day: float = spec(
        "Inference demand", "count", 1e10, unit="output tokens/day", lo=0.0, hi=1e18,
        flag="--inference-tokens-per-day", metavar="T", group="serving",
        help="output tokens generated per day in production (unless requests per day is set)")
    peak_to_mean: float = spec(
        "Peak-to-mean demand", "ratio", 2.0, lo=1.0, hi=100.0, flag="--peak-to-mean",
        metavar="X", group="serving",
        help="peak request rate over the daily mean; the fleet is sized for the peak "
             "(default 2: a judgement)")
    deployment_days: float = spec("Deployment", "days", 730.0, unit="days", lo=0.0, hi=1e18,
                                  flag="--deployment-days", metavar="DAYS", group="serving",
                                  help="days in service")
    optimize: str = spec("Optimise for", "choice", "compute", choices=OPTIMIZE,
                         flag="--optimize", group="serving",
                         help="lifetime: minimise training + lifetime inference dollars "
                              "(Sardana et al. 2023)")

    # -- validation ----------------------------------------------------------------------------
    def validated(self) -> Scenario:
        """Check every field against its spec, then the fields against each other; raise
        :class:`InputError` naming the field (``err.field``) and the fix."""
        for name, s in FIELDS.items():
            check_value(s, getattr(self, name))
        need = TARGET_FIELD[self.mode]
        if getattr(self, need) is None:
            hint = FIELDS[need].hint
            raise InputError(f"mode '{self.mode}' needs {ref(need)}" + (f": {hint}" if hint
                                                                      else ""),
                             field=need, expected=FIELDS[need].expected, hint=hint or None)
        if self.mode == "match" and self.match_tokens is None:
            raise InputError(f"mode 'match' needs {ref('match_tokens')}", field="match_tokens",
                             expected=FIELDS["match_tokens"].expected)
        if self.mode == "model" and (self.tokens is None) == (self.tokens_per_param is None):
            raise InputError(
                f"mode 'model' needs exactly one of {ref('tokens')} or {ref('tokens_per_param')}",
                field="tokens", hint="give the training tokens, or a tokens-per-parameter ratio")
        if self.mode != "model" and self.params is not None and self.tokens_per_param is not None:
            raise InputError(
                f"constrain either {ref('params')} or {ref('tokens_per_param')}, not both",
                field="tokens_per_param", hint="clear one of the two constraints")
        if self.deadline_days is not None and self.mode == "budget":
            raise InputError(
                f"a budget plan runs on the scenario's {ref('gpus')}: it cannot also solve "
                f"the GPUs for {ref('deadline_days')}; plan for the budget or for the deadline, "
                "not both", field="deadline_days",
                value=self.deadline_days, expected="no deadline with a budget",
                hint="plan for the budget or for the deadline, not both")
        if self.mode == "deadline" and self.optimize == "lifetime":
            raise InputError(
                f"a deadline plan is the lowest loss that finishes in time; {ref('optimize')} "
                "= lifetime would trade days for serving cost: optimise for compute (the "
                "lifetime alternative is still shown)", field="optimize",
                value=self.optimize, expected="compute with a deadline",
                hint="optimise for compute (the lifetime alternative is still shown), or plan "
                     "for a loss with the deadline to get the GPUs needed")
        if self.is_moe or self.active_params is not None:
            self._validate_moe()
        if (self.n_layers is None) != (self.d_model is None):
            missing = "d_model" if self.d_model is None else "n_layers"
            raise InputError(f"give both {ref('n_layers')} and {ref('d_model')} or neither",
                             field=missing)
        return self

    @property
    def is_moe(self) -> bool:
        """A mixture of experts: more than one routed expert, or shared ones."""
        return (self.n_experts or 1) > 1 or (self.shared_experts or 0) > 0

    @property
    def solves_gpus(self) -> bool:
        """A deadline beside another target: the GPU count is solved (the fewest that finish
        the plan in ``deadline_days``), not taken from ``gpus``."""
        return self.deadline_days is not None and self.mode not in RUN_MODES

    @property
    def law_params(self) -> float | None:
        """The model size the scaling law sees, when the scenario fixes one: the active size of
        a mixture of experts, else ``params``."""
        return self.active_params if self.is_moe else self.params

    def _validate_moe(self) -> None:
        e, k = self.n_experts, self.experts_per_token
        if self.is_moe and (e is None or k is None):
            raise InputError(f"a mixture of experts needs {ref('n_experts')} and "
                             f"{ref('experts_per_token')}", field="experts_per_token" if e
                             else "n_experts", hint="give the routed experts and the top-k")
        if e is not None and k is not None and k > e:
            raise InputError(f"{ref('experts_per_token')} = {k} exceeds {ref('n_experts')} = "
                             f"{e}", field="experts_per_token", value=k,
                             expected=f"at most n_experts ({e})")
        if self.active_params is not None and not self.is_moe:
            raise InputError(f"{ref('active_params')} is for a mixture of experts: give "
                             f"{ref('n_experts')} and {ref('experts_per_token')} too",
                             field="active_params", value=self.active_params)
        if self.mode == "model":
            if self.active_params is None:
                raise InputError(f"a given mixture-of-experts model needs "
                                 f"{ref('active_params')} beside {ref('params')} (the total)",
                                 field="active_params")
            if self.active_params > self.params:
                raise InputError(f"{ref('active_params')} = {self.active_params:.3g} exceeds "
                                 f"{ref('params')} = {self.params:.3g} (the total)",
                                 field="active_params", value=self.active_params,
                                 expected=f"at most the total ({self.params:.3g})")
        elif self.params is not None:
            raise InputError(f"for a mixture of experts fix the size with "
                             f"{ref('active_params')} (the law's N is the active size), not "
                             f"{ref('params')}", field="params", value=self.params)

    def relevant(self) -> dict[str, Any]:
        """The fields this scenario uses (target fields of other modes dropped; the output
        tokens per day when the demand is given in requests per day)."""
        out = {"schema_version": SCENARIO_SCHEMA_VERSION}
        for name, value in asdict(self).items():
            mode = MODE_ONLY.get(name)
            if mode is not None and mode != self.mode:
                continue
            if value is None and SHOWN_WHEN_SET.get(name, self.mode) != self.mode:
                continue
            if name == "inference_tokens_per_day" and self.requests_per_day is not None:
                continue
            out[name] = value
        return out

    @property
    def output_tokens_per_day(self) -> float:
        """Serving demand in output tokens per day (from requests per day when given)."""
        if self.requests_per_day is not None:
            return self.requests_per_day * self.output_tokens_per_request
        return self.inference_tokens_per_day

    @property
    def lifetime_output_tokens(self) -> float:
        return self.output_tokens_per_day * self.deployment_days

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCENARIO_SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise ScenarioError(
                f"{where}: not a scenario: expected a mapping of scenario fields, got "
                f"{type(data).__name__}"
            )
        data = dict(data)
        if "model_parallel" in data:
            # schema 1: GPUs per model replica (tensor x pipeline). Its default, 8, meant "not
            # chosen"; another value pins tensor (up to 8) and pipeline parallelism.
            mp = data.pop("model_parallel")
            if isinstance(mp, int) and not isinstance(mp, bool) and mp != 8 and mp >= 1:
                data.setdefault("tp", min(mp, 8))
                if mp > 8 and mp % 8 == 0:
                    data.setdefault("pp", mp // 8)
        if data.get("micro_batch") == 1 and data.get("schema_version") == 1:
            data.pop("micro_batch")  # schema 1's default (1) meant "not chosen"
        if data.get("recompute") == "full" and data.get("schema_version") == 1:
            data.pop("recompute")  # schema 1's default
        if "inference_context_tokens" in data:
            # schema 1: the average context per decoded sequence; its nearest input today is
            # the prompt length of a request
            legacy = data.pop("inference_context_tokens")
            data.setdefault("input_tokens_per_request", legacy)
        known = {f.name for f in fields(cls)}
        unknown = set(map(str, data)) - known - {"schema_version", "notes"}
        if unknown:
            if len(unknown) == len(data) > 2:  # not a scenario at all: quote none of it
                raise ScenarioError(f"{where}: not a scenario file: all {len(data)} top-level "
                                    "keys are unknown fields")
            raise ScenarioError(f"{where}: unknown field(s) {names_phrase(unknown)}; check "
                                "the spelling")
        kwargs: dict[str, Any] = {}
        try:
            for key, value in data.items():
                if key in FIELDS:
                    kwargs[key] = coerce(FIELDS[key], value)
            return cls(**kwargs).validated()
        except InputError as exc:
            raise ScenarioError(f"{where}: {exc.render(_quoted)}", field=exc.field,
                                value=exc.value, expected=exc.expected, hint=exc.hint) from None


def _quoted(name: str) -> str:
    return f"field '{name}'"


#: {field name: FieldSpec} of every scenario input, in declaration order.
FIELDS = specs_of(Scenario)


#: Fields that name a file or an id (law, hardware): relative paths in a scenario file
#: resolve against the file's own folder.
REF_FIELDS = tuple(name for name, s in FIELDS.items() if s.kind == "ref")


def with_refs_resolved(scenario: Scenario, base_dir: str | Path | None) -> Scenario:
    """``scenario`` with every relative file reference (law, hardware) made absolute against
    ``base_dir``; ids are kept as they are."""
    from estimator.fileio import resolve_ref

    upd = {}
    for name in REF_FIELDS:
        v = getattr(scenario, name)
        if isinstance(v, str):
            r = resolve_ref(v, base_dir)
            if r != v:
                upd[name] = r
    return replace(scenario, **upd) if upd else scenario


def save_scenario(scenario: Scenario, path: str | Path, *,
                  overwrite_readonly: bool = False) -> None:
    """Write a scenario as YAML atomically: a crash mid-write leaves the old file intact.

    A file reference (a law or profile .yaml) is written relative to the scenario's folder when
    the file lies inside it (the two can be sent together), else as an absolute path. Saving
    over a symlink writes its target; a read-only file raises :class:`ReadOnlyFileError`
    unless ``overwrite_readonly``."""
    from estimator.fileio import ReadOnlyFileError as ReadOnlyTarget
    from estimator.fileio import atomic_write_text, relative_ref, save_problem, write_target

    target = write_target(path)
    base = target.parent if str(target.parent) else Path(".")
    data = scenario.to_dict()
    for name in REF_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = relative_ref(data[name], base)
    text = "# LLM cost estimator scenario\n" + yaml.safe_dump(data, sort_keys=False,
                                                               allow_unicode=False)
    try:
        atomic_write_text(Path(path), text, overwrite_readonly=overwrite_readonly)
    except OSError as exc:
        cls = ReadOnlyFileError if isinstance(exc, ReadOnlyTarget) else ScenarioError
        raise cls(f"{path}: cannot save scenario: {save_problem(exc)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (safe loader only; a regular file of at most
    :data:`~estimator.fileio.MAX_SCENARIO_BYTES`). Relative law and hardware paths in it
    resolve against the file's folder."""
    from estimator.fileio import MAX_SCENARIO_BYTES, read_problem, read_user_text

    p = Path(path)
    try:
        text = read_user_text(p, max_bytes=MAX_SCENARIO_BYTES, what="scenario")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: scenario file {read_problem(exc, 'scenario .yaml file')}",
                            field=None) from None
    from estimator.yamlio import load_yaml_text

    data = load_yaml_text(text, str(p), ScenarioError, what="scenario")
    scenario = Scenario.from_dict(data, where=str(p))
    from estimator.fileio import write_target

    # the folder the file is in (a symlinked scenario: its target's, where its files are)
    return with_refs_resolved(scenario, Path(os.path.abspath(write_target(p))).parent)
