"""Check before ``pulumi up`` that the signed-in identity may create everything the plan holds.

    python -m scripts.ops.preflight STACK [--resource-group NAME] [--subscription ID]
    python -m scripts.ops.preflight STACK --plan build/STACK/plan.json --require-credentials
    python -m scripts.ops.preflight STACK --print-condition

Reads the offline plan (``build/STACK/plan.json``, written by ``python -m scripts.plan STACK``) and derives
from it the Azure actions ``pulumi up`` needs and at which scope: creating the resource group needs
``Microsoft.Resources/subscriptions/resourceGroups/write`` on the subscription, everything else needs its
``<type>/write`` (plus the linked-access actions below) in the resource group. A planned resource type
that is not in :data:`REQUIRED` is an error (exit 2): the preflight never passes what it cannot judge.

It then signs in with ``DefaultAzureCredential`` and asks Azure Resource Manager for the identity's
effective permissions (``Microsoft.Authorization/permissions``) in the resource group given with
``--resource-group`` (its name is ``pulumi stack output resourceGroupName`` once deployed) or, when none is
given or it does not exist yet, on the subscription; it evaluates every required action against them the
way Azure does (``actions`` minus ``notActions`` of each role, ``*`` wildcards, no regard to case). It also
checks that every resource provider the plan uses is registered in the subscription.

``--print-condition`` prints, without signing in, an ABAC condition for the deployer's role assignment
that lets it assign and remove only the roles the plan assigns (see docs/deployment.md).

The subscription is ``--subscription``, else ``ARM_SUBSCRIPTION_ID`` or ``AZURE_SUBSCRIPTION_ID``, else the
only subscription the identity can see.

Exit status: 0 every action granted and every provider registered, or skipped because no Azure credential
is available (2 instead with --require-credentials); 1 an action is missing or a provider is not
registered; 2 cannot judge (usage error, unreadable plan, unknown resource type, an unexpected answer).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError

from components.regions import CLOUDS
from policies.catalog.roles import PRIVILEGED
from scripts.common.cli import UsageError
from scripts.common.safeload import InputError, read_json
from scripts.ops.arguments import (
    Argv,
    Credential,
    Transport,
    add_cloud,
    add_require_credentials,
    command_parser,
    resolve_cloud,
)
from scripts.ops.azure_mgmt import (
    ARM_ENDPOINTS,
    ArmClient,
    ArmError,
    ArmStatusError,
    FirstTokenReader,
    NoCredentialError,
    no_token_reason,
    request_failure,
    signed_in,
)
from scripts.plan.arm_types import ARM_TYPES, NON_ARM_TYPES

SUBSCRIPTION = "subscription"
RESOURCE_GROUP = "resource group"


@dataclass(frozen=True)
class Need:
    """What creating one planned resource type asks of the deploying identity."""

    actions: tuple[str, ...]
    """Azure RBAC actions, as named in Microsoft's resource provider operations list."""
    scope: str = RESOURCE_GROUP
    """Where they are checked: the subscription or the stack's resource group."""


