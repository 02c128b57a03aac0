"""Scaffold a new team's stacks: ``python -m scripts.team TEAM --data-scientist-group GUID``.

A new team gets its own stack per environment, ``stacks/Pulumi.<team>-<env>.yaml``, made from the
environment's template stack (``stacks/Pulumi.<env>.yaml``) with the team's name prefix, tags, one
workspace and a VNet range of its own. The range comes from the environment's pool in
``stacks/address-registry.yaml``, never overlaps a range recorded there or used by any stack file, and
is recorded there. ``--join STACK`` instead adds the team's workspace to an existing stack, which then
shares that stack's network (no new range).

Runs against one project are serialised by an exclusive lock on ``stacks/.address-registry.lock``: the
registry and every stack file are read only once the lock is held, so two runs at the same time never take
the same range or lose each other's allocations. Every run checks all stack files and the registry for
overlapping ranges and refuses to write anything while one exists.

Everything is validated (``components.config.validate``) before anything is written, and every file is
written through a temporary file in its own folder that is renamed into place, all files staged before
any is renamed. Existing stack files and workspace names are never overwritten; a rerun for a team that
is already in place reports it and changes nothing. docs/new-team.md describes the registry and each rule.

Exit status (through :func:`scripts.common.cli.run`): 0 created or already in place; 1 refused because of a
conflict the tool found (overlapping ranges, an existing file or workspace, an exhausted pool, a template
it must not copy, an invalid result); 2 cannot judge: invalid arguments, or a registry or stack file that
is unreadable or not of the documented form (not UTF-8, duplicate keys, a list or text where a mapping
belongs, a folder where a file belongs), a folder it cannot write, or a lock it cannot get - one line on
standard error naming the file (and key), nothing written.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import fcntl
import ipaddress
import itertools
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from components.config import PROJECT, ConfigError, top_level_keys, validate
from scripts.common.paths import ROOT
from scripts.common.safeload import InputError, load_yaml, read_text

REGISTRY = "stacks/address-registry.yaml"
REGISTRY_VERSION = 1
LOCK = "stacks/.address-registry.lock"
"""Held (flock, exclusive) for the whole of a run; never removed, so every run locks the same file."""
LOCK_TIMEOUT = 60.0
"""Seconds a run waits for another run against the same project to finish."""

TEAM_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,9}$")
TEAM_EXPECTED = (
    "3-10 lowercase letters and digits starting with a letter (it becomes the workspace name and the tags.team value)"
)
GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
GUID_EXPECTED = "a Microsoft Entra group object ID (a GUID such as 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01)"
ENV_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
PREFIX_LENGTH = 8
"""Longest ``namePrefix`` the settings accept."""

REGISTRY_HEADER = """\
# Address registry: the pool of VNet ranges each environment allocates from, and every range handed out.
# `python -m scripts.team` allocates the first free /blockPrefix block of an environment's pools,
# appends it to allocations and rewrites this file (comments other than this header are not kept).
# A range in use by any stack file counts as taken even when it is missing here. See docs/new-team.md.
"""

Network = ipaddress.IPv4Network


class RefusedError(Exception):
    """The request conflicts with what the tool found; exit status 1."""


class OverlapError(RefusedError):
    """Ranges already in use overlap each other; one finding per line, exit status 1."""


class UsageError(Exception):
    """Invalid arguments; exit status 2."""


def _kind(value: object) -> str:
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


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _team(value: str) -> str:
    if not TEAM_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected {TEAM_EXPECTED}, found {value!r}")
    return value


def _guid(value: str) -> str:
    if not GUID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected {GUID_EXPECTED}, found {value!r}")
    return value.lower()


def _envs(value: str) -> list[str]:
    names = value.split(",")
    if not all(ENV_PATTERN.fullmatch(n) for n in names):
        raise argparse.ArgumentTypeError(
            f"expected environment names separated by commas, such as dev,prod, found {value!r}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected each environment once, found {value!r}")
    return names


def _stack_name(value: str) -> str:
    if not re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", value):
        raise argparse.ArgumentTypeError(f"expected a stack name such as dev, found {value!r}")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds from 0 to 3600, found {value!r}")
    return seconds


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m scripts.team", description=(__doc__ or "").splitlines()[0])
    p.add_argument("team", metavar="TEAM", type=_team, help=f"team name: {TEAM_EXPECTED}")
    p.add_argument(
        "--data-scientist-group",
        required=True,
        type=_guid,
        metavar="GUID",
        help="object ID of the Entra group granted the data-scientist role (no serving) on the team's workspace",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--envs",
        type=_envs,
        default=["dev", "prod"],
        help="environments to create the team's own stacks in (default: dev,prod)",
    )
    mode.add_argument(
        "--join",
        type=_stack_name,
        metavar="STACK",
        help="add the team's workspace to stacks/Pulumi.STACK.yaml instead (shares its network)",
    )
    p.add_argument("--project-dir", type=Path, default=ROOT, help="project folder (default: this repository)")
    p.add_argument(
        "--lock-timeout",
        type=_seconds,
        default=LOCK_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for another run against the same project to finish (default: {LOCK_TIMEOUT:g})",
    )
    return p


# ---------------------------------------------------------------------------------------------
# The address registry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """One VNet range handed out to a stack."""

    team: str
    env: str
    cidr: Network
    stack: str


@dataclass
class Registry:
    block_prefix: int
    pools: dict[str, list[Network]]
    allocations: list[Allocation] = field(default_factory=list)

    def for_stack(self, stack_path: str) -> Allocation | None:
        return next((a for a in self.allocations if a.stack == stack_path), None)


def _malformed(key: str, expected: str, found: object) -> InputError:
    """The registry is not of the documented form: exit status 2."""
    return InputError(f"{REGISTRY}: {key}: expected {expected}, found {_kind(found)}")


def _conflict(key: str, expected: str, found: object) -> RefusedError:
    """The registry is well formed but its ranges or stacks conflict: exit status 1."""
    return RefusedError(f"{REGISTRY}: {key}: expected {expected}, found {_kind(found)}")


def _private_network(value: object, key: str) -> Network:
    expected = "a private IPv4 network in CIDR notation such as 10.32.0.0/12"
    if not isinstance(value, str):
        raise _malformed(key, expected, value)
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise _malformed(key, expected, value) from None
    if not isinstance(net, Network) or not net.is_private:
        raise _malformed(key, expected, value)
    return net


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise _malformed(key, "text", value)
    return value


def parse_registry(document: object) -> Registry:
    """Check a registry document in full.

    A document not of the documented form raises :class:`InputError` (exit 2); overlapping pools or
    allocations and a stack recorded twice raise :class:`RefusedError` (exit 1). Both name the file and key.
    """
    if not isinstance(document, dict):
        raise _malformed("(top level)", "a mapping with version, blockPrefix, pools and allocations", document)
    unknown = sorted(str(k) for k in set(document) - {"version", "blockPrefix", "pools", "allocations"})
    if unknown:
        raise _malformed(unknown[0], "only version, blockPrefix, pools and allocations", unknown[0])
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != REGISTRY_VERSION:
        raise _malformed("version", str(REGISTRY_VERSION), version)
    block = document.get("blockPrefix")
    if not isinstance(block, int) or isinstance(block, bool) or not 8 <= block <= 28:
        raise _malformed("blockPrefix", "a prefix length from 8 to 28", block)
    pools_doc = document.get("pools")
    if not isinstance(pools_doc, dict) or not pools_doc:
        raise _malformed("pools", "a mapping of environment name to a list of ranges", pools_doc)
    pools: dict[str, list[Network]] = {}
    seen: list[tuple[str, Network]] = []
    for env, ranges in pools_doc.items():
        if not isinstance(env, str) or not ENV_PATTERN.fullmatch(env):
            raise _malformed(f"pools.{env}", "an environment name such as dev", env)
        if not isinstance(ranges, list) or not ranges:
            raise _malformed(f"pools.{env}", "a non-empty list of ranges", ranges)
        pools[env] = []
        for i, value in enumerate(ranges):
            key = f"pools.{env}[{i}]"
            net = _private_network(value, key)
            if net.prefixlen > block:
                raise _malformed(key, f"a range of at least one /{block} block", value)
            for other_key, other in seen:
                if net.overlaps(other):
                    raise _conflict(key, f"a range that does not overlap {other_key} ({other})", value)
            seen.append((key, net))
            pools[env].append(net)
    allocations_doc = document.get("allocations")
    if not isinstance(allocations_doc, list):
        raise _malformed("allocations", "a list", allocations_doc)
    registry = Registry(block, pools)
    for i, entry in enumerate(allocations_doc):
        key = f"allocations[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"team", "env", "cidr", "stack"}:
            raise _malformed(key, "a mapping with exactly team, env, cidr and stack", entry)
        team, env, stack = (_text(entry[name], f"{key}.{name}") for name in ("team", "env", "stack"))
        if not re.fullmatch(r"stacks/Pulumi\.[A-Za-z0-9_.-]+\.yaml", stack):
            raise _malformed(f"{key}.stack", "a stack file path such as stacks/Pulumi.dev.yaml", stack)
        cidr = _private_network(entry["cidr"], f"{key}.cidr")
        for j, earlier in enumerate(registry.allocations):
            if cidr.overlaps(earlier.cidr):
                raise _conflict(
                    f"{key}.cidr", f"a range that does not overlap allocations[{j}] ({earlier.cidr})", entry["cidr"]
                )
            if stack == earlier.stack:
                raise _conflict(f"{key}.stack", f"a stack not recorded in allocations[{j}]", stack)
        registry.allocations.append(Allocation(team, env, cidr, stack))
    return registry


def read_source(root: Path, relative: str, what: str) -> str:
    """The text of ``root / relative`` read through :mod:`scripts.common.safeload`; messages name ``relative``."""
    path = root / relative
    try:
        return read_text(path, what=what)
    except InputError as exc:
        message = str(exc)
        if message.startswith(f"{path}:"):
            message = relative + message[len(str(path)) :]
        raise InputError(message) from None


def load_registry(root: Path) -> Registry:
    if not (root / REGISTRY).exists() and not (root / REGISTRY).is_symlink():
        raise InputError(f"{REGISTRY}: no such file; it records every VNet range handed out (see docs/new-team.md)")
    what = "address registry"
    return parse_registry(load_yaml(read_source(root, REGISTRY, what), REGISTRY, what))


def dump_registry(registry: Registry) -> str:
    """The registry file's text: a fixed header and the data in a fixed key order."""
    document = {
        "version": REGISTRY_VERSION,
        "blockPrefix": registry.block_prefix,
        "pools": {env: [str(n) for n in nets] for env, nets in registry.pools.items()},
        "allocations": [
            {"team": a.team, "env": a.env, "cidr": str(a.cidr), "stack": a.stack} for a in registry.allocations
        ],
    }
    return REGISTRY_HEADER + _dump(document)


