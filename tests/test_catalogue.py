"""The 2026 catalogue: each chip's key figures against the source it cites (the arithmetic from
the source's own numbers: rack totals / 72, Gb/s / 8, bidirectional / 2, CUs x rate x clock),
calibration status against estimator.calibration, and docs/hardware.md against the YAML files
(every chip described, every unverified figure listed, nothing listed that is not marked)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from estimator import calibration as cal
from estimator.hardware import KNOWN_FAMILIES, _builtin_entries, builtin_profiles

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "hardware.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# (profile, attribute, expected value, the source's numbers, a phrase the profile's sources
# must contain: the document the figure was read from)
FIGURES = [
    # -- NVIDIA Hopper export part (DeepSeek-V3 report; NVLink from secondary pages)
    ("h800", "scale_up_gb_per_s", 400 / 2, "400 GB/s bidirectional", "getdeploying"),
    ("h800", "scale_out_gb_per_s", 50, "IB (50 GB/s)", "DeepSeek-V3 technical report"),
    ("h800", "scale_up_domain_chips", 8, "8 GPUs per node", "2,048 H800 GPUs, 8 per node"),
    ("h800", "prices.on_demand", 2.0, "$2 per GPU hour", "Table 1 $2 per GPU-hour"),
    # -- GB200 NVL72, per GPU: rack totals / 72, or the GB200 column
    ("gb200", "peak_tflops.bf16", 5000 / 2, "5,000 sparse", "GB200 variant at 1,200 W"),
    ("gb200", "peak_tflops.fp8", 720_000 / 72 / 2, "NVL72 720 PF FP8 sparse", "720 PF FP8"),
    ("gb200", "peak_tflops.fp4", 1_440_000 / 72 / 2, "NVL72 1,440 PF FP4 sparse",
     "FP4 10,000 / 20,000"),
    ("gb200", "memory_gb", 186, "GB200-186GB", "GB200-186GB"),
    ("gb200", "memory_bandwidth_tb_per_s", 576 / 72, "576 TB/s per rack", "BW-DS"),
    ("gb200", "scale_up_domain_chips", 72, "NVL72", "72 GPUs, 36 Grace"),
    ("gb200", "scale_up_gb_per_s", 1800 / 2, "1.8 TB/s bidirectional", "NVLink Switches"),
    ("gb200", "power_w", 1200, "GB200 variant at 1,200 W", "GB200 variant at 1,200 W"),
    # -- B300 (HGX): per-8-GPU sparse totals / 8 / 2
    ("b300", "peak_tflops.bf16", 36_000 / 8 / 2, "36 PF BF16 sparse per 8", "fibermall"),
    ("b300", "peak_tflops.fp8", 72_000 / 8 / 2, "72 PF FP8 sparse per 8", "fibermall"),
    ("b300", "scale_out_gb_per_s", 800 / 8, "800 Gb/s ConnectX-8 per GPU", "acecloud"),
    ("b300", "scale_up_gb_per_s", 1800 / 2, "NVLink 1.8 TB/s per GPU", "fibermall"),
    ("b300", "power_w", 1100, "1.1 kW", "verda.com"),
    # -- GB300 NVL72: rack dense totals / 72
    ("gb300", "peak_tflops.fp4", 1_080_000 / 72, "1,080 PF dense FP4", "verda.com"),
    ("gb300", "peak_tflops.fp8", 360_000 / 72, "360 PF FP8", "verda.com"),
    ("gb300", "peak_tflops.bf16", 180_000 / 72, "180 PF BF16 dense", "verda.com"),
    ("gb300", "memory_bandwidth_tb_per_s", 576 / 72, "576 TB/s", "glennklockwood"),
    ("gb300", "memory_gb", 279, "279 GB", "verda.com"),
    ("gb300", "scale_out_gb_per_s", 800 / 8, "72 ConnectX-8 NICs", "72 ConnectX-8 NICs"),
    ("gb300", "power_w", 1400, "1.4 kW", "1,400 W per GPU"),
    # -- TPU7x (Google's own page)
    ("tpu-v7", "peak_tflops.bf16", 2307, "2307", "TPU7x (Ironwood)"),
    ("tpu-v7", "peak_tflops.fp8", 4614, "4614", "TPU7x (Ironwood)"),
    ("tpu-v7", "memory_gb", 192, "192 GiB", "192 GiB HBM"),
    ("tpu-v7", "memory_bandwidth_tb_per_s", 7380 / 1000, "7380 GB/s", "7,380 GB/s"),
    ("tpu-v7", "scale_up_gb_per_s", 1200 / 2, "bidirectional ICI 1200", "ICI 1,200 GB/s"),
    ("tpu-v7", "scale_up_domain_chips", 9216, "9216 chips per pod", "9,216 chips per pod"),
    ("tpu-v7", "scale_out_gb_per_s", 100 / 8, "DCN 100 Gb/s", "DCN 100 Gb/s"),
    ("tpu-v7", "power_w", round(2307 / 918 * 641 / 2), "ESTIMATE chain", "2x Trillium's perf"),
    # -- TPU v5p and v6e scale-out (the TPU7x comparison table)
    ("tpu-v5p", "scale_out_gb_per_s", 50 / 8, "DCN 50 Gb/s", "DCN 50 Gb/s"),
    ("tpu-v5p", "scale_up_domain_chips", 6144, "largest job 6144 chips", "largest job 6,144"),
    ("tpu-v6e", "scale_out_gb_per_s", 100 / 8, "DCN 100 Gb/s", "DCN 100 Gb/s"),
    # -- AMD
    ("mi325x", "peak_tflops.bf16", 1307.4, "FP16 Compute 1,307 TFLOPS", "FP16 1,307 TFLOPS"),
    ("mi325x", "memory_gb", 256, "256 GB HBM3E / VRAM 256 GiB", "VRAM 256 GiB"),
    ("mi325x", "memory_bandwidth_tb_per_s", 6.0, "6.0 TB/s", "6.0 TB/s"),
    ("mi355x", "peak_tflops.fp8", 256 * 8192 * 2.4e9 / 1e12, "256 CUs x 8,192 x 2.4 GHz",
     "8,192 FLOP/clk"),
    ("mi355x", "peak_tflops.bf16", 256 * 4096 * 2.4e9 / 1e12, "half the fp8 rate", "256 CUs"),
    ("mi355x", "memory_gb", 288, "VRAM 288 GiB", "VRAM 288 GiB"),
    ("mi355x", "memory_bandwidth_tb_per_s", 8.0, "up to 8 TB/s", "up to 8 TB/s"),
    ("mi355x", "power_w", 1400, "1,400 W", "1,400 watts"),
    # -- Trainium2 (AWS Neuron docs)
    ("trainium2", "peak_tflops.bf16", 667, "667 BF16/FP16/TF32 TFLOPS", "667 BF16"),
    ("trainium2", "peak_tflops.fp8", 1299, "1,299 FP8 TFLOPS", "1,299 FP8"),
    ("trainium2", "memory_gb", 96, "96 GiB", "96 GiB at 2.9 TB/s"),
    ("trainium2", "memory_bandwidth_tb_per_s", 2.9, "2.9 TB/sec", "96 GiB at 2.9 TB/s"),
    ("trainium2", "scale_up_gb_per_s", 1280 / 2, "1.28 TB/sec per chip", "1.28 TB/s per chip"),
    ("trainium2", "scale_up_domain_chips", 16, "16 chips, 4x4 2D torus", "4x4 2D torus"),
    ("trainium2", "scale_out_gb_per_s", 12.8e3 / 64 / 8, "12.8 Tbps EFAv3 per 64 chips",
     "12.8 Tbps"),
    # -- scale-out of the existing chips (DGX systems: one NIC per GPU)
    ("a100-40gb", "scale_out_gb_per_s", 200 / 8, "8x 200Gb/s HDR", "ConnectX-6 VPI 200Gb/s"),
    ("h100-sxm", "scale_out_gb_per_s", 400 / 8, "8x ConnectX-7 400 Gb/s", "8x single-port"),
    ("h200", "scale_up_gb_per_s", 900 / 2, "18x 4th Gen NVLink, 900GB/s", "900GB/s"),
    ("b200", "scale_out_gb_per_s", 400 / 8, "8x ConnectX-7 400 Gb/s", "ConnectX-7 IB NDR"),
    ("b200", "scale_up_gb_per_s", 14_400 / 8 / 2, "14.4 TB/s per 8 GPUs", "14.4 TB/s"),
]


def value(profile, attribute: str) -> float:
    if attribute.startswith("peak_tflops."):
        return profile.peak_tflops[attribute.split(".", 1)[1]]
    if attribute.startswith("prices."):
        return profile.prices[attribute.split(".", 1)[1]].usd_per_hour
    return getattr(profile, attribute)


@pytest.mark.parametrize("pid, attribute, expected, quoted, cited", FIGURES,
                         ids=[f"{r[0]}-{r[1]}" for r in FIGURES])
def test_key_figures_against_their_source(pid, attribute, expected, quoted, cited):
    p = builtin_profiles()[pid]
    assert value(p, attribute) == pytest.approx(expected, rel=2e-4), quoted
    text = " ".join(p.sources) + " " + " ".join(pr.source for pr in p.prices.values())
    assert cited in text, f"{pid}: figure from '{cited}', which its sources do not cite"


def test_every_new_chip_has_figures_checked():
    new = {"h800", "gb200", "b300", "gb300", "tpu-v7", "mi325x", "mi355x", "trainium2"}
    assert new <= {row[0] for row in FIGURES}
    assert new <= set(builtin_profiles())


# --------------------------------------------------------------------------------------
# Families and calibration status
# --------------------------------------------------------------------------------------

GROUP_FAMILY = {"ampere": "nvidia-ampere", "hopper": "nvidia-hopper", "tpu-v4": "google-tpu"}


def test_families_are_the_architecture_table():
    """docs/architecture.md 'Chip families' lists every built-in under its family."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    table = text.split("### Chip families", 1)[1].split("###", 1)[0]
    listed = {}
    for family, members in re.findall(r"^\| `([a-z-]+)` \| ([^|]+) \|", table, re.M):
        for m in members.split(","):
            listed[m.strip()] = family
    assert set(listed.values()) == set(KNOWN_FAMILIES)
    assert {pid: p.family for pid, p in builtin_profiles().items()} == listed


