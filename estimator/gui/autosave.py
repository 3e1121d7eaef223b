"""Per-window autosave: unsaved work survives a crash, and no window ever touches another's.

Every window owns one *slot*: a JSON file ``session-<pid>-<start>-<random>.json`` in the
autosave folder holding its unsaved scenario and its *owner* (process id, process start time,
host). Only the owner writes or removes its slot (Save, New, Open and closing without saving
remove it); nothing else does, so window B's autosave, Save or close never touches window A's.

A slot whose owner process is gone (no such process id, or one that started at another time:
the id was reused) is an *orphan*: the work of a window that crashed or was killed. At start-up
every orphan is offered for restore. A window takes an orphan by renaming it to a name of its
own first (:func:`claim`): a rename succeeds once, so two windows starting together never
both restore (or delete) the same work.

Writes are atomic (:func:`estimator.fileio.atomic_write_text`): a kill mid-write leaves the
previous autosave whole, plus at most a hidden temporary file, which the next start-up removes
once its owner is gone (:func:`sweep`). No Qt here: the kill tests drive it from plain
processes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estimator.errors import EstimatorError, ScenarioError
from estimator.fileio import MAX_SCENARIO_BYTES, atomic_write_text, read_problem, read_user_text
from estimator.scenario import Scenario

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: Slot files: session-<pid>-<start code>-<random>.json (claimed: claimed-<...>.json).
_SLOT_RE = re.compile(r"^(?:session|claimed)-(\d+)-([0-9a-f]+)-[0-9a-f]+(?:-[0-9a-f]+)?\.json$")
_TEMP_RE = re.compile(r"^\.((?:session|claimed)-\d+-[0-9a-f]+-[0-9a-f]+(?:-[0-9a-f]+)?\.json)"
                      r"\..+\.tmp$")
#: The single autosave of earlier versions (one file shared by every window).
LEGACY_NAMES = ("autosave.yaml", "autosave.json")
#: Process start times closer than this are the same process (psutil rounds; /proc ticks).
_START_TOLERANCE_S = 1.0


# --------------------------------------------------------------------------------------
# Owners: which process a slot belongs to, and whether it still runs
# --------------------------------------------------------------------------------------


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if there is no such
    process. psutil where installed (every OS); else Linux's /proc."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil ships with the gui extra
        psutil = None
    if psutil is not None:
        try:
            return float(psutil.Process(pid).create_time())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except (psutil.AccessDenied, OSError):  # it exists, but we may not look
            return -1.0
    try:  # pragma: no cover - the fallback without psutil
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:  # pragma: no cover
        return None
    except (OSError, ValueError, StopIteration, IndexError):  # pragma: no cover
        return -1.0


@dataclass(frozen=True)
class Owner:
    """The process that owns a slot: id, start time (s since the epoch) and host name."""

    pid: int
    started: float
    host: str

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started, "host": self.host}

    @classmethod
    def from_dict(cls, d: Any) -> Owner | None:
        try:
            return cls(int(d["pid"]), float(d["started"]), str(d.get("host", "")))
        except (TypeError, KeyError, ValueError, AttributeError):
            return None

    @property
    def code(self) -> str:
        """The start time as it appears in slot names (hex milliseconds)."""
        return f"{max(0, int(self.started * 1000)):x}"

    def alive(self) -> bool:
        """True while this process runs: its id exists and started at the recorded time (an id
        reused by a later process does not count). The host is not compared: a renamed laptop
        must still get its work back."""
        if self.pid == os.getpid():
            return abs(self.started - current_owner().started) < _START_TOLERANCE_S
        started = process_start_time(self.pid)
        if started is None:
            return False
        if started < 0:  # exists, start time unknown: assume it is the owner
            return True
        return abs(started - self.started) < _START_TOLERANCE_S


_CURRENT: Owner | None = None


def current_owner() -> Owner:
    """This process as an owner (computed once)."""
    global _CURRENT
    if _CURRENT is None or _CURRENT.pid != os.getpid():  # a fork gets its own
        started = process_start_time(os.getpid())
        _CURRENT = Owner(os.getpid(), started if started and started > 0 else time.time(),
                         socket.gethostname())
    return _CURRENT


def _owner_from_name(name: str) -> tuple[int, str] | None:
    m = _SLOT_RE.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


# --------------------------------------------------------------------------------------
# A window's slot
# --------------------------------------------------------------------------------------


@dataclass
class Slot:
    """One window's autosave file in ``folder``. Only :meth:`write` and :meth:`remove` touch
    it, and only this window calls them."""

    folder: Path
    owner: Owner = field(default_factory=current_owner)
    token: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def path(self) -> Path:
        return Path(self.folder) / f"session-{self.owner.pid}-{self.owner.code}-{self.token}.json"

    def write(self, scenario: Scenario, original: str | Path | None = None) -> Path:
        """Save ``scenario`` (unsaved work of the file ``original``, if any) atomically.
        Raises :class:`OSError` when the folder cannot be written."""
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        doc = {
            "schema_version": SCHEMA_VERSION,
            "owner": self.owner.to_dict(),
            "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "saved_at_epoch": time.time(),
            "path": str(original) if original else None,
            "scenario": scenario.to_dict(),
        }
        return atomic_write_text(self.path, json.dumps(doc, indent=1, allow_nan=False) + "\n")

    def remove(self) -> None:
        """Remove this window's autosave (after Save, New, Open or a close without saving)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------------------
