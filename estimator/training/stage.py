"""Stage 2 of an estimate: the plan's training run on the chosen cluster.

GPU-hours are ``train_flops / (peak * mfu * goodput * 3600)`` against the chip's dense peak at
the training precision, with the profile's calibrated utilisation unless the scenario pins it
(:mod:`estimator.calibration`); wall-clock is GPU-hours over the GPU count. Memory: 16
bytes/parameter of model and Adam state, fully sharded, beside one micro-batch's activations
(Korthikanti et al. 2022) give the fewest GPUs that hold the model; the critical batch size
(Kaplan et al. 2020 eq. 1.4) bounds the useful GPU count.
"""

from __future__ import annotations

from dataclasses import dataclass

from estimator import costs
from estimator.hardware import HardwareProfile
from estimator.plan import PlanResult
from estimator.scenario import Scenario


@dataclass(frozen=True)
class ClusterRates:
    """What a GPU-hour of this cluster buys: dense peak (FLOP/s) at the training precision,
    utilisation, goodput and price (USD per chip-hour)."""

    peak_flops_per_s: float
    mfu: float
    goodput: float
    price_usd_per_hour: float

    @property
    def usd_per_flop(self) -> float:
        """Dollars per useful training FLOP."""
        return self.price_usd_per_hour / (self.peak_flops_per_s * self.mfu * self.goodput
                                          * costs.SECONDS_PER_HOUR)


def cluster_rates(s: Scenario, profile: HardwareProfile) -> ClusterRates:
    """The scenario's cost policy on ``profile``; raises InputError when the chip lacks the
    precision or the price tier."""
    return ClusterRates(
        peak_flops_per_s=profile.peak_flops_per_s(s.precision),
        mfu=s.mfu if s.mfu is not None else profile.train_mfu,
        goodput=s.goodput if s.goodput is not None else profile.train_goodput,
        price_usd_per_hour=(s.price_per_hour if s.price_per_hour is not None
                            else profile.price_usd_per_hour(s.price_tier)),
    )


@dataclass(frozen=True)
class TrainingResult:
    """The training run: units in the names (GPU-hours are paid accelerator-hours)."""

    hardware: str
    hardware_name: str
    gpus: int
    precision: str
    rates: ClusterRates
    gpu_hours: float
    wall_clock_days: float
    min_gpus_for_memory: int
    max_useful_gpus: int
    warnings: tuple[str, ...] = ()

    @property
    def mfu(self) -> float:
        return self.rates.mfu

    @property
    def goodput(self) -> float:
        return self.rates.goodput

    @property
    def price_usd_per_hour(self) -> float:
        return self.rates.price_usd_per_hour


def training_stage(s: Scenario, plan: PlanResult, profile: HardwareProfile,
                   rates: ClusterRates | None = None) -> TrainingResult:
    """Stage 2: GPU-hours, days and the memory and batch limits of the run."""
    r = rates or cluster_rates(s, profile)
    warnings: list[str] = []
    hours = float(costs.gpu_hours(plan.train_flops, r.peak_flops_per_s, r.mfu, r.goodput))
    days = float(costs.wall_clock_days(hours, s.gpus))
    act = costs.activation_bytes_per_gpu(plan.shape, s.seq_len, s.micro_batch, s.recompute,
                                         tensor_parallel=min(s.model_parallel, 8))
    min_gpus = costs.min_gpus_for_memory(plan.params, profile.memory_gb, act, s.recompute,
                                         micro_batch=s.micro_batch, seq_len=s.seq_len,
                                         model_parallel=s.model_parallel)
    if s.gpus < min_gpus:
        warnings.append(f"{s.gpus} GPUs cannot hold the model: training state needs at least "
                        f"{min_gpus} {profile.display_name} (16 bytes/param, fully sharded)")
    tokens_per_replica_step = s.micro_batch * s.seq_len
    max_useful = max(1, int(plan.critical_batch_tokens // tokens_per_replica_step)
                     * s.model_parallel)
    if s.gpus > max_useful:
        warnings.append(
            f"{s.gpus} GPUs imply a global batch of at least "
            f"{s.gpus // s.model_parallel * tokens_per_replica_step:,} tokens, beyond the "
            f"critical batch of about {plan.critical_batch_tokens:,.0f} tokens (Kaplan et al. "
            f"2020): past about {max_useful} GPUs more GPUs add cost with little speed-up")
    return TrainingResult(
        hardware=profile.id, hardware_name=profile.display_name, gpus=s.gpus,
        precision=s.precision, rates=r, gpu_hours=hours, wall_clock_days=days,
        min_gpus_for_memory=min_gpus, max_useful_gpus=max_useful, warnings=tuple(warnings))
