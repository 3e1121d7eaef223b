"""The Qt side of one estimating session: the current scenario, its estimate and its chart data.

:class:`Session` is the only object of the window that calls the core. Views edit it through
:meth:`Session.set_text` (what the user typed into a field) and :meth:`Session.update` (typed
values), and listen to its signals; they never compute. Rapid edits (a slider being dragged,
keys typed) are coalesced: each edit only records the new scenario and (re)starts a zero-delay
single-shot timer, so the core runs at most once per event-loop turn, on the latest inputs.

Bad input never replaces the estimate on screen: text that is not a number, a negative value or
an unreachable target is reported through ``error_changed`` naming the field and the fix, and
the last valid scenario and estimate stay current.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from estimator.catalogue import Catalogue, default_catalogue
from estimator.engine import Estimate, compare, estimate
from estimator.errors import EstimatorError, InputError, UnreachableTargetError
from estimator.fields import check_value, format_value, parse_text, phrase, ref
from estimator.scenario import FIELDS, TARGET_FIELD, Scenario, load_scenario, save_scenario

try:  # chart data: built by a sibling module; the window still runs without it
    from estimator.curves import Curves, compute_curves
except ImportError:  # pragma: no cover - only while curves.py is missing
    Curves = Any  # type: ignore[misc,assignment]
    compute_curves = None


#: A new target mode's field filled from the current plan, by the field's kind.
_PLAN_VALUE_BY_KIND = {"usd": "cost_usd", "days": "wall_clock_days", "flops": "train_flops_6nd",
                       "loss": "loss"}


def _target_from_plan(kind: str, est: Estimate | None) -> float | None:
    key = _PLAN_VALUE_BY_KIND.get(kind)
    if est is None or key is None:
        return None
    return float(f"{getattr(est, key):.3g}")


def label_of(name: str) -> str:
    """How the window names a scenario field: its label (declared in the scenario's field
    specs)."""
    spec = FIELDS.get(name)
    return spec.label if spec is not None else name.replace("_", " ")


def friendly_message(exc: BaseException | str) -> str:
    """An error as the window words it: every field it refers to named by its label (the CLI
    names the same fields by their flags)."""
    if isinstance(exc, EstimatorError):
        return phrase(exc, label_of, flag_hints=False)
    return str(exc)


def parse_field(name: str, text: str) -> Any:
    """Parse what the user typed into field ``name`` with the scenario's one grammar
    (:func:`estimator.fields.parse_text`) and check it against the field's bounds; raise
    InputError (``field`` = name) with a message for the window. Empty text gives None for
    optional fields."""
    spec = FIELDS[name]
    if spec.kind == "text" and not str(text).strip():
        return ""  # free text (a scenario's name) may be left empty
    try:
        value = parse_text(spec, text)
    except ValueError as exc:
        raise InputError(f"{ref(name)}: {exc}", field=name, value=text,
                         expected=spec.expected) from None
    check_value(spec, value)
    return value


def format_field(name: str, value: Any) -> str:
    """A scenario value as the user would type it: 70B, 1.4T, 5.76e23, 29%, 2.1."""
    return format_value(FIELDS.get(name), value)


class Session(QtCore.QObject):
    """The current scenario, its estimate, chart data and hardware comparison.

    ``scenario`` is always the last *valid* scenario (its estimate succeeded) and ``estimate``,
    ``curves`` and ``comparison`` are its results. ``errors`` maps a field name to the message
    shown at that field while its typed value is rejected.
    """

    # payload: (Estimate, Curves or None); emitted after every successful recompute
    estimate_changed = QtCore.Signal(object, object)
    # payload: (field name or "", message or ""); "" message clears the field's error
    error_changed = QtCore.Signal(str, str)
    # payload: Scenario; the inputs changed (views re-sync their widgets)
    scenario_changed = QtCore.Signal(object)
    # payload: bool, unsaved changes
    dirty_changed = QtCore.Signal(bool)
    # payload: Path or None, the file the scenario was last saved to or opened from
    path_changed = QtCore.Signal(object)
    # payload: a one-line notice for the status bar (e.g. an automatic fallback)
    notice = QtCore.Signal(str)

    def __init__(self, scenario: Scenario | None = None, parent=None, *, interval_ms: int = 0):
        super().__init__(parent)
        self.scenario: Scenario = (scenario or Scenario()).validated()
        self.pending: Scenario = self.scenario
        self.estimate: Estimate | None = None
        self.curves: Curves | None = None
        self._comparison: tuple[Scenario, list[Estimate]] | None = None
        self.errors: dict[str, str] = {}
        self.path: Path | None = None
        self.dirty = False
        self.last_compute_ms = 0.0
        self.compute_count = 0
        self._changed_fields: list[str] = []
        self._catalogue_in_use: Catalogue | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.recompute)

    @property
    def catalogue(self) -> Catalogue:
        """The laws and profiles (built-in and user), loaded once and reloaded only when a
        user folder changes. While a recompute runs and its views redraw, the one catalogue
        the estimate used (the folders are looked at once per edit, not once per view)."""
        return self._catalogue_in_use or default_catalogue()

    # -- editing ---------------------------------------------------------------------------
    def set_text(self, name: str, text: str) -> bool:
        """The user typed ``text`` into field ``name``. Returns False (and reports the error at
        that field) when it is not a valid value."""
        try:
            value = parse_field(name, text)
        except InputError as exc:
            self._set_error(name, friendly_message(exc))
            return False
        return self.update(**{name: value})

    def update(self, **changes: Any) -> bool:
        """Apply typed values to the scenario and schedule a recompute (coalesced). Returns
        False when the inputs are rejected (the error goes to the named field)."""
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown scenario fields {sorted(unknown)}")
        base = self.pending
        if all(getattr(base, k) == v for k, v in changes.items()):
            for k in changes:
                self._clear_error(k)
            return True
        candidate = replace(base, **changes)
        try:
            candidate.validated()
        except InputError as exc:
            self._set_error(self._field_for(exc, list(changes)), friendly_message(exc))
            return False
        for k in changes:
            self._clear_error(k)
        self.pending = candidate
        self._changed_fields.extend(changes)
        self._set_dirty(True)
        self._timer.start()
        return True

    def set_mode(self, mode: str) -> bool:
        """Switch the target mode, keeping the current plan: the new target's fields are filled
        from the current estimate (e.g. target loss = the plan's loss)."""
        s, est = self.pending, self.estimate
        if mode == s.mode:
            return True
        upd: dict[str, Any] = {"mode": mode}
        if s.mode == "model":  # params/tokens were the model; as constraints they would bind
            upd.update(params=None, tokens=None, tokens_per_param=None)
        if mode == "loss":
            upd["target_loss"] = round(est.loss, 3) if est else (s.target_loss or 2.0)
        elif mode == "compute":
            upd["compute_flops"] = float(f"{est.train_flops_6nd:.3g}") if est else 1e24
        elif mode == "model":
            upd.update(params=float(f"{est.params:.3g}") if est else 70e9,
                       tokens=float(f"{est.tokens:.3g}") if est else 1.4e12,
                       tokens_per_param=None)
        elif mode == "match":
            upd.update(match_params=s.match_params or 70e9, match_tokens=s.match_tokens or 1.4e12)
        else:  # a mode declared later (e.g. a dollar budget, a deadline): its target from the
            target = TARGET_FIELD.get(mode)  # current plan by the target's kind
            if target in FIELDS and getattr(s, target) is None:
                guess = _target_from_plan(FIELDS[target].kind, est)
                if guess is not None:
                    upd[target] = guess
        for k in ("target_loss", "compute_flops", "params", "tokens", "tokens_per_param",
                  "match_params", "match_tokens", TARGET_FIELD.get(mode, "")):
            self._clear_error(k)
        return self.update(**upd)

    def set_hardware(self, hardware: str) -> bool:
        """Switch the training hardware; a precision or price tier the chip does not offer
        falls back to bf16 / on-demand instead of failing."""
        upd: dict[str, Any] = {"hardware": hardware}
        try:
            profile = self.catalogue.profile(hardware)
        except EstimatorError as exc:
            self._set_error("hardware", friendly_message(exc))
            return False
        notes = []
        if self.pending.precision not in profile.peak_tflops:
            upd["precision"] = "bf16"
            notes.append(f"{profile.display_name} has no {self.pending.precision.upper()} "
                         "throughput: precision set to BF16")
        if self.pending.price_tier not in profile.prices and "on_demand" in profile.prices:
            upd["price_tier"] = "on_demand"
            notes.append(f"{profile.display_name} has no {self.pending.price_tier} price: "
                         "using on-demand")
        if notes:
            self.notice.emit("; ".join(notes))
        self._clear_error("precision")
        self._clear_error("price_tier")
        return self.update(**upd)

    def set_scenario(self, scenario: Scenario, *, path: Path | None = None,
                     dirty: bool = False) -> None:
        """Replace the whole scenario (New, Open, restore) and recompute now."""
        scenario = scenario.validated()
        for name in list(self.errors):
            self._clear_error(name)
        self.pending = scenario
        self._changed_fields = []
        self._timer.stop()
        self.recompute(force_signal=True)
        self.path = Path(path) if path is not None else None
        self.path_changed.emit(self.path)
        self._set_dirty(dirty, force=True)

    # -- computing -------------------------------------------------------------------------
    def flush(self) -> None:
        """Run a pending recompute now (tests, saving, exporting)."""
        if self._timer.isActive():
            self._timer.stop()
            self.recompute()

    def recompute(self, force_signal: bool = False) -> bool:
        """Estimate the pending scenario; on success it becomes current and every view is told."""
        s = self.pending
        changed = self._changed_fields
        self._changed_fields = []
        t0 = time.perf_counter()
        cat = default_catalogue()
        self._catalogue_in_use = cat
        try:
            try:
                est = estimate(s, catalogue=cat)
                curves = (compute_curves(s, est, catalogue=cat) if compute_curves is not None
                          else None)
            except EstimatorError as exc:
                self._reject(s, exc, changed)
                return False
            self.last_compute_ms = (time.perf_counter() - t0) * 1000.0
            self.compute_count += 1
            self.scenario, self.estimate, self.curves = s, est, curves
            for name in changed:
                self._clear_error(name)
            self.scenario_changed.emit(s)
            self.estimate_changed.emit(est, curves)
            return True
        finally:
            self._catalogue_in_use = None

    @property
    def comparison(self) -> list[Estimate]:
        """The current scenario on every hardware profile (:func:`compare`), computed when
        first asked for after a change (the table is not always on screen)."""
        if self._comparison is None or self._comparison[0] != self.scenario:
            self._comparison = (self.scenario, compare(self.scenario, catalogue=self.catalogue))
        return self._comparison[1]

    def _reject(self, s: Scenario, exc: EstimatorError, changed: list[str]) -> None:
        """The core refused ``s``: report at the field, go back to the last valid scenario."""
        name = self._field_for(exc, changed)
        if isinstance(exc, UnreachableTargetError) and name not in FIELDS:
            name = TARGET_FIELD[s.mode]
        self.pending = self.scenario
        self._set_error(name, friendly_message(exc))

    def _field_for(self, exc: Exception, changed: list[str]) -> str:
        """The field an error is about: the one it names (``exc.field``), else the target the
        user just changed, else the last field changed."""
        named = getattr(exc, "field", None)
        if named in FIELDS:
            return named
        if isinstance(exc, UnreachableTargetError):
            for f in ("target_loss", "compute_flops", "match_params", "match_tokens"):
                if f in changed:
                    return f
        return changed[-1] if changed else ""

    # -- errors ----------------------------------------------------------------------------
    def _set_error(self, name: str, message: str) -> None:
        self.errors[name] = message
        self.error_changed.emit(name, message)

    def _clear_error(self, name: str) -> None:
        if self.errors.pop(name, None) is not None:
            self.error_changed.emit(name, "")

    # -- files -----------------------------------------------------------------------------
    def _set_dirty(self, dirty: bool, force: bool = False) -> None:
        if dirty != self.dirty or force:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    def save(self, path: str | Path, *, overwrite_readonly: bool = False) -> None:
        """Save the current (valid) scenario as YAML, atomically; the session becomes clean.
        A read-only file raises :class:`~estimator.errors.ReadOnlyFileError` unless
        ``overwrite_readonly``."""
        self.flush()
        save_scenario(self.scenario, path, overwrite_readonly=overwrite_readonly)
        self.path = Path(path)
        self.path_changed.emit(self.path)
        self._set_dirty(False)

    def open(self, path: str | Path) -> None:
        """Load a scenario file (validated) and make it current. Raises ScenarioError."""
        scenario = load_scenario(path)
        try:
            estimate(scenario, catalogue=self.catalogue)
        except EstimatorError as exc:
            raise InputError(f"{Path(path).name}: {friendly_message(exc)}") from None
        self.set_scenario(scenario, path=Path(path), dirty=False)

    def new(self) -> None:
        self.set_scenario(Scenario(), path=None, dirty=False)

    # -- helpers for views -----------------------------------------------------------------
    def irreducible_loss(self) -> float:
        try:
            return float(self.catalogue.law(self.scenario.law).irreducible_loss)
        except EstimatorError:
            return 0.0

    def is_finite_estimate(self) -> bool:
        est = self.estimate
        return est is not None and all(
            math.isfinite(v) for v in est.to_dict().values() if isinstance(v, float))
