"""Reading user YAML safely: one loader for laws, hardware profiles and scenarios.

* ``yaml.SafeLoader`` only: tags that construct Python objects are errors.
* Duplicate keys are errors (a silent last-wins is a typo trap).
* Aliases are refused: these are small hand-written files, and an alias "bomb" (a 1 KB file
  whose anchors expand to hundreds of millions of nodes) would explode the moment a value is
  printed in an error message.
* Every failure (syntax, constructor, an impossible date, nesting deep enough to exhaust the
  parser's recursion) becomes the caller's error type with the file, line and problem; the
  problem is quoted short and sanitised (never more than a few characters of the file).
"""

from __future__ import annotations

from typing import Any

import yaml

from estimator.textsafe import excerpt


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader without aliases and without duplicate keys."""

    def compose_node(self, parent, index):  # noqa: D102 (PyYAML API)
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not allowed; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: StrictSafeLoader, node, deep: bool = False):
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping, found {node.id}", node.start_mark
        )
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            dup = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping reports it
            dup = False
        if dup:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {str(key)[:60]!r}", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_CSafeLoader = getattr(yaml, "CSafeLoader", None)
if _CSafeLoader is not None:

    class _StrictCSafeLoader(_CSafeLoader):
        """libyaml's parser with SafeLoader's constructors and the duplicate-key check."""

    _StrictCSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                       _construct_mapping)


def _load_with_libyaml(text: str) -> tuple[bool, Any]:
    """(True, data) when libyaml parses ``text`` into a document without aliases (ten times
    faster than the pure-Python parser: the built-in profiles and laws are read on every
    start); (False, None) otherwise, and the pure-Python loader decides (the same data, and
    every error exactly as it words it)."""
    if _CSafeLoader is None:
        return False, None
    try:
        if any(isinstance(ev, yaml.events.AliasEvent)
               for ev in yaml.parse(text, Loader=_CSafeLoader)):
            return False, None
        return True, yaml.load(text, Loader=_StrictCSafeLoader)  # noqa: S506 - SafeLoader's
    except Exception:  # noqa: BLE001 - any failure: the pure-Python loader reports it
        return False, None


def load_yaml_text(text: str, where: str, error: type[Exception], what: str = "file") -> Any:
    """Parse ``text`` with :class:`StrictSafeLoader`; raise ``error`` naming ``where``."""
    ok, data = _load_with_libyaml(text)
    if ok:
        return data
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = excerpt(getattr(exc, "problem", None) or str(exc).splitlines()[0], 80)
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
            raise error(
                f"{where}: YAML tag not allowed{loc}: {problem}; a {what} must be plain "
                "data (mappings, lists, strings, numbers)"
            ) from None
        raise error(f"{where}: not valid YAML{loc}: {problem}") from None
    except RecursionError:
        raise error(f"{where}: not valid YAML: nested too deeply to be a {what}") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # PyYAML's scalar constructors raise these for e.g. an impossible date (2024-02-30)
        raise error(
            f"{where}: not valid YAML: a value cannot be read "
            f"({exc.__class__.__name__}: {excerpt(str(exc), 40)})"
        ) from None