def allocate(registry: Registry, env: str, taken: Sequence[Network]) -> Network:
    """The first /blockPrefix block of the env's pools that overlaps nothing in ``taken``."""
    total = used = 0
    for pool in registry.pools[env]:
        for block in pool.subnets(new_prefix=registry.block_prefix):
            total += 1
            if any(block.overlaps(t) for t in taken):
                used += 1
                continue
            return block
    ranges = ", ".join(str(p) for p in registry.pools[env])
    raise RefusedError(
        f"no free /{registry.block_prefix} left in pools.{env} of {REGISTRY} ({ranges}: {used} of {total} taken); "
        f"add a range to pools.{env}"
    )


# ---------------------------------------------------------------------------------------------
# Stack files
# ---------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """What the tool needs to know about one stack file (its shape checked by :func:`read_stack`)."""

    name: str
    path: str
    text: str
    document: dict[str, Any]
    values: dict[str, Any]
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

    def address_space(self) -> Network | None:
        return self.space

    def existing_network(self) -> str | None:
        """The resource ID of the existing VNet the stack uses (``network.existing``), lowercased."""
        existing = (self.values.get("network") or {}).get("existing")
        found = existing.get("virtualNetworkId") if isinstance(existing, dict) else None
        return found.lower() if isinstance(found, str) else None


