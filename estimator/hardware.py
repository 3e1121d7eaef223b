"""Hardware profiles: peak throughput, memory, scale-up and scale-out bandwidth, power, dated
prices and calibration status of one accelerator, loaded from YAML (schema version 2).

Built-in profiles are data: one YAML file per accelerator in the top-level
``hardware_profiles/`` folder, shipped inside the wheel as the package
``estimator.hardware_profiles``. A user's profiles are YAML files in
:func:`user_profile_dir` (``$ESTIMATOR_PROFILE_DIR`` if set, else the platform config
directory); they add profiles or override built-ins by ``id`` and are loaded by the same
:func:`load_profile_file` (pint's habit: one loader for shipped and user definitions).

Conventions (``docs/hardware.md`` is the catalogue: every chip, every figure, its source and
date, and what is uncertain):

* Figures are per chip. Peak throughput is *dense* (no 2:4 sparsity) TFLOP/s, the
  denominator of MFU in the PaLM (Chowdhery et al. 2022, App. B) and Llama 3 (arXiv
  2407.21783, Sec. 3.3) convention.
* Bandwidths are per chip and per direction: ``scale_up.gb_per_s`` is the accelerator fabric
  (NVLink, ICI, Infinity Fabric, NeuronLink) inside a ``scale_up.domain_chips`` domain;
  ``scale_out.gb_per_s`` is the network between domains (InfiniBand, RoCE, EFA, DCN). A
  vendor's "900 GB/s bidirectional" is 450 here.
* ``memory_gb`` is the vendor's nominal capacity (HBM stacks are binary: "80 GB" is 80 GiB);
  the engine reads it as 1e9 bytes, so every chip is understated alike by up to 7%.
* Every price tier names its provider and date; :meth:`Price.freshness` tells whether it is
  older than :data:`STALE_AFTER_MONTHS`.
* ``calibration`` says whether the utilisation constants are fitted on published runs of the
  chip's family (``calibrated``), borrowed from another family (``borrowed``, naming it) or
  pinned by the file from a measured cluster (``measured``). The default ``train_mfu`` and
  ``train_goodput`` come from :mod:`estimator.calibration`; a user file may leave them out
  and inherit the values of the built-ins of the same family.

Version-1 files (``memory_bandwidth_tbps``, ``interconnect_gbps`` as a total bidirectional
figure, required utilisation constants) still load: :func:`profile_from_dict` migrates them
and the profile's ``warnings`` name each assumption made.

Pure Python: no numpy, no Qt. Built-ins are parsed once per process.
"""

from __future__ import annotations

import calendar
import datetime
import math
import os
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from estimator.errors import InputError, ProfileError
from estimator.textsafe import names_phrase, quote
from estimator.yamlio import load_yaml_text

SCHEMA_VERSION = 2
#: Versions :func:`profile_from_dict` reads (1 is migrated, with warnings).
SUPPORTED_SCHEMA_VERSIONS = (1, 2)
BUILTIN_ORIGIN = "built-in"
#: ``field`` of an error about a whole user folder (not one file in it).
FOLDER_FIELD = "user_folder"
ENV_PROFILE_DIR = "ESTIMATOR_PROFILE_DIR"
APP_NAME = "llm-cost-estimator"

#: Precisions a profile may list in ``peak_tflops`` (dense TFLOP/s, or TOP/s for int8).
KNOWN_PRECISIONS = ("bf16", "fp16", "tf32", "fp8", "fp4", "int8")
#: Price tiers a profile may list in ``prices`` (USD per chip-hour). ``capacity_block`` is a
#: short fixed-term reservation (e.g. AWS EC2 Capacity Blocks for ML, days to weeks).
PRICE_TIERS = ("on_demand", "reserved", "spot", "capacity_block")
#: Calibration families (docs/architecture.md, "Chip families"). A profile may name another
#: family; it then gets no inherited defaults and must pin its utilisation constants.
KNOWN_FAMILIES = ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "google-tpu",
                  "amd-cdna", "aws-trainium")
#: ``calibration.status`` values.
CALIBRATION_STATUSES = ("calibrated", "borrowed", "measured")
def current_date() -> datetime.date:
    """The date prices are aged against: ``ESTIMATOR_TODAY`` (ISO, e.g. 2026-11-30) when set,
    for reproducible reports and tests, else the system date."""
    pinned = os.environ.get("ESTIMATOR_TODAY", "").strip()
    if pinned:
        try:
            return datetime.date.fromisoformat(pinned)
        except ValueError:
            pass  # a malformed pin falls back to the system date
    return datetime.date.today()


def price_warning(profile: HardwareProfile, tier: str, what: str = "training") -> str | None:
    """One warning line when the profile's ``tier`` price is stale or of unknown age (None
    when fresh or absent)."""
    pr = profile.prices.get(tier)
    if pr is None:
        return None
    f = pr.freshness()
    if not f.flagged:
        return None
    return (f"{what} price of {profile.display_name} ({tier.replace('_', '-')}, "
            f"${pr.usd_per_hour:.2f}/h): {f.message} (or give your own price per hour)")


#: A price whose date is more than this many months before today is stale.
STALE_AFTER_MONTHS = 12

#: Month a season/part-of-year phrase stands for in a price date ("early 2026" -> February).
#: The middle of the span it names; documented in docs/hardware.md ("Price dates").
DATE_PHRASE_MONTH: dict[str, int] = {
    "start": 1, "beginning": 1, "early": 2, "mid": 6, "middle": 6, "late": 11, "end": 12,
    "winter": 1, "spring": 4, "summer": 7, "autumn": 10, "fall": 10,
    "q1": 2, "q2": 5, "q3": 8, "q4": 11, "h1": 4, "h2": 10,
}
#: A bare year ("2023") stands for its middle.
YEAR_ONLY_MONTH = 7
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9

_V2_REQUIRED = ("schema_version", "id", "display_name", "vendor", "generation", "family",
                "peak_tflops", "memory_gb", "memory_bandwidth_tb_per_s", "scale_up",
                "scale_out", "power_w", "prices", "sources")
_V2_OPTIONAL = ("calibration", "train_mfu", "train_goodput", "inference_utilization", "notes")
_V2_ALLOWED = _V2_REQUIRED + _V2_OPTIONAL
_V1_REQUIRED = ("schema_version", "id", "display_name", "vendor", "generation", "peak_tflops",
                "memory_gb", "memory_bandwidth_tbps", "interconnect_gbps", "power_w", "prices",
                "train_mfu", "train_goodput", "inference_utilization", "sources")
