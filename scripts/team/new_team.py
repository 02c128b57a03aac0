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
import copy
import re
import sys
from pathlib import Path

from scripts.common.cli import ArgumentParser
from scripts.common.paths import ROOT
from scripts.common.stackfile import STACK_NAME, stack_path
from scripts.team.errors import OverlapError, RefusedError, UsageError
from scripts.team.registry import ENV_PATTERN, REGISTRY, dump_registry, load_registry
from scripts.team.render import render_join
from scripts.team.scaffold import Outcome, plan_team_stack, workspace_entry
from scripts.team.stacks import (
    Stack,
    check_overlaps,
    check_template,
    check_valid,
    scan_stacks,
    taken_ranges,
    validate_values,
)
from scripts.team.writer import LOCK_TIMEOUT, locked, write_files

TEAM_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,9}$")
TEAM_EXPECTED = (
    "3-10 lowercase letters and digits starting with a letter (it becomes the workspace name and the tags.team value)"
)
GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
GUID_EXPECTED = "a Microsoft Entra group object ID (a GUID such as 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01)"


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


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
    if not STACK_NAME.match(value) or value.startswith((".", "-", "_")):
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
    p = ArgumentParser(prog="python -m scripts.team", description=(__doc__ or "").splitlines()[0])
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