@pytest.mark.parametrize("pid", sorted(cal.PROFILE_CALIBRATION))
def test_calibration_block_agrees_with_the_calibration_groups(pid):
    """A profile is 'calibrated' exactly when its family is the group's family; otherwise it
    says whose constants it borrows, and that is the group it is mapped to."""
    p = builtin_profiles()[pid]
    group_family = GROUP_FAMILY[cal.PROFILE_CALIBRATION[pid]]
    if p.family == group_family:
        assert p.calibration.status == "calibrated", pid
    else:
        assert p.calibration.status == "borrowed", pid
        assert p.calibration.from_family == group_family, pid
    assert p.calibration.note


def test_calibrated_families_are_the_ones_with_runs():
    with_runs = {builtin_profiles()[r.profile_id].family for r in cal.published_runs()}
    assert with_runs == set(GROUP_FAMILY.values())
    for p in builtin_profiles().values():
        assert p.is_calibrated == (p.family in with_runs), p.id


# --------------------------------------------------------------------------------------
# Units: per direction, per chip
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", sorted({p for p, *_ in FIGURES} | set(cal.PROFILE_CALIBRATION)))
def test_scale_up_is_half_the_bidirectional_figure_in_its_link(pid):
    """Where the link text quotes a bidirectional GB/s (or TB/s) per chip, gb_per_s is half."""
    p = builtin_profiles()[pid]
    if pid in ("mi325x", "mi355x"):  # "assumed equal to MI300X"
        assert "assumed equal to MI300X" in p.scale_up_link
        assert p.scale_up_gb_per_s == builtin_profiles()["mi300x"].scale_up_gb_per_s
        return
    m = re.search(r"([\d.,]+) (GB|TB)/s (?:aggregate )?bidirectional", p.scale_up_link)
    if pid == "trainium2":  # "1.28 TB/s per chip, read as bidirectional (UNVERIFIED)"
        m = re.search(r"([\d.]+) (TB)/s per chip, read as bidirectional", p.scale_up_link)
    assert m, p.scale_up_link
    bidir = float(m[1].replace(",", "")) * (1000 if m[2] == "TB" else 1)
    assert p.scale_up_gb_per_s == pytest.approx(bidir / 2), p.scale_up_link


