"""The address registry, ``stacks/address-registry.yaml``: the pool of VNet ranges each environment allocates
from and every range handed out. :func:`parse_registry` checks a registry document in full, :func:`allocate`
hands out the first free block of an environment's pools, :func:`dump_registry` writes the file back.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.common.safeload import InputError, load_yaml
from scripts.common.stackfile import kind, read_project_text
from scripts.team.errors import RefusedError
from scripts.team.yamlio import dump

REGISTRY = "stacks/address-registry.yaml"
REGISTRY_VERSION = 1
ENV_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
"""An environment name: a pool's key and the name of its template stack."""

REGISTRY_HEADER = """\
# Address registry: the pool of VNet ranges each environment allocates from, and every range handed out.
# `python -m scripts.team` allocates the first free /blockPrefix block of an environment's pools,
# appends it to allocations and rewrites this file (comments other than this header are not kept).
# A range in use by any stack file counts as taken even when it is missing here. See docs/new-team.md.
"""

Network = ipaddress.IPv4Network


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
    return InputError(f"{REGISTRY}: {key}: expected {expected}, found {kind(found)}")


def _conflict(key: str, expected: str, found: object) -> RefusedError:
    """The registry is well formed but its ranges or stacks conflict: exit status 1."""
    return RefusedError(f"{REGISTRY}: {key}: expected {expected}, found {kind(found)}")


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


def load_registry(root: Path) -> Registry:
    if not (root / REGISTRY).exists() and not (root / REGISTRY).is_symlink():
        raise InputError(f"{REGISTRY}: no such file; it records every VNet range handed out (see docs/new-team.md)")
    what = "address registry"
    return parse_registry(load_yaml(read_project_text(root, REGISTRY, what), REGISTRY, what))


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
    return REGISTRY_HEADER + dump(document)


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
