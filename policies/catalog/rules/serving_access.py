"""Only the gateway can score: no other principal holds score, token, key or change permissions on a
serving endpoint, at any scope that reaches it (the endpoint, its workspace, the resource group, the
subscription or a management group)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.roles import BUILT_IN, RoleDefinition
from policies.catalog.values import UNKNOWN, as_list

_ML = "Microsoft.MachineLearningServices/workspaces"

SERVING_ACTIONS = (
    f"{_ML}/onlineEndpoints/score/action",
    f"{_ML}/onlineEndpoints/token/action",
    f"{_ML}/onlineEndpoints/listKeys/action",
    f"{_ML}/onlineEndpoints/regenerateKeys/action",
    f"{_ML}/onlineEndpoints/write",
    f"{_ML}/onlineEndpoints/delete",
    f"{_ML}/onlineEndpoints/deployments/write",
    f"{_ML}/onlineEndpoints/deployments/delete",
)
"""What reaches or changes a model around the gateway: scoring (Entra-token auth), AML tokens, keys, and
changes of the endpoint or its deployments (auth mode, public access, the served model)
(https://learn.microsoft.com/azure/machine-learning/how-to-authenticate-online-endpoint)."""

SCORE = SERVING_ACTIONS[0]


def granted(definition: RoleDefinition) -> list[str]:
    """The serving actions a role definition grants (wildcards and NotActions applied, case-insensitive)."""

    def matches(action: str, patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)

    return [a for a in SERVING_ACTIONS if matches(a, definition.actions) and not matches(a, definition.not_actions)]


def _custom(res: Res) -> RoleDefinition | None:
    actions: list[str] = []
    not_actions: list[str] = []
    permissions = res.props.get("permissions")
    if permissions is UNKNOWN:
        return None
    for permission in as_list(permissions):
        if not isinstance(permission, dict):
            continue
        if permission.get("actions") is UNKNOWN or permission.get("notActions") is UNKNOWN:
            return None
        actions += [a for a in as_list(permission.get("actions")) if isinstance(a, str)]
        not_actions += [a for a in as_list(permission.get("notActions")) if isinstance(a, str)]
    return RoleDefinition(str(res.props.get("roleName") or res.name), tuple(actions), tuple(not_actions))


def _definition(stack: StackView, assignment: Res) -> RoleDefinition | str | None:
    """The assigned role's definition; an error text when the gate cannot tell; None while unknown."""
    role = assignment.props.get("roleDefinitionId")
    guid = azure.role_guid(role)
    if guid in BUILT_IN:
        return BUILT_IN[guid]
    if guid:
        defined = stack.memo("serving_access.definitions", _definitions).get(guid)
        if defined is not None:
            return _custom(defined)
    if role is UNKNOWN:
        custom = stack.deps(assignment, azure.ROLE_DEFINITION)
        return _custom(custom[0]) if custom else None
    return f"role {guid or repr(role)}, which the gate does not know,"


def _definitions(stack: StackView) -> dict[str, Res]:
    """Custom role definitions by their lowercased role definition ID (the first one, in stack order)."""
    found: dict[str, Res] = {}
    for definition in stack.of_type(azure.ROLE_DEFINITION):
        found.setdefault(str(definition.props.get("roleDefinitionId", "")).lower(), definition)
    return found


_WORKSPACES = "/providers/microsoft.machinelearningservices/workspaces/"


@dataclass(frozen=True)
class _Endpoints:
    """The stack's online endpoints, indexed the ways a role assignment scope can reach them."""

    all: list[Res]
    by_group: dict[str, list[Res]]
    """By lowercased resource group name."""
    by_workspace: dict[str, list[Res]]
    """By lowercased workspace name."""


def _endpoints(stack: StackView) -> _Endpoints:
    endpoints = stack.of_type(azure.ONLINE_ENDPOINT)
    by_group: dict[str, list[Res]] = {}
    by_workspace: dict[str, list[Res]] = {}
    for e in endpoints:
        by_group.setdefault(str(e.props.get("resourceGroupName", "")).lower(), []).append(e)
        by_workspace.setdefault(str(e.props.get("workspaceName", "")).lower(), []).append(e)
    return _Endpoints(endpoints, by_group, by_workspace)


def _reached_by(scope: str, index: _Endpoints, stack: StackView) -> list[Res]:
    """The endpoints for which :func:`_reaches` holds, found through the index instead of by trying each one."""
    scope = scope.rstrip("/").lower()
    parts = scope.split("/")
    if scope == "" or "/providers/microsoft.management/managementgroups/" in scope:
        return list(index.all)
    if len(parts) == 3 and parts[1] == "subscriptions":
        return list(index.all)
    if len(parts) == 5 and parts[3] == "resourcegroups":
        return list(index.by_group.get(parts[4], []))
    # Workspaces whose marker occurs in the scope: every prefix of the text after each ".../workspaces/".
    starts, at = [], scope.find(_WORKSPACES)
    while at != -1:
        starts.append(at + len(_WORKSPACES))
        at = scope.find(_WORKSPACES, at + 1)
    names = index.by_workspace.keys()
    candidates: set[str] = set()
    for start in starts:
        if len(scope) - start < len(names):
            candidates |= {scope[start:end] for end in range(start, len(scope) + 1)} & names
        else:
            candidates |= {name for name in names if scope.startswith(name, start)}
    found = (e for workspace in candidates for e in index.by_workspace[workspace] if _reaches(scope, e))
    return stack.in_order(found)


def _reaches(scope: str, endpoint: Res) -> bool:
    scope = scope.rstrip("/").lower()
    workspace = str(endpoint.props.get("workspaceName", "")).lower()
    name = str(endpoint.props.get("endpointName", "")).lower()
    group = str(endpoint.props.get("resourceGroupName", "")).lower()
    parts = scope.split("/")
    if scope == "" or "/providers/microsoft.management/managementgroups/" in scope:
        return True
    if len(parts) == 3 and parts[1] == "subscriptions":
        return True
    if len(parts) == 5 and parts[3] == "resourcegroups":
        return parts[4] == group
    marker = f"/providers/microsoft.machinelearningservices/workspaces/{workspace}"
    if marker not in scope:
        return False
    tail = scope.split(marker, 1)[1]
    return tail in ("", f"/onlineendpoints/{name}") or tail.startswith(f"/onlineendpoints/{name}/")


def _platform_identities(stack: StackView) -> set[str]:
    """Identities Azure ML itself acts as: each workspace's primary identity (never a person's). A pipeline
    identity attached to a workspace for serverless Spark is not one of them."""
    return {
        i.urn
        for w in stack.of_type(azure.ML_WORKSPACE)
        for i in stack.deps(w, azure.IDENTITY)
        if not i.within(azure.DATA_STORAGE_COMPONENT)
    }


def _gateway(assignment: Res) -> bool:
    return assignment.within(azure.GATEWAY_COMPONENT)


def _serving_access(stack: StackView) -> Iterator[tuple[str, str]]:
    index = _endpoints(stack)
    if not index.all:
        return
    platform = _platform_identities(stack)
    for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
        scope = assignment.props.get("scope")
        if isinstance(scope, str):
            reached = _reached_by(scope, index, stack)
        else:
            # The endpoints it depends on, and those that depend on a workspace it depends on.
            reached = stack.in_order(
                [
                    *stack.deps(assignment, azure.ONLINE_ENDPOINT),
                    *(
                        e
                        for w in stack.deps(assignment, azure.ML_WORKSPACE)
                        for e in stack.dependents(w, azure.ONLINE_ENDPOINT)
                    ),
                ]
            )
        if not reached:
            continue
        definition = _definition(stack, assignment)
        if definition is None:
            continue
        names = ", ".join(str(e.props.get("endpointName") or e.name) for e in reached)
        if isinstance(definition, str):
            yield assignment.urn, f"{assignment.name} grants {definition} at a scope reaching endpoint {names}"
            continue
        actions = granted(definition)
        if not actions:
            continue
        if _gateway(assignment) and actions == [SCORE]:
            continue
        if any(i.urn in platform for i in stack.deps(assignment, azure.IDENTITY)):
            continue
        shown = ", ".join(a.rsplit(f"{_ML}/onlineEndpoints/", 1)[-1] for a in actions)
        yield (
            assignment.urn,
            f"{assignment.name} grants {definition.name} ({shown}) on endpoint {names}; only the gateway may score "
            "a serving endpoint, and nobody may change it outside the stack",
        )


GATEWAY_ONLY_SCORING = StackRule(
    id="MLSEC-EPT-020",
    name="Only the gateway can score a serving endpoint; nobody else holds its score, token, key or write permissions",
    severity=Severity.CRITICAL,
    threat=Threat.STEALING,
    rationale="An identity that can score the endpoint directly - or fetch its token or keys, or switch it to key "
    "auth or public access, or swap its model - bypasses the gateway's token check, rate limit, quota, caller "
    "logging and kill switch. The built-in AzureML Data Scientist role grants all of this through its wildcards "
    "on the workspace.",
    remediation="Give people the workspace's 'data scientist (no serving)' custom role instead of AzureML Data "
    "Scientist, and grant onlineEndpoints/score/action only to the gateway's identity, on the endpoint. The only "
    "other holder allowed is the workspace's own primary identity, which Azure ML itself acts as.",
    suppressible=False,
    check=_serving_access,
)

RULES = (GATEWAY_ONLY_SCORING,)