def test_scale_out_never_exceeds_scale_up():
    for p in builtin_profiles().values():
        assert p.scale_out_gb_per_s < p.scale_up_gb_per_s, p.id


# --------------------------------------------------------------------------------------
# docs/hardware.md against the YAML files
# --------------------------------------------------------------------------------------

MARKERS = ("UNVERIFIED", "ESTIMATE", "DERIVED")
_SKIP = ("link", "note", "notes", "display_name", "sources")


def marked_fields() -> set[tuple[str, str]]:
    """(profile id, field) for every scalar line of a built-in YAML file whose value or comment
    says UNVERIFIED, ESTIMATE or DERIVED; a price tier's lines count as 'prices.<tier>'."""
    out = set()
    for name, raw in _builtin_entries():
        pid = name.removesuffix(".yaml")
        stack: list[tuple[int, str]] = []
        text_indent = None  # inside a folded block (notes: >-): skip its lines
        for line in raw.decode("utf-8").splitlines():
            indent = len(line) - len(line.lstrip(" "))
            if text_indent is not None:
                if not line.strip() or indent > text_indent:
                    continue
                text_indent = None
            m = re.match(r"^( *)([a-z0-9_]+):(.*)$", line)
            if not m:
                continue
            key, rest = m[2], m[3]
            stack = [(i, k) for i, k in stack if i < indent]
            path = ".".join([k for _, k in stack] + [key])
            value_part = rest.split("#", 1)[0].strip()
            if value_part.startswith((">", "|")):
                text_indent = indent
                continue
            if not value_part:
                stack.append((indent, key))  # a mapping follows
                continue
            if not any(mark in rest for mark in MARKERS) or key in _SKIP:
                continue
            if path.startswith("prices."):
                path = ".".join(path.split(".")[:2])
            out.add((pid, path))
    return out


def doc_unverified_rows() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Figures not verified", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9.-]+)` \| `([a-z0-9_.]+)` \|", section, re.M))


def test_doc_lists_exactly_the_marked_figures():
    marked, listed = marked_fields(), doc_unverified_rows()
    assert marked, "the parser found no markers"
    assert marked - listed == set(), "marked in YAML but missing from docs/hardware.md"
    assert listed - marked == set(), "listed in docs/hardware.md but not marked in the YAML"


def test_doc_describes_every_chip_and_the_conventions():
    text = DOC.read_text(encoding="utf-8")
    for pid in builtin_profiles():
        assert f"`{pid}`" in text, pid
    for phrase in ("per direction", "dense", "GiB", "capacity_block", "early", "late",
                   "stale", "borrowed", "Version 1"):
        assert phrase in text, phrase


def test_estimated_prices_are_marked():
    for p in builtin_profiles().values():
        for tier, price in p.prices.items():
            if "ESTIMATE" in price.source or "UNVERIFIED" in price.source:
                assert (p.id, f"prices.{tier}") in marked_fields()