def stack_path(name: str) -> str:
    return f"stacks/Pulumi.{name}.yaml"


def config_key(config: dict[str, Any], name: str) -> str:
    """The key under which ``config`` holds setting ``name`` (namespaced or not); namespaced if absent."""
    for key in (f"{PROJECT}:{name}", name):
        if key in config:
            return key
    return f"{PROJECT}:{name}"


def _project_values(config: dict[str, Any], path: str = "") -> dict[str, Any]:
    """The project's settings by name; a setting given both with and without the namespace is refused
    (Pulumi reads both as the same key, so one value would silently win)."""
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for key, value in config.items():
        namespace, _, name = str(key).rpartition(":")
        if namespace in ("", PROJECT):
            if name in keys:
                raise InputError(
                    f"{path}: config.{key}: the same setting as config.{keys[name]}; the last value would silently win"
                )
            keys[name] = str(key)
            values[name] = value
    return values


def _shape(path: str, key: str, value: object, expected: str) -> InputError:
    return InputError(f"{path}: {key}: expected {expected}, found {_kind(value)}")


def _check_shape(path: str, config: dict[str, Any], values: dict[str, Any]) -> Network | None:
    """Check the parts of a stack file the tool reads; return its address space. :class:`InputError` names
    the file and key of the first part that is not of the documented form."""

    def key(name: str) -> str:
        return f"config.{config_key(config, name)}"

    kinds: tuple[tuple[str, type, str], ...] = (
        ("environment", str, "text"),
        ("namePrefix", str, "text"),
        ("tags", dict, "a mapping"),
        ("workspaces", list, "a list of workspaces"),
        ("network", dict, "a mapping"),
    )
    for name, kind, expected_kind in kinds:
        if name in values and not isinstance(values[name], kind):
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
    """One stack file, read through :mod:`scripts.common.safeload` and checked where the tool reads it."""
    path = stack_path(name)
    text = read_source(root, path, "stack file")
    document = load_yaml(text, path, "stack file")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise _shape(path, "(top level)", document, "a mapping with a config: mapping")
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _shape(path, "config", config, "a mapping of settings")
    values = _project_values(config, path)
    space = _check_shape(path, config, values)
    return Stack(name, path, text, document, values, space)