_V1_ALLOWED = _V1_REQUIRED + ("notes",)
_UTILIZATION_KEYS = ("train_mfu", "train_goodput", "inference_utilization")
_PRICE_KEYS = ("usd_per_hour", "date", "provider", "source")
_V1_PRICE_KEYS = ("usd_per_hour", "date", "source")
_SCALE_UP_KEYS = ("domain_chips", "gb_per_s", "link")
_SCALE_OUT_KEYS = ("gb_per_s", "link")
_CALIBRATION_KEYS = ("status", "from_family", "note")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_V1_PROVIDER = "not given (version-1 file)"

# Bounds that catch typos and unit slips (TFLOP/s typed as FLOP/s, MB as GB, Gb/s as MB/s),
# not physics. (lower bound exclusive, upper bound inclusive, unit for the message)
_BOUNDS: dict[str, tuple[float, float, str]] = {
    # Lower bounds too: a figure like 1e-300 TFLOP/s or an MFU of 1e-308 is a slip, and it
    # would overflow every estimate made with it.
    "peak_tflops": (0.1, 1e5, "dense TFLOP/s per chip"),
    "memory_gb": (0.1, 1e4, "GB of accelerator memory per chip"),
    "memory_bandwidth_tb_per_s": (0.001, 1e3, "TB/s of memory bandwidth per chip"),
    "scale_up.domain_chips": (0.0, 1e6, "a whole number of chips in one scale-up domain"),
    "scale_up.gb_per_s": (0.1, 2e4, "GB/s per chip per direction on the scale-up fabric"),
    "scale_out.gb_per_s": (0.01, 1e4, "GB/s per chip per direction on the scale-out network"),
    "power_w": (1.0, 2e4, "watts per chip"),
    "usd_per_hour": (0.0001, 1e3, "USD per chip-hour"),
    "train_mfu": (0.01, 1.0, "a fraction of peak"),
    "train_goodput": (0.01, 1.0, "a fraction of wall time"),
    "inference_utilization": (0.01, 1.0, "a fraction of peak"),
    # version 1 only
    "memory_bandwidth_tbps": (0.001, 1e3, "TB/s of memory bandwidth per chip"),
    "interconnect_gbps": (0.0, 1e5, "GB/s of scale-up interconnect per chip, total of both "
                                    "directions"),
}

#: Version-1 migration: scale-up domain and scale-out bandwidth per chip assumed for a family
#: when no built-in profile of the same id or generation is there to copy them from.
#: (domain chips, scale-out GB/s per chip per direction, why)
_FAMILY_TOPOLOGY: dict[str, tuple[int, float, str]] = {
    "nvidia-ampere": (8, 25.0, "8-GPU HGX board, one 200 Gb/s HDR NIC per GPU (DGX A100)"),
    "nvidia-hopper": (8, 50.0, "8-GPU HGX board, one 400 Gb/s NDR NIC per GPU (DGX H100)"),
    "nvidia-blackwell": (8, 50.0, "8-GPU HGX board, one 400 Gb/s NIC per GPU (DGX B200)"),
    "amd-cdna": (8, 50.0, "8-GPU OAM board, one 400 Gb/s NIC per GPU"),
    "google-tpu": (256, 12.5, "a 256-chip ICI slice, 100 Gb/s DCN per chip (TPU v6e)"),
    "aws-trainium": (16, 25.0, "a 16-chip trn2 instance, 3.2 Tb/s EFA per 16 chips"),
}
#: The built-in a family's inherited constants are reported as coming from (the chip its
#: published runs are on); any calibrated member would give the same values.
_FAMILY_REFERENCE = {"nvidia-ampere": "a100-80gb", "nvidia-hopper": "h100-sxm",
                     "google-tpu": "tpu-v4"}
_UNKNOWN_TOPOLOGY = (8, 25.0, "an 8-accelerator board with one 200 Gb/s NIC per chip (a "
                              "guess: the family is unknown)")


# --------------------------------------------------------------------------------------
# Price dates
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)  # a pure function of the text; every estimate reads its price's age
def parse_price_date(text: str) -> datetime.date | None:
    """The calendar date a price's ``date`` text stands for, or None if it cannot be read.

    Accepts ``2026-04-18``, ``2026-04``, ``2026/04``, ``2026``, ``Apr 2026``,
    ``April 18, 2026``, and a part-of-year phrase with a year (``early 2026``, ``late 2024``,
    ``mid-2025``, ``Q3 2025``, ``H2 2024``, ``summer 2025``). A month stands for its first
    day; a phrase for the month in :data:`DATE_PHRASE_MONTH`; a bare year for
    :data:`YEAR_ONLY_MONTH`.
    """
    s = str(text).strip().lower().replace(",", " ")
    s = re.sub(r"\s+", " ", s)

    def make(y: int, m: int, d: int = 1) -> datetime.date | None:
        if not 1900 <= y <= 2200:
            return None
        try:
            return datetime.date(y, m, d)
        except ValueError:
            return None

    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s):
        return make(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})", s):
        return make(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4})", s):
        return make(int(m[1]), YEAR_ONLY_MONTH)
    if m := re.fullmatch(r"([a-z]+)\.? (\d{1,2}) (\d{4})", s):  # "april 18 2026"
        if m[1] in _MONTHS:
            return make(int(m[3]), _MONTHS[m[1]], int(m[2]))
        return None
    if m := re.fullmatch(r"(\d{1,2}) ([a-z]+)\.? (\d{4})", s):  # "18 april 2026"
        if m[2] in _MONTHS:
            return make(int(m[3]), _MONTHS[m[2]], int(m[1]))
        return None
    if m := re.fullmatch(r"(?:(?:the )?([a-z0-9]+)(?: of)?)[ -](\d{4})", s):
        word = m[1].rstrip(".")
        if word in _MONTHS:
            return make(int(m[2]), _MONTHS[word])
        if word in DATE_PHRASE_MONTH:
            return make(int(m[2]), DATE_PHRASE_MONTH[word])
    return None


