"""A team's own stack in one environment, worked out before anything is written: its name prefix, its
network carved from an allocated block with the template's subnet layout, its workspace copied from the
template's first one, and whether the stack is already in place, is restored from its recorded range or is
created.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass
from typing import Any

from components.config import PROJECT
from scripts.common.safeload import load_yaml
from scripts.common.stackfile import project_settings, stack_path
from scripts.team.errors import RefusedError
from scripts.team.registry import REGISTRY, Allocation, Network, Registry, allocate
from scripts.team.render import render_team_stack
from scripts.team.stacks import Stack, check_template, validate_values

PREFIX_LENGTH = 8
"""Longest ``namePrefix`` the settings accept."""


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
    """What a run does for one environment: the line to print, and the file and allocation to write, if any."""

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
    document = load_yaml(text, path, "stack file")
    stack = Stack(name, path, text, document, project_settings(document["config"], PROJECT, path), block)
    if recorded is not None:
        message = f"{env}: restored {path} for {team} from its recorded range {block}"
        return Outcome(env, stack, path, message, text)
    allocation = Allocation(team, env, block, path)
    message = f"{env}: created {path} for {team} ({block}, namePrefix {values['namePrefix']})"
    return Outcome(env, stack, path, message, text, allocation)