# Orphans: the work of windows that died
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Orphan:
    """An autosave whose owner is gone."""

    path: Path
    owner: Owner | None
    saved_at: str = ""
    original: str | None = None
    legacy: bool = False

    def describe(self) -> str:
        """'unsaved changes to plan.yaml (autosaved 2026-03-01 10:02:11)'."""
        what = (f"unsaved changes to {Path(self.original).name}" if self.original
                else "an unsaved scenario")
        when = f" (autosaved {self.saved_at})" if self.saved_at else ""
        host = ""
        if self.owner is not None and self.owner.host and self.owner.host != socket.gethostname():
            host = f" on {self.owner.host}"
        return f"{what}{when}{host}"


def _read_doc(path: Path) -> dict:
    text = read_user_text(path, max_bytes=MAX_SCENARIO_BYTES * 4, what="autosave")
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def find_orphans(folder: str | Path) -> list[Orphan]:
    """Every autosave in ``folder`` whose owner process is gone, oldest first (including the
    single autosave of earlier versions). Unreadable slots count as orphans too (their
    restore reports why). Never raises :class:`OSError`."""
    folder = Path(folder)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out: list[tuple[float, Orphan]] = []
    for name in names:
        parsed = _owner_from_name(name)
        if parsed is None:
            continue
        path = folder / name
        pid, code = parsed
        # liveness from the name: a claimed slot belongs to the window that claimed it
        if Owner(pid, int(code, 16) / 1000.0, "").alive():
            continue
        try:
            doc = _read_doc(path)
            owner = Owner.from_dict(doc.get("owner"))
        except (OSError, ValueError, UnicodeDecodeError):
            doc, owner = {}, None
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        original = doc.get("path") if isinstance(doc.get("path"), str) else None
        saved = doc.get("saved_at") if isinstance(doc.get("saved_at"), str) else ""
        out.append((mtime, Orphan(path, owner, saved[:32], original)))
    legacy = folder / LEGACY_NAMES[0]
    if legacy.is_file():
        meta: dict = {}
        try:
            meta = _read_doc(folder / LEGACY_NAMES[1])
        except (OSError, ValueError, UnicodeDecodeError):
            pass
        original = meta.get("path") if isinstance(meta.get("path"), str) else None
        saved = meta.get("saved_at") if isinstance(meta.get("saved_at"), str) else ""
        out.append((0.0, Orphan(legacy, None, saved[:32], original, legacy=True)))
    return [o for _, o in sorted(out, key=lambda t: t[0])]


def sweep(folder: str | Path) -> int:
    """Remove hidden temporary files that writers killed mid-write left behind, once their
    owner is gone. Returns how many were removed."""
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    removed = 0
    for name in names:
        m = _TEMP_RE.match(name)
        if not m:
            continue
        parsed = _owner_from_name(m.group(1))
        if parsed is None:
            continue
        pid, code = parsed
        if Owner(pid, int(code, 16) / 1000.0, "").alive():
            continue
        try:
            (folder / name).unlink()
            removed += 1
        except OSError:
            pass
    return removed


def claim(orphan: Orphan, slot: Slot) -> Path | None:
    """Take ``orphan`` for this window: rename it to a name of this process (so no other
    window offers it too, and a crash now leaves it an orphan again). Returns the claimed path,
    or None when another window took it first."""
    if orphan.legacy:
        return orphan.path
    target = Path(slot.folder) / (f"claimed-{slot.owner.pid}-{slot.owner.code}-{slot.token}-"
                                  f"{secrets.token_hex(2)}.json")
    try:
        os.rename(orphan.path, target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot claim autosave %s: %s", orphan.path, exc)
        return None
    return target


def load_claimed(path: Path) -> tuple[Scenario, str | None]:
    """The scenario of a claimed autosave and the file it was unsaved work of. Raises
    :class:`ScenarioError` (naming the autosave, quoting nothing of it) when it cannot be
    read."""
    if path.name == LEGACY_NAMES[0]:
        from estimator.scenario import load_scenario

        meta: dict = {}
        try:
            meta = _read_doc(path.with_name(LEGACY_NAMES[1]))
        except (OSError, ValueError, UnicodeDecodeError):
            pass
        original = meta.get("path") if isinstance(meta.get("path"), str) else None
        return load_scenario(path), original
    try:
        doc = _read_doc(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: autosave {read_problem(exc)}") from None
    except ValueError:
        raise ScenarioError(f"{path}: autosave is damaged (not valid JSON)") from None
    try:
        scenario = Scenario.from_dict(doc.get("scenario"), where=str(path))
    except EstimatorError:
        raise
    original = doc.get("path") if isinstance(doc.get("path"), str) else None
    return scenario, original


def discard(path: Path) -> None:
    """Delete a claimed (or legacy) autosave once the user chose, or once it is restored and
    rewritten under the new window's own slot."""
    paths = [path]
    if path.name == LEGACY_NAMES[0]:
        paths.append(path.with_name(LEGACY_NAMES[1]))
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove autosave %s: %s", p, exc)
