"""A scenario (every input of an estimate) and the estimate engine both faces call.

:func:`estimate` turns a :class:`Scenario` into an :class:`Estimate`: the training plan from the
scaling law (:mod:`estimator.allocation`), its cost on the chosen hardware
(:mod:`estimator.costs`, :mod:`estimator.hardware`), inference and lifetime cost, uncertainty
bands, and warnings. Scenarios save to and load from YAML (safe loader, atomic writes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from estimator import allocation as al
from estimator import costs
from estimator.errors import EstimatorError, InputError, ScenarioError, UnreachableTargetError
from estimator.laws import ParametricLaw, ScalingLaw, get_law

MODES = ("loss", "compute", "model", "match")
PRECISIONS = ("bf16", "fp8", "fp4")
PRICE_TIERS = ("on_demand", "reserved", "spot")
EXTRAPOLATION_WARN_FACTOR = 10.0
SCENARIO_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Scenario:
    """Every input of an estimate. Units: parameters, tokens, FLOPs, dollars, days.

    ``mode`` picks the target: ``loss`` (target_loss), ``compute`` (compute_flops), ``model``
    (params with tokens or tokens_per_param) or ``match`` (the loss of a reference model of
    match_params trained on match_tokens). In the loss, compute and match modes ``params``,
    ``tokens_per_param`` and ``unique_tokens`` act as constraints.
    """

    mode: str = "match"
    target_loss: float | None = None
    compute_flops: float | None = None
    params: float | None = None
    tokens: float | None = None
    tokens_per_param: float | None = None
    match_params: float | None = 70e9  # Chinchilla: 70 B parameters on 1.4 T tokens
    match_tokens: float | None = 1.4e12
    unique_tokens: float | None = None
    law: str = "epoch-2024"
    # Training cluster
    hardware: str = "h100-sxm"
    gpus: int = 1024
    precision: str = "bf16"
    mfu: float | None = None  # None: the profile's calibrated default
    goodput: float | None = None
    price_tier: str = "on_demand"
    price_per_hour: float | None = None  # overrides the profile's price
    pue: float = 1.2
    grid_kg_co2_per_kwh: float | None = None
    exact_flops: bool = False
    seq_len: int = 4096
    micro_batch: int = 1
    recompute: str = "full"
    model_parallel: int = 8  # GPUs sharing one micro-batch (tensor x pipeline)
    n_layers: int | None = None
    d_model: int | None = None
    # Serving
    inference_hardware: str | None = None  # None: same as training
    inference_precision: str = "bf16"
    inference_batch: int = 64
    inference_context_tokens: int = 2048
    inference_price_tier: str | None = None
    inference_price_per_hour: float | None = None
    inference_tokens_per_day: float = 1e10
    deployment_days: float = 730.0
    optimize: str = "compute"  # or "lifetime" (Sardana et al. 2023)

    # -- validation --------------------------------------------------------------------------
    def validated(self) -> Scenario:
        """Check every field; raise InputError naming the field and the fix."""
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        _pos(self.target_loss, "target_loss", "--target-loss", upper=100.0)
        _pos(self.compute_flops, "compute_flops", "--compute", upper=1e40, lower=1.0)
        _pos(self.params, "params", "--params", upper=1e16, lower=1.0)
        _pos(self.tokens, "tokens", "--tokens", upper=1e20, lower=1.0)
        _pos(self.tokens_per_param, "tokens_per_param", "--tokens-per-param", upper=1e8, lower=1e-3)
        _pos(self.match_params, "match_params", "--match", upper=1e16, lower=1.0)
        _pos(self.match_tokens, "match_tokens", "--match", upper=1e20, lower=1.0)
        _pos(self.unique_tokens, "unique_tokens", "--unique-tokens", upper=1e20, lower=1.0)
        need = {
            "loss": ("target_loss", "--target-loss L"),
            "compute": ("compute_flops", "--compute C"),
            "model": ("params", "--params N"),
            "match": ("match_params", "--match N,D"),
        }[self.mode]
        if getattr(self, need[0]) is None:
            raise InputError(f"mode '{self.mode}' needs {need[0]} ({need[1]})")
        if self.mode == "match" and self.match_tokens is None:
            raise InputError("mode 'match' needs match_tokens (--match N,D)")
        if self.mode == "model" and (self.tokens is None) == (self.tokens_per_param is None):
            raise InputError(
                "mode 'model' needs exactly one of tokens (--tokens) or "
                "tokens_per_param (--tokens-per-param)"
            )
        if self.mode != "model" and self.params is not None and self.tokens_per_param is not None:
            raise InputError(
                "constrain either params (--params) or tokens_per_param "
                "(--tokens-per-param), not both"
            )
        _int(self.gpus, "gpus", "--gpus", 1, 10_000_000)
        _int(self.seq_len, "seq_len", "--seq-len", 1, 10_000_000)
        _int(self.micro_batch, "micro_batch", "--micro-batch", 1, 1_000_000)
        _int(self.model_parallel, "model_parallel", "--model-parallel", 1, 1_000_000)
        _int(self.inference_batch, "inference_batch", "--inference-batch", 1, 1_000_000)
        _int(
            self.inference_context_tokens,
            "inference_context_tokens",
            "--inference-context",
            1,
            100_000_000,
        )
        for name in ("n_layers", "d_model"):
            if getattr(self, name) is not None:
                _int(getattr(self, name), name, "--" + name.replace("_", "-"), 1, 1_000_000)
        if (self.n_layers is None) != (self.d_model is None):
            raise InputError("give both n_layers and d_model (--n-layers, --d-model) or neither")
        for name, flag in (("mfu", "--mfu"), ("goodput", "--goodput")):
            v = getattr(self, name)
            if v is not None and not (_finite(v) and 0.01 <= v <= 1):
                raise InputError(f"{name} must be a fraction from 0.01 to 1 ({flag}), got {v!r}")
        _pos(self.price_per_hour, "price_per_hour", "--price-per-hour", upper=1e4, lower=1e-4)
        _pos(
            self.inference_price_per_hour,
            "inference_price_per_hour",
            "--inference-price-per-hour",
            upper=1e4,
            lower=1e-4,
        )
        if not (_finite(self.pue) and 1.0 <= self.pue <= 5.0):
            raise InputError(f"pue must be between 1.0 and 5.0 (--pue), got {self.pue!r}")
        if self.grid_kg_co2_per_kwh is not None and not (
            _finite(self.grid_kg_co2_per_kwh) and 0 <= self.grid_kg_co2_per_kwh <= 5
        ):
            raise InputError(
                "grid_kg_co2_per_kwh must be between 0 and 5 kg CO2e/kWh "
                f"(--grid-kg-co2-per-kwh), got {self.grid_kg_co2_per_kwh!r}"
            )
        for name in ("inference_tokens_per_day", "deployment_days"):
            v = getattr(self, name)
            if not (_finite(v) and 0 <= v <= 1e18):
                raise InputError(f"{name} must be >= 0 (--{name.replace('_', '-')}), got {v!r}")
        if self.precision not in PRECISIONS:
            raise InputError(
                f"precision must be one of {', '.join(PRECISIONS)} (--precision), "
                f"got {self.precision!r}"
            )
        if self.inference_precision not in costs.INFERENCE_BYTES_PER_PARAM:
            raise InputError(
                "inference_precision must be one of "
                f"{', '.join(costs.INFERENCE_BYTES_PER_PARAM)}, got "
                f"{self.inference_precision!r}"
            )
        for name in ("price_tier", "inference_price_tier"):
            v = getattr(self, name)
            if v is not None and v not in PRICE_TIERS:
                raise InputError(f"{name} must be one of {', '.join(PRICE_TIERS)}, got {v!r}")
        if self.recompute not in ("none", "selective", "full"):
            raise InputError(f"recompute must be none, selective or full, got {self.recompute!r}")
        if self.optimize not in ("compute", "lifetime"):
            raise InputError(f"optimize must be 'compute' or 'lifetime', got {self.optimize!r}")
        return self

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCENARIO_SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise ScenarioError(
                f"{where}: expected a mapping of scenario fields, got {type(data).__name__}"
            )
        known = {f.name: f for f in fields(cls)}
        unknown = set(map(str, data)) - set(known) - {"schema_version", "name", "notes"}
        if unknown:
            raise ScenarioError(f"{where}: unknown field(s) {sorted(unknown)}; check the spelling")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            kwargs[key] = _coerce(value, known[key], where)
        try:
            return cls(**kwargs).validated()
        except InputError as exc:
            raise ScenarioError(f"{where}: {exc}") from None


def _coerce(value: Any, f, where: str) -> Any:
    """Convert a YAML value to the field's type, with a message naming the field."""
    default = f.default
    typ = str(f.type)
    if value is None:
        if "None" in typ:
            return None
        raise ScenarioError(f"{where}: field '{f.name}' cannot be empty")
    if "bool" in typ:
        if isinstance(value, bool):
            return value
        raise ScenarioError(f"{where}: field '{f.name}' must be true or false, got {value!r}")
    if typ.startswith("int"):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and (not math.isfinite(value) or value != int(value)))
        ):
            raise ScenarioError(f"{where}: field '{f.name}' must be a whole number, got {value!r}")
        return int(value)
    if typ.startswith("float"):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ScenarioError(
                    f"{where}: field '{f.name}' must be a number, got {value!r}"
                ) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: field '{f.name}' must be a number, got {value!r}")
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            raise ScenarioError(f"{where}: field '{f.name}' is too large a number") from None
    if typ.startswith("str"):
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: field '{f.name}' must be text, got {value!r}")
        return value
    return value if value is not None else default


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pos(v: Any, name: str, flag: str, upper: float, lower: float = 0.0) -> None:
    if v is None:
        return
    if not _finite(v) or v <= 0:
        raise InputError(f"{name} must be a positive number ({flag}), got {v!r}")
    if v < lower:
        raise InputError(f"{name} = {v:.3g} is absurdly small ({flag}); the least is {lower:g}")
    if v > upper:
        raise InputError(f"{name} = {v:.3g} is absurdly large ({flag}); the limit is {upper:.0e}")