def scan_stacks(root: Path) -> dict[str, Stack]:
    stacks_dir = root / "stacks"
    names = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))
    return {name: read_stack(root, name) for name in names}


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
    secrets = _secure_keys(template.document.get("config"), "config")
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


def _secure_keys(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [path]
        return [k for key, v in value.items() for k in _secure_keys(v, f"{path}.{key}")]
    if isinstance(value, list):
        return [k for i, v in enumerate(value) for k in _secure_keys(v, f"{path}[{i}]")]
    return []


# ---------------------------------------------------------------------------------------------
# YAML text edits that keep comments
# ---------------------------------------------------------------------------------------------

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's SafeLoader when it is built in (the same rules, faster)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader


class _BlockDumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, as the stack files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=1000)


def _scalar_text(value: str) -> str:
    """``value`` as a one-line YAML scalar (quoted only where YAML needs it, as for 'yes')."""
    text = yaml.safe_dump(value, width=1000).rstrip("\n").removesuffix("\n...")
    if "\n" in text:
        raise ValueError(f"not a one-line scalar: {value!r}")
    return text


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _content_end(node: yaml.Node) -> int:
    """Index just past the last character of ``node``'s own text (not the comments after it)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return int(node.end_mark.index)
    if isinstance(node, yaml.SequenceNode):
        return max(_content_end(item) for item in node.value)
    if isinstance(node, yaml.MappingNode):
        return max(_content_end(v) for pair in node.value for v in pair)
    return int(node.end_mark.index)


def _line_end(text: str, index: int) -> int:
    """Index of the start of the line after the one holding ``index - 1``."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


Edit = tuple[int, int, str]


def _apply(text: str, edits: list[Edit]) -> str:
    ordered = sorted(edits)
    for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
        if start < end:
            raise ValueError("overlapping edits")
    for start, end, replacement in reversed(ordered):
        text = text[:start] + replacement + text[end:]
    return text


def _drop_keys(text: str, node: yaml.Node, keys: tuple[str, ...]) -> list[Edit]:
    """Edits that remove whole ``key: value`` entries (with the lines they span) from a block mapping."""
    if not isinstance(node, yaml.MappingNode):
        return []
    edits: list[Edit] = []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value in keys:
            start = text.rfind("\n", 0, key.start_mark.index) + 1
            edits.append((start, _line_end(text, _content_end(value)), ""))
    return edits


