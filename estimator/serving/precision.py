"""Which tensor-core rate a precision runs at on a chip, and the quality caveat of quantisation.

* Weights in ``bf16``/``fp16`` run bf16 matmuls.
* ``fp8`` and ``int8`` weights run 8-bit matmuls (W8A8: TensorRT-LLM / ModelOpt FP8, SmoothQuant
  int8, Xiao et al. 2022, arXiv:2211.10438) where the chip has that rate, else they are
  dequantised to bf16 (weight-only: memory halves, compute does not speed up).
* ``fp4`` weights run 4-bit matmuls (W4A4 NVFP4/MXFP4) where the chip has an ``fp4`` rate
  (Blackwell, MI355X), else weight-only; ``int4`` is weight-only (W4A16, AWQ/GPTQ): bf16 matmuls.
* Attention runs in fp8 when the KV cache is fp8 and the chip has an fp8 rate (FP8 FMHA), else
  in bf16.

Quality: post-training quantisation (PTQ) costs loss, and Kumar et al. 2024 ("Scaling Laws for
Precision", arXiv:2411.04330, Sec. 3) find the penalty grows with the tokens seen per parameter
during pre-training (their fit has the form ``delta_PTQ ~ C_T * D**g_D / N**g_N *
exp(-P_post / g_post)``) and falls steeply with the bits kept: an over-trained small model
quantised to 4 bits loses the most. The model returns this as a warning; it does not change
the throughput.
"""

from __future__ import annotations

from dataclasses import dataclass

from estimator.serving.inputs import BITS, BYTES_PER_VALUE, ServingAccelerator, check_precision

#: Tokens per parameter above which 4-bit PTQ is flagged as risky. A judgement: Kumar et al.
#: 2024 (Fig. 1, Sec. 3) see the PTQ penalty rise steadily with D/N over their range (up to
#: ~10^3 tokens per parameter); Llama 3 8B was trained on ~1,900 tokens per parameter.
HIGH_TOKENS_PER_PARAM = 100.0


@dataclass(frozen=True)
class ResolvedPrecision:
    """Bytes per stored value and the peak (key of ``peak_flops_per_s``) each part runs at."""

    weight_precision: str
    kv_precision: str
    weight_bytes: float
    kv_bytes: float
    matmul_peak_key: str
    attention_peak_key: str
    warnings: tuple[str, ...]


def resolve_precision(acc: ServingAccelerator, weight_precision: str, kv_precision: str,
                      train_tokens_per_param: float | None = None) -> ResolvedPrecision:
    """Bytes, compute rates and quality warnings for weights and KV cache on ``acc``."""
    wp = check_precision(weight_precision, "weight_precision")
    kp = check_precision(kv_precision, "kv_precision")
    peaks = acc.peak_flops_per_s
    warnings: list[str] = []
    if wp in ("bf16", "fp16"):
        mm = "bf16"
    elif wp in ("fp8", "int8", "fp4") and wp in peaks:
        mm = wp
    else:
        mm = "bf16"
        what = "8-bit" if wp in ("fp8", "int8") else "4-bit"
        if wp != "int4":
            warnings.append(
                f"{acc.id} has no {wp} tensor-core rate: {wp} weights are modelled as "
                f"weight-only ({what} storage and bandwidth, bf16 matmuls)")
    attn = "fp8" if kp in ("fp8", "int8", "fp4", "int4") and "fp8" in peaks else "bf16"
    warnings.extend(quantisation_warnings(wp, kp, train_tokens_per_param))
    return ResolvedPrecision(wp, kp, BYTES_PER_VALUE[wp], BYTES_PER_VALUE[kp], mm, attn,
                             tuple(warnings))


def quantisation_warnings(weight_precision: str, kv_precision: str,
                          train_tokens_per_param: float | None = None) -> list[str]:
    """The post-training-quantisation caveat (Kumar et al. 2024) for the chosen precisions."""
    out: list[str] = []
    bits = BITS[weight_precision]
    if bits < 16:
        text = (f"weights in {weight_precision} ({bits}-bit) after post-training "
                "quantisation cost some loss; Kumar et al. 2024 (Scaling Laws for Precision, "
                "arXiv:2411.04330) find the penalty grows with the tokens seen per parameter "
                "in pre-training and falls with the bits kept")
        if train_tokens_per_param is not None:
            text += f" (this model: {train_tokens_per_param:,.0f} tokens per parameter)"
            if bits <= 4 and train_tokens_per_param >= HIGH_TOKENS_PER_PARAM:
                text += ("; a heavily over-trained model quantised to 4 bits is the case they "
                         "flag as worst: check quality on your own evaluations, or use 8 bits "
                         "or quantisation-aware training")
        elif bits <= 4:
            text += "; at 4 bits check quality on your own evaluations before pricing on it"
        out.append(text)
    if BITS[kv_precision] < 16:
        out.append(f"KV cache in {kv_precision}: small accuracy cost, usually negligible at "
                   "8 bits; 4-bit KV caches need a quality check")
    return out
