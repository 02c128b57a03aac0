"""Diagnostic categories Azure Monitor accepts, per resource type: one table for the components and the gate.

Azure validates every category of a diagnostic setting against the target's resource type and answers 400
for one it does not know ("Metric category 'AllMetrics' is not supported, supported categories are:
'Capacity;Transaction'" for storage accounts and their services). No schema states these lists, so they
are kept here, each row citing the Microsoft page it comes from:

- log categories: Azure Monitor's "Supported logs for <type>" pages,
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/<type-slug>-logs
- metric categories: the "Supported metrics for <type>" pages,
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/<type-slug>-metrics.
  Storage accounts and their services group their metrics into the diagnostic categories Capacity and
  Transaction (and reject AllMetrics); every other type with diagnostic-settings-exportable metrics takes
  the single category AllMetrics
  (https://learn.microsoft.com/azure/azure-monitor/essentials/resource-manager-diagnostic-settings).
  A type without a supported-metrics page has no metric category at all.
- category groups: ``allLogs`` where the type is in Azure Policy's built-in initiative "Enable allLogs
  category group resource logging for supported resources to Log Analytics"
  (policySetDefinitions 0884adba-2312-4468-abeb-5422caed1038), ``audit`` where it is in "Enable audit
  category group resource logging for supported resources to Log Analytics"
  (f5b29bc4-feca-4cc6-a58a-772dd5e290a5); both in github.com/Azure/azure-policy,
  built-in-policies/policySetDefinitions/Monitoring/AzureMonitor_DiagSettings_logAnalytics_{allLogs,audit}.json.
  A type in neither gets no group: it is sent by explicit log categories.

A type missing from the table is one nobody has checked: the components refuse to create a setting for it
and the gate reports it (MLSEC-DIAG-001).
"""

from __future__ import annotations

from dataclasses import dataclass

_LOGS = "https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/"
_METRICS = "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/"
ALL_METRICS = "AllMetrics"
ALL_LOGS = "allLogs"
AUDIT = "audit"


@dataclass(frozen=True)
class Categories:
    """The diagnostic categories one resource type supports."""

    arm_type: str
    """Fully-qualified ARM type, such as Microsoft.Storage/storageAccounts/blobServices."""
    logs: tuple[str, ...]
    """Log categories."""
    groups: tuple[str, ...]
    """Log category groups (allLogs, audit)."""
    metrics: tuple[str, ...]
    """Metric categories."""
    sources: tuple[str, ...]
    """Microsoft pages the row comes from."""

    def default_logs(self) -> tuple[tuple[str, str], ...]:
        """What a setting sends to get every log: ``allLogs`` where supported, else every category.

        Each entry is ``("categoryGroup" | "category", name)``.
        """
        if ALL_LOGS in self.groups:
            return (("categoryGroup", ALL_LOGS),)
        return tuple(("category", c) for c in self.logs)


def _row(
    slug: str, arm_type: str, logs: tuple[str, ...], groups: tuple[str, ...], metrics: tuple[str, ...]
) -> Categories:
    sources = [f"{_LOGS}{slug}-logs"] if logs else []
    if metrics:
        sources.append(f"{_METRICS}{slug}-metrics")
    return Categories(arm_type, logs, groups, metrics, tuple(sources))


_STORAGE_METRICS = ("Capacity", "Transaction")
_STORAGE_LOGS = ("StorageDelete", "StorageRead", "StorageWrite")

