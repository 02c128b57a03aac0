"""The one reader of ``stacks/Pulumi.<stack>.yaml``: the offline engine, the ARM commands (kill switch, live
verification, preflight) and the team scaffolding all read stack files through :func:`read_stack_file`.

It is as strict as the strictest of them, and every refusal is an :class:`InputError` (exit status 2) whose
message names the stack file as ``stacks/Pulumi.<stack>.yaml`` (and the key where it can), never a value:

- a stack name Pulumi would not accept, or one that names a folder (``..``);
- everything :mod:`scripts.common.safeload` refuses: a file that is not a regular file or is larger than
  1 MiB, text that is not UTF-8, YAML with a duplicate key at any level, an alias bomb, deep nesting, tags
  that build anything but plain data;
- a document that is not a mapping, or whose ``config:`` is not a mapping;
- a value the Pulumi engine could not pass to the program as JSON (a date, binary data, a set, a number out
  of range);
- a project setting given both with and without the project namespace (``namePrefix`` and
  ``secure-ml:namePrefix``): Pulumi reads both as the same key, so one value would silently win.

``secure:`` values are never decrypted: :func:`secure_paths` lists where they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.safeload import InputError, load_yaml, mapping, read_text, read_yaml

STACK_NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}$")
"""Stack names "may only contain alphanumeric characters, hyphens, underscores, or periods"
(https://www.pulumi.com/docs/iac/concepts/stacks/); "." and ".." would name folders, not stacks."""

WHAT = "stack file"


def stack_path(stack: str) -> str:
    """The stack file of ``stack`` relative to the project (``Pulumi.yaml`` sets ``stackConfigDir: stacks``)."""
    return f"stacks/Pulumi.{stack}.yaml"


def stack_names(root: Path) -> list[str]:
    """The stacks that have a stack file under ``root``, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def read_project_text(root: Path, relative: str, what: str) -> str:
    """The text of ``root / relative`` read through :mod:`scripts.common.safeload`; messages name ``relative``."""
    path = root / relative
    try:
        return read_text(path, what=what)
    except InputError as exc:
        message = str(exc)
        if message.startswith(f"{path}:"):
            message = relative + message[len(str(path)) :]
        raise InputError(message) from None


def project_name(root: Path) -> str:
    """The ``name:`` of ``Pulumi.yaml`` (read strictly, like every stack file)."""
    path = root / "Pulumi.yaml"
    document = mapping(read_yaml(path, what="project file"), str(path), "project file")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{path}: name: expected the project name as text")
    return name


def kind(value: object) -> str:
    """What a value is, for a message: its type, or a short text itself (CIDRs, names), never a long value."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str) and len(value) <= 43 and value.isprintable() and value.isascii():
        return repr(value)
    return "a longer text" if isinstance(value, str) else type(value).__name__


@dataclass(frozen=True)
class StackFile:
    """One stack file, read and checked by :func:`read_stack_file`."""

    name: str
    """The stack's name."""
    path: str
    """``stacks/Pulumi.<name>.yaml``, as messages name it."""
    text: str
    """The file's text as written (comments included)."""
    document: dict[Any, Any]
    """The whole document."""
    config: dict[Any, Any]
    """The ``config:`` mapping, keys (namespaced or not) and values as written."""

    def settings(self, project: str) -> dict[str, Any]:
        """The project's settings by name (``secure-ml:namePrefix`` and ``namePrefix`` are both
        ``namePrefix``); other providers' settings (``azure-native:location``) are left out."""
        return project_settings(self.config, project, self.path)


def config_key(config: dict[Any, Any], project: str, name: str) -> str:
    """The key under which ``config`` holds setting ``name`` (namespaced or not); namespaced if absent."""
    for key in (f"{project}:{name}", name):
        if key in config:
            return key
    return f"{project}:{name}"


def project_settings(config: dict[Any, Any], project: str, source: str) -> dict[str, Any]:
    """The settings of ``project`` in a ``config:`` mapping by name; :class:`InputError` for a setting given
    both with and without the namespace (Pulumi reads both as the same key, so one value would silently win)."""
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for key, value in config.items():
        namespace, _, name = str(key).rpartition(":")
        if namespace not in ("", project):
            continue
        if name in keys:
            raise InputError(
                f"{source}: config.{key}: the same setting as config.{keys[name]}; the last value would silently win"
            )
        keys[name] = str(key)
        values[name] = value
    return values


def read_stack_file(stack: str, root: Path, project: str | None = None) -> StackFile:
    """``stacks/Pulumi.<stack>.yaml`` under ``root``, checked as the module docstring lists. With
    ``project``, a setting given both with and without that namespace is refused here as well."""
    if not STACK_NAME.match(stack):
        raise InputError(
            f"{stack!r} is not a stack name (letters, digits, hyphens, underscores and periods, at most 100)"
        )
    shown = stack_path(stack)
    path = root / shown
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{shown}: no such stack file (stacks: {', '.join(stack_names(root)) or 'none'})")
    text = read_project_text(root, shown, WHAT)
    document = load_yaml(text, shown, WHAT)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InputError(f"{shown}: (top level): expected a mapping with a config: mapping, found {kind(document)}")
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InputError(f"{shown}: config: expected a mapping of settings, found {kind(config)}")
    for key, value in config.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InputError(
                f"{shown}: config.{key}: holds a value the engine cannot pass as JSON "
                "(a date, binary data, a set or a number out of range): quote it as text"
            ) from None
    found = StackFile(stack, shown, text, document, config)
    if project is not None:
        found.settings(project)
    return found


def secure_paths(value: Any, path: str = "config") -> list[str]:
    """Where ``value`` (a ``config:`` mapping or a part of it) holds ``secure:`` values, as ``config.a.b[0]``."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [path]
        return [k for key, v in value.items() for k in secure_paths(v, f"{path}.{key}")]
    if isinstance(value, list):
        return [k for i, v in enumerate(value) for k in secure_paths(v, f"{path}[{i}]")]
    return []