def _months_between(earlier: datetime.date, later: datetime.date) -> int:
    """Whole calendar months from ``earlier`` to ``later`` (negative if later is earlier)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


def _months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day of the month ``months`` months before ``day`` (clamped to month end)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return datetime.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


@dataclass(frozen=True)
class PriceFreshness:
    """How old a price is. ``status`` is ``"fresh"``, ``"stale"`` (older than
    :data:`STALE_AFTER_MONTHS` months) or ``"unknown"`` (the date cannot be read, or is after
    today); ``as_of`` the date its text stands for; ``age_months`` whole months before
    ``today``; ``message`` one line a face can show."""

    status: str
    as_of: datetime.date | None
    age_months: int | None
    today: datetime.date
    message: str

    @property
    def flagged(self) -> bool:
        """True when a face should flag the price (stale or of unknown age)."""
        return self.status != "fresh"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "age_months": self.age_months, "today": self.today.isoformat(),
                "message": self.message}


@dataclass(frozen=True)
class Price:
    """One price tier of a chip: USD per chip-hour, the date of the quote as written in the
    source (see :func:`parse_price_date`), whose price it is (``provider``) and the source."""

    usd_per_hour: float
    date: str
    source: str
    provider: str = ""

    @property
    def as_of(self) -> datetime.date | None:
        """The date the quote stands for, or None if its text cannot be read."""
        return parse_price_date(self.date)

    def freshness(self, today: datetime.date | None = None) -> PriceFreshness:
        """Whether the quote is older than :data:`STALE_AFTER_MONTHS` months before ``today``
        (default :func:`current_date`)."""
        return _freshness(self.date, today or current_date())

    def is_stale(self, today: datetime.date | None = None) -> bool | None:
        """True if older than :data:`STALE_AFTER_MONTHS` months, False if not, None if the
        age is unknown."""
        status = self.freshness(today).status
        return None if status == "unknown" else status == "stale"

    def to_dict(self) -> dict[str, Any]:
        return {"usd_per_hour": self.usd_per_hour, "date": self.date,
                "provider": self.provider, "source": self.source}


@lru_cache(maxsize=1024)
def _freshness(date: str, today: datetime.date) -> PriceFreshness:
    """:meth:`Price.freshness` of a quote dated ``date`` (its text), kept: it is pure."""
    as_of = parse_price_date(date)
    if as_of is None:
        return PriceFreshness("unknown", None, None, today,
                              f"price date {quote(date)} cannot be read; its age is "
                              "unknown (use e.g. 2026-04, 2026-04-18 or 'early 2026')")
    age = _months_between(as_of, today)
    if as_of > today:
        return PriceFreshness("unknown", as_of, age, today,
                              f"price date {quote(date)} is after today "
                              f"({today.isoformat()}); check it")
    if as_of < _months_before(today, STALE_AFTER_MONTHS):
        return PriceFreshness("stale", as_of, age, today,
                              f"price dated {date} is {age} months old (older than "
                              f"{STALE_AFTER_MONTHS}); prices move fast, check a current "
                              "quote")
    return PriceFreshness("fresh", as_of, age, today,
                          f"price dated {date} ({age} months old)")


@dataclass(frozen=True)
class Calibration:
    """Where a profile's utilisation constants come from.

    ``status``: ``calibrated`` (fitted on published runs of the chip's own family, see
    :mod:`estimator.calibration`), ``borrowed`` (from ``from_family``, which has runs; the
    estimate's band should be wider) or ``measured`` (pinned in the file from the user's own
    cluster). ``note`` says why, in a sentence.
    """

    status: str
    from_family: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"status": self.status}
        if self.from_family:
            d["from_family"] = self.from_family
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True)
class HardwareProfile:
    """One accelerator. Units are in the field names; figures per chip; peaks dense;
    bandwidths per direction.

    ``train_mfu`` is model-FLOPs utilisation (6ND FLOPs over dense peak during productive
    steps); ``train_goodput`` is the share of paid accelerator-hours spent on productive steps
    (restarts, failures, evaluation excluded). Their product times peak is the effective
    throughput the cost model divides ``train_flops`` by. ``origin`` is ``"built-in"`` or the
    path of the user file. ``warnings`` names each assumption made when the file was migrated
    from schema version 1; ``defaults_from`` is set when the utilisation constants were not in
    the file but inherited from a built-in of the same family. Construction validates the
    values (a ``ProfileError`` naming ``origin`` and the field); treat the dict fields as
    read-only.
    """

    id: str
    display_name: str
    vendor: str
    generation: str
    family: str
    peak_tflops: dict[str, float]
    memory_gb: float
    memory_bandwidth_tb_per_s: float
    scale_up_domain_chips: int
    scale_up_gb_per_s: float
    scale_out_gb_per_s: float
    power_w: float
    prices: dict[str, Price]
    train_mfu: float
    train_goodput: float
    inference_utilization: float
    calibration: Calibration
    scale_up_link: str = ""
    scale_out_link: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""
    origin: str = BUILTIN_ORIGIN
    warnings: tuple[str, ...] = field(default=(), compare=False)
    defaults_from: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self._where()
        if not self.peak_tflops or "bf16" not in self.peak_tflops:
            raise ProfileError(f"{where}: field 'peak_tflops' must give at least 'bf16' "
                               "(dense TFLOP/s per chip)", field="peak_tflops")
        for prec, value in self.peak_tflops.items():
            if prec not in KNOWN_PRECISIONS:
                raise ProfileError(f"{where}: field 'peak_tflops.{prec}' is not a known precision; "
                                   f"expected one of {', '.join(KNOWN_PRECISIONS)}",
                                   field=f"peak_tflops.{prec}")
            _check_bounds(value, where, f"peak_tflops.{prec}", "peak_tflops")
        for name in ("memory_gb", "memory_bandwidth_tb_per_s", "power_w", "train_mfu",
                     "train_goodput", "inference_utilization"):
            _check_bounds(getattr(self, name), where, name, name)
        _check_bounds(self.scale_up_gb_per_s, where, "scale_up.gb_per_s", "scale_up.gb_per_s")
        _check_bounds(self.scale_out_gb_per_s, where, "scale_out.gb_per_s", "scale_out.gb_per_s")
        _check_domain(self.scale_up_domain_chips, where)
        if not isinstance(self.family, str) or not _ID_RE.match(self.family):
            raise ProfileError(f"{where}: field 'family' must be a family id such as "
                               f"{', '.join(KNOWN_FAMILIES)}, got {quote(self.family)}",
                               field="family", value=self.family)
        _check_calibration(self.calibration, self.family, where)
        for tier, price in self.prices.items():
            if tier not in PRICE_TIERS:
                raise ProfileError(f"{where}: field 'prices.{tier}' is not a price tier; "
                                   f"expected one of {', '.join(PRICE_TIERS)}",
                                   field=f"prices.{tier}")
            _check_bounds(price.usd_per_hour, where, f"prices.{tier}.usd_per_hour",
                          "usd_per_hour")

    def __hash__(self) -> int:  # dict fields are not hashable; id + origin identify a profile
        return hash((self.id, self.origin))

    def _where(self) -> str:
        if self.origin == BUILTIN_ORIGIN:
            return f"built-in profile '{self.id}'"
        return f"{self.origin}"

    # -- queries -----------------------------------------------------------------------------
    def precisions(self) -> list[str]:
        """Precisions with a dense peak on this chip, in the order of ``KNOWN_PRECISIONS``."""
        return [p for p in KNOWN_PRECISIONS if p in self.peak_tflops]

    def peak_flops_per_s(self, precision: str = "bf16") -> float:
        """Dense peak throughput in FLOP/s per chip at ``precision`` (e.g. 'bf16', 'fp8').

        Raises :class:`InputError` naming the precisions this chip supports (an A100 has no
        fp8, a Hopper no fp4).
        """
        key = str(precision).lower()
        if key not in self.peak_tflops:
            raise InputError(f"hardware '{self.id}' has no {precision!r} throughput; "
                             f"precision must be one of {', '.join(self.precisions())}",
                             field="precision", value=precision,
                             expected=", ".join(self.precisions()))
        return self.peak_tflops[key] * 1e12

    def price_usd_per_hour(self, tier: str = "on_demand") -> float:
        """Price in USD per chip-hour for ``tier``; raises :class:`InputError` naming the
        tiers this profile has (use a price-per-hour override when none fits)."""
        if tier not in self.prices:
            have = ", ".join(t for t in PRICE_TIERS if t in self.prices) or "none"
            raise InputError(f"hardware '{self.id}' has no '{tier}' price; price tiers "
                             f"available: {have} (or give an explicit price per hour)",
                             field="price_tier", value=tier, expected=have,
                             hint="give an explicit price per hour")
        return self.prices[tier].usd_per_hour

    def price_tiers(self) -> list[str]:
        return [t for t in PRICE_TIERS if t in self.prices]

    def price_freshness(self, today: datetime.date | None = None) -> dict[str, PriceFreshness]:
        """Per price tier, whether its quote is fresh, stale or of unknown age on ``today``
        (default :func:`current_date`)."""
        today = today or current_date()
        return {t: self.prices[t].freshness(today) for t in self.price_tiers()}

    def stale_price_tiers(self, today: datetime.date | None = None) -> list[str]:
        """The tiers a face should flag: older than :data:`STALE_AFTER_MONTHS` months, or of
        unknown age."""
        return [t for t, f in self.price_freshness(today).items() if f.flagged]

    @property
    def is_calibrated(self) -> bool:
        """True when the utilisation constants are fitted on this family's own runs."""
        return self.calibration.status == "calibrated"

    @property
    def effective_train_fraction(self) -> float:
        """``train_mfu * train_goodput``: the share of peak turned into useful 6ND FLOPs."""
        return self.train_mfu * self.train_goodput

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain data: the schema-2 YAML file format plus ``origin``. Reloading
        it (without ``origin``) gives an equal profile."""
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "display_name": self.display_name,
            "vendor": self.vendor,
            "generation": self.generation,
            "family": self.family,
            "peak_tflops": {p: self.peak_tflops[p] for p in self.precisions()},
            "memory_gb": self.memory_gb,
            "memory_bandwidth_tb_per_s": self.memory_bandwidth_tb_per_s,
            "scale_up": {"domain_chips": self.scale_up_domain_chips,
                         "gb_per_s": self.scale_up_gb_per_s},
            "scale_out": {"gb_per_s": self.scale_out_gb_per_s},
            "power_w": self.power_w,
            "prices": {t: self.prices[t].to_dict() for t in self.price_tiers()},
            "calibration": self.calibration.to_dict(),
        }
        if self.scale_up_link:
            d["scale_up"]["link"] = self.scale_up_link
        if self.scale_out_link:
            d["scale_out"]["link"] = self.scale_out_link
        if not self.defaults_from:  # inherited constants stay inherited when saved again
            d.update({k: getattr(self, k) for k in _UTILIZATION_KEYS})
        d["sources"] = list(self.sources)
        if self.notes:
            d["notes"] = self.notes
        d["origin"] = self.origin
        return d

    def to_report_dict(self, today: datetime.date | None = None) -> dict[str, Any]:
        """:meth:`to_dict` plus what the faces show beside it: the utilisation constants in
        use, ``defaults_from``, ``warnings``, ``price_freshness`` per tier on ``today`` and
        ``stale_price_tiers``. Not a file format."""
        d = self.to_dict()
        d.update({k: getattr(self, k) for k in _UTILIZATION_KEYS})
        d["defaults_from"] = self.defaults_from or None
        d["warnings"] = list(self.warnings)
        fresh = self.price_freshness(today)
        d["price_freshness"] = {t: f.to_dict() for t, f in fresh.items()}
        d["stale_price_tiers"] = [t for t, f in fresh.items() if f.flagged]
        return d


@dataclass
class ProfileSet:
    """All profiles available: built-ins, then user files that add or override by id.

    ``errors`` holds one :class:`ProfileError` per user file that could not be loaded; a
    broken file never hides the good ones. :meth:`warnings` lists what loaded with
    assumptions (migrated version-1 files).
    """

    profiles: dict[str, HardwareProfile] = field(default_factory=dict)
    errors: list[ProfileError] = field(default_factory=list)
    #: id -> user file that defines it but failed to load (the built-in, if any, is used)
    failed_ids: dict[str, str] = field(default_factory=dict)
    #: id -> user files that define it again and were ignored (the first by name wins)
    duplicate_ids: dict[str, list[str]] = field(default_factory=dict)

    def ids(self) -> list[str]:
        return list(self.profiles)

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self.profiles

    def __getitem__(self, profile_id: str) -> HardwareProfile:
        return self.profiles[profile_id]

    def warnings(self) -> list[str]:
        """One line per assumption made while loading, prefixed with the file."""
        return [f"{p._where()}: {w}" for p in self.profiles.values() for w in p.warnings]


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_bounds(value: float, where: str, field_name: str, bound_key: str) -> None:
    lo, hi, unit = _BOUNDS[bound_key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{where}: field '{field_name}' must be a number ({unit}), "
                           f"got {quote(value)}", field=field_name, value=value, expected=unit)
    try:
        ok = math.isfinite(value) and lo < value <= hi
    except OverflowError:  # an integer beyond the float range
        ok = False
    if not ok:
        raise ProfileError(f"{where}: field '{field_name}' = {quote(value)} is out of range; "
                           f"expected {unit} in ({lo:g}, {hi:g}]", field=field_name,
                           value=value, expected=f"{unit} in ({lo:g}, {hi:g}]",
                           hint="check the unit (per chip, per direction)")


def _num(value: Any, where: str, field_name: str, bound_key: str) -> float:
    if isinstance(value, str):  # YAML 1.1 reads 1e3 (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    _check_bounds(value, where, field_name, bound_key)
    return float(value)  # cannot overflow: bounds checked


def _check_domain(value: Any, where: str) -> None:
    lo, hi, unit = _BOUNDS["scale_up.domain_chips"]
    ok = (not isinstance(value, bool) and isinstance(value, int) and lo < value <= hi)
    if not ok:
        raise ProfileError(f"{where}: field 'scale_up.domain_chips' = {quote(value)} must be "
                           f"{unit}, 1 to {hi:g} (1 = no scale-up fabric)",
                           field="scale_up.domain_chips", value=value,
                           expected=f"an integer in [1, {hi:g}]",
                           hint="chips joined by NVLink/ICI/Infinity Fabric, e.g. 8 or 72")


def _domain(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e7:
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 8:
        value = int(value.strip())
    _check_domain(value, where)
    return value


def _check_calibration(cal: Any, family: str, where: str) -> None:
    if not isinstance(cal, Calibration):
        raise ProfileError(f"{where}: field 'calibration' must be a Calibration",
                           field="calibration")
    if cal.status not in CALIBRATION_STATUSES:
        raise ProfileError(f"{where}: field 'calibration.status' = {quote(cal.status)}; expected "
                           f"one of {', '.join(CALIBRATION_STATUSES)}",
                           field="calibration.status", value=cal.status,
                           expected=", ".join(CALIBRATION_STATUSES))
    if cal.status == "borrowed":
        if not cal.from_family or not _ID_RE.match(cal.from_family):
            raise ProfileError(f"{where}: field 'calibration.from_family' is required when "
                               "calibration.status is 'borrowed': name the family whose "
                               f"constants are used ({', '.join(KNOWN_FAMILIES)})",
                               field="calibration.from_family",
                               hint="e.g. from_family: nvidia-hopper")
        if cal.from_family == family:
            raise ProfileError(f"{where}: field 'calibration.from_family' = {quote(family)} is the "
                               "profile's own family; use status 'calibrated' instead",
                               field="calibration.from_family", value=family)
    elif cal.from_family is not None:
        raise ProfileError(f"{where}: field 'calibration.from_family' is only for status "
                           f"'borrowed', not {quote(cal.status)}; remove it",
                           field="calibration.from_family", value=cal.from_family)


def _text(value: Any, where: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where}: field '{field_name}' must be a non-empty string, "
                           f"got {quote(value)}", field=field_name, value=value,
                           expected="a non-empty string")
    return value.strip()


def _mapping(value: Any, where: str, field_name: str, expected: str) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: field '{field_name}' must be a mapping of {expected}, "
                           f"got {type(value).__name__}", field=field_name, expected=expected)
    return value


def _only_keys(entry: dict, allowed: tuple[str, ...], where: str, field_name: str) -> None:
    extra = sorted(set(map(str, entry)) - set(allowed))
    if extra:
        names = names_phrase([f"{field_name}.{k}" for k in extra], 5, 60)
        raise ProfileError(f"{where}: unknown field(s) {names}; '{field_name}' takes "
                           f"{', '.join(allowed)}",
                           field=f"{field_name}.{extra[0]}", expected=", ".join(allowed))


def _date_text(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime)):  # YAML reads 2024-12-01 as a date
        return value.isoformat()[:10]
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # date: 2023
        return str(value)
    return value if value is not None else ""


def _family_guess(vendor: str, generation: str) -> str | None:
    """The calibration family a version-1 profile's vendor and generation name, or None."""
    v, g = vendor.lower(), generation.lower()
    if "nvidia" in v:
        for arch in ("ampere", "hopper", "blackwell"):
            if arch in g:
                return f"nvidia-{arch}"
    if "google" in v and g.startswith("tpu"):
        return "google-tpu"
    if "amd" in v and g.startswith("cdna"):
        return "amd-cdna"
    if ("aws" in v or "amazon" in v) and "trainium" in g:
        return "aws-trainium"
    return None


