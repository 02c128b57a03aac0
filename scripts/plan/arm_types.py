"""Azure Resource Manager facts about the azure-native types the blueprint uses.

For each Pulumi type token: the fully-qualified ARM resource type and the input properties that name
each segment of the resource ID. The offline plan uses this to give every mocked resource the ID
Azure would give it, and the ARM export uses it to write flat, fully-qualified resources.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArmType:
    """How a Pulumi type token maps onto ARM."""

    arm_type: str
    """Fully-qualified ARM type, such as Microsoft.Network/virtualNetworks/subnets."""
    name_inputs: tuple[str, ...]
    """Input properties holding the name of each type segment, outermost first."""
    extension: bool = False
    """Extension resource: its ID is the ``scope`` (or ``resourceUri``) input plus the provider path."""
    scope_input: str = "scope"
    """Input holding the scope of an extension resource."""
    type_inputs: tuple[str, ...] = ()
    """Inputs the ARM type itself encodes (a record set's recordType), so not properties."""


ARM_TYPES: dict[str, ArmType] = {
    "azure-native:resources:ResourceGroup": ArmType("Microsoft.Resources/resourceGroups", ("resourceGroupName",)),
    "azure-native:network:VirtualNetwork": ArmType("Microsoft.Network/virtualNetworks", ("virtualNetworkName",)),
    "azure-native:network:Subnet": ArmType(
        "Microsoft.Network/virtualNetworks/subnets", ("virtualNetworkName", "subnetName")
    ),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "Microsoft.Network/networkSecurityGroups", ("networkSecurityGroupName",)
    ),
    "azure-native:network:PrivateEndpoint": ArmType("Microsoft.Network/privateEndpoints", ("privateEndpointName",)),
    "azure-native:network:PrivateDnsZoneGroup": ArmType(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", ("privateEndpointName", "privateDnsZoneGroupName")
    ),
    "azure-native:privatedns:PrivateZone": ArmType("Microsoft.Network/privateDnsZones", ("privateZoneName",)),
    "azure-native:privatedns:VirtualNetworkLink": ArmType(
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks", ("privateZoneName", "virtualNetworkLinkName")
    ),
    # The blueprint writes A records only (the gateway's host names); other record types are other ARM types.
    "azure-native:privatedns:PrivateRecordSet": ArmType(
        "Microsoft.Network/privateDnsZones/A", ("privateZoneName", "relativeRecordSetName"), type_inputs=("recordType",)
    ),
    "azure-native:operationalinsights:Workspace": ArmType(
        "Microsoft.OperationalInsights/workspaces", ("workspaceName",)
    ),
    "azure-native:applicationinsights:Component": ArmType("Microsoft.Insights/components", ("resourceName",)),
    "azure-native:monitor:DiagnosticSetting": ArmType(
        "Microsoft.Insights/diagnosticSettings", ("name",), extension=True, scope_input="resourceUri"
    ),
    "azure-native:monitor:SubscriptionDiagnosticSetting": ArmType(
        "Microsoft.Insights/diagnosticSettings", ("name",), extension=True, scope_input="subscriptionScope"
    ),
    "azure-native:monitor:ActionGroup": ArmType("Microsoft.Insights/actionGroups", ("actionGroupName",)),
    "azure-native:monitor:PrivateLinkScope": ArmType("Microsoft.Insights/privateLinkScopes", ("scopeName",)),
    "azure-native:monitor:PrivateLinkScopedResource": ArmType(
        "Microsoft.Insights/privateLinkScopes/scopedResources", ("scopeName", "name")
    ),
    "azure-native:keyvault:Vault": ArmType("Microsoft.KeyVault/vaults", ("vaultName",)),
    "azure-native:keyvault:Key": ArmType("Microsoft.KeyVault/vaults/keys", ("vaultName", "keyName")),
    "azure-native:containerregistry:Registry": ArmType("Microsoft.ContainerRegistry/registries", ("registryName",)),
    "azure-native:storage:StorageAccount": ArmType("Microsoft.Storage/storageAccounts", ("accountName",)),
    "azure-native:storage:BlobServiceProperties": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices", ("accountName", "blobServicesName")
    ),
    "azure-native:storage:BlobContainer": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        ("accountName", "blobServicesName", "containerName"),
    ),
    "azure-native:storage:BlobContainerImmutabilityPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
        ("accountName", "blobServicesName", "containerName", "immutabilityPolicyName"),
    ),
    "azure-native:storage:ManagementPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/managementPolicies", ("accountName", "managementPolicyName")
    ),
    "azure-native:monitor:ScheduledQueryRule": ArmType("Microsoft.Insights/scheduledQueryRules", ("ruleName",)),
    "azure-native:machinelearningservices:Datastore": ArmType(
        "Microsoft.MachineLearningServices/workspaces/datastores", ("workspaceName", "name")
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": ArmType(
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints", ("workspaceName", "endpointName")
    ),
    "azure-native:machinelearningservices:OnlineDeployment": ArmType(
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        ("workspaceName", "endpointName", "deploymentName"),
    ),
    "azure-native:apimanagement:ApiManagementService": ArmType("Microsoft.ApiManagement/service", ("serviceName",)),
    "azure-native:apimanagement:Logger": ArmType(
        "Microsoft.ApiManagement/service/loggers", ("serviceName", "loggerId")
    ),
    "azure-native:apimanagement:Diagnostic": ArmType(
        "Microsoft.ApiManagement/service/diagnostics", ("serviceName", "diagnosticId")
    ),
    "azure-native:apimanagement:Api": ArmType("Microsoft.ApiManagement/service/apis", ("serviceName", "apiId")),
    "azure-native:apimanagement:ApiOperation": ArmType(
        "Microsoft.ApiManagement/service/apis/operations", ("serviceName", "apiId", "operationId")
    ),
    "azure-native:apimanagement:ApiSchema": ArmType(
        "Microsoft.ApiManagement/service/apis/schemas", ("serviceName", "apiId", "schemaId")
    ),
    "azure-native:apimanagement:ApiPolicy": ArmType(
        "Microsoft.ApiManagement/service/apis/policies", ("serviceName", "apiId", "policyId")
    ),
    "azure-native:authorization:RoleDefinition": ArmType(
        "Microsoft.Authorization/roleDefinitions", ("roleDefinitionId",), extension=True
    ),
    "azure-native:monitor:MetricAlert": ArmType("Microsoft.Insights/metricAlerts", ("ruleName",)),
    "azure-native:monitor:AutoscaleSetting": ArmType("Microsoft.Insights/autoscalesettings", ("autoscaleSettingName",)),
    "azure-native:machinelearningservices:Workspace": ArmType(
        "Microsoft.MachineLearningServices/workspaces", ("workspaceName",)
    ),
    "azure-native:machinelearningservices:Compute": ArmType(
        "Microsoft.MachineLearningServices/workspaces/computes", ("workspaceName", "computeName")
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType(
        "Microsoft.ManagedIdentity/userAssignedIdentities", ("resourceName",)
    ),
    "azure-native:authorization:RoleAssignment": ArmType(
        "Microsoft.Authorization/roleAssignments", ("roleAssignmentName",), extension=True
    ),
    "azure-native:authorization:ManagementLockByScope": ArmType(
        "Microsoft.Authorization/locks", ("lockName",), extension=True
    ),
}

