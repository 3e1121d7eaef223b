"""Hardware profiles: peak throughput, memory, interconnect, power, prices and default
utilisation of one accelerator, loaded from YAML.

Built-in profiles are data: one YAML file per accelerator in the top-level
``hardware_profiles/`` folder, shipped inside the wheel as the package
``estimator.hardware_profiles``. A user's profiles are YAML files in
:func:`user_profile_dir` (``$ESTIMATOR_PROFILE_DIR`` if set, else the platform config
directory); they add profiles or override built-ins by ``id`` and are loaded by the same
:func:`load_profile_file` (pint's habit: one loader for shipped and user definitions).

Figures and their sources are in ``../shared/reference/hardware.md`` (NVIDIA, AMD and Google
datasheets, dated cloud prices). Peak throughput is *dense* (no 2:4 sparsity) TFLOP/s per chip,
the denominator of MFU in the PaLM (Chowdhery et al. 2022, App. B) and Llama 3 (arXiv
2407.21783, Sec. 3.3) convention. The default ``train_mfu`` and ``train_goodput`` come from
:mod:`estimator.calibration`, which fits them to published runs.

Pure Python: no numpy, no Qt. Built-ins are parsed once per process.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from estimator.errors import InputError, ProfileError
from estimator.yamlio import load_yaml_text

SCHEMA_VERSION = 1
BUILTIN_ORIGIN = "built-in"
ENV_PROFILE_DIR = "ESTIMATOR_PROFILE_DIR"
APP_NAME = "llm-cost-estimator"

#: Precisions a profile may list in ``peak_tflops`` (dense TFLOP/s, or TOP/s for int8).
KNOWN_PRECISIONS = ("bf16", "fp16", "tf32", "fp8", "fp4", "int8")
#: Price tiers a profile may list in ``prices`` (USD per chip-hour).
PRICE_TIERS = ("on_demand", "reserved", "spot")

_REQUIRED_KEYS = (
    "schema_version",
    "id",
    "display_name",
    "vendor",
    "generation",
    "peak_tflops",
    "memory_gb",
    "memory_bandwidth_tbps",
    "interconnect_gbps",
    "power_w",
    "prices",
    "train_mfu",
    "train_goodput",
    "inference_utilization",
    "sources",
)
_OPTIONAL_KEYS = ("notes",)
_ALLOWED_KEYS = _REQUIRED_KEYS + _OPTIONAL_KEYS
_PRICE_KEYS = ("usd_per_hour", "date", "source")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# Bounds that catch typos and unit slips (TFLOP/s typed as FLOP/s, MB as GB), not physics.
# (field, lower bound exclusive, upper bound inclusive, unit/expectation for the message)
_BOUNDS: dict[str, tuple[float, float, str]] = {
    # Lower bounds too: a figure like 1e-300 TFLOP/s or an MFU of 1e-308 is a slip, and it
    # would overflow every estimate made with it.
    "peak_tflops": (0.1, 1e5, "dense TFLOP/s per chip"),
    "memory_gb": (0.1, 1e4, "GB of accelerator memory per chip"),
    "memory_bandwidth_tbps": (0.001, 1e3, "TB/s of memory bandwidth per chip"),
    "interconnect_gbps": (0.0, 1e5, "GB/s of scale-up interconnect per chip"),
    "power_w": (1.0, 2e4, "watts per chip"),
    "usd_per_hour": (0.0001, 1e3, "USD per chip-hour"),
    "train_mfu": (0.01, 1.0, "a fraction of peak"),
    "train_goodput": (0.01, 1.0, "a fraction of wall time"),
    "inference_utilization": (0.01, 1.0, "a fraction of peak"),
}


@dataclass(frozen=True)
class Price:
    """One price tier of a chip: USD per chip-hour, the date of the quote and its source."""

    usd_per_hour: float
    date: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"usd_per_hour": self.usd_per_hour, "date": self.date, "source": self.source}


@dataclass(frozen=True)
class HardwareProfile:
    """One accelerator. Units are in the field names; peak throughput is dense, per chip.

    ``train_mfu`` is model-FLOPs utilisation (6ND FLOPs over dense peak during productive
    steps); ``train_goodput`` is the share of paid accelerator-hours spent on productive steps
    (restarts, failures, evaluation excluded). Their product times peak is the effective
    throughput the cost model divides ``train_flops`` by. ``origin`` is ``"built-in"`` or the
    path of the user file. Construction validates the values (a ``ProfileError`` naming
    ``origin`` and the field); treat the dict fields as read-only.
    """

    id: str
    display_name: str
    vendor: str
    generation: str
    peak_tflops: dict[str, float]
    memory_gb: float
    memory_bandwidth_tbps: float
    interconnect_gbps: float
    power_w: float
    prices: dict[str, Price]
    train_mfu: float
    train_goodput: float
    inference_utilization: float
    sources: tuple[str, ...] = ()
    notes: str = ""
    origin: str = BUILTIN_ORIGIN

    def __post_init__(self) -> None:
        where = self._where()
        if not self.peak_tflops or "bf16" not in self.peak_tflops:
            raise ProfileError(f"{where}: field 'peak_tflops' must give at least 'bf16' "
                               "(dense TFLOP/s per chip)")
        for prec, value in self.peak_tflops.items():
            if prec not in KNOWN_PRECISIONS:
                raise ProfileError(f"{where}: field 'peak_tflops.{prec}' is not a known precision; "
                                   f"expected one of {', '.join(KNOWN_PRECISIONS)}")
            _check_bounds(value, where, f"peak_tflops.{prec}", "peak_tflops")
        for name in ("memory_gb", "memory_bandwidth_tbps", "interconnect_gbps", "power_w",
                     "train_mfu", "train_goodput", "inference_utilization"):
            _check_bounds(getattr(self, name), where, name, name)
        for tier, price in self.prices.items():
            if tier not in PRICE_TIERS:
                raise ProfileError(f"{where}: field 'prices.{tier}' is not a price tier; "
                                   f"expected one of {', '.join(PRICE_TIERS)}")
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
                             f"precision must be one of {', '.join(self.precisions())}")
        return self.peak_tflops[key] * 1e12

    def price_usd_per_hour(self, tier: str = "on_demand") -> float:
        """Price in USD per chip-hour for ``tier``; raises :class:`InputError` naming the
        tiers this profile has (use a price-per-hour override when none fits)."""
        if tier not in self.prices:
            have = ", ".join(t for t in PRICE_TIERS if t in self.prices) or "none"
            raise InputError(f"hardware '{self.id}' has no '{tier}' price; price tiers "
                             f"available: {have} (or give an explicit price per hour)")
        return self.prices[tier].usd_per_hour

    def price_tiers(self) -> list[str]:
        return [t for t in PRICE_TIERS if t in self.prices]

    @property
    def effective_train_fraction(self) -> float:
        """``train_mfu * train_goodput``: the share of peak turned into useful 6ND FLOPs."""
        return self.train_mfu * self.train_goodput

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain data: the YAML file format plus ``origin``."""
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "display_name": self.display_name,
            "vendor": self.vendor,
            "generation": self.generation,
            "peak_tflops": {p: self.peak_tflops[p] for p in self.precisions()},
            "memory_gb": self.memory_gb,
            "memory_bandwidth_tbps": self.memory_bandwidth_tbps,
            "interconnect_gbps": self.interconnect_gbps,
            "power_w": self.power_w,
            "prices": {t: self.prices[t].to_dict() for t in self.price_tiers()},
            "train_mfu": self.train_mfu,
            "train_goodput": self.train_goodput,
            "inference_utilization": self.inference_utilization,
            "sources": list(self.sources),
        }
        if self.notes:
            d["notes"] = self.notes
        d["origin"] = self.origin
        return d