def _int(v: Any, name: str, flag: str, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not (lo <= v <= hi):
        raise InputError(f"{name} must be a whole number from {lo} to {hi:,} ({flag}), got {v!r}")


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write a scenario as YAML atomically: a crash mid-write leaves the old file intact."""
    from estimator.fileio import atomic_write_text

    text = "# LLM cost estimator scenario\n" + yaml.safe_dump(scenario.to_dict(), sort_keys=False)
    try:
        atomic_write_text(Path(path), text)
    except OSError as exc:
        raise ScenarioError(
            f"{path}: cannot save scenario ({exc.strerror or exc}); "
            "choose another folder or free some disk space"
        ) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (safe loader only)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: scenario file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            f"{p}: cannot read scenario ({exc.__class__.__name__}); is it a scenario .yaml file?"
        ) from None
    from estimator.yamlio import load_yaml_text

    data = load_yaml_text(text, str(p), ScenarioError, what="scenario")
    return Scenario.from_dict(data, where=str(p))


# --------------------------------------------------------------------------------------
# The estimate
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """P10 / P50 / P90 of a quantity."""

    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Estimate:
    """Every result of a scenario. Units in the names; JSON via :meth:`to_dict`."""

    scenario: Scenario
    law_id: str
    law_name: str
    law_citation: str
    loss: float
    params: float
    tokens: float
    train_flops: float
    train_flops_6nd: float
    flops_ratio_to_6nd: float
    epochs: float
    critical_batch_tokens: float
    extrapolation_factor: float
    # hardware
    hardware: str
    hardware_name: str
    gpus: int
    precision: str
    mfu: float
    goodput: float
    price_usd_per_hour: float
    gpu_hours: float
    cost_usd: float
    wall_clock_days: float
    energy_mwh: float
    co2_tonnes: float | None
    min_gpus_for_memory: int
    max_useful_gpus: int
    # serving
    inference_hardware: str
    inference_tokens_per_s_per_chip: float
    inference_bound: str
    inference_chips_per_replica: int
    inference_cost_per_million_tokens_usd: float
    lifetime_inference_tokens: float
    lifetime_inference_cost_usd: float
    lifetime_total_cost_usd: float
    # uncertainty: name -> Band
    bands: dict[str, Band] = field(default_factory=dict)
    uncertainty_source: str = ""
    # the compute-optimal alternative when optimising lifetime cost, and the saving
    compute_optimal: dict[str, float] | None = None
    lifetime_optimal: dict[str, float] | None = None
    warnings: tuple[str, ...] = ()

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``estimator estimate --json``."""
        d: dict[str, Any] = {
            "law": self.law_id,
            "law_name": self.law_name,
            "loss": self.loss,
            "params": self.params,
            "tokens": self.tokens,
            "tokens_per_param": self.tokens_per_param,
            "train_flops": self.train_flops,
            "train_flops_6nd": self.train_flops_6nd,
            "flops_ratio_to_6nd": self.flops_ratio_to_6nd,
            "epochs": self.epochs,
            "critical_batch_tokens": self.critical_batch_tokens,
            "extrapolation_factor": self.extrapolation_factor,
            "hardware": self.hardware,
            "gpus": self.gpus,
            "precision": self.precision,
            "mfu": self.mfu,
            "goodput": self.goodput,
            "price_usd_per_hour": self.price_usd_per_hour,
            "gpu_hours": self.gpu_hours,
            "cost_usd": self.cost_usd,
            "wall_clock_days": self.wall_clock_days,
            "energy_mwh": self.energy_mwh,
            "co2_tonnes": self.co2_tonnes,
            "min_gpus_for_memory": self.min_gpus_for_memory,
            "max_useful_gpus": self.max_useful_gpus,
            "inference_hardware": self.inference_hardware,
            "inference_tokens_per_s_per_chip": self.inference_tokens_per_s_per_chip,
            "inference_bound": self.inference_bound,
            "inference_cost_per_million_tokens_usd": self.inference_cost_per_million_tokens_usd,
            "lifetime_inference_tokens": self.lifetime_inference_tokens,
            "lifetime_inference_cost_usd": self.lifetime_inference_cost_usd,
            "lifetime_total_cost_usd": self.lifetime_total_cost_usd,
        }
        for name, band in self.bands.items():
            d[f"{name}_p10"] = band.p10
            d[f"{name}_p50"] = band.p50
            d[f"{name}_p90"] = band.p90
        if self.uncertainty_source:
            d["uncertainty_source"] = self.uncertainty_source
        if self.compute_optimal is not None:
            d["compute_optimal"] = self.compute_optimal
        if self.lifetime_optimal is not None:
            d["lifetime_optimal"] = self.lifetime_optimal
        d["warnings"] = list(self.warnings)
        return d


def _plan(s: Scenario, law: ScalingLaw) -> al.Allocation:
    cons = dict(tokens_per_param=s.tokens_per_param, params=s.params, unique_tokens=s.unique_tokens)
    if s.mode == "loss":
        return al.plan_for_loss(law, s.target_loss, **cons)
    if s.mode == "compute":
        return al.plan_for_compute(law, s.compute_flops, **cons)
    if s.mode == "model":
        return al.plan_for_model(
            law,
            s.params,
            tokens=s.tokens,
            tokens_per_param=s.tokens_per_param,
            unique_tokens=s.unique_tokens,
        )
    target = float(law.loss(s.match_params, s.match_tokens))
    return al.plan_for_loss(law, target, **cons)


def _shape(s: Scenario, params: float) -> costs.ModelShape:
    if s.n_layers is not None and s.d_model is not None:
        return costs.ModelShape(s.n_layers, s.d_model, max(1, s.d_model // 128))
    return costs.shape_for_params(params)


class _Hardware:
    """The per-hardware part of an estimate, shared by estimate() and compare()."""

    def __init__(self, s: Scenario, profile, inference_profile):
        self.s = s
        self.p = profile
        self.ip = inference_profile
        self.peak = profile.peak_flops_per_s(s.precision)
        self.mfu = s.mfu if s.mfu is not None else profile.train_mfu
        self.goodput = s.goodput if s.goodput is not None else profile.train_goodput
        self.price = (
            s.price_per_hour
            if s.price_per_hour is not None
            else profile.price_usd_per_hour(s.price_tier)
        )
        tier = s.inference_price_tier or s.price_tier
        self.inf_price = (
            s.inference_price_per_hour
            if s.inference_price_per_hour is not None
            else inference_profile.price_usd_per_hour(tier)
        )
        inf_prec = s.inference_precision if s.inference_precision in ("fp8", "fp4") else "bf16"
        try:
            self.inf_peak = inference_profile.peak_flops_per_s(inf_prec)
        except InputError:  # weights in fp8 on a chip without fp8 math: computes in bf16
            self.inf_peak = inference_profile.peak_flops_per_s("bf16")

    def train_usd_per_flop(self) -> float:
        return self.price / (self.peak * self.mfu * self.goodput * costs.SECONDS_PER_HOUR)

    def decode(self, params, shape=None):
        return costs.decode_throughput(
            params,
            peak_flops_per_s=self.inf_peak,
            memory_bandwidth_tb_per_s=self.ip.memory_bandwidth_tb_per_s,
            memory_gb=self.ip.memory_gb,
            utilization=self.ip.inference_utilization,
            weight_precision=self.s.inference_precision,
            batch=self.s.inference_batch,
            context_tokens=self.s.inference_context_tokens,
            shape=shape,
        )

    def inference_usd_per_token(self, params):
        return (
            costs.cost_per_million_tokens(self.inf_price, self.decode(params).tokens_per_s_per_chip)
            / 1e6
        )


def _profile_set(profiles=None):
    """A ProfileSet from None (load built-in + user profiles), a ProfileSet, or a dict."""
    from estimator.hardware import ProfileSet, load_profiles

    if profiles is None:
        return load_profiles()
    if isinstance(profiles, ProfileSet):
        return profiles
    return ProfileSet(profiles=dict(profiles), errors=[])


def _profile(ref: str, profiles=None):
    from estimator.hardware import get_profile

    return get_profile(ref, _profile_set(profiles))


def estimate(scenario: Scenario, *, profiles=None, with_uncertainty: bool = True) -> Estimate:
    """Run the whole engine on a scenario. Raises EstimatorError subclasses on bad input.

    ``profiles``: a ProfileSet or dict of HardwareProfile (default: built-in + user profiles)."""
    # Overflow or a division by zero at an extreme input shows as inf/NaN in the result, which
    # _check_finite reports as a clear error; numpy's warnings would only be noise on stderr.
    with np.errstate(all="ignore"):
        return _estimate(scenario, profiles, with_uncertainty)


def _estimate(scenario: Scenario, profiles, with_uncertainty: bool) -> Estimate:
    s = scenario.validated()
    profiles = _profile_set(profiles)
    law = get_law(s.law)
    profile = _profile(s.hardware, profiles)
    inf_profile = _profile(s.inference_hardware, profiles) if s.inference_hardware else profile
    hw = _Hardware(s, profile, inf_profile)
    warnings: list[str] = []

    plan = _plan(s, law)
    lifetime_tokens = s.inference_tokens_per_day * s.deployment_days
    compute_opt_info = lifetime_info = None
    if s.optimize == "lifetime" or lifetime_tokens > 0:
        # The inference-aware optimum at this plan's loss (Sardana et al. 2023), in dollars.
        try:
            lp = al.lifetime_optimal(
                law,
                plan.loss,
                train_cost_per_flop=hw.train_usd_per_flop(),
                inference_cost_per_token=hw.inference_usd_per_token,
                inference_tokens=lifetime_tokens,
            )
        except UnreachableTargetError:
            lp = None
        if lp is not None and s.unique_tokens is None:
            base_train = hw.train_usd_per_flop() * plan.train_flops
            base_inf = lifetime_tokens * float(hw.inference_usd_per_token(plan.params))
            lifetime_info = {
                "params": lp.allocation.params,
                "tokens": lp.allocation.tokens,
                "tokens_per_param": lp.allocation.tokens_per_param,
                "train_flops": lp.allocation.train_flops,
                "loss": lp.allocation.loss,
                "train_cost_usd": lp.train_cost,
                "lifetime_inference_cost_usd": lp.inference_cost,
                "lifetime_total_cost_usd": lp.total_cost,
                "saving_usd": (base_train + base_inf) - lp.total_cost,
            }
            if s.optimize == "lifetime":
                compute_opt_info = {
                    "params": plan.params,
                    "tokens": plan.tokens,
                    "tokens_per_param": plan.tokens_per_param,
                    "train_flops": plan.train_flops,
                    "loss": plan.loss,
                    "train_cost_usd": base_train,
                    "lifetime_inference_cost_usd": base_inf,
                    "lifetime_total_cost_usd": base_train + base_inf,
                }
                plan = lp.allocation
        elif s.optimize == "lifetime":
            warnings.append(
                "lifetime optimisation is not available with limited unique data; "
                "showing the compute-optimal plan"
            )

    shape = _shape(s, plan.params)
    flops_6nd = plan.train_flops
    ratio = costs.attention_flops_ratio(plan.params, shape, s.seq_len) if s.exact_flops else 1.0
    train_flops = flops_6nd * ratio
    hours = float(costs.gpu_hours(train_flops, hw.peak, hw.mfu, hw.goodput))
    cost = hours * hw.price
    days = float(costs.wall_clock_days(hours, s.gpus))
    energy = float(costs.energy_mwh(hours, profile.power_w, s.pue))
    co2 = energy * s.grid_kg_co2_per_kwh if s.grid_kg_co2_per_kwh is not None else None

    act = costs.activation_bytes_per_gpu(
        shape, s.seq_len, s.micro_batch, s.recompute, tensor_parallel=min(s.model_parallel, 8)
    )
    min_gpus = costs.min_gpus_for_memory(plan.params, profile.memory_gb, act, s.recompute)
    if s.gpus < min_gpus:
        warnings.append(
            f"{s.gpus} GPUs cannot hold the model: training state needs at least "
            f"{min_gpus} {profile.display_name} (16 bytes/param, fully sharded)"
        )
    b_crit = float(law.critical_batch_tokens(plan.loss))
    tokens_per_replica_step = s.micro_batch * s.seq_len
    max_useful = max(1, int(b_crit // tokens_per_replica_step) * s.model_parallel)
    if s.gpus > max_useful:
        warnings.append(
            f"{s.gpus} GPUs imply a global batch of at least "
            f"{s.gpus // s.model_parallel * tokens_per_replica_step:,} tokens, beyond the critical "
            f"batch of about {b_crit:,.0f} tokens (Kaplan et al. 2020): past about {max_useful} "
            "GPUs more GPUs add cost with little speed-up"
        )

    dec = hw.decode(plan.params, shape if (s.n_layers is not None) else None)
    per_m = float(costs.cost_per_million_tokens(hw.inf_price, dec.tokens_per_s_per_chip))
    lifetime_inf = lifetime_tokens * per_m / 1e6

    xf = float(al.extrapolation_factor(law, plan.params, plan.tokens))
    if xf > EXTRAPOLATION_WARN_FACTOR:
        warnings.append(
            f"extrapolating {xf:.0f}x beyond the range law '{law.id}' was fitted on "
            f"({law.fitted_range.params_min:.2g}-{law.fitted_range.params_max:.2g} "
            f"params, {law.fitted_range.tokens_min:.2g}-"
            f"{law.fitted_range.tokens_max:.2g} tokens): treat the plan as a guide"
        )
    if not law.comparable:
        warnings.append(
            f"law '{law.id}' counts non-embedding parameters and uses another "
            "dataset/tokenizer: its losses are not comparable with the Chinchilla-family laws"
        )
    if plan.epochs > 4.0:
        warnings.append(
            f"{plan.epochs:.1f} epochs over the unique data: repeated tokens are worth "
            "less past about 4 epochs (Muennighoff et al. 2023)"
        )

    bands, source = ({}, "")
    if with_uncertainty:
        bands, source, more = _uncertainty(s, law, plan, hw, ratio, lifetime_tokens)
        warnings.extend(more)

    est = Estimate(
        scenario=s,
        law_id=law.id,
        law_name=law.name,
        law_citation=law.citation,
        loss=plan.loss,
        params=plan.params,
        tokens=plan.tokens,
        train_flops=train_flops,
        train_flops_6nd=flops_6nd,
        flops_ratio_to_6nd=ratio,
        epochs=plan.epochs,
        critical_batch_tokens=b_crit,
        extrapolation_factor=xf,
        hardware=profile.id,
        hardware_name=profile.display_name,
        gpus=s.gpus,
        precision=s.precision,
        mfu=hw.mfu,
        goodput=hw.goodput,
        price_usd_per_hour=hw.price,
        gpu_hours=hours,
        cost_usd=cost,
        wall_clock_days=days,
        energy_mwh=energy,
        co2_tonnes=co2,
        min_gpus_for_memory=min_gpus,
        max_useful_gpus=max_useful,
        inference_hardware=inf_profile.id,
        inference_tokens_per_s_per_chip=float(dec.tokens_per_s_per_chip),
        inference_bound=dec.bound,
        inference_chips_per_replica=dec.chips_per_replica,
        inference_cost_per_million_tokens_usd=per_m,
        lifetime_inference_tokens=lifetime_tokens,
        lifetime_inference_cost_usd=lifetime_inf,
        lifetime_total_cost_usd=cost + lifetime_inf,
        bands=bands,
        uncertainty_source=source,
        compute_optimal=compute_opt_info,
        lifetime_optimal=lifetime_info,
        warnings=tuple(warnings),
    )
    _check_finite(est)
    return est


def _check_finite(est: Estimate) -> None:
    """No NaN or infinity ever reaches a screen: fail with a message instead."""
    for k, v in est.to_dict().items():
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(
                f"the estimate's {k} is not a finite number for these inputs; "
                "the inputs are outside what the law and cost model can represent"
            )


# Standard-normal quantiles used to spread the utilisation band deterministically.
_Z = np.array(
    [-1.6449, -1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816, 1.6449]
)
_Z90 = 1.2815515655446004


def _percentiles(x: np.ndarray) -> Band:
    x = x[np.isfinite(x)]
    if x.size == 0:  # _check_finite turns this into a clear error
        return Band(math.nan, math.nan, math.nan)
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return Band(float(p10), float(p50), float(p90))


def _uncertainty(
    s: Scenario,
    law: ScalingLaw,
    plan: al.Allocation,
    hw: _Hardware,
    ratio: float,
    lifetime_tokens: float,
):
    """P10/P50/P90 bands. Two sources, combined: the law's parameter samples (when it has
    them), propagated through the same vectorised core, and the spread of real runs around the
    calibrated utilisation (log-normal fitted to the calibration band)."""
    from estimator.calibration import HOURS_BAND

    lo, hi = HOURS_BAND
    sigma = math.log(hi / lo) / (2 * _Z90)
    mid = math.sqrt(lo * hi)
    util_factors = mid * np.exp(sigma * _Z)  # spread of reported/estimated hours
    warnings: list[str] = []
    sources = ["utilisation spread of published runs"]

    n_k = np.array([plan.params])
    d_k = np.array([plan.tokens])
    sampled = law.sampled() if isinstance(law, ParametricLaw) else None
    if sampled is not None and s.optimize == "compute":
        try:
            n_k, d_k, dropped = _sample_plan(s, sampled)
            sources.insert(0, f"{len(n_k)} parameter samples of law '{law.id}'")
            if dropped:
                warnings.append(
                    f"{dropped} of {dropped + len(n_k)} parameter samples of law "
                    f"'{law.id}' cannot reach this target; bands use the rest"
                )
        except _NoSamples as exc:
            warnings.append(str(exc))
    flops = al.FLOPS_PER_PARAM_TOKEN * n_k * d_k * ratio
    hours = costs.gpu_hours(
        (flops[:, None] * util_factors[None, :]).ravel(), hw.peak, hw.mfu, hw.goodput
    )
    bands = {}
    if len(n_k) > 1:  # the plan itself is uncertain only under sampled law constants
        q = np.percentile(np.stack([n_k, d_k, flops]), [10, 50, 90], axis=1)  # one pass, 3 rows
        for i, name in enumerate(("params", "tokens", "train_flops")):
            b = Band(*(float(v) for v in q[:, i]))
            if b.p90 > b.p10 * (1 + 1e-9):  # a fixed input (e.g. the compute budget) has no band
                bands[name] = b
    h = _percentiles(hours)
    # cost and days are positive multiples of hours, so their percentiles are scaled ones
    day_scale = float(costs.wall_clock_days(1.0, s.gpus))
    bands.update(
        {
            "gpu_hours": h,
            "cost_usd": Band(h.p10 * hw.price, h.p50 * hw.price, h.p90 * hw.price),
            "wall_clock_days": Band(h.p10 * day_scale, h.p50 * day_scale, h.p90 * day_scale),
        }
    )
    if lifetime_tokens > 0:
        inf_cost = lifetime_tokens * hw.inference_usd_per_token(n_k)
        tot = (hours.reshape(len(n_k), -1) * hw.price + np.asarray(inf_cost)[:, None]).ravel()
        bands["lifetime_total_cost_usd"] = _percentiles(tot)
    return bands, " and ".join(sources), warnings


class _NoSamples(EstimatorError):
    pass


def _sample_plan(s: Scenario, law: ParametricLaw):
    """(N_k, D_k) for every parameter sample, for the modes the vectorised core solves."""
    if s.unique_tokens is not None:
        raise _NoSamples(
            "law uncertainty is not propagated with limited unique data; bands "
            "show the utilisation spread only"
        )
    if s.mode == "model":
        n = np.full(np.shape(law.E), s.params)
        d = np.full(
            np.shape(law.E), s.tokens if s.tokens is not None else s.tokens_per_param * s.params
        )
        return n, d, 0
    if s.mode == "compute":
        c = s.compute_flops
        if s.params is not None:
            n = np.full(np.shape(law.E), s.params)
            return n, c / (6 * n), 0
        if s.tokens_per_param is not None:
            n = np.full(np.shape(law.E), math.sqrt(c / (6 * s.tokens_per_param)))
            return n, s.tokens_per_param * n, 0
        n, d = law.optimal_allocation_closed_form(np.full(np.shape(law.E), c))
        return n, d, 0
    # loss or match: target per sample (match: each sampled law's loss of the reference model)
    target = (
        np.full(np.shape(law.E), s.target_loss)
        if s.mode == "loss"
        else law.loss(s.match_params, s.match_tokens)
    )
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if s.params is not None:
            ok = target > law.loss_at_infinite_data(s.params)
            n = np.full(np.shape(law.E), s.params)
            d = al.tokens_for_loss_at_params(law, n, np.where(ok, target, np.inf))
        elif s.tokens_per_param is not None:
            ok = target > law.E
            r = s.tokens_per_param
            ln_n = al._bisect_increasing(
                lambda x: np.where(ok, target, 1e300) - law.loss(np.exp(x), r * np.exp(x)),
                np.full(np.shape(law.E), math.log(1e2)),
                np.full(np.shape(law.E), math.log(1e25)),
            )
            n = np.exp(ln_n)
            d = r * n
        else:
            ok = target > law.E
            c = law.compute_for_loss_closed_form(np.where(ok, target, law.E + 1.0))
            n, d = law.optimal_allocation_closed_form(c)
    ok = ok & np.isfinite(n) & np.isfinite(d)
    if ok.sum() < 2:
        raise _NoSamples("too few of the law's parameter samples reach this target to give a band")
    return n[ok], d[ok], int((~ok).sum())


def compare(scenario: Scenario, *, profiles=None) -> list[Estimate]:
    """The same scenario on every hardware profile (one estimate each); profiles that cannot
    run it (e.g. a precision the chip lacks) are skipped."""
    profiles = _profile_set(profiles)
    out = []
    for pid in profiles.profiles:
        sc = replace(scenario, hardware=pid, inference_hardware=scenario.inference_hardware or None)
        try:
            out.append(estimate(sc, profiles=profiles))
        except InputError:
            continue
    return out