def _replace(node: yaml.Node | None, value: str) -> Edit:
    if not isinstance(node, yaml.ScalarNode):
        raise ValueError("not a scalar")
    return (node.start_mark.index, node.end_mark.index, _scalar_text(value))


def _same(text: str, document: dict[str, Any]) -> bool:
    try:
        return bool(_load(text) == document)
    except yaml.YAMLError:
        return False


def _team_stack_edits(text: str, template: Stack, new_values: dict[str, Any]) -> str:
    """The template's text with the team's values written in place; its comments stay."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    config = _child(root, "config")
    tcfg = template.document["config"]
    edits: list[Edit] = []
    edits.append(_replace(_child(config, config_key(tcfg, "namePrefix")), new_values["namePrefix"]))
    tags = _child(config, config_key(tcfg, "tags"))
    edits.append(_replace(_child(tags, "team"), new_values["tags"]["team"]))
    network = _child(config, config_key(tcfg, "network"))
    edits.append(_replace(_child(network, "addressSpace"), new_values["network"]["addressSpace"]))
    subnets = _child(network, "subnets")
    for key, cidr in new_values["network"]["subnets"].items():
        edits.append(_replace(_child(subnets, key), cidr))
    workspaces = _child(config, config_key(tcfg, "workspaces"))
    if not isinstance(workspaces, yaml.SequenceNode) or workspaces.flow_style:
        raise ValueError("workspaces is not a block sequence")
    first = workspaces.value[0]
    edits.append(_replace(_child(first, "name"), new_values["workspaces"][0]["name"]))
    group = new_values["workspaces"][0]["dataScientistGroupId"]
    edits.append(_replace(_child(first, "dataScientistGroupId"), group))
    edits.extend(_drop_keys(text, first, PER_WORKSPACE_ONLY))
    if len(workspaces.value) > 1:
        start = _line_end(text, _content_end(first))
        edits.append((start, _line_end(text, _content_end(workspaces.value[-1])), ""))
    return _apply(text, edits)


def render_team_stack(template: Stack, team: str, env: str, new_values: dict[str, Any]) -> str:
    """The new stack file: the template's text with the team's values, or a clean dump of them."""
    config: dict[str, Any] = {}
    for key, value in template.document["config"].items():
        namespace, _, name = str(key).rpartition(":")
        config[key] = new_values[name] if namespace in ("", PROJECT) and name in new_values else value
    document = {"config": config}
    cidr = new_values["network"]["addressSpace"]
    header = (
        f"# Stack of team {team} in {env}, made by `python -m scripts.team` from {template.path}.\n"
        f"# Its address space {cidr} is recorded in {REGISTRY}; see docs/new-team.md.\n"
    )
    try:
        edited = _team_stack_edits(template.text, template, new_values)
    except (ValueError, KeyError, IndexError, yaml.YAMLError):
        edited = ""
    if edited and _same(edited, document):
        return header + "#\n" + edited
    return header + f"# Written without the template's comments: read {template.path} for them.\n" + _dump(document)


def render_join(stack: Stack, entry: dict[str, Any], new_values: dict[str, Any]) -> str:
    """``stack``'s text with ``entry`` appended to its workspaces; everything else byte for byte."""
    document = copy.deepcopy(stack.document)
    document["config"][config_key(stack.document["config"], "workspaces")] = new_values["workspaces"]
    refusal = RefusedError(
        f"{stack.path}: cannot add workspace {entry['name']} without rewriting the file "
        f"(workspaces is not a plain block list); add this entry to its workspaces by hand:\n"
        + _dump([entry]).rstrip("\n")
    )
    text = stack.text
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    workspaces = _child(_child(root, "config"), config_key(stack.document["config"], "workspaces"))
    if not isinstance(workspaces, yaml.SequenceNode) or workspaces.flow_style or not workspaces.value:
        raise refusal
    last = workspaces.value[-1]
    line_start = text.rfind("\n", 0, last.start_mark.index) + 1
    lead = text[line_start : last.start_mark.index]
    dash = len(lead) - len(lead.lstrip(" "))
    if not lead.lstrip(" ").startswith("-"):
        raise refusal
    at = _line_end(text, _content_end(last))
    block = "".join(" " * dash + line + "\n" for line in _dump([entry]).splitlines())
    edited = text[:at] + ("" if at == 0 or text[at - 1] == "\n" else "\n") + block + text[at:]
    if not _same(edited, document):
        raise refusal
    return edited