# --------------------------------------------------------------------------------------
# Version 1 -> 2
# --------------------------------------------------------------------------------------


def _migrate_v1(data: dict, where: str, origin: str) -> tuple[dict, list[str]]:
    """A version-1 mapping as a version-2 one, and the assumptions made (one line each)."""
    if origin == BUILTIN_ORIGIN:  # a packaging bug: built-ins are written in the current schema
        raise ProfileError(f"{where}: built-in profiles must be schema_version "
                           f"{SCHEMA_VERSION}", field="schema_version")
    keys = [str(k) for k in data]
    v2_only = sorted(set(keys) & (set(_V2_ALLOWED) - set(_V1_ALLOWED)))
    if v2_only:
        raise ProfileError(
            f"{where}: field(s) {', '.join(repr(k) for k in v2_only)} belong to schema_version "
            f"{SCHEMA_VERSION} but the file says schema_version: 1; set schema_version: "
            f"{SCHEMA_VERSION} and use memory_bandwidth_tb_per_s, scale_up and scale_out "
            "instead of memory_bandwidth_tbps and interconnect_gbps",
            field=v2_only[0], hint=f"set schema_version: {SCHEMA_VERSION}")
    unknown = sorted(set(keys) - set(_V1_ALLOWED))
    if unknown:
        raise ProfileError(f"{where}: unknown field(s) {names_phrase(unknown, 5)}; "
                           f"allowed fields in schema_version 1: {', '.join(_V1_ALLOWED)}",
                           field=unknown[0])
    missing = [k for k in _V1_REQUIRED if k not in data]
    if missing:
        hint = ""
        if "interconnect_gbps" in missing:
            hint = (" (a version-1 file needs interconnect_gbps, the total bidirectional "
                    f"scale-up GB/s per chip; or convert it to schema_version {SCHEMA_VERSION} "
                    "with scale_up and scale_out, see docs/hardware.md)")
        raise ProfileError(f"{where}: missing field(s) {', '.join(repr(k) for k in missing)}"
                           + hint, field=missing[0])
    vendor = _text(data["vendor"], where, "vendor")
    generation = _text(data["generation"], where, "generation")
    profile_id = _text(data["id"], where, "id")
    link_total = _num(data["interconnect_gbps"], where, "interconnect_gbps", "interconnect_gbps")
    bandwidth = _num(data["memory_bandwidth_tbps"], where, "memory_bandwidth_tbps",
                     "memory_bandwidth_tbps")
    prefix = "migrated from schema_version 1: "
    notes: list[str] = []

    family = _family_guess(vendor, generation)
    if family is None:
        family = re.sub(r"[^a-z0-9]+", "-", f"{vendor}-{generation}".lower()).strip("-")[:64]
        family = family if _ID_RE.match(family) else "unknown"
        notes.append(f"family = {quote(family)} made from vendor {quote(vendor)} and generation "
                     f"{quote(generation)}: not a known family "
                     f"({', '.join(KNOWN_FAMILIES)}), so no "
                     "calibrated defaults apply; set 'family' if one fits")
    else:
        notes.append(f"family = {quote(family)} assumed from vendor {quote(vendor)} and generation "
                     f"{quote(generation)}")

    # Topology: copy it from the built-in of the same id, else of the same family and
    # generation, else the family's typical system.
    ref = None
    builtins = builtin_profiles()
    if profile_id in builtins and builtins[profile_id].family == family:
        ref = builtins[profile_id]
    else:
        ref = next((p for p in builtins.values()
                    if p.family == family and p.generation.lower() == generation.lower()), None)
    if ref is not None:
        domain, scale_out = ref.scale_up_domain_chips, ref.scale_out_gb_per_s
        basis = f"the built-in profile '{ref.id}'"
    else:
        domain, scale_out, why = _FAMILY_TOPOLOGY.get(family, _UNKNOWN_TOPOLOGY)
        basis = why
    up = link_total / 2.0
    notes.append(f"scale_up.gb_per_s = {up:g} GB/s per direction: half of interconnect_gbps = "
                 f"{link_total:g}, read as a total of both directions")
    notes.append(f"scale_up.domain_chips = {domain} assumed from {basis}")
    notes.append(f"scale_out.gb_per_s = {scale_out:g} GB/s per chip assumed from {basis}")

    prices_raw = _mapping(data["prices"], where, "prices",
                          f"tier ({', '.join(PRICE_TIERS)}) -> {{usd_per_hour, date, source}}")
    prices: dict[Any, Any] = {}
    for tier, entry in prices_raw.items():
        if isinstance(entry, dict):
            _only_keys(entry, _V1_PRICE_KEYS, where, f"prices.{tier}")
            entry = {**entry, "provider": _V1_PROVIDER}
        prices[tier] = entry
    if prices:
        notes.append(f"prices: provider = {_V1_PROVIDER!r} (version 1 has no provider field; "
                     "add one to each tier)")

    calibration: dict[str, Any] = {"status": "measured",
                                   "note": "utilisation constants pinned in a version-1 file"}
    if ref is not None and ref.id == profile_id and all(
            data.get(k) == getattr(ref, k) for k in ("train_mfu", "train_goodput")):
        calibration = ref.calibration.to_dict()
        notes.append(f"calibration = {ref.calibration.status!r} as the built-in '{ref.id}' "
                     "(same train_mfu and train_goodput)")
    else:
        notes.append("calibration.status = 'measured' assumed: a version-1 file pins "
                     "train_mfu and train_goodput")

    out = {k: v for k, v in data.items() if k not in ("memory_bandwidth_tbps",
                                                      "interconnect_gbps")}
    out.update({
        "schema_version": SCHEMA_VERSION,
        "family": family,
        "memory_bandwidth_tb_per_s": bandwidth,
        "scale_up": {"domain_chips": domain, "gb_per_s": up,
                     "link": f"from interconnect_gbps = {link_total:g} (both directions)"},
        "scale_out": {"gb_per_s": scale_out, "link": f"assumed from {basis}"},
        "prices": prices,
        "calibration": calibration,
    })
    return out, [prefix + n for n in notes]


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def family_defaults(family: str) -> HardwareProfile | None:
    """The built-in profile whose utilisation constants a profile of ``family`` inherits
    (a calibrated one first), or None for a family without built-ins."""
    members = [p for p in builtin_profiles().values() if p.family == family]
    members.sort(key=lambda p: (not p.is_calibrated, p.id != _FAMILY_REFERENCE.get(family)))
    return members[0] if members else None


