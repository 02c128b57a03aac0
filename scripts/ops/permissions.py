"""How Azure evaluates an identity's permissions: the ``actions`` minus ``notActions`` of each role it holds,
``*`` wildcards, no regard to case; a grant under an ABAC condition only counts as conditional. Read by
:mod:`scripts.ops.preflight`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from policies.catalog.roles import PRIVILEGED
from scripts.ops.plan_needs import RESOURCE_GROUP, SUBSCRIPTION, CannotJudgeError, Requirements


def matches(pattern: str, action: str) -> bool:
    """True if the action string ``pattern`` (``*`` matches any characters) covers ``action``, in any case.

    https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format
    """
    regex = "".join(".*" if char == "*" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Permission:
    """One entry of a permissions answer: a role's actions and notActions, and its condition if any."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    condition: str | None = None

    def allows(self, action: str) -> bool:
        """NotActions are subtracted from the Actions of the same role, not from other roles'.

        https://learn.microsoft.com/azure/role-based-access-control/role-definitions#notactions
        """
        return any(matches(p, action) for p in self.actions) and not any(matches(p, action) for p in self.not_actions)


def parse_permissions(value: object) -> list[Permission]:
    """The ``value`` array of a permissions answer; :class:`CannotJudgeError` for anything not shaped like one."""
    if not isinstance(value, list):
        raise CannotJudgeError("the permissions answer has no value array")
    permissions = []
    for entry in value:
        if not isinstance(entry, dict):
            raise CannotJudgeError("the permissions answer holds an entry that is not an object")
        lists = {}
        for key in ("actions", "notActions"):
            items = entry.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise CannotJudgeError(f"the permissions answer holds an entry whose {key} is not a list of strings")
            lists[key] = tuple(items)
        # The 2022-04-01 schema of an entry has no condition; should ARM add one (a role assignment with an
        # ABAC condition), the grant is reported as CONDITIONAL rather than taken as unconditional.
        condition = entry.get("condition")
        permissions.append(Permission(lists["actions"], lists["notActions"], condition or None))
    return permissions


def granted_by(action: str) -> str:
    """The least privileged role of :data:`policies.catalog.roles.PRIVILEGED` that grants ``action``."""
    for role in PRIVILEGED:
        if Permission(role.actions, role.not_actions).allows(action):
            return role.name
    return "Owner"


@dataclass(frozen=True)
class Finding:
    """A required action the identity lacks, or holds only under a condition."""

    scope: str
    action: str
    needed_by: tuple[str, ...]
    status: str
    """MISSING, or CONDITIONAL (granted only by role assignments with a condition)."""


def evaluate(needs: Requirements, permissions: Sequence[Permission]) -> list[Finding]:
    """Every required action that ``permissions`` do not grant unconditionally, sorted by scope and action."""
    findings = []
    for scope in (SUBSCRIPTION, RESOURCE_GROUP):
        for action, types in sorted(needs.actions.get(scope, {}).items()):
            granting = [p for p in permissions if p.allows(action)]
            if granting and any(p.condition is None for p in granting):
                continue
            status = "CONDITIONAL" if granting else "MISSING"
            findings.append(Finding(scope, action, tuple(sorted(types)), status))
    return findings
