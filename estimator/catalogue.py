"""The catalogue: every scaling law and hardware profile an estimate may use, loaded once.

Built-in laws and profiles ship in the package; a user adds or overrides them with YAML files in
the user folders (:func:`estimator.hardware.user_profile_dir`, :func:`user_law_dir`). A
:class:`Catalogue` is loaded once and passed explicitly to the engine, the curves and the faces
(pint's habit: one registry object). :func:`default_catalogue` keeps one per process and reloads
it only when a user folder changes (a cheap ``stat``), so user files are never re-read on every
recompute. A law or profile named by a file path is read once and cached by (path, modification
time, size).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from estimator.errors import EstimatorError, LawError
from estimator.fileio import is_path_ref, list_user_folder
from estimator.hardware import (
    FOLDER_FIELD,
    HardwareProfile,
    ProfileSet,
    get_profile,
    load_profiles,
)
from estimator.laws import (
    ScalingLaw,
    builtin_laws,
    get_law,
    law_from_dict,
    load_law_file,
    read_law_data,
)
from estimator.textsafe import quote

ENV_LAW_DIR = "ESTIMATOR_LAW_DIR"


def user_law_dir() -> Path:
    """Where user laws live: ``$ESTIMATOR_LAW_DIR`` if set, else the user config folder's
    ``laws`` (next to ``hardware_profiles``)."""
    env = os.environ.get(ENV_LAW_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    from estimator.hardware import APP_NAME

    return Path(user_config_dir(APP_NAME)) / "laws"


def _stamp(folder: Path | None) -> tuple:
    """What changes when files are added, removed or edited in ``folder``."""
    if folder is None:
        return ()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (OSError, ValueError):
        return ("missing",)
    out = []
    for e in entries:
        if e.name.endswith((".yaml", ".yml")) and not e.name.startswith("."):
            try:
                st = e.stat()
                out.append((e.name, st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((e.name, None, None))
    return tuple(out)


def _file_key(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (os.path.realpath(path), st.st_mtime_ns, st.st_size)


@dataclass
class Catalogue:
    """Laws and hardware profiles by id, with the user files that failed to load.

    ``law_origin[id]`` and ``HardwareProfile.origin`` say where each came from (``built-in`` or
    the file's path)."""

    laws: dict[str, ScalingLaw]
    profiles: ProfileSet
    law_errors: list[LawError] = field(default_factory=list)
    law_origin: dict[str, str] = field(default_factory=dict)
    #: law id -> user file that defines it but failed to load (the built-in, if any, is used)
    law_failed_ids: dict[str, str] = field(default_factory=dict)
    #: law id -> user files that define it again and were ignored
    law_duplicate_ids: dict[str, list[str]] = field(default_factory=dict)
    profile_dir: Path | None = None
    law_dir: Path | None = None
    _stamps: tuple = ()
    _files: dict = field(default_factory=dict, repr=False)

    # -- lookups -------------------------------------------------------------------------------
    def law(self, ref: str | ScalingLaw | None) -> ScalingLaw:
        """A law by id (built-in or user folder) or from a YAML path (read once, cached)."""
        if isinstance(ref, ScalingLaw):
            return ref
        key = str(ref or "epoch-2024")
        if key in self.laws:
            return self.laws[key]
        fk = _file_key(key) if is_path_ref(key) else None
        if fk is not None:
            hit = self._files.get(("law", fk))
            if hit is None:
                hit = load_law_file(key)
                self._files[("law", fk)] = hit
            return hit
        return get_law(key)  # raises the clear "unknown law" error

    def profile(self, ref: str | HardwareProfile) -> HardwareProfile:
        """A profile by id (built-in or user) or from a YAML path (read once, cached)."""
        if isinstance(ref, HardwareProfile):
            return ref
        key = str(ref).strip()
        if key in self.profiles.profiles or key.lower() in self.profiles.profiles:
            return get_profile(key, self.profiles)
        fk = _file_key(key) if is_path_ref(key) else None
        if fk is not None:
            hit = self._files.get(("profile", fk))
            if hit is None:
                hit = get_profile(key, self.profiles)
                self._files[("profile", fk)] = hit
            return hit
        return get_profile(key, self.profiles)

    @property
    def errors(self) -> list[EstimatorError]:
        """Every user file that failed to load (profiles and laws)."""
        return [*self.profiles.errors, *self.law_errors]

    # -- freshness -----------------------------------------------------------------------------
    def stale(self) -> bool:
        """True when a user folder changed since this catalogue was loaded."""
        return self._stamps != (_stamp(self.profile_dir), _stamp(self.law_dir))


def load_catalogue(profile_dir: Path | str | None = None,
                   law_dir: Path | str | None = None) -> Catalogue:
    """Built-in laws and profiles plus the user folders' files (defaults: the user config
    folders). A broken user file is reported in ``errors`` and never hides the others."""
    from estimator.hardware import user_profile_dir

    pdir = Path(profile_dir) if profile_dir is not None else user_profile_dir()
    ldir = Path(law_dir) if law_dir is not None else user_law_dir()
    profiles = load_profiles(pdir)
    laws = dict(builtin_laws())
    origin = {lid: "built-in" for lid in laws}
    files, problems = list_user_folder(ldir, "user law folder")
    errors: list[LawError] = [LawError(msg, field=FOLDER_FIELD) for msg in problems]
    failed: dict[str, str] = {}
    duplicates: dict[str, list[str]] = {}
    for path in files:
        data = None
        try:
            data = read_law_data(path)
            law = law_from_dict(data, where=str(path))
        except LawError as exc:
            errors.append(exc)
            lid = data.get("id") if isinstance(data, dict) else None
            if isinstance(lid, str) and lid.strip():
                failed.setdefault(lid.strip(), str(path))
            continue
        if law.id in origin and origin[law.id] != "built-in":
            errors.append(LawError(f"{path}: law id {quote(law.id)} is already defined by "
                                   f"{origin[law.id]}; ignored (give each law its own id)"))
            duplicates.setdefault(law.id, []).append(str(path))
            continue
        laws[law.id] = law
        origin[law.id] = str(path)
    return Catalogue(laws=laws, profiles=profiles, law_errors=errors, law_origin=origin,
                     law_failed_ids=failed, law_duplicate_ids=duplicates,
                     profile_dir=pdir, law_dir=ldir, _stamps=(_stamp(pdir), _stamp(ldir)))


_DEFAULT: Catalogue | None = None


def default_catalogue() -> Catalogue:
    """The process's catalogue of built-in and user laws and profiles, reloaded only when a
    user folder (or the environment variable naming it) changed."""
    global _DEFAULT
    from estimator.hardware import user_profile_dir

    pdir, ldir = user_profile_dir(), user_law_dir()
    if (_DEFAULT is None or _DEFAULT.profile_dir != pdir or _DEFAULT.law_dir != ldir
            or _DEFAULT.stale()):
        _DEFAULT = load_catalogue(pdir, ldir)
    return _DEFAULT


def catalogue_with_profiles(profiles) -> Catalogue:
    """A catalogue of the built-in laws and the given profiles (a ProfileSet, or a dict of id ->
    HardwareProfile), for callers that pass profiles explicitly (tests, benchmarks)."""
    if isinstance(profiles, Catalogue):
        return profiles
    if not isinstance(profiles, ProfileSet):
        profiles = ProfileSet(profiles=dict(profiles), errors=[])
    laws = dict(builtin_laws())
    return Catalogue(laws=laws, profiles=profiles, law_origin={k: "built-in" for k in laws})


def resolve(catalogue=None, profiles=None) -> Catalogue:
    """The catalogue to use: the one given, one built around ``profiles``, or the default."""
    if catalogue is not None:
        return catalogue
    if profiles is not None:
        return catalogue_with_profiles(profiles)
    return default_catalogue()