def _parse_calibration(raw: Any, where: str) -> Calibration:
    raw = _mapping(raw, where, "calibration", "status, from_family, note")
    _only_keys(raw, _CALIBRATION_KEYS, where, "calibration")
    if "status" not in raw:
        raise ProfileError(f"{where}: missing field 'calibration.status' (one of "
                           f"{', '.join(CALIBRATION_STATUSES)})", field="calibration.status")
    status = _text(raw["status"], where, "calibration.status")
    from_family = raw.get("from_family")
    if from_family is not None:
        from_family = _text(from_family, where, "calibration.from_family")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise ProfileError(f"{where}: field 'calibration.note' must be a string",
                           field="calibration.note")
    return Calibration(status=status, from_family=from_family, note=note.strip())


def profile_from_dict(data: Any, where: str, origin: str = BUILTIN_ORIGIN) -> HardwareProfile:
    """Build and validate a profile from plain data (a parsed YAML mapping, schema 1 or 2).

    ``where`` names the file in messages; ``origin`` is stored on the profile. A version-1
    mapping is migrated and the profile's ``warnings`` name the assumptions. Raises
    :class:`ProfileError` naming ``where``, the field and what was expected.
    """
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping with fields {', '.join(_V2_REQUIRED)}; "
                           f"got {type(data).__name__}")
    if "schema_version" not in data:
        raise ProfileError(f"{where}: missing field 'schema_version' (this loader reads "
                           f"{' and '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}; new files: "
                           f"{SCHEMA_VERSION})", field="schema_version",
                           hint=f"add schema_version: {SCHEMA_VERSION}")
    version = data["schema_version"]
    if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ProfileError(f"{where}: field 'schema_version' must be {SCHEMA_VERSION} (or 1, "
                           f"migrated), got {quote(version)}", field="schema_version",
                           value=version,
                           expected=f"{SCHEMA_VERSION}")
    warnings: list[str] = []
    if version == 1:
        data, warnings = _migrate_v1(data, where, origin)

    keys = [str(k) for k in data]
    unknown = sorted(set(keys) - set(_V2_ALLOWED))
    if unknown:
        renamed = {"memory_bandwidth_tbps": "memory_bandwidth_tb_per_s",
                   "interconnect_gbps": "scale_up: {gb_per_s: <per direction>, ...}"}
        hint = "; ".join(f"'{k}' is now {renamed[k]}" for k in unknown if k in renamed)
        if len(unknown) >= len(keys) - 1 and len(unknown) > 2:  # only schema_version known
            raise ProfileError(f"{where}: not a hardware profile: {len(unknown)} of its "
                               f"{len(keys)} top-level keys are unknown fields (a profile has "
                               "schema_version, id, display_name, ...)")
        raise ProfileError(f"{where}: unknown field(s) {names_phrase(unknown, 5)}; "
                           f"allowed fields: {', '.join(_V2_ALLOWED)}"
                           + (f" ({hint})" if hint else ""), field=unknown[0],
                           hint=hint or None)
    missing = [k for k in _V2_REQUIRED if k not in data]
    if missing:
        raise ProfileError(f"{where}: missing field(s) {', '.join(repr(k) for k in missing)}",
                           field=missing[0])
    profile_id = _text(data["id"], where, "id")
    if not _ID_RE.match(profile_id):
        raise ProfileError(f"{where}: field 'id' must be lower-case letters, digits, '.', '_' "
                           f"or '-' (at most 64), got {quote(profile_id)}", field="id",
                           value=profile_id)
    family = _text(data["family"], where, "family")
    if not _ID_RE.match(family):
        raise ProfileError(f"{where}: field 'family' must be a family id such as "
                           f"{', '.join(KNOWN_FAMILIES)}, got {quote(family)}", field="family",
                           value=family)

    peak_raw = _mapping(data["peak_tflops"], where, "peak_tflops",
                        "precision -> dense TFLOP/s, e.g. {bf16: 989.5}")
    peak: dict[str, float] = {}
    for prec, value in peak_raw.items():
        if prec not in KNOWN_PRECISIONS:
            raise ProfileError(f"{where}: field 'peak_tflops.{prec}' is not a known precision; "
                               f"expected one of {', '.join(KNOWN_PRECISIONS)}",
                               field=f"peak_tflops.{prec}", expected=", ".join(KNOWN_PRECISIONS))
        peak[prec] = _num(value, where, f"peak_tflops.{prec}", "peak_tflops")
    if "bf16" not in peak:
        raise ProfileError(f"{where}: field 'peak_tflops.bf16' is required "
                           "(dense bf16 TFLOP/s per chip; the calibrated defaults refer to it)",
                           field="peak_tflops.bf16")

    up = _mapping(data["scale_up"], where, "scale_up",
                  "domain_chips, gb_per_s (per chip, per direction), link")
    _only_keys(up, _SCALE_UP_KEYS, where, "scale_up")
    for k in ("domain_chips", "gb_per_s"):
        if k not in up:
            raise ProfileError(f"{where}: missing field 'scale_up.{k}'", field=f"scale_up.{k}")
    out = _mapping(data["scale_out"], where, "scale_out",
                   "gb_per_s (per chip, per direction), link")
    _only_keys(out, _SCALE_OUT_KEYS, where, "scale_out")
    if "gb_per_s" not in out:
        raise ProfileError(f"{where}: missing field 'scale_out.gb_per_s'",
                           field="scale_out.gb_per_s")
    links = {}
    for name, entry in (("scale_up", up), ("scale_out", out)):
        link = entry.get("link", "")
        links[name] = _text(link, where, f"{name}.link") if link not in ("", None) else ""

    prices_raw = _mapping(data["prices"], where, "prices",
                          f"tier ({', '.join(PRICE_TIERS)}) -> "
                          "{usd_per_hour, date, provider, source}")
    prices: dict[str, Price] = {}
    for tier, entry in prices_raw.items():
        if tier not in PRICE_TIERS:
            raise ProfileError(f"{where}: field 'prices.{tier}' is not a price tier; "
                               f"expected one of {', '.join(PRICE_TIERS)}",
                               field=f"prices.{tier}", expected=", ".join(PRICE_TIERS))
        entry = _mapping(entry, where, f"prices.{tier}", ", ".join(_PRICE_KEYS))
        _only_keys(entry, _PRICE_KEYS, where, f"prices.{tier}")
        for k in _PRICE_KEYS:
            if k not in entry:
                raise ProfileError(f"{where}: missing field 'prices.{tier}.{k}'"
                                   + (" (whose price it is: a cloud, a neocloud, a contract)"
                                      if k == "provider" else ""),
                                   field=f"prices.{tier}.{k}")
        prices[tier] = Price(
            usd_per_hour=_num(entry["usd_per_hour"], where, f"prices.{tier}.usd_per_hour",
                              "usd_per_hour"),
            date=_text(_date_text(entry["date"]), where, f"prices.{tier}.date"),
            source=_text(entry["source"], where, f"prices.{tier}.source"),
            provider=_text(entry["provider"], where, f"prices.{tier}.provider"),
        )

    sources = data["sources"]
    if (not isinstance(sources, list) or not sources
            or not all(isinstance(s, str) and s.strip() for s in sources)):
        raise ProfileError(f"{where}: field 'sources' must be a non-empty list of strings "
                           "(where each figure comes from)", field="sources")
    notes = data.get("notes", "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        raise ProfileError(f"{where}: field 'notes' must be a string, got {type(notes).__name__}",
                           field="notes")

    # Utilisation constants: from the file, else inherited from the family's built-ins.
    given = {k: _num(data[k], where, k, k) for k in _UTILIZATION_KEYS if k in data}
    calibration = (_parse_calibration(data["calibration"], where) if "calibration" in data
                   else None)
    defaults_from = ""
    lacking = [k for k in _UTILIZATION_KEYS if k not in given]
    if lacking:
        if origin == BUILTIN_ORIGIN:  # a packaging bug; also keeps family_defaults acyclic
            raise ProfileError(f"{where}: built-in profiles must give "
                               f"{', '.join(_UTILIZATION_KEYS)}", field=lacking[0])
        ref = family_defaults(family)
        if ref is None:
            raise ProfileError(
                f"{where}: field(s) {', '.join(repr(k) for k in lacking)} required: family "
                f"{quote(family)} has no built-in profiles to inherit calibrated defaults from; "
                f"give them (measured on your cluster) or set family to the nearest of "
                f"{', '.join(KNOWN_FAMILIES)}", field=lacking[0],
                hint="set family to a known one, or pin the values")
        if not given:
            defaults_from = ref.id
            calibration = calibration or ref.calibration
        else:
            calibration = calibration or Calibration(
                "measured", note=f"{', '.join(given)} pinned in the file; "
                                 f"{', '.join(lacking)} from the built-in '{ref.id}'")
        given.update({k: getattr(ref, k) for k in lacking})
    if calibration is None:
        calibration = Calibration("measured", note="utilisation constants pinned in the file")

    return HardwareProfile(
        id=profile_id,
        display_name=_text(data["display_name"], where, "display_name"),
        vendor=_text(data["vendor"], where, "vendor"),
        generation=_text(data["generation"], where, "generation"),
        family=family,
        peak_tflops=peak,
        memory_gb=_num(data["memory_gb"], where, "memory_gb", "memory_gb"),
        memory_bandwidth_tb_per_s=_num(data["memory_bandwidth_tb_per_s"], where,
                                       "memory_bandwidth_tb_per_s",
                                       "memory_bandwidth_tb_per_s"),
        scale_up_domain_chips=_domain(up["domain_chips"], where),
        scale_up_gb_per_s=_num(up["gb_per_s"], where, "scale_up.gb_per_s", "scale_up.gb_per_s"),
        scale_out_gb_per_s=_num(out["gb_per_s"], where, "scale_out.gb_per_s",
                                "scale_out.gb_per_s"),
        power_w=_num(data["power_w"], where, "power_w", "power_w"),
        prices=prices,
        train_mfu=given["train_mfu"],
        train_goodput=given["train_goodput"],
        inference_utilization=given["inference_utilization"],
        calibration=calibration,
        scale_up_link=links["scale_up"],
        scale_out_link=links["scale_out"],
        sources=tuple(s.strip() for s in sources),
        notes=notes.strip(),
        origin=origin,
        warnings=tuple(warnings),
        defaults_from=defaults_from,
    )


