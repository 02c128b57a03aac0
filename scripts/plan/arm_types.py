"""Azure Resource Manager facts about the azure-native types the blueprint uses.

For each Pulumi type token: the fully-qualified ARM resource type and the input properties that name
each segment of the resource ID. The offline plan uses this to give every mocked resource the ID
Azure would give it, and the ARM export uses it to write flat, fully-qualified resources.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import re
import typing
import uuid
from dataclasses import dataclass, field
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
    api_version: str = field(kw_only=True)
    """The Azure REST API version the installed azure-native provider deploys this type with (its class docstring:
    "Uses Azure REST API version ..."). The one place the blueprint records it: the ARM export writes it, and
    ``tests/plan/test_arm_export.py`` fails when the provider's version differs, so an upgrade that moves a type to
    another (or a preview) version is a reviewed change of this table."""


ARM_TYPES: dict[str, ArmType] = {
    "azure-native:resources:ResourceGroup": ArmType(
        "Microsoft.Resources/resourceGroups", ("resourceGroupName",), api_version="2024-03-01"
    ),
    "azure-native:network:VirtualNetwork": ArmType(
        "Microsoft.Network/virtualNetworks", ("virtualNetworkName",), api_version="2024-05-01"
    ),
    "azure-native:network:Subnet": ArmType(
        "Microsoft.Network/virtualNetworks/subnets", ("virtualNetworkName", "subnetName"), api_version="2024-05-01"
    ),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "Microsoft.Network/networkSecurityGroups", ("networkSecurityGroupName",), api_version="2024-05-01"
    ),
    "azure-native:network:PrivateEndpoint": ArmType(
        "Microsoft.Network/privateEndpoints", ("privateEndpointName",), api_version="2024-05-01"
    ),
    "azure-native:network:PrivateDnsZoneGroup": ArmType(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        ("privateEndpointName", "privateDnsZoneGroupName"),
        api_version="2024-05-01",
    ),
    "azure-native:privatedns:PrivateZone": ArmType(
        "Microsoft.Network/privateDnsZones", ("privateZoneName",), api_version="2024-06-01"
    ),
    "azure-native:privatedns:VirtualNetworkLink": ArmType(
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        ("privateZoneName", "virtualNetworkLinkName"),
        api_version="2024-06-01",
    ),
    # The blueprint writes A records only (the gateway's host names); other record types are other ARM types.
    "azure-native:privatedns:PrivateRecordSet": ArmType(
        "Microsoft.Network/privateDnsZones/A",
        ("privateZoneName", "relativeRecordSetName"),
        type_inputs=("recordType",),
        api_version="2024-06-01",
    ),
    "azure-native:operationalinsights:Workspace": ArmType(
        "Microsoft.OperationalInsights/workspaces", ("workspaceName",), api_version="2023-09-01"
    ),
    "azure-native:applicationinsights:Component": ArmType(
        "Microsoft.Insights/components", ("resourceName",), api_version="2020-02-02"
    ),
    "azure-native:monitor:DiagnosticSetting": ArmType(
        "Microsoft.Insights/diagnosticSettings",
        ("name",),
        extension=True,
        scope_input="resourceUri",
        api_version="2021-05-01-preview",
    ),
    "azure-native:monitor:SubscriptionDiagnosticSetting": ArmType(
        "Microsoft.Insights/diagnosticSettings",
        ("name",),
        extension=True,
        scope_input="subscriptionScope",
        api_version="2021-05-01-preview",
    ),
    "azure-native:monitor:ActionGroup": ArmType(
        "Microsoft.Insights/actionGroups", ("actionGroupName",), api_version="2024-10-01-preview"
    ),
    "azure-native:monitor:PrivateLinkScope": ArmType(
        "Microsoft.Insights/privateLinkScopes", ("scopeName",), api_version="2023-06-01-preview"
    ),
    "azure-native:monitor:PrivateLinkScopedResource": ArmType(
        "Microsoft.Insights/privateLinkScopes/scopedResources", ("scopeName", "name"), api_version="2023-06-01-preview"
    ),
    "azure-native:keyvault:Vault": ArmType("Microsoft.KeyVault/vaults", ("vaultName",), api_version="2024-11-01"),
    "azure-native:keyvault:Key": ArmType(
        "Microsoft.KeyVault/vaults/keys", ("vaultName", "keyName"), api_version="2024-11-01"
    ),
    "azure-native:containerregistry:Registry": ArmType(
        "Microsoft.ContainerRegistry/registries", ("registryName",), api_version="2023-01-01-preview"
    ),
    "azure-native:storage:StorageAccount": ArmType(
        "Microsoft.Storage/storageAccounts", ("accountName",), api_version="2024-01-01"
    ),
    "azure-native:storage:BlobServiceProperties": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices", ("accountName", "blobServicesName"), api_version="2024-01-01"
    ),
    "azure-native:storage:BlobContainer": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        ("accountName", "blobServicesName", "containerName"),
        api_version="2024-01-01",
    ),
    "azure-native:storage:BlobContainerImmutabilityPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
        ("accountName", "blobServicesName", "containerName", "immutabilityPolicyName"),
        api_version="2024-01-01",
    ),
    "azure-native:storage:ManagementPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/managementPolicies",
        ("accountName", "managementPolicyName"),
        api_version="2024-01-01",
    ),
    "azure-native:monitor:ScheduledQueryRule": ArmType(
        "Microsoft.Insights/scheduledQueryRules", ("ruleName",), api_version="2025-01-01-preview"
    ),
    "azure-native:machinelearningservices:Datastore": ArmType(
        "Microsoft.MachineLearningServices/workspaces/datastores", ("workspaceName", "name"), api_version="2025-12-01"
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": ArmType(
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        ("workspaceName", "endpointName"),
        api_version="2025-12-01",
    ),
    "azure-native:machinelearningservices:OnlineDeployment": ArmType(
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        ("workspaceName", "endpointName", "deploymentName"),
        api_version="2025-12-01",
    ),
    "azure-native:apimanagement:ApiManagementService": ArmType(
        "Microsoft.ApiManagement/service", ("serviceName",), api_version="2024-05-01"
    ),
    "azure-native:apimanagement:Logger": ArmType(
        "Microsoft.ApiManagement/service/loggers", ("serviceName", "loggerId"), api_version="2024-05-01"
    ),
    "azure-native:apimanagement:Diagnostic": ArmType(
        "Microsoft.ApiManagement/service/diagnostics", ("serviceName", "diagnosticId"), api_version="2024-05-01"
    ),
    "azure-native:apimanagement:Api": ArmType(
        "Microsoft.ApiManagement/service/apis", ("serviceName", "apiId"), api_version="2024-05-01"
    ),
    "azure-native:apimanagement:ApiOperation": ArmType(
        "Microsoft.ApiManagement/service/apis/operations",
        ("serviceName", "apiId", "operationId"),
        api_version="2024-05-01",
    ),
    "azure-native:apimanagement:ApiSchema": ArmType(
        "Microsoft.ApiManagement/service/apis/schemas", ("serviceName", "apiId", "schemaId"), api_version="2024-05-01"
    ),
    "azure-native:apimanagement:ApiPolicy": ArmType(
        "Microsoft.ApiManagement/service/apis/policies", ("serviceName", "apiId", "policyId"), api_version="2024-05-01"
    ),
    "azure-native:authorization:RoleDefinition": ArmType(
        "Microsoft.Authorization/roleDefinitions",
        ("roleDefinitionId",),
        extension=True,
        api_version="2022-05-01-preview",
    ),
    "azure-native:monitor:MetricAlert": ArmType(
        "Microsoft.Insights/metricAlerts", ("ruleName",), api_version="2018-03-01"
    ),
    "azure-native:monitor:AutoscaleSetting": ArmType(
        "Microsoft.Insights/autoscalesettings", ("autoscaleSettingName",), api_version="2021-05-01-preview"
    ),
    "azure-native:machinelearningservices:Workspace": ArmType(
        "Microsoft.MachineLearningServices/workspaces", ("workspaceName",), api_version="2025-12-01"
    ),
    "azure-native:machinelearningservices:Compute": ArmType(
        "Microsoft.MachineLearningServices/workspaces/computes",
        ("workspaceName", "computeName"),
        api_version="2025-12-01",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType(
        "Microsoft.ManagedIdentity/userAssignedIdentities", ("resourceName",), api_version="2023-01-31"
    ),
    "azure-native:authorization:RoleAssignment": ArmType(
        "Microsoft.Authorization/roleAssignments", ("roleAssignmentName",), extension=True, api_version="2022-04-01"
    ),
    "azure-native:authorization:ManagementLockByScope": ArmType(
        "Microsoft.Authorization/locks", ("lockName",), extension=True, api_version="2020-05-01"
    ),
}

NON_ARM_TYPES: dict[str, str] = {
    "pulumi-python:dynamic/endpoint:Traffic": "the traffic split of an online endpoint, written by a dynamic "
    "provider (components/endpoint_traffic.py) into the endpoint's properties after its deployments exist",
}
"""Custom resources that are not ARM resources of their own, with what they do. The ARM export leaves them
out; any other non-azure-native custom type in a plan is an error."""

_FIXED_CHILD_NAMES = {"blobServicesName": "default"}

_API_VERSION_BY_ARM_TYPE = {spec.arm_type.lower(): spec.api_version for spec in ARM_TYPES.values()}


def arm_api_version(arm_type: str) -> str:
    """The API version the blueprint deploys the ARM type ``arm_type`` with, read from :data:`ARM_TYPES` (the type
    named in any case, as ARM compares them). What every request to Azure (the traffic step, the live checks, the
    kill switch) sends, so it reads a resource in the shape it was written in."""
    try:
        return _API_VERSION_BY_ARM_TYPE[arm_type.lower()]
    except KeyError:
        missing = f"no API version for {arm_type}: add its type to ARM_TYPES (scripts/plan/arm_types.py)"
        raise KeyError(missing) from None


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


_API_VERSION = re.compile(r"Uses Azure REST API version (\d{4}-\d{2}-\d{2}(?:-preview)?)")


@functools.cache
def provider_api_version(token: str) -> str | None:
    """The Azure REST API version the installed azure-native class of ``token`` names in its docstring (None if it
    names none): what :attr:`ArmType.api_version` must say, checked by ``tests/plan/test_arm_export.py``."""
    _, module, kind = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), kind, None)
    if cls is None:
        return None
    texts = [f.__doc__ or "" for f in typing.get_overloads(cls.__init__)]
    texts.append(cls.__doc__ or "")
    found = next((m.group(1) for text in texts if (m := _API_VERSION.search(text))), None)
    if found is None:
        found = next(iter(_API_VERSION.findall(inspect.getsource(inspect.getmodule(cls) or cls))), None)
    return found
