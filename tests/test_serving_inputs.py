"""Inputs of the serving model check themselves and raise InputError naming the field."""

from __future__ import annotations

import math

import pytest

from estimator.errors import InputError
from estimator.serving import (
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingConstants,
    constants_for,
)


def chip(**over):
    kw = dict(id="x", family="nvidia-hopper", peak_flops_per_s={"bf16": 1e15},
              memory_bytes=80 * 2**30, memory_bandwidth_bytes_per_s=3e12,
              scale_up_domain_chips=8, scale_up_bytes_per_s=4.5e11)
    kw.update(over)
    return ServingAccelerator(**kw)


@pytest.mark.parametrize("over,field", [
    (dict(family="nvidia-volta"), "family"),
    (dict(peak_flops_per_s={"fp8": 1e15}), "peak_flops_per_s"),
    (dict(peak_flops_per_s={"bf16": 1e15, "fp6": 1e15}), "peak_flops_per_s"),
    (dict(peak_flops_per_s={"bf16": -1.0}), "peak_flops_per_s.bf16"),
    (dict(memory_bytes=0), "memory_bytes"),
    (dict(memory_bandwidth_bytes_per_s=math.nan), "memory_bandwidth_bytes_per_s"),
    (dict(scale_up_domain_chips=2.5), "scale_up_domain_chips"),
    (dict(scale_up_bytes_per_s=math.inf), "scale_up_bytes_per_s"),
])
def test_accelerator_validation(over, field):
    with pytest.raises(InputError) as err:
        chip(**over)
    assert err.value.field == field


def test_accelerator_peaks_are_read_only_and_fp16_falls_back_to_bf16():
    c = chip()
    assert c.peak("fp16") == 1e15
    with pytest.raises(TypeError):
        c.peak_flops_per_s["bf16"] = 0.0


@pytest.mark.parametrize("args,field", [
    ((0, 10), "input_tokens"), ((10, 0.5), "output_tokens"), ((10, -1), "output_tokens"),
    ((math.nan, 10), "input_tokens"), ((True, 10), "input_tokens"),
])
def test_request_mix_validation(args, field):
    with pytest.raises(InputError) as err:
        RequestMix(*args)
    assert err.value.field == field


def test_reasoning_tokens_count_as_generated():
    assert RequestMix(100, 50, reasoning_tokens=200).generated_tokens == 250


def test_targets_validation():
    assert not LatencyTargets().any and LatencyTargets(tpot_s=0.05).any
    with pytest.raises(InputError) as err:
        LatencyTargets(ttft_s=0)
    assert err.value.field == "ttft_s"


def test_constants_validation_and_shipped_families():
    with pytest.raises(InputError) as err:
        ServingConstants("x", hbm_efficiency=1.2, compute_efficiency=0.5, step_overhead_s=0)
    assert err.value.field == "hbm_efficiency"
    with pytest.raises(InputError):
        constants_for("nvidia-volta")
    for fam in ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "google-tpu",
                "amd-cdna", "aws-trainium"):
        k = constants_for(fam)
        assert k.family == fam and k.provenance
        assert k.band[0] < 1.0 < k.band[1]


# -- the fix reaches the user --------------------------------------------------------------------
def test_cli_prints_what_would_fit_with_the_flag(capsys):
    """A pinned replica too small for the model: the CLI names the flag and the size that fits
    (the hint), not the serving model's argument name."""
    from estimator.cli import main

    code = main(["estimate", "--params", "70e9", "--tokens", "1.4e12",
                 "--inference-chips-per-replica", "1"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "--inference-chips-per-replica >= 2" in err and "chips_per_replica" not in err


@pytest.mark.gui
def test_window_wording_names_labels_and_drops_flag_hints():
    from estimator.errors import EstimatorError
    from estimator.fields import ref
    from estimator.gui.session import friendly_message

    e = InputError(f"{ref('inference_chips_per_replica')} = 1 is too small",
                   field="inference_chips_per_replica",
                   hint=f"use {ref('inference_chips_per_replica')} >= 2")
    text = friendly_message(e)
    assert "--" not in text and ">= 2" in text and "inference_chips_per_replica" not in text
    flag_only = EstimatorError("bad seed", field="seed", hint="--seed 0")
    assert friendly_message(flag_only) == "bad seed"
    assert flag_only.render(lambda n: n) == "bad seed; --seed 0"
