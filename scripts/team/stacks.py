"""The stack files as the team scaffolding reads them: each one read by :mod:`scripts.common.stackfile` and
checked where the tool reads it (its environment, name prefix, tags, workspaces and address space), the
validation of a template before it is copied, and the ranges every stack file uses: which are taken and which
overlap.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config import PROJECT, ConfigError, top_level_keys, validate
from scripts.common.safeload import InputError
from scripts.common.stackfile import config_key, kind, read_stack_file, secure_paths, stack_names
from scripts.team.errors import OverlapError, RefusedError
from scripts.team.registry import REGISTRY, Network, Registry


@dataclass
class Stack:
    """What the tool needs to know about one stack file (its shape checked by :func:`read_stack`)."""

    name: str
    path: str
    text: str
    """The file's text as written (comments included)."""
    document: dict[str, Any]
    values: dict[str, Any]
    """The project's settings by name."""
    space: Network | None = None
    """``network.addressSpace``, if the stack sets one."""

    @property
    def environment(self) -> str:
        return str(self.values.get("environment", ""))

    @property
    def name_prefix(self) -> str:
        return str(self.values.get("namePrefix", ""))

    @property
    def workspaces(self) -> list[dict[str, Any]]:
        return list(self.values.get("workspaces") or [])

    def workspace(self, name: str) -> dict[str, Any] | None:
        return next((w for w in self.workspaces if w.get("name") == name), None)

    def key(self, name: str) -> str:
        """The key under which the file holds setting ``name`` (namespaced or not); namespaced if absent."""
        return config_key(self.document.get("config") or {}, PROJECT, name)

    def address_space(self) -> Network | None:
        return self.space

    def existing_network(self) -> str | None:
        """The resource ID of the existing VNet the stack uses (``network.existing``), lowercased."""
        existing = (self.values.get("network") or {}).get("existing")
        found = existing.get("virtualNetworkId") if isinstance(existing, dict) else None
        return found.lower() if isinstance(found, str) else None


def _shape(path: str, key: str, value: object, expected: str) -> InputError:
    return InputError(f"{path}: {key}: expected {expected}, found {kind(value)}")


def _check_shape(path: str, config: dict[str, Any], values: dict[str, Any]) -> Network | None:
    """Check the parts of a stack file the tool reads; return its address space. :class:`InputError` names
    the file and key of the first part that is not of the documented form."""

    def key(name: str) -> str:
        return f"config.{config_key(config, PROJECT, name)}"

    kinds: tuple[tuple[str, type, str], ...] = (
        ("environment", str, "text"),
        ("namePrefix", str, "text"),
        ("tags", dict, "a mapping"),
        ("workspaces", list, "a list of workspaces"),
        ("network", dict, "a mapping"),
    )
    for name, expected_type, expected_kind in kinds:
        if name in values and not isinstance(values[name], expected_type):
            raise _shape(path, key(name), values[name], expected_kind)
    for i, entry in enumerate(values.get("workspaces", [])):
        if not isinstance(entry, dict):
            raise _shape(path, f"{key('workspaces')}[{i}]", entry, "a mapping")
        if not isinstance(entry.get("name"), str):
            raise _shape(path, f"{key('workspaces')}[{i}].name", entry.get("name"), "text")
    if not values:
        return None  # a stack without settings uses no addresses
    network = values.get("network", {})
    existing = network.get("existing")
    if "existing" in network and not isinstance(existing, dict):
        raise _shape(path, f"{key('network')}.existing", existing, "a mapping")
    value = network.get("addressSpace")
    why = "the addresses every stack uses must be known before a range is handed out"
    expected = f"an IPv4 network in CIDR notation ({why})"
    if "addressSpace" not in network:
        raise InputError(f"{path}: {key('network')}.addressSpace: required key is missing ({why})")
    if not isinstance(value, str):
        raise _shape(path, f"{key('network')}.addressSpace", value, expected)
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise _shape(path, f"{key('network')}.addressSpace", value, expected) from None
    if not isinstance(net, Network):
        raise _shape(path, f"{key('network')}.addressSpace", value, expected)
    return net