NON_ARM_TYPES: dict[str, str] = {
    "pulumi-python:dynamic/endpoint:Traffic": "the traffic split of an online endpoint, written by a dynamic "
    "provider (components/endpoint_traffic.py) into the endpoint's properties after its deployments exist",
}
"""Custom resources that are not ARM resources of their own, with what they do. The ARM export leaves them
out; any other non-azure-native custom type in a plan is an error."""

_FIXED_CHILD_NAMES = {"blobServicesName": "default"}


def principal_id(seed: str) -> str:
    """A stable GUID for a fake principal, derived from ``seed`` (usually the resource URN)."""
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16], version=4))


AUTONAMED_FLAG = "__createBeforeDelete"
"""Input the provider's Check adds (true) next to a name it generated; readers use it to tell one apart."""

UUID_NAMED = frozenset({"azure-native:authorization:RoleAssignment", "azure-native:authorization:RoleDefinition"})
"""Types whose name the provider generates as a UUID (auto-naming strategy "uuid")."""


def name_input(token: str) -> str | None:
    """The input naming the resource itself (the last of its type's name inputs), if the type is known."""
    spec = ARM_TYPES.get(token)
    return spec.name_inputs[-1] if spec else None


def auto_name(token: str, logical: str) -> str:
    """The name azure-native v3 gives a resource whose name input is left out, as its Check step does.

    Strategy "random" (provider/pkg/provider/provider.go ``getDefaultName`` in pulumi/pulumi-azure-native):
    ``resource.NewUniqueName(randomSeed, <logical name>, 8, 0, nil)`` - the logical name as it is, no
    separator, then 8 characters of ``0123456789abcdef``; no cleaning and no length cap (maxlen 0), so a
    storage account's hyphens and length survive (pulumi-azure-native issues 3665 and 4294). Strategy
    "uuid" for role assignments and definitions. The suffix here is derived from type and logical name
    instead of the engine's per-resource random seed, so plans are reproducible.
    """
    if token in UUID_NAMED:
        return principal_id(f"{token}::{logical}")
    return logical + hashlib.sha256(f"{token}::{logical}".encode()).hexdigest()[:8]


def check_inputs(token: str, logical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs after the provider's Check: a left-out name is generated and flagged.

    As ``applyDefaults`` does: only when the name input has no value (an unknown value is a value), and a
    generated name comes with ``__createBeforeDelete: true``. Policies at preview see these inputs.
    """
    key = name_input(token)
    if key is None or key in _FIXED_CHILD_NAMES or inputs.get(key) is not None:
        return inputs
    return {**inputs, key: auto_name(token, logical), AUTONAMED_FLAG: True}


def arm_id(token: str, logical: str, inputs: dict[str, Any], subscription: str) -> str:
    """The ARM resource ID of a resource of type ``token`` with these inputs."""
    spec = ARM_TYPES.get(token)
    if spec is None:
        module, kind = token.split(":")[1:3]
        name = auto_name(token, logical)
        group = inputs.get("resourceGroupName", "unknown")
        return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/azure-native.{module}/{kind}/{name}"
    names = [
        str(inputs.get(key) or _FIXED_CHILD_NAMES.get(key) or auto_name(token, logical)) for key in spec.name_inputs
    ]
    namespace, *types = spec.arm_type.split("/")
    if spec.extension:
        scope = str(inputs.get(spec.scope_input, f"/subscriptions/{subscription}"))
        return f"{scope}/providers/{namespace}/{types[0]}/{names[0]}"
    if spec.arm_type == "Microsoft.Resources/resourceGroups":
        return f"/subscriptions/{subscription}/resourceGroups/{names[0]}"
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    group = inputs.get("resourceGroupName", "unknown")
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{path}"
