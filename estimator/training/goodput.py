"""Goodput of a run on a cluster: interruptions, restarts, checkpoints (replaces a constant).

* Job interruption rate ``lambda_job = n_gpu x lambda_gpu`` per hour (training_refs.md Sec. 2;
  ``lambda_gpu`` per family in :data:`estimator.training.constants.FAILURE_RATE_PER_GPU_HOUR`,
  e.g. Llama 3's 466 interruptions in 54 days on 16,384 H100); ``MTBF = 1 / lambda_job``.
* Checkpoint write time ``delta = 14 N / storage bandwidth`` (bf16 weights and fp32 optimizer
  state, written in parallel by all ranks).
* Checkpoint interval by Young's rule ``tau = sqrt(2 delta MTBF)`` (Young 1974, CACM 17(9);
  Daly 2006, FGCS 22(3), Eq. 20 is its first-order form), as Kokolis et al. 2024 assume.
* Over wall time ``W`` there are ``W / MTBF`` interruptions, each losing the restart time
  ``R`` and on average half an interval of work; checkpoints cost ``delta`` per ``tau``:

      goodput_cluster = (1 - (R + tau / 2) / MTBF) / (1 + delta / tau)

  (Llama 3 405B on 16,384 H100: MTBF 2.8 h, delta 3 s, tau 4 min, R 15 min: 0.89, against
  Meta's "higher than 90% effective training time", arXiv:2407.21783 Sec. 3.3.4).
* Published accelerator-hours also hold time lost beyond failures (evaluations, data stalls,
  rollbacks after loss spikes): ``goodput = goodput_cluster / (1 + campaign_overhead)``, the
  overhead fitted on ``published_runs.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from estimator.training.constants import GLOBAL

#: Floor of the cluster goodput (a run whose interruptions outpace its checkpoints makes no
#: progress; the model says so with a warning instead of dividing by zero).
MIN_GOODPUT = 0.02


@dataclass(frozen=True)
class Goodput:
    goodput: float
    cluster_goodput: float
    job_mtbf_hours: float
    checkpoint_write_s: float
    checkpoint_interval_s: float
    starved: bool  # interruptions come faster than the run can recover


def goodput_for(gpus: int, total_params: float, failure_rate_per_gpu_hour: float,
                campaign_overhead: float, storage_bytes_per_s: float | None = None) -> Goodput:
    """The goodput of a job on ``gpus`` accelerators (module docstring)."""
    g = GLOBAL
    mtbf_s = 3600.0 / (failure_rate_per_gpu_hour * gpus)
    if storage_bytes_per_s is None:
        storage_bytes_per_s = min(gpus * g.checkpoint_bytes_per_s_per_gpu,
                                  g.checkpoint_bytes_per_s_cap)
    delta = g.checkpoint_bytes_per_param * total_params / storage_bytes_per_s
    tau = max(math.sqrt(2.0 * delta * mtbf_s), delta)
    lost = (g.restart_s + tau / 2.0) / mtbf_s
    starved = lost >= 1.0 - MIN_GOODPUT
    cluster = max((1.0 - lost) / (1.0 + delta / tau), MIN_GOODPUT)
    return Goodput(goodput=cluster / (1.0 + campaign_overhead), cluster_goodput=cluster,
                   job_mtbf_hours=mtbf_s / 3600.0, checkpoint_write_s=delta,
                   checkpoint_interval_s=tau, starved=starved)