# ---------------------------------------------------------------------------------------------
# Building a team's stack
# ---------------------------------------------------------------------------------------------


def derive_prefix(team: str, taken: set[str]) -> str:
    """``namePrefix`` for the team: its name cut to 8 characters, numbered when that is in use."""
    candidates = [team[:PREFIX_LENGTH]]
    candidates += [f"{team[: PREFIX_LENGTH - 1]}{n}" for n in range(2, 10)]
    candidates += [f"{team[: PREFIX_LENGTH - 2]}{n}" for n in range(10, 100)]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    raise RefusedError(f"no free namePrefix for team {team}: {candidates[0]} and its 98 numbered forms are in use")


def carve(template_values: dict[str, Any], block: Network, template_path: str) -> dict[str, Any]:
    """The template's network settings moved to ``block``: same subnet offsets and sizes."""
    network = copy.deepcopy(template_values.get("network"))
    if not isinstance(network, dict) or not isinstance(network.get("subnets"), dict):
        raise RefusedError(f"{template_path}: network.subnets: expected the template's subnet layout, found none")
    if "existing" in network:
        raise RefusedError(
            f"{template_path}: network.existing: a template that uses an existing VNet cannot give a team a range "
            "of its own; write the team's stack by hand or use --join"
        )
    base = ipaddress.ip_network(str(network["addressSpace"]))
    subnets: dict[str, str | None] = {}
    for key, cidr in network["subnets"].items():
        if cidr is None:  # an optional subnet left out
            subnets[key] = None
            continue
        subnet = ipaddress.ip_network(str(cidr))
        offset = int(subnet.network_address) - int(base.network_address)
        start = ipaddress.IPv4Address(int(block.network_address) + offset)
        subnets[key] = str(ipaddress.ip_network(f"{start}/{subnet.prefixlen}"))
    network["addressSpace"] = str(block)
    network["subnets"] = subnets
    return dict(network)


PER_WORKSPACE_ONLY = ("endpoints",)
"""Workspace keys that belong to the template's team and are not copied (endpoint names are unique per region)."""


def workspace_entry(template: Stack, team: str, group: str) -> dict[str, Any]:
    """The template's first workspace with the team's name and data-scientist group, without its endpoints."""
    if not template.workspaces:
        raise RefusedError(f"{template.path}: workspaces: expected at least one workspace to copy, found none")
    entry = {k: v for k, v in copy.deepcopy(template.workspaces[0]).items() if k not in PER_WORKSPACE_ONLY}
    entry["name"] = team
    entry["dataScientistGroupId"] = group
    return entry


@dataclass
class Outcome:
    env: str
    stack: Stack | None
    path: str
    message: str
    text: str | None = None
    allocation: Allocation | None = None


