"""Sane results and honest provenance: what an estimate must say about itself.

Two kinds of check run on every estimate (:func:`check_plan` before the run model,
:func:`estimate_warnings` after):

* **Impossible plans are errors.** A model of fewer than one parameter, fewer than one training
  token, or a loss outside (0, 100] nats/token is not a plan, whatever the law's algebra gives
  (e.g. ``--compute 1`` asks for 0.05 parameters). :class:`~estimator.errors.InputError` names
  the target field.
* **Valid but absurd results are warned about.** A run under a minute of wall-clock (start-up,
  data loading and checkpoints, which the run model does not count, then dominate), a training
  bill under a cent, a loss worse than guessing uniformly over a large vocabulary, and a user
  hardware profile whose figures are far outside every built-in chip's (10,000 TFLOP/s, a
  tenth of a cent per hour).
* **Where each figure came from.** A law or profile from a user file is named with its file,
  with a warning when it overrides a built-in of the same id; a user file that defines the id
  in use but failed to load (the built-in was used instead), or that was ignored as a duplicate,
  is warned about.

The thresholds are judgements, stated here: :data:`MIN_WALL_CLOCK_S`, :data:`MIN_COST_USD`,
:data:`MAX_SENSIBLE_LOSS`, :data:`PROFILE_SPREAD`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from estimator.errors import InputError
from estimator.fields import ref
from estimator.textsafe import quote

if TYPE_CHECKING:  # pragma: no cover
    from estimator.catalogue import Catalogue
    from estimator.hardware import HardwareProfile
    from estimator.plan import PlanResult
    from estimator.scenario import Scenario

#: Below a minute of wall-clock, fixed costs the run model does not count dominate (judgement).
MIN_WALL_CLOCK_S = 60.0
#: A training bill under a cent is a toy (judgement).
MIN_COST_USD = 0.01
#: ln(262,144): the loss of a uniform guess over a 256k-token vocabulary, in nats/token. A plan
#: whose loss is above it predicts worse than guessing (judgement; vocabularies are 32k-256k).
MAX_SENSIBLE_LOSS = math.log(262_144)
#: A user profile figure more than this factor above the highest (or below the lowest) figure of
#: any built-in chip is flagged (judgement: the catalogue spans 2020-2026 chips).
PROFILE_SPREAD = 10.0
LOSS_BOUNDS = (0.0, 100.0)


def check_plan(s: Scenario, plan: PlanResult) -> None:
    """Raise :class:`InputError` (at the target field) when the plan is not a model one could
    train: fewer than one parameter or token, or a loss outside (0, 100] nats/token."""
    check_allocation(s, plan.allocation)


def check_allocation(s: Scenario, a) -> None:
    """:func:`check_plan` for an allocation (params, tokens, loss)."""
    from estimator.scenario import TARGET_FIELD

    target = TARGET_FIELD[s.mode]
    if s.mode == "model":
        target = "params"
    if not a.params >= 1.0:
        raise InputError(
            f"the plan has {a.params:.3g} parameters, fewer than one: {ref(target)} asks for "
            "less than any model can be", field=target, value=a.params,
            expected="a plan of at least one parameter",
            hint="raise the target (a larger compute budget or a lower loss)")
    if not a.tokens >= 1.0:
        raise InputError(
            f"the plan trains on {a.tokens:.3g} tokens, fewer than one: {ref(target)} asks for "
            "less than any training run", field=target, value=a.tokens,
            expected="a plan of at least one token",
            hint="raise the target or the tokens per parameter")
    lo, hi = LOSS_BOUNDS
    if not (lo < a.loss <= hi):
        raise InputError(
            f"the law gives a loss of {a.loss:.4g} nats/token for this plan, outside "
            f"({lo:g}, {hi:g}]: the plan is far outside what the law describes", field=target,
            value=a.loss, expected=f"a loss in ({lo:g}, {hi:g}] nats/token",
            hint="choose a larger model or more tokens")


def estimate_warnings(est, cat: Catalogue) -> tuple[str, ...]:
    """Warnings about an estimate's results and where its law and profiles came from."""
    out: list[str] = []
    s = est.scenario
    seconds = est.wall_clock_days * 86400.0
    if seconds < MIN_WALL_CLOCK_S:
        out.append(f"the run takes {seconds:.3g} s of wall-clock: below a minute, start-up, "
                   "data loading and checkpoints (not modelled) dominate; treat the time and "
                   "cost as lower bounds")
    if est.cost_usd < MIN_COST_USD:
        out.append(f"training costs ${est.cost_usd:.2g}, under a cent: a toy run, where fixed "
                   "costs the model does not count dominate")
    if est.loss > MAX_SENSIBLE_LOSS:
        out.append(f"the plan's loss ({est.loss:.3g} nats/token) is worse than a uniform guess "
                   f"over a 256k-token vocabulary ({MAX_SENSIBLE_LOSS:.1f}): the model is too "
                   "small or trained on too little to mean anything")
    out += provenance_warnings(s, est, cat)
    return tuple(out)