# Every azure-native type the blueprint creates (scripts/plan/arm_types.py) and the actions ARM checks when the
# provider PUTs it. A resource's create-or-update is its ARM type's "/write" operation
# (https://learn.microsoft.com/azure/role-based-access-control/resource-provider-operations). A private
# endpoint also joins its subnet: Microsoft.Network/virtualNetworks/subnets/join/action
# (https://learn.microsoft.com/azure/private-link/rbac-permissions). Role assignments, the custom role
# definition and locks are Microsoft.Authorization writes, which Contributor excludes (NotActions
# Microsoft.Authorization/*/Write; https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#contributor).
REQUIRED: dict[str, Need] = {
    "azure-native:resources:ResourceGroup": Need(
        ("Microsoft.Resources/subscriptions/resourceGroups/write",), scope=SUBSCRIPTION
    ),
    "azure-native:network:VirtualNetwork": Need(("Microsoft.Network/virtualNetworks/write",)),
    "azure-native:network:Subnet": Need(("Microsoft.Network/virtualNetworks/subnets/write",)),
    "azure-native:network:NetworkSecurityGroup": Need(("Microsoft.Network/networkSecurityGroups/write",)),
    "azure-native:network:PrivateEndpoint": Need(
        ("Microsoft.Network/privateEndpoints/write", "Microsoft.Network/virtualNetworks/subnets/join/action")
    ),
    "azure-native:network:PrivateDnsZoneGroup": Need(
        ("Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write",)
    ),
    "azure-native:privatedns:PrivateZone": Need(("Microsoft.Network/privateDnsZones/write",)),
    "azure-native:privatedns:VirtualNetworkLink": Need(
        ("Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",)
    ),
    "azure-native:operationalinsights:Workspace": Need(("Microsoft.OperationalInsights/workspaces/write",)),
    "azure-native:applicationinsights:Component": Need(("Microsoft.Insights/components/write",)),
    "azure-native:monitor:DiagnosticSetting": Need(("Microsoft.Insights/diagnosticSettings/write",)),
    # the Activity Log export lives on the subscription itself
    "azure-native:monitor:SubscriptionDiagnosticSetting": Need(
        ("Microsoft.Insights/diagnosticSettings/write",), scope=SUBSCRIPTION
    ),
    "azure-native:monitor:ActionGroup": Need(("Microsoft.Insights/actionGroups/write",)),
    "azure-native:monitor:PrivateLinkScope": Need(("Microsoft.Insights/privateLinkScopes/write",)),
    "azure-native:monitor:PrivateLinkScopedResource": Need(
        ("Microsoft.Insights/privateLinkScopes/scopedResources/write",)
    ),
    "azure-native:monitor:ScheduledQueryRule": Need(("Microsoft.Insights/scheduledQueryRules/write",)),
    "azure-native:monitor:MetricAlert": Need(("Microsoft.Insights/metricAlerts/write",)),
    "azure-native:keyvault:Vault": Need(("Microsoft.KeyVault/vaults/write",)),
    "azure-native:keyvault:Key": Need(("Microsoft.KeyVault/vaults/keys/write",)),
    "azure-native:containerregistry:Registry": Need(("Microsoft.ContainerRegistry/registries/write",)),
    "azure-native:storage:StorageAccount": Need(("Microsoft.Storage/storageAccounts/write",)),
    "azure-native:storage:BlobServiceProperties": Need(("Microsoft.Storage/storageAccounts/blobServices/write",)),
    "azure-native:storage:BlobContainer": Need(("Microsoft.Storage/storageAccounts/blobServices/containers/write",)),
    "azure-native:storage:BlobContainerImmutabilityPolicy": Need(
        ("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write",)
    ),
    "azure-native:storage:ManagementPolicy": Need(("Microsoft.Storage/storageAccounts/managementPolicies/write",)),
    "azure-native:machinelearningservices:Workspace": Need(("Microsoft.MachineLearningServices/workspaces/write",)),
    "azure-native:machinelearningservices:Compute": Need(
        ("Microsoft.MachineLearningServices/workspaces/computes/write",)
    ),
    "azure-native:machinelearningservices:Datastore": Need(
        ("Microsoft.MachineLearningServices/workspaces/datastores/write",)
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": Need(
        ("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write",)
    ),
    "azure-native:machinelearningservices:OnlineDeployment": Need(
        ("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/write",)
    ),
    "azure-native:apimanagement:ApiManagementService": Need(("Microsoft.ApiManagement/service/write",)),
    "azure-native:apimanagement:Logger": Need(("Microsoft.ApiManagement/service/loggers/write",)),
    "azure-native:apimanagement:Diagnostic": Need(("Microsoft.ApiManagement/service/diagnostics/write",)),
    "azure-native:apimanagement:Api": Need(("Microsoft.ApiManagement/service/apis/write",)),
    "azure-native:apimanagement:ApiOperation": Need(("Microsoft.ApiManagement/service/apis/operations/write",)),
    "azure-native:apimanagement:ApiSchema": Need(("Microsoft.ApiManagement/service/apis/schemas/write",)),
    # the gateway's A records (gateway, portal, developer, management, scm) in the private zone
    "azure-native:privatedns:PrivateRecordSet": Need(("Microsoft.Network/privateDnsZones/A/write",)),
    "azure-native:monitor:AutoscaleSetting": Need(("Microsoft.Insights/autoscalesettings/write",)),
    # the endpoint traffic step reads the endpoint and its deployments, then writes the endpoint back
    "pulumi-python:dynamic/endpoint:Traffic": Need(
        (
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read",
        )
    ),
    "azure-native:apimanagement:ApiPolicy": Need(("Microsoft.ApiManagement/service/apis/policies/write",)),
    "azure-native:managedidentity:UserAssignedIdentity": Need(
        ("Microsoft.ManagedIdentity/userAssignedIdentities/write",)
    ),
    # The custom role's assignable scope is the stack's resource group (components/gateway.py); creating a
    # custom role needs roleDefinitions/write on every assignable scope
    # (https://learn.microsoft.com/azure/role-based-access-control/custom-roles#who-can-create-delete-update-or-view-a-custom-role).
    "azure-native:authorization:RoleDefinition": Need(("Microsoft.Authorization/roleDefinitions/write",)),
    "azure-native:authorization:RoleAssignment": Need(("Microsoft.Authorization/roleAssignments/write",)),
    # https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources#who-can-create-or-delete-locks
    "azure-native:authorization:ManagementLockByScope": Need(("Microsoft.Authorization/locks/write",)),
}
"""Pulumi type token -> what creating a resource of it needs. Kept in step with scripts.plan.arm_types.ARM_TYPES."""