def plan_team_stack(
    team: str,
    env: str,
    group: str,
    registry: Registry,
    stacks: dict[str, Stack],
    taken: list[Network],
) -> Outcome:
    """What to do for ``team`` in ``env``: report it in place, restore its file, or create it."""
    name = f"{team}-{env}"
    path = stack_path(name)
    template = stacks[env]
    recorded = registry.for_stack(path)
    if recorded is not None and (recorded.team, recorded.env) != (team, env):
        raise RefusedError(
            f"{REGISTRY}: {path} is recorded for team {recorded.team} in {recorded.env}, not team {team} in {env}"
        )
    existing = stacks.get(name)
    if existing is not None:
        if recorded is None:
            raise RefusedError(f"{path} already exists and is not in {REGISTRY}; refusing to overwrite it")
        if existing.address_space() != recorded.cidr:
            raise RefusedError(
                f"{path}: network.addressSpace is {existing.address_space()} but {REGISTRY} records "
                f"{recorded.cidr} for it; make them agree"
            )
        return Outcome(
            env, existing, path, f"{env}: {path} is already in place for {team} ({recorded.cidr}); left unchanged"
        )
    environment = template.environment
    for other in stacks.values():
        if other.environment == environment and other.workspace(team) is not None:
            raise RefusedError(
                f"workspace {team} already exists in {other.path} (environment {environment}); "
                "workspace names are unique in an environment"
            )
    check_template(template, path, own_network=True)
    block = recorded.cidr if recorded is not None else allocate(registry, env, taken)
    prefixes = {s.name_prefix for s in stacks.values() if s.environment == environment}
    values = copy.deepcopy(template.values)
    values["namePrefix"] = derive_prefix(team, prefixes)
    values["tags"] = {**values.get("tags", {}), "team": team}
    values["network"] = carve(template.values, block, template.path)
    values["workspaces"] = [workspace_entry(template, team, group)]
    validate_values(values, name)
    text = render_team_stack(template, team, env, values)
    document = _load(text)
    stack = Stack(name, path, text, document, _project_values(document["config"]), block)
    if recorded is not None:
        message = f"{env}: restored {path} for {team} from its recorded range {block}"
        return Outcome(env, stack, path, message, text)
    allocation = Allocation(team, env, block, path)
    message = f"{env}: created {path} for {team} ({block}, namePrefix {values['namePrefix']})"
    return Outcome(env, stack, path, message, text, allocation)


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


# ---------------------------------------------------------------------------------------------
# Locking and writing
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(root: Path, timeout: float) -> Iterator[None]:
    """Hold the project's registry lock (an exclusive ``flock`` on :data:`LOCK`) for the ``with`` block.

    The lock file is opened without following a link and never removed (removing it would let two runs lock
    two different files). The lock goes with the process, so a run that dies leaves nothing to clean up.
    """
    path = root / LOCK
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise InputError(f"{LOCK}: cannot open the lock file: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError(
                        f"{LOCK}: another run of scripts.team has held the lock for {timeout:g} s; "
                        "nothing was written, run again when it has finished"
                    ) from None
                time.sleep(0.02)
            except OSError as exc:
                raise InputError(f"{LOCK}: cannot lock the lock file: {exc.strerror}") from None
        yield
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_files(root: Path, files: Sequence[tuple[str, str]]) -> None:
    """Write every file or none: each to a new temporary file in its own folder (created exclusively, so a
    planted link is never followed), then, once all are staged, each renamed over its target in the order
    given. A failure while staging removes the temporary files and leaves every target as it was."""
    staged: list[tuple[str, Path, Path]] = []
    try:
        for relative, text in files:
            target = root / relative
            try:
                mode = target.stat().st_mode & 0o777 if target.is_file() else _new_file_mode()
                fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
                staged.append((relative, Path(name), target))
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(name, mode)
            except OSError as exc:
                folder = Path(relative).parent
                raise InputError(f"{relative}: cannot write it in {folder}/: {exc.strerror}") from None
        previous = {t: (t.read_bytes() if t.is_file() else None) for _, _, t in staged}
        done: list[Path] = []
        try:
            for relative, temporary, target in staged:
                try:
                    os.replace(temporary, target)
                except OSError as exc:
                    raise InputError(f"{relative}: cannot replace it: {exc.strerror}") from None
                done.append(target)
        except BaseException:
            for target in reversed(done):  # best effort: put back what was there
                with contextlib.suppress(OSError):
                    before = previous[target]
                    if before is None:
                        target.unlink()
                    else:
                        target.write_bytes(before)
            raise
    finally:
        for _, temporary, _ in staged:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def _group_of(stack: Stack | None, team: str) -> str:
    entry = stack.workspace(team) if stack else None
    return str(entry.get("dataScientistGroupId")) if entry else "?"