# --------------------------------------------------------------------------------------
# YAML parsing (safe loader only; duplicate keys are errors)
# --------------------------------------------------------------------------------------


def _parse_yaml(raw: bytes, where: str) -> Any:
    if not raw.strip():
        raise ProfileError(f"{where}: file is empty; expected a YAML mapping with fields "
                           f"{', '.join(_V2_REQUIRED)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{where}: not a UTF-8 text file (byte {exc.start}); expected a YAML "
                           "hardware profile") from None
    return load_yaml_text(text, where, ProfileError, what="profile")


def load_profile_file(path: str | Path) -> HardwareProfile:
    """Load and validate one profile YAML file (a user's or a copy of a built-in).

    The profile's ``origin`` is the file path. Only a regular file of at most
    :data:`~estimator.fileio.MAX_PROFILE_BYTES` is read (a device, pipe or folder is refused
    without being read). Raises :class:`ProfileError` naming the file.
    """
    return profile_from_dict(_read_profile_data(Path(path)), where=str(path), origin=str(path))


def _read_profile_data(p: Path) -> Any:
    from estimator.fileio import MAX_PROFILE_BYTES, read_problem, read_user_bytes

    try:
        raw = read_user_bytes(p, max_bytes=MAX_PROFILE_BYTES, what="hardware profile")
    except FileNotFoundError:
        raise ProfileError(f"{p}: hardware profile file not found", field="hardware") from None
    except OSError as exc:
        raise ProfileError(f"{p}: hardware profile file {read_problem(exc)}",
                           field="hardware") from None
    return _parse_yaml(raw, str(p))