# Permissions - List For Resource Group / List For Resource, in the Azure REST API specs:
# specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
# authorization-RoleDefinitionsCalls.json
# ARM answers the same operation on a subscription (/subscriptions/{id}/providers/Microsoft.Authorization/permissions),
# which that spec does not list; an unexpected answer there is "cannot judge" (exit 2), never a pass.
PERMISSIONS_API = "2022-04-01"
# Providers - List, Resource Groups, Subscriptions - List:
# specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/resources.json,
# specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/subscriptions.json
RESOURCES_API = "2021-04-01"
SUBSCRIPTIONS_API = "2022-12-01"
MAX_PAGES = 50
"""A paged answer longer than this is treated as an unexpected answer."""

USER_AGENT = "secure-ml-preflight"
HINTS = {401: " (sign in again: az login)"}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GROUP_NAME = re.compile(r"^[-\w.()]{1,90}$")


class CannotJudgeError(Exception):
    """The preflight cannot tell whether the deployment would be allowed: exit 2."""


# ---------------------------------------------------------------------------------------------
# What the plan needs
# ---------------------------------------------------------------------------------------------


@dataclass
class Requirements:
    """The actions a plan needs per scope (with the planned types needing each) and its resource providers."""

    actions: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    """Scope -> action -> the Pulumi types that need it."""
    providers: set[str] = field(default_factory=set)
    """Resource provider namespaces, such as Microsoft.Storage."""


def requirements(document: Mapping[str, Any]) -> Requirements:
    """What deploying ``document`` (a plan.json) needs; :class:`CannotJudgeError` for a type not in :data:`REQUIRED`."""
    project = document.get("project")
    resources = document.get("resources")
    if not isinstance(project, str) or not isinstance(resources, list):
        raise CannotJudgeError("the plan has no project or resources: is it a plan.json of scripts.plan?")
    found = Requirements()
    unknown: set[str] = set()
    for resource in resources:
        token = resource.get("type") if isinstance(resource, dict) else None
        if not isinstance(token, str):
            raise CannotJudgeError("the plan holds a resource without a type")
        package = token.split(":", 1)[0]
        if package == project or token == "pulumi:pulumi:Stack" or token.startswith("pulumi:providers:"):
            continue  # components and providers: nothing is sent to Azure for them
        need = REQUIRED.get(token)
        spec = ARM_TYPES.get(token)
        if need is None or (spec is None and token not in NON_ARM_TYPES):
            unknown.add(token)
            continue
        for action in need.actions:
            found.actions.setdefault(need.scope, {}).setdefault(action, set()).add(token)
            if spec is None:  # a step that writes other resources: their providers
                found.providers.add(action.split("/", 1)[0])
        if spec is not None:
            found.providers.add(spec.arm_type.split("/", 1)[0])
    if unknown:
        raise CannotJudgeError(
            f"the plan holds resource types whose required permissions are unknown: {', '.join(sorted(unknown))} "
            "(add them to scripts.ops.preflight.REQUIRED)"
        )
    return found


def assigned_roles(document: Mapping[str, Any]) -> list[str]:
    """The role definition GUIDs the plan's role assignments name (built-in and the blueprint's custom role)."""
    guids = set()
    resources = document.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise CannotJudgeError("the plan's resources are not a list of objects: is it a plan.json of scripts.plan?")
    for resource in resources:
        if resource.get("type") != "azure-native:authorization:RoleAssignment":
            continue
        inputs = resource.get("inputs")
        value = inputs.get("roleDefinitionId") if isinstance(inputs, dict) else None
        guid = value.rsplit("/", 1)[-1] if isinstance(value, str) else ""
        if not _GUID.match(guid):
            raise CannotJudgeError(f"role assignment {resource.get('name')}: no role definition ID in the plan")
        guids.add(guid.lower())
    return sorted(guids)