def new_team(root: Path, team: str, envs: list[str], group: str) -> list[str]:
    """Create (or report) the team's own stacks; return the lines to print."""
    registry = load_registry(root)
    stacks = scan_stacks(root)
    usable = [e for e in registry.pools if e in stacks]
    for env in envs:
        if env not in usable:
            raise UsageError(
                f"argument --envs: expected environments with a pool in {REGISTRY} and a template stack "
                f"({', '.join(usable) or 'none'}), found {env!r}"
            )
    check_overlaps(registry, stacks)
    taken, notes = taken_ranges(registry, stacks)
    outcomes: list[Outcome] = []
    for env in envs:
        outcome = plan_team_stack(team, env, group, registry, stacks, taken)
        if outcome.allocation is not None:
            taken.append(outcome.allocation.cidr)
        outcomes.append(outcome)
    allocations = [o.allocation for o in outcomes if o.allocation is not None]
    files: list[tuple[str, str]] = []
    if allocations:  # the registry first: a run cut short leaves a recorded range that a rerun restores
        registry.allocations.extend(allocations)
        files.append((REGISTRY, dump_registry(registry)))
    files += [(o.path, o.text) for o in outcomes if o.text is not None]
    write_files(root, files)
    lines = [*notes, *(o.message for o in outcomes)]
    if allocations:
        lines.append(f"recorded {len(allocations)} allocation(s) in {REGISTRY}")
    names = [f"{team}-{o.env}" for o in outcomes]
    groups = ", ".join(sorted({_group_of(o.stack, team) for o in outcomes}))
    lines += [
        "",
        "Next steps:",
        f"  1. Check that {groups} (dataScientistGroupId of workspace {team}) is the Entra group of {team}'s",
        "     data scientists: it gets the data-scientist role (no serving) on that workspace.",
        "  2. In each stack file, replace the template's tags.owner, tags.costCenter, monitoring.alertEmails",
        "     and gateway publisher.",
        f"  3. Plan offline, commit the stack files with {REGISTRY}, then create the stacks:",
        *(f"       make plan STACK={n}" for n in names),
        *(f"       pulumi stack init {n}" for n in names),
    ]
    return lines


def join(root: Path, team: str, target: str, group: str) -> list[str]:
    """Add (or report) the team's workspace in an existing stack; return the lines to print."""
    registry = load_registry(root)
    stacks = scan_stacks(root)
    if target not in stacks:
        raise UsageError(
            f"argument --join: expected an existing stack in stacks/ ({', '.join(stacks) or 'none'}), found {target!r}"
        )
    check_overlaps(registry, stacks)
    stack = stacks[target]
    environment = stack.environment
    template = stacks.get(environment)
    if template is None:
        raise RefusedError(
            f"{stack.path}: environment {environment!r} has no template stack {stack_path(environment)} "
            "to copy the workspace from"
        )
    check_valid(stack)
    if template is not stack:
        check_template(template, stack.path, own_network=False)
    entry = workspace_entry(template, team, group)
    space = stack.address_space()
    present = stack.workspace(team)
    lines: list[str]
    if present is not None:
        if str(present.get("dataScientistGroupId", "")).lower() != group:
            raise RefusedError(
                f"{stack.path}: workspace {team} already exists for another data-scientist group; "
                "refusing to overwrite it"
            )
        lines = [f"{target}: workspace {team} is already in {stack.path} ({space}); left unchanged"]
    else:
        for other in stacks.values():
            if other.environment == environment and other.workspace(team) is not None:
                raise RefusedError(
                    f"workspace {team} already exists in {other.path} (environment {environment}); "
                    "workspace names are unique in an environment"
                )
        values = copy.deepcopy(stack.values)
        values["workspaces"] = [*stack.workspaces, entry]
        validate_values(values, target)
        write_files(root, [(stack.path, render_join(stack, entry, values))])
        lines = [f"{target}: added workspace {team} to {stack.path} (shares {space}; no new range)"]
    shown = _group_of(stack, team) if present is not None else group
    lines += [
        "",
        "Next steps:",
        f"  1. Check that {shown} (dataScientistGroupId of workspace {team}) is the Entra group of {team}'s",
        "     data scientists: it gets the data-scientist role (no serving) on that workspace.",
        f"  2. Plan offline, commit {stack.path}, then preview:",
        f"       make plan STACK={target}",
        f"       pulumi preview --stack {target}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        root: Path = args.project_dir
        with locked(root, args.lock_timeout):
            if args.join is not None:
                lines = join(root, args.team, args.join, args.data_scientist_group)
            else:
                lines = new_team(root, args.team, args.envs, args.data_scientist_group)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OverlapError as exc:
        print("\n".join(f"error: {line}" for line in str(exc).splitlines()), file=sys.stderr)
        print("error: nothing was written while ranges in use overlap", file=sys.stderr)
        return 1
    except RefusedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
