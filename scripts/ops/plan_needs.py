"""What deploying a plan needs from Azure: the actions ``pulumi up`` sends for each planned resource type and
at which scope (:data:`REQUIRED`), the resource providers it uses, and the roles it assigns, with the ABAC
condition that limits a deployer to assigning those roles. Read by :mod:`scripts.ops.preflight`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts.plan.arm_types import ARM_TYPES, NON_ARM_TYPES

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

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


class CannotJudgeError(Exception):
    """The preflight cannot tell whether the deployment would be allowed: exit 2."""


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
            "(add them to scripts.ops.plan_needs.REQUIRED)"
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
        # A built-in role's ID may be tenant-level (/providers/Microsoft.Authorization/roleDefinitions/<guid>),
        # which azure.mgmt.core.tools.is_valid_resource_id refuses: the GUID is the last segment either way.
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