SUPPORTED: tuple[Categories, ...] = (
    # Storage accounts have no resource logs of their own; their services do.
    _row("microsoft-storage-storageaccounts", "Microsoft.Storage/storageAccounts", (), (), _STORAGE_METRICS),
    _row(
        "microsoft-storage-storageaccounts-blobservices",
        "Microsoft.Storage/storageAccounts/blobServices",
        _STORAGE_LOGS,
        (),
        _STORAGE_METRICS,
    ),
    _row(
        "microsoft-storage-storageaccounts-fileservices",
        "Microsoft.Storage/storageAccounts/fileServices",
        _STORAGE_LOGS,
        (),
        _STORAGE_METRICS,
    ),
    _row(
        "microsoft-keyvault-vaults",
        "Microsoft.KeyVault/vaults",
        ("AuditEvent", "AzurePolicyEvaluationDetails"),
        (ALL_LOGS, AUDIT),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-containerregistry-registries",
        "Microsoft.ContainerRegistry/registries",
        ("ContainerRegistryLoginEvents", "ContainerRegistryRepositoryEvents"),
        (ALL_LOGS, AUDIT),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-machinelearningservices-workspaces",
        "Microsoft.MachineLearningServices/workspaces",
        (
            "AmlComputeClusterEvent",
            "AmlComputeClusterNodeEvent",
            "AmlComputeCpuGpuUtilization",
            "AmlComputeJobEvent",
            "AmlRunStatusChangedEvent",
            "ComputeInstanceEvent",
            "DataLabelChangeEvent",
            "DataLabelReadEvent",
            "DataSetChangeEvent",
            "DataSetReadEvent",
            "DataStoreChangeEvent",
            "DataStoreReadEvent",
            "DeploymentEventACI",
            "DeploymentEventAKS",
            "DeploymentReadEvent",
            "EnvironmentChangeEvent",
            "EnvironmentReadEvent",
            "InferencingOperationACI",
            "InferencingOperationAKS",
            "ModelsActionEvent",
            "ModelsChangeEvent",
            "ModelsReadEvent",
            "PipelineChangeEvent",
            "PipelineReadEvent",
            "RunEvent",
            "RunReadEvent",
        ),
        (ALL_LOGS, AUDIT),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-machinelearningservices-workspaces-onlineendpoints",
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        ("AmlOnlineEndpointConsoleLog", "AmlOnlineEndpointEventLog", "AmlOnlineEndpointTrafficLog"),
        (ALL_LOGS,),
        (ALL_METRICS,),
    ),
    # Network security groups have no platform metrics (no supported-metrics page).
    _row(
        "microsoft-network-networksecuritygroups",
        "Microsoft.Network/networkSecurityGroups",
        ("NetworkSecurityGroupEvent", "NetworkSecurityGroupFlowEvent", "NetworkSecurityGroupRuleCounter"),
        (ALL_LOGS,),
        (),
    ),
    _row(
        "microsoft-network-virtualnetworks",
        "Microsoft.Network/virtualNetworks",
        ("VMProtectionAlerts",),
        (ALL_LOGS,),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-operationalinsights-workspaces",
        "Microsoft.OperationalInsights/workspaces",
        ("Audit", "SummaryLogs"),
        (ALL_LOGS, AUDIT),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-insights-components",
        "Microsoft.Insights/components",
        (
            "AppAvailabilityResults",
            "AppBrowserTimings",
            "AppDependencies",
            "AppEvents",
            "AppExceptions",
            "AppMetrics",
            "AppPageViews",
            "AppPerformanceCounters",
            "AppRequests",
            "AppSystemEvents",
            "AppTraces",
        ),
        (ALL_LOGS,),
        (ALL_METRICS,),
    ),
    _row(
        "microsoft-apimanagement-service",
        "Microsoft.ApiManagement/service",
        ("DeveloperPortalAuditLogs", "GatewayLlmLogs", "GatewayLogs", "GatewayMCPLogs", "WebSocketConnectionLogs"),
        (ALL_LOGS, AUDIT),
        (ALL_METRICS,),
    ),
)
"""Every resource type the platform sends diagnostics for, with the categories Azure accepts for it."""

_BY_TYPE = {row.arm_type.lower(): row for row in SUPPORTED}

TOKEN_TYPES: dict[str, str] = {
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
    "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
    "azure-native:machinelearningservices:Workspace": "Microsoft.MachineLearningServices/workspaces",
    "azure-native:machinelearningservices:OnlineEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    ),
    "azure-native:network:NetworkSecurityGroup": "Microsoft.Network/networkSecurityGroups",
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
    "azure-native:apimanagement:ApiManagementService": "Microsoft.ApiManagement/service",
}
"""The ARM type of each azure-native resource type a diagnostic setting may target."""

SUB_SERVICES: dict[str, tuple[str, ...]] = {
    "Microsoft.Storage/storageAccounts": (
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/fileServices",
    ),
}
"""Types whose sub-resources (``<id>/blobServices/default``) take their own diagnostic settings."""


def lookup(arm_type: str) -> Categories | None:
    """The row of ``arm_type`` (ARM types compare case-insensitively), or None if it is not in the table."""
    return _BY_TYPE.get(arm_type.lower())


def categories(arm_type: str) -> Categories:
    """The row of ``arm_type``; a type missing from the table is an error."""
    row = lookup(arm_type)
    if row is None:
        raise KeyError(f"{arm_type}: no supported diagnostic categories in policies/catalog/diagnostics.py")
    return row


def arm_type_of(resource_id: str) -> str | None:
    """The ARM resource type an ARM resource ID names, sub-resources included; None if it is not one.

    ``/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default``
    names ``Microsoft.Storage/storageAccounts/blobServices``.
    """
    lowered = resource_id.lower()
    at = lowered.rfind("/providers/")
    if not lowered.startswith("/subscriptions/") or at < 0:
        return None
    segments = resource_id[at + len("/providers/") :].split("/")
    if len(segments) < 3 or len(segments) % 2 == 0 or any(not s for s in segments):
        return None
    return "/".join([segments[0], *segments[1::2]])