def provenance_warnings(s: Scenario, est, cat: Catalogue) -> list[str]:
    """Which law and profiles came from user files, which user files override a built-in, and
    which user files for the ids in use failed to load or were ignored."""
    from estimator.hardware import BUILTIN_ORIGIN, builtin_profiles
    from estimator.laws import builtin_laws

    out: list[str] = []
    law_origin = est.provenance.get("law", BUILTIN_ORIGIN)
    if law_origin != BUILTIN_ORIGIN:
        override = (", under the id of a built-in law: its constants replace the built-in's"
                    if est.law_id in builtin_laws() else "")
        out.append(f"law {quote(est.law_id)} comes from the file {law_origin}{override}")
    elif est.law_id in cat.law_failed_ids:
        out.append(f"the user file {cat.law_failed_ids[est.law_id]} defines law "
                   f"{quote(est.law_id)} but failed to load; the built-in law is used")
    for path in cat.law_duplicate_ids.get(est.law_id, []):
        out.append(f"the user file {path} also defines law {quote(est.law_id)} and was ignored")
    seen: set[str] = set()
    builtins = builtin_profiles()
    for key in ("hardware", "inference_hardware"):
        origin = est.provenance.get(key, BUILTIN_ORIGIN)
        pid = est.hardware if key == "hardware" else est.inference_hardware
        if pid in seen:
            continue
        seen.add(pid)
        if origin != BUILTIN_ORIGIN:
            override = (f", under the id of the built-in {builtins[pid].display_name}: its "
                        "figures replace the built-in's" if pid in builtins else "")
            out.append(f"hardware profile {quote(pid)} comes from the user file "
                       f"{origin}{override}")
            profile = cat.profile(s.hardware if key == "hardware"
                                  else (s.inference_hardware or s.hardware))
            out += profile_figure_warnings(profile)
        elif pid in cat.profiles.failed_ids:
            out.append(f"the user file {cat.profiles.failed_ids[pid]} defines hardware profile "
                       f"{quote(pid)} but failed to load; the built-in profile is used")
        for path in cat.profiles.duplicate_ids.get(pid, []):
            out.append(f"the user file {path} also defines hardware profile {quote(pid)} and "
                       "was ignored")
    return out


def law_origin(law) -> str:
    """Where a law came from: ``built-in`` or its file."""
    from estimator.hardware import BUILTIN_ORIGIN

    src = str(getattr(law, "source", "") or BUILTIN_ORIGIN)
    return BUILTIN_ORIGIN if src.startswith(BUILTIN_ORIGIN) else src


def profile_figure_warnings(profile: HardwareProfile) -> list[str]:
    """A user profile's throughput, memory bandwidth and prices compared with the range of the
    built-in chips: a figure :data:`PROFILE_SPREAD` times beyond that range is flagged."""
    from estimator.hardware import builtin_profiles

    builtins = list(builtin_profiles().values())
    out: list[str] = []

    def check(what: str, value: float, refs: list[float], unit: str) -> None:
        refs = [r for r in refs if r > 0]
        if not refs or not (value > 0):
            return
        hi, lo = max(refs), min(refs)
        if value > hi * PROFILE_SPREAD:
            out.append(f"profile {quote(profile.id)}: {what} {value:g} {unit} is over "
                       f"{PROFILE_SPREAD:g}x the highest built-in chip's ({hi:g}); check the "
                       "file")
        elif value < lo / PROFILE_SPREAD:
            out.append(f"profile {quote(profile.id)}: {what} {value:g} {unit} is under "
                       f"1/{PROFILE_SPREAD:g} of the lowest built-in chip's ({lo:g}); check the "
                       "file")

    for prec, tflops in profile.peak_tflops.items():
        check(f"peak {prec}", tflops, [b.peak_tflops.get(prec, 0.0) for b in builtins],
              "TFLOP/s")
    check("memory bandwidth", profile.memory_bandwidth_tb_per_s,
          [b.memory_bandwidth_tb_per_s for b in builtins], "TB/s")
    for tier, price in profile.prices.items():
        refs = [b.prices[tier].usd_per_hour for b in builtins if tier in b.prices]
        check(f"{tier.replace('_', '-')} price", price.usd_per_hour, refs, "USD/h")
    return out