# --------------------------------------------------------------------------------------
# Built-ins, user directory, lookup
# --------------------------------------------------------------------------------------


def _builtin_entries() -> list[tuple[str, bytes]]:
    """(file name, bytes) of every built-in profile YAML file."""
    try:
        folder = resources.files("estimator.hardware_profiles")
    except ModuleNotFoundError:
        # Running from a source checkout without installing: the package-dir mapping in
        # pyproject.toml is not active, so read the top-level folder directly.
        folder = Path(__file__).resolve().parent.parent / "hardware_profiles"
    entries = [e for e in folder.iterdir() if e.name.endswith((".yaml", ".yml"))]
    return [(e.name, e.read_bytes()) for e in sorted(entries, key=lambda e: e.name)]


@cache
def _builtin_profiles() -> tuple[HardwareProfile, ...]:
    out = []
    for name, raw in _builtin_entries():
        where = f"built-in profile {name}"
        out.append(profile_from_dict(_parse_yaml(raw, where), where=where))
    ids = [p.id for p in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:  # a packaging bug, not a user error
        raise ProfileError(f"built-in profiles: duplicate id(s) {', '.join(dup)}")
    return tuple(out)


def builtin_profiles() -> dict[str, HardwareProfile]:
    """The profiles shipped in the package, by id (parsed once per process)."""
    return {p.id: p for p in _builtin_profiles()}


def user_profile_dir() -> Path:
    """Where user profiles live: ``$ESTIMATOR_PROFILE_DIR`` if set, else
    ``platformdirs.user_config_dir("llm-cost-estimator") / "hardware_profiles"``."""
    env = os.environ.get(ENV_PROFILE_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "hardware_profiles"


def load_profiles(user_dir: Path | str | None = None) -> ProfileSet:
    """Built-in profiles, then every ``*.yaml``/``*.yml`` in ``user_dir`` (default:
    :func:`user_profile_dir`) in name order; a user file adds a profile or replaces the
    built-in with the same id. Files that fail to load are reported in ``errors`` (and, when
    their id can be read, in ``failed_ids``) and skipped; so is a folder that cannot be read
    (the built-ins are then used). Two user files with the same id: the first (by name) wins
    and the second is reported. Never blocks on a pipe or device, and reads at most
    :data:`~estimator.fileio.MAX_FOLDER_FILES` files.
    """
    from estimator.fileio import list_user_folder

    result = ProfileSet(profiles=builtin_profiles())
    folder = Path(user_dir) if user_dir is not None else user_profile_dir()
    files, problems = list_user_folder(folder, "user profile folder")
    result.errors.extend(ProfileError(msg, field=FOLDER_FIELD) for msg in problems)
    from_user: dict[str, str] = {}
    for path in files:
        data = None
        try:
            data = _read_profile_data(path)
            profile = profile_from_dict(data, where=str(path), origin=str(path))
        except ProfileError as exc:
            result.errors.append(exc)
            pid = data.get("id") if isinstance(data, dict) else None
            if isinstance(pid, str) and _ID_RE.match(pid.strip()):
                result.failed_ids.setdefault(pid.strip(), str(path))
            continue
        if profile.id in from_user:
            result.errors.append(ProfileError(
                f"{path}: field 'id' = {quote(profile.id)} is already defined by "
                f"{from_user[profile.id]}; ignored (each user profile needs its own id)",
                field="id", value=profile.id))
            result.duplicate_ids.setdefault(profile.id, []).append(str(path))
            continue
        from_user[profile.id] = str(path)
        result.profiles[profile.id] = profile
    return result


def get_profile(id_or_path: str | Path | HardwareProfile,
                profiles: ProfileSet | None = None) -> HardwareProfile:
    """A profile by id (built-in or user) or from a YAML path.

    ``profiles`` defaults to :func:`load_profiles`. An unknown id raises
    :class:`ProfileError` listing the known ids (and any user files that failed to load).
    """
    if isinstance(id_or_path, HardwareProfile):
        return id_or_path
    key = str(id_or_path).strip()
    pset = profiles if profiles is not None else load_profiles()
    if key in pset.profiles:
        return pset.profiles[key]
    if key.lower() in pset.profiles:
        return pset.profiles[key.lower()]
    from estimator.fileio import is_path_ref

    if is_path_ref(key):
        return load_profile_file(key)
    msg = (f"unknown hardware {quote(key, 60)}: use one of {', '.join(pset.profiles)} "
           "or a path to a hardware profile .yaml file")
    if pset.errors:
        msg += f" ({len(pset.errors)} user profile file(s) failed to load: {pset.errors[0]})"
    raise ProfileError(msg, field="hardware", value=key)