def assignment_condition(document: Mapping[str, Any]) -> str:
    """An ABAC condition for the deployer's role assignment: it may assign and remove only the plan's roles.

    The "Constrain roles" condition of
    https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples#example-constrain-roles
    (role definition ID is a request attribute of roleAssignments/write and a resource attribute of
    roleAssignments/delete: https://learn.microsoft.com/azure/role-based-access-control/conditions-authorization-actions-attributes).
    """
    roles = ", ".join(assigned_roles(document))
    attribute = "[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals"
    if not roles:
        raise CannotJudgeError("the plan assigns no roles: the deployer needs no role assignment rights")
    return (
        "(\n"
        " (\n"
        "  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})\n"
        " )\n"
        " OR\n"
        " (\n"
        f"  @Request{attribute} {{{roles}}}\n"
        " )\n"
        ")\n"
        "AND\n"
        "(\n"
        " (\n"
        "  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})\n"
        " )\n"
        " OR\n"
        " (\n"
        f"  @Resource{attribute} {{{roles}}}\n"
        " )\n"
        ")"
    )


# ---------------------------------------------------------------------------------------------
# How Azure evaluates permissions
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Azure Resource Manager
# ---------------------------------------------------------------------------------------------


class Arm(FirstTokenReader):
    """GETs of ARM documents: the first one tells whether there is a credential at all."""

    def get(self, url: str) -> dict[str, Any]:
        try:
            document = self.fetch(url)
        except ClientAuthenticationError as exc:
            raise CannotJudgeError(no_token_reason(self.arm, exc)) from None
        except AzureError as exc:  # no answer after the retries (ArmError is not an AzureError)
            raise CannotJudgeError(request_failure(exc)) from None
        if not isinstance(document, dict):
            raise CannotJudgeError(f"GET {url}: the answer is not a JSON object")
        return document

    def get_all(self, path: str, api_version: str) -> list[Any]:
        """Every item of the paged list at ``path`` (following ``nextLink``)."""
        url: str | None = f"{self.arm}{path}?api-version={api_version}"
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            page = self.get(url)
            value = page.get("value")
            if not isinstance(value, list):
                raise CannotJudgeError(f"GET {path}: the answer has no value array")
            items += value
            next_link = page.get("nextLink")
            if next_link is not None and not (isinstance(next_link, str) and next_link.startswith(self.arm + "/")):
                raise CannotJudgeError(f"GET {path}: a nextLink outside {self.arm}")
            url = next_link
        if url is not None:
            raise CannotJudgeError(f"GET {path}: more than {MAX_PAGES} pages")
        return items


def choose_subscription(arm: Arm, given: str | None) -> str:
    """``given``, else the only subscription the identity sees (:class:`CannotJudgeError` for none or several)."""
    if given:
        return given
    subscriptions = [s for s in arm.get_all("/subscriptions", SUBSCRIPTIONS_API) if isinstance(s, dict)]
    ids = sorted(str(s.get("subscriptionId")) for s in subscriptions if s.get("state", "Enabled") == "Enabled")
    if len(ids) != 1:
        raise CannotJudgeError(
            f"the identity sees {len(ids)} enabled subscriptions: name one with --subscription or ARM_SUBSCRIPTION_ID"
        )
    return ids[0]


def read_permissions(arm: Arm, subscription: str, resource_group: str | None) -> tuple[str, list[Permission]]:
    """The scope checked (its ARM path) and the identity's permissions there.

    The resource group if named and present, else the subscription.
    """
    if resource_group is not None:
        path = f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        try:
            return path, parse_permissions(
                arm.get_all(f"{path}/providers/Microsoft.Authorization/permissions", PERMISSIONS_API)
            )
        except ArmStatusError as exc:
            if exc.status != 404:
                raise
    path = f"/subscriptions/{subscription}"
    return path, parse_permissions(
        arm.get_all(f"{path}/providers/Microsoft.Authorization/permissions", PERMISSIONS_API)
    )


def unregistered(arm: Arm, subscription: str, needed: set[str]) -> dict[str, str]:
    """Namespace -> registration state of every needed provider that is not Registered."""
    states: dict[str, str] = {}
    for provider in arm.get_all(f"/subscriptions/{subscription}/providers", RESOURCES_API):
        if isinstance(provider, dict) and isinstance(provider.get("namespace"), str):
            states[provider["namespace"].lower()] = str(provider.get("registrationState"))
    return {
        namespace: states.get(namespace.lower(), "NotFound")
        for namespace in sorted(needed)
        if states.get(namespace.lower()) != "Registered"
    }


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def load_plan(path: Path) -> dict[str, Any]:
    """The plan.json of scripts.plan, read strictly (:mod:`scripts.common.safeload`); :class:`UsageError` naming it."""
    if not path.exists():
        raise UsageError(f"--plan {path}: no such plan; run `make plan` first")
    try:
        document = read_json(path, what="plan")
    except InputError as exc:
        raise UsageError(f"--plan {exc}") from None
    if not isinstance(document, dict):
        raise UsageError(f"--plan {path}: expected the JSON object of scripts.plan")
    return document