def read_stack(root: Path, name: str) -> Stack:
    """One stack file, read by :func:`scripts.common.stackfile.read_stack_file` and checked where the tool
    reads it."""
    found = read_stack_file(name, root, PROJECT)
    values = found.settings(PROJECT)
    space = _check_shape(found.path, found.config, values)
    return Stack(name, found.path, found.text, found.document, values, space)


def scan_stacks(root: Path) -> dict[str, Stack]:
    return {name: read_stack(root, name) for name in stack_names(root)}


def validate_values(values: dict[str, Any], stack: str) -> None:
    """Validate as the program does; raise :class:`RefusedError` with the program's own message."""
    unknown = sorted(set(values) - set(top_level_keys()))
    try:
        validate({k: v for k, v in values.items() if k not in unknown}, stack, unknown)
    except ConfigError as exc:
        raise RefusedError(str(exc)) from None


def check_template(template: Stack, target: str, *, own_network: bool) -> None:
    """A template must hold no secrets and, for a stack with a network of its own, no existing VNet (exit 1),
    and must be a valid stack (exit 2)."""
    secrets = secure_paths(template.document.get("config"))
    if secrets:
        raise RefusedError(
            f"{template.path}: {secrets[0]} is encrypted for that stack and cannot be copied to {target}; "
            "move the secret out of the template first"
        )
    if own_network and "existing" in (template.values.get("network") or {}):
        raise RefusedError(
            f"{template.path}: network.existing: a template that uses an existing VNet cannot give a team a range "
            "of its own; write the team's stack by hand or use --join"
        )
    check_valid(template)


def check_valid(stack: Stack) -> None:
    """The stack's settings pass the program's validation; else one line naming the file and the first key."""
    try:
        validate_values(stack.values, stack.name)
    except RefusedError as exc:
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 2} more; `make plan STACK={stack.name}` lists them)" if len(lines) > 2 else ""
        raise InputError(f"{lines[0]}: {lines[1].strip() if len(lines) > 1 else ''}{more}") from None


def taken_ranges(registry: Registry, stacks: dict[str, Stack]) -> tuple[list[Network], list[str]]:
    """Every range in use (registry and stack files), and a note per stack range the registry lacks."""
    taken = [a.cidr for a in registry.allocations]
    notes: list[str] = []
    for stack in stacks.values():
        space = stack.address_space()
        if space is None:
            continue
        recorded = registry.for_stack(stack.path)
        if recorded is None or recorded.cidr != space:
            notes.append(f"note: {space} of {stack.path} is not recorded in {REGISTRY}; treated as taken")
            taken.append(space)
    return taken, notes


def overlaps(registry: Registry, stacks: dict[str, Stack]) -> list[str]:
    """One line per pair of stack files whose ranges overlap, and per stack file whose range overlaps a range
    the registry records for another stack. Two stacks on the same existing VNet share its range."""
    spaced = [(s, s.address_space()) for s in stacks.values()]
    found: list[str] = []
    for (a, a_space), (b, b_space) in itertools.combinations(spaced, 2):
        if a_space is None or b_space is None or not a_space.overlaps(b_space):
            continue
        if a.existing_network() is not None and a.existing_network() == b.existing_network():
            continue
        found.append(
            f"{a.path}: network.addressSpace {a_space} overlaps {b_space} of {b.path}; "
            "give one of them a free range (see docs/new-team.md)"
        )
    for stack, space in spaced:
        if space is None:
            continue
        for allocation in registry.allocations:
            if allocation.stack == stack.path or not space.overlaps(allocation.cidr):
                continue
            holder = stacks.get(allocation.stack[len("stacks/Pulumi.") : -len(".yaml")])
            if holder is not None and holder.address_space() == allocation.cidr:
                continue  # reported above as an overlap of two stack files
            found.append(
                f"{stack.path}: network.addressSpace {space} overlaps {allocation.cidr}, which {REGISTRY} records "
                f"for {allocation.stack}; give one of them a free range (see docs/new-team.md)"
            )
    return found


def check_overlaps(registry: Registry, stacks: dict[str, Stack]) -> None:
    found = overlaps(registry, stacks)
    if found:
        raise OverlapError("\n".join(found))
