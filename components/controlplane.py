"""The control plane, watched: the subscription's Activity Log in Log Analytics, and alerts on changes to
the training data's and the keys' protection.

Blob access logs (``StorageBlobLogs``) see the data plane only. Deleting an immutability policy, removing
a lock, deleting a container, granting a role on the data account, turning versioning or the access logs
off: all of these are Azure Resource Manager operations, recorded only in the Activity Log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from components.common import Context, child, log_alert

ACTIVITY_LOG_CATEGORIES = ("Administrative", "Security", "Policy", "Alert", "ServiceHealth", "ResourceHealth")
"""Activity Log categories sent to Log Analytics. Administrative holds every create, update, delete and
action through Resource Manager; Security and Policy hold Defender alerts and Azure Policy decisions.
(Categories of the subscription diagnostic setting: https://learn.microsoft.com/azure/azure-monitor/
platform/activity-log-schema#categories)"""

DATA_OPERATIONS = (
    # account settings: public access, shared key, network rules, account-level immutability
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/delete",
    # blob service: versioning, change feed, soft delete
    "Microsoft.Storage/storageAccounts/blobServices/write",
    # zone containers and their WORM policies and legal holds
    "Microsoft.Storage/storageAccounts/blobServices/containers/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/extend/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/clearLegalHold/action",
    # lifecycle rules can delete or tier data
    "Microsoft.Storage/storageAccounts/managementPolicies/write",
    "Microsoft.Storage/storageAccounts/managementPolicies/delete",
    # account keys (shared key access is off; a key read or rotation is still an alarm)
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/regenerateKey/action",
)
"""Resource Manager operations on the training-data account that change how its data is protected
(operation names: https://learn.microsoft.com/azure/role-based-access-control/permissions/storage)."""

VAULT_OPERATIONS = (
    "Microsoft.KeyVault/vaults/write",
    "Microsoft.KeyVault/vaults/delete",
    "Microsoft.KeyVault/vaults/accessPolicies/write",
)
"""Resource Manager operations on the Key Vault: network rules, RBAC mode, purge protection, deletion
(https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault)."""

GUARD_OPERATIONS = (
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Insights/diagnosticSettings/write",
    "Microsoft.Insights/diagnosticSettings/delete",
)
"""Operations on a protected resource's guards: its locks, who may touch it, and its access logs. They
count when their scope is the protected resource or anything that contains it (its resource group, the
subscription), since a role or lock there reaches the resource too."""


@dataclass(frozen=True)
class ControlPlaneWatchArgs:
    """Inputs of :class:`ControlPlaneWatch`."""

    ctx: Context
    """Environment context: subscription, resource group, tags and the alert target."""
    name: str
    """Name of the subscription diagnostic setting (unique among the subscription's at most five)."""
    protected: Sequence[tuple[str, pulumi.Input[str], Sequence[str]]]
    """(label, resource ID, operations) of each resource whose control plane is watched."""
    export_activity_log: bool = True
    """Create the subscription diagnostic setting; False when the stack declares the Activity Log is
    already exported to this workspace by the organisation (an opt-out with a reason)."""


class ControlPlaneWatch(pulumi.ComponentResource):
    """The subscription's Activity Log sent to the platform's Log Analytics workspace, and one alert per
    protected resource on any Resource Manager operation that weakens its protection: on the resource
    itself, on its locks, role assignments and diagnostic settings, or on those of its resource group or
    subscription.

    The diagnostic setting lives at subscription scope: the deployer needs
    ``Microsoft.Insights/diagnosticSettings/write`` on the subscription (Monitoring Contributor there).
    Legitimate changes - a ``pulumi up`` that touches these resources - raise the alert as well, with
    the caller; that is intended, since every such change must be reviewed.
    """

    diagnostic_setting: monitor.SubscriptionDiagnosticSetting | None
    alerts: dict[str, monitor.ScheduledQueryRule]

    def __init__(self, name: str, args: ControlPlaneWatchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:monitoring:ControlPlaneWatch", name, None, opts)
        ctx = args.ctx
        self.diagnostic_setting = None
        if args.export_activity_log:
            self.diagnostic_setting = monitor.SubscriptionDiagnosticSetting(
                f"{name}-activity",
                name=args.name,
                workspace_id=ctx.alerts.workspace_id,
                logs=[monitor.SubscriptionLogSettingsArgs(category=c, enabled=True) for c in ACTIVITY_LOG_CATEGORIES],
                opts=child(self),
            )
        self.alerts = {}
        for label, resource_id, operations in args.protected:

            def query_for(values: list[str], operations: Sequence[str] = tuple(operations)) -> str:
                return activity_query(values[0], ctx.subscription_id, values[1], operations)

            query = pulumi.Output.all(resource_id, ctx.resource_group_name).apply(query_for)
            self.alerts[label] = log_alert(
                f"{name}-{label}",
                self,
                ctx,
                f"Control-plane change to the protection of the {label} (Activity Log)",
                query,
                severity=1,
                window="PT5M",
            )
        self.register_outputs(
            {
                "activityLogSetting": self.diagnostic_setting.id if self.diagnostic_setting else None,
                "alerts": {label: alert.id for label, alert in self.alerts.items()},
            }
        )


def activity_query(resource_id: str, subscription_id: str, resource_group: str, operations: Sequence[str]) -> str:
    """The KQL over ``AzureActivity`` for control-plane operations that weaken ``resource_id``'s protection.

    Operation names and resource IDs are compared case-insensitively (``in~``, ``startswith``): the
    Activity Log writes them in upper or lower case depending on the provider. The Start event of each
    operation is skipped (its outcome follows), so one change is one row; failed attempts are kept.
    """
    guards = ", ".join(f'"{op}"' for op in GUARD_OPERATIONS)
    own = ", ".join(f'"{op}"' for op in operations)
    subscription = f"/subscriptions/{subscription_id}"
    group = f"{subscription}/resourceGroups/{resource_group}"
    return (
        "AzureActivity\n"
        '| where ActivityStatusValue !in~ ("Start", "Started")\n'
        f'| where (OperationNameValue in~ ({own}) and (_ResourceId =~ "{resource_id}"\n'
        f'        or _ResourceId startswith "{resource_id}/"))\n'
        f'    or (OperationNameValue in~ ({guards}) and (_ResourceId startswith "{resource_id}/"\n'
        f'        or _ResourceId startswith "{group}/providers/Microsoft.Authorization/"\n'
        f'        or _ResourceId startswith "{subscription}/providers/Microsoft.Authorization/"))\n'
        "| project TimeGenerated, Caller, CallerIpAddress, OperationNameValue, ActivityStatusValue, _ResourceId"
    )