EXIT_STATUS = "Exit status: 0 all granted (or skipped: no Azure credential); 1 something missing; 2 cannot judge."


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("preflight", __doc__, EXIT_STATUS)
    parser.add_argument("--plan", type=Path, help="plan.json to check (default: build/STACK/plan.json)")
    parser.add_argument("--subscription", help="subscription ID (default: ARM_SUBSCRIPTION_ID, AZURE_SUBSCRIPTION_ID)")
    parser.add_argument(
        "--resource-group",
        help="the stack's resource group, once it exists (pulumi stack output resourceGroupName)",
    )
    add_cloud(parser)
    add_require_credentials(parser, status=2, when="before")
    parser.add_argument(
        "--print-condition",
        action="store_true",
        help="print the role assignment condition that limits the deployer to the roles the plan assigns, and exit",
    )
    return parser


def _subscription(args: argparse.Namespace) -> str | None:
    value: str | None = (
        args.subscription or os.environ.get("ARM_SUBSCRIPTION_ID") or os.environ.get("AZURE_SUBSCRIPTION_ID")
    )
    if value and not _GUID.match(value):
        raise UsageError(f"subscription: expected a subscription ID (GUID), found {value!r}")
    return value or None


def report(stack: str, scope: str, findings: Sequence[Finding], providers: Mapping[str, str]) -> Iterator[str]:
    yield f"Preflight of stack {stack}: permissions checked at {scope}"
    if findings:
        rows = [("scope", "action", "result", "granted by (built-in role)", "needed by")]
        rows += [(f.scope, f.action, f.status, granted_by(f.action), ", ".join(f.needed_by)) for f in findings]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            yield "  " + "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
    if providers:
        yield "resource providers not registered (az provider register --namespace NAME):"
        for namespace, state in providers.items():
            yield f"  {namespace}  {state}"
    missing = sum(f.status == "MISSING" for f in findings)
    conditional = len(findings) - missing
    yield (
        f"{missing} action(s) missing, {conditional} granted only under a condition, "
        f"{len(providers)} provider(s) not registered"
    )


def main(argv: Argv = None, *, credential: Credential = None, transport: Transport = None) -> int:
    """Run the preflight; ``credential`` and ``transport`` replace DefaultAzureCredential and HTTP."""
    try:
        args = _parser().parse_args(argv)
        cloud = resolve_cloud(args)
        subscription = _subscription(args)
        if args.resource_group is not None and not _GROUP_NAME.match(args.resource_group):
            raise UsageError(f"--resource-group: not a resource group name: {args.resource_group!r}")
        plan = args.plan or args.project_dir / "build" / args.stack / "plan.json"
        document = load_plan(plan)
        try:
            needs = requirements(document)
            condition = assignment_condition(document) if args.print_condition else None
        except CannotJudgeError as exc:
            raise UsageError(f"--plan {plan}: {exc}") from None
        if condition is not None:
            print(condition)
            return 0
    except (UsageError, CannotJudgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    arm = ARM_ENDPOINTS[cloud]
    try:
        with signed_in(arm, CLOUDS[cloud].login_host, credential, transport) as pipeline:
            reader = Arm(ArmClient(pipeline, USER_AGENT, HINTS), arm)
            subscription = choose_subscription(reader, subscription)
            scope, permissions = read_permissions(reader, subscription, args.resource_group)
            providers = unregistered(reader, subscription, needs.providers)
    except NoCredentialError as exc:
        if args.require_credentials:
            print(f"error: no Azure credential, nothing checked: {exc}", file=sys.stderr)
            return 2
        print(f"skipped, nothing checked: {exc}")
        return 0
    except (CannotJudgeError, ArmError) as exc:
        print(f"error: cannot judge the permissions: {exc}", file=sys.stderr)
        return 2

    findings = evaluate(needs, permissions)
    print("\n".join(report(args.stack, scope, findings, providers)))
    return 1 if providers or any(f.status == "MISSING" for f in findings) else 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
