"""Reading configuration-like input that may be careless or hostile: stack files, manifests, registries,
plans, stack outputs, suppression and enforcement files.

Every reader here fails closed with :class:`InputError`, whose message names the file (and the key or line
where it can) and never quotes a value: the caller turns it into exit status 2. What it refuses:

- anything that is not a regular file (a folder, a device such as ``/dev/zero``, a FIFO) or is larger than
  the cap for its kind, read with a bounded read so an endless stream cannot exhaust memory;
- text that is not UTF-8 (binary, Latin-1, UTF-16 with or without a byte-order mark);
- YAML with a duplicate key at any level (the last value would silently win), more than a few aliases (an
  alias bomb expands exponentially before any value is built), nesting deeper than :data:`MAX_DEPTH`, or
  tags that build anything but plain data;
- JSON with a duplicate key, ``NaN``/``Infinity``, numbers beyond what the reader will convert, or nesting
  deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1024 * 1024
"""Stack files, manifests, registries, suppression and enforcement files: 1 MiB is far beyond any real one."""
MAX_PLAN_BYTES = 256 * 1024 * 1024
"""plan.json and stack outputs: a 100,000-resource plan is about 200 MB."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted; real documents stay under 15."""
MAX_ALIASES = 32
"""YAML aliases accepted in one document; more is treated as an alias bomb."""
MAX_INT_BITS = 4096
"""Largest YAML integer accepted, in bits: JSON refuses integers of more than 4,300 digits (Python's limit on
converting text to int), but hexadecimal, octal and base-60 YAML integers are not held to it."""


class InputError(Exception):
    """Input the tools cannot judge: exit status 2. The message names the file and never holds a value."""


def read_text(path: Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; :class:`InputError` otherwise."""
    return decode(read_bytes(path, what=what, max_bytes=max_bytes), str(path), what)


def read_bytes(path: Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (a key file); :class:`InputError` otherwise."""
    shown = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such {what}") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the {what}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{shown}: is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{shown}: is not a regular file (a device, pipe or socket), not a {what}")
    if info.st_size > max_bytes:
        raise InputError(f"{shown}: the {what} is {info.st_size} bytes, more than the {max_bytes} accepted")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the {what}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(f"{shown}: the {what} is more than the {max_bytes} bytes accepted")
    return data


def decode(data: bytes, source: str, what: str) -> str:
    """Strict UTF-8, without a byte-order mark."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{source}: the {what} starts with a byte-order mark; save it as UTF-8 without one")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: the {what} is not UTF-8 text (invalid byte at offset {exc.start})") from None


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys, alias bombs and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _RefusedError(f"more than {MAX_ALIASES} aliases (line {event.start_mark.line + 1})")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _RefusedError(f"nesting deeper than {MAX_DEPTH} levels (line {event.start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _RefusedError(f"a mapping key that is not text (line {key_node.start_mark.line + 1})") from None
            if key in seen:
                raise _RefusedError(
                    f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                    f"(first at line {seen[key]}); the last value would silently win"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Hexadecimal, octal, binary and base-60 integers escape Python's limit on decimal digits; a long
        # base-60 one also takes quadratic time to build, so its length is checked first.
        too_large = f"an integer too large to use (line {node.start_mark.line + 1})"
        if len(str(node.value)) > MAX_INT_BITS + 8:
            raise _RefusedError(too_large)
        value: int = super().construct_yaml_int(node)
        if value.bit_length() > MAX_INT_BITS:
            raise _RefusedError(too_large)
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _RefusedError(f"a number that is infinite or not a number (line {node.start_mark.line + 1})")
        return value

    def construct_not_plain(self, node: yaml.Node) -> Any:
        raise _RefusedError(f"a {node.tag} value, which is not plain data (line {node.start_mark.line + 1})")


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
for _tag in ("binary", "set", "omap", "pairs"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader.construct_not_plain)


class _RefusedError(Exception):
    """A structural problem of a YAML or JSON document (its message holds no value)."""


def load_yaml(text: str, source: str, what: str) -> Any:
    """Plain data from YAML text; :class:`InputError` for a duplicate key, an alias bomb, deep nesting or
    invalid YAML. Keys in messages are the document's own keys, never its values."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _RefusedError as exc:
        raise InputError(f"{source}: the {what} has {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{source}: the {what} is not valid YAML{where}: {exc.problem or 'unreadable'}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError(f"{source}: the {what} is not valid YAML ({type(exc).__name__})") from None


def read_yaml(path: Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """:func:`read_text` then :func:`load_yaml`."""
    return load_yaml(read_text(path, what=what, max_bytes=max_bytes), str(path), what)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RefusedError(f"duplicate key {key!r}; the last value would silently win")
        found[key] = value
    return found


def _constant(name: str) -> Any:
    raise _RefusedError(f"the non-standard number {name}")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _RefusedError("a number too large for a float")
    return number


def _depth(value: Any, limit: int = MAX_DEPTH) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth > limit:
                raise _RefusedError(f"nesting deeper than {limit} levels")
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children)


def load_json(text: str, source: str, what: str) -> Any:
    """Data from JSON text; :class:`InputError` for duplicate keys, NaN/Infinity, unreadable numbers, deep
    nesting or invalid JSON."""
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_finite)
        _depth(value)
        return value
    except _RefusedError as exc:
        raise InputError(f"{source}: the {what} has {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: the {what} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:
        raise InputError(f"{source}: the {what} is not valid JSON ({type(exc).__name__})") from None


def read_json(path: Path, *, what: str, max_bytes: int = MAX_PLAN_BYTES) -> Any:
    """:func:`read_text` then :func:`load_json`."""
    return load_json(read_text(path, what=what, max_bytes=max_bytes), str(path), what)


def mapping(value: Any, source: str, what: str) -> dict[str, Any]:
    """``value`` if it is a mapping; :class:`InputError` naming what was found instead."""
    if not isinstance(value, dict):
        kind = "nothing" if value is None else type(value).__name__
        raise InputError(f"{source}: expected the {what} to be a mapping, found {kind}")
    return value
