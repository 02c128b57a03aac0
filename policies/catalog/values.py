"""Plain values from resource properties, with unknown (preview-time) values made explicit.

CrossGuard hands a policy its properties wrapped in proxies that raise on any unknown value; the offline
plan writes unknown values as ``"[unknown]"``. :func:`plain` turns both into ordinary dicts and lists in
which every unknown value is the :data:`UNKNOWN` marker, so a check can decide what an unknown value
means (every rule in the catalog treats it as "cannot tell yet" and does not flag it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    _DictProxy,
    _ListProxy,
)


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNKNOWN: Final = _Marker("UNKNOWN")
"""A value the engine does not know yet (an output of a resource not created yet)."""
MISSING: Final = _Marker("MISSING")
"""A property that is not set."""

PLAN_UNKNOWN = "[unknown]"
"""How the offline plan writes an unknown value."""

_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
        PLAN_UNKNOWN,
    }
)


def plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars; unknown values become :data:`UNKNOWN`."""
    if isinstance(value, _DictProxy | _ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    if isinstance(value, str) and value in _SENTINELS:
        return UNKNOWN
    return value


class ShapeError(Exception):
    """A property holds a list, string, number or boolean where the rule reads an object: the rule cannot judge the
    resource (the gate's exit status 2, an error under CrossGuard), which must never read as "not set"."""

    def __init__(self, path: str, found: Any) -> None:
        kind = "a list" if isinstance(found, list) else "a string" if isinstance(found, str) else "a scalar"
        super().__init__(f"input {path} must be an object (found {kind})")
        self.path = path


def get(props: Any, path: str) -> Any:
    """The value at a dotted ``path``: :data:`MISSING` if any step is absent (or null), :data:`UNKNOWN` if unknown;
    :class:`ShapeError` if a step that must be an object holds anything else."""
    current = props
    done: list[str] = []
    for key in path.split("."):
        if current is UNKNOWN:
            return UNKNOWN
        if current is None or current is MISSING:
            return MISSING
        if not isinstance(current, dict):
            raise ShapeError(".".join(done) or "(the properties)", current)
        if key not in current:
            return MISSING
        current = current[key]
        done.append(key)
    return current


def known(value: Any) -> bool:
    """Whether ``value`` holds no unknown part (a list or dict with an unknown element is unknown)."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, list):
        return all(known(v) for v in value)
    return True


def show(value: Any) -> str:
    """A value as a message shows it: JSON text, or ``not set``."""
    if value is MISSING:
        return "not set"
    if value is UNKNOWN:
        return "unknown"
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    """A list property as a list (absent or unknown: empty)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A mapping property as a dict (absent or unknown: empty)."""
    return value if isinstance(value, dict) else {}