@dataclass
class ProfileSet:
    """All profiles available: built-ins, then user files that add or override by id.

    ``errors`` holds one :class:`ProfileError` per user file that could not be loaded; a
    broken file never hides the good ones.
    """

    profiles: dict[str, HardwareProfile] = field(default_factory=dict)
    errors: list[ProfileError] = field(default_factory=list)

    def ids(self) -> list[str]:
        return list(self.profiles)

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self.profiles

    def __getitem__(self, profile_id: str) -> HardwareProfile:
        return self.profiles[profile_id]


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_bounds(value: float, where: str, field_name: str, bound_key: str) -> None:
    lo, hi, unit = _BOUNDS[bound_key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{where}: field '{field_name}' must be a number ({unit}), "
                           f"got {value!r}")
    try:
        ok = math.isfinite(value) and lo < value <= hi
    except OverflowError:  # an integer beyond the float range
        ok = False
    if not ok:
        raise ProfileError(f"{where}: field '{field_name}' = {value!r} is out of range; "
                           f"expected {unit} in ({lo:g}, {hi:g}]")


def _num(value: Any, where: str, field_name: str, bound_key: str) -> float:
    """A number from YAML; numeric strings such as '1e3' (YAML 1.1 reads them as str) pass."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    _check_bounds(value, where, field_name, bound_key)
    return float(value)  # cannot overflow: bounds checked


def _text(value: Any, where: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where}: field '{field_name}' must be a non-empty string, "
                           f"got {value!r}")
    return value.strip()


def _mapping(value: Any, where: str, field_name: str, expected: str) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: field '{field_name}' must be a mapping of {expected}, "
                           f"got {type(value).__name__}")
    return value


def profile_from_dict(data: Any, where: str, origin: str = BUILTIN_ORIGIN) -> HardwareProfile:
    """Build and validate a profile from plain data (a parsed YAML mapping).

    ``where`` names the file in messages; ``origin`` is stored on the profile. Raises
    :class:`ProfileError` naming ``where``, the field and what was expected.
    """
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping with fields {', '.join(_REQUIRED_KEYS)}; "
                           f"got {type(data).__name__}")
    keys = [str(k) for k in data]
    unknown = sorted(set(keys) - set(_ALLOWED_KEYS))
    if unknown:
        raise ProfileError(f"{where}: unknown field(s) {', '.join(repr(k) for k in unknown)}; "
                           f"allowed fields: {', '.join(_ALLOWED_KEYS)}")
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise ProfileError(f"{where}: missing field(s) {', '.join(repr(k) for k in missing)}")
    version = data["schema_version"]
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise ProfileError(f"{where}: field 'schema_version' must be {SCHEMA_VERSION}, "
                           f"got {version!r}")
    profile_id = _text(data["id"], where, "id")
    if not _ID_RE.match(profile_id):
        raise ProfileError(f"{where}: field 'id' must be lower-case letters, digits, '.', '_' "
                           f"or '-' (at most 64), got {profile_id!r}")

    peak_raw = _mapping(data["peak_tflops"], where, "peak_tflops",
                        "precision -> dense TFLOP/s, e.g. {bf16: 989.5}")
    peak: dict[str, float] = {}
    for prec, value in peak_raw.items():
        if prec not in KNOWN_PRECISIONS:
            raise ProfileError(f"{where}: field 'peak_tflops.{prec}' is not a known precision; "
                               f"expected one of {', '.join(KNOWN_PRECISIONS)}")
        peak[prec] = _num(value, where, f"peak_tflops.{prec}", "peak_tflops")
    if "bf16" not in peak:
        raise ProfileError(f"{where}: field 'peak_tflops.bf16' is required "
                           "(dense bf16 TFLOP/s per chip; the calibrated defaults refer to it)")

    prices_raw = _mapping(data["prices"], where, "prices",
                          f"tier ({', '.join(PRICE_TIERS)}) -> {{usd_per_hour, date, source}}")
    prices: dict[str, Price] = {}
    for tier, entry in prices_raw.items():
        if tier not in PRICE_TIERS:
            raise ProfileError(f"{where}: field 'prices.{tier}' is not a price tier; "
                               f"expected one of {', '.join(PRICE_TIERS)}")
        entry = _mapping(entry, where, f"prices.{tier}", "usd_per_hour, date, source")
        extra = sorted(set(map(str, entry)) - set(_PRICE_KEYS))
        if extra:
            raise ProfileError(f"{where}: unknown field(s) {', '.join(repr(k) for k in extra)} "
                               f"in 'prices.{tier}'; expected {', '.join(_PRICE_KEYS)}")
        for k in _PRICE_KEYS:
            if k not in entry:
                raise ProfileError(f"{where}: missing field 'prices.{tier}.{k}'")
        date = entry["date"]
        if not isinstance(date, str):  # YAML reads 2024-12-01 as a date: keep it as text
            date = str(date) if date is not None else ""
        prices[tier] = Price(
            usd_per_hour=_num(entry["usd_per_hour"], where, f"prices.{tier}.usd_per_hour",
                              "usd_per_hour"),
            date=_text(date, where, f"prices.{tier}.date"),
            source=_text(entry["source"], where, f"prices.{tier}.source"),
        )

    sources = data["sources"]
    if (not isinstance(sources, list) or not sources
            or not all(isinstance(s, str) and s.strip() for s in sources)):
        raise ProfileError(f"{where}: field 'sources' must be a non-empty list of strings "
                           "(where each figure comes from)")
    notes = data.get("notes", "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        raise ProfileError(f"{where}: field 'notes' must be a string, got {type(notes).__name__}")

    return HardwareProfile(
        id=profile_id,
        display_name=_text(data["display_name"], where, "display_name"),
        vendor=_text(data["vendor"], where, "vendor"),
        generation=_text(data["generation"], where, "generation"),
        peak_tflops=peak,
        memory_gb=_num(data["memory_gb"], where, "memory_gb", "memory_gb"),
        memory_bandwidth_tbps=_num(data["memory_bandwidth_tbps"], where,
                                   "memory_bandwidth_tbps", "memory_bandwidth_tbps"),
        interconnect_gbps=_num(data["interconnect_gbps"], where, "interconnect_gbps",
                               "interconnect_gbps"),
        power_w=_num(data["power_w"], where, "power_w", "power_w"),
        prices=prices,
        train_mfu=_num(data["train_mfu"], where, "train_mfu", "train_mfu"),
        train_goodput=_num(data["train_goodput"], where, "train_goodput", "train_goodput"),
        inference_utilization=_num(data["inference_utilization"], where,
                                   "inference_utilization", "inference_utilization"),
        sources=tuple(s.strip() for s in sources),
        notes=notes.strip(),
        origin=origin,
    )


# --------------------------------------------------------------------------------------
# YAML parsing (safe loader only; duplicate keys are errors)
# --------------------------------------------------------------------------------------


def _parse_yaml(raw: bytes, where: str) -> Any:
    if not raw.strip():
        raise ProfileError(f"{where}: file is empty; expected a YAML mapping with fields "
                           f"{', '.join(_REQUIRED_KEYS)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{where}: not a UTF-8 text file (byte {exc.start}); expected a YAML "
                           "hardware profile") from None
    return load_yaml_text(text, where, ProfileError, what="profile")


def load_profile_file(path: str | Path) -> HardwareProfile:
    """Load and validate one profile YAML file (a user's or a copy of a built-in).

    The profile's ``origin`` is the file path. Raises :class:`ProfileError` naming the file.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ProfileError(f"{p}: hardware profile file not found") from None
    except OSError as exc:
        raise ProfileError(f"{p}: cannot read hardware profile ({exc.__class__.__name__}: "
                           f"{exc.strerror or exc})") from None
    return profile_from_dict(_parse_yaml(raw, str(p)), where=str(p), origin=str(p))


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
    built-in with the same id. Files that fail to load are reported in ``errors``; two user
    files with the same id: the first (by name) wins and the second is reported.
    """
    result = ProfileSet(profiles=builtin_profiles())
    folder = Path(user_dir) if user_dir is not None else user_profile_dir()
    if not folder.is_dir():
        if folder.exists():
            result.errors.append(ProfileError(f"{folder}: user profile directory is not a "
                                              "directory"))
        return result
    try:
        files = sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith("."))
    except OSError as exc:
        result.errors.append(ProfileError(f"{folder}: cannot list user profile directory "
                                          f"({exc.strerror or exc})"))
        return result
    from_user: dict[str, str] = {}
    for path in files:
        try:
            profile = load_profile_file(path)
        except ProfileError as exc:
            result.errors.append(exc)
            continue
        if profile.id in from_user:
            result.errors.append(ProfileError(
                f"{path}: field 'id' = {profile.id!r} is already defined by "
                f"{from_user[profile.id]}; ignored (each user profile needs its own id)"))
            continue
        from_user[profile.id] = str(path)
        result.profiles[profile.id] = profile
    return result


def _is_file(key: str) -> bool:
    try:
        return bool(key) and Path(key).is_file()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL
        return False


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
    if key.endswith((".yaml", ".yml")) or _is_file(key):
        return load_profile_file(key)
    msg = (f"unknown hardware '{key}': use one of {', '.join(pset.profiles)} "
           "or a path to a hardware profile .yaml file")
    if pset.errors:
        msg += f" ({len(pset.errors)} user profile file(s) failed to load: {pset.errors[0]})"
    raise ProfileError(msg)
