"""Audit of the control plane: the Activity Log reaches Log Analytics, and alerts watch the operations
that weaken the training data's and the keys' protection."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, StackRule, StackView, Threat
from policies.catalog.values import UNKNOWN, as_list, get

REQUIRED_ACTIVITY_CATEGORIES = ("Administrative", "Security", "Policy")
"""Activity Log categories that record Resource Manager writes, Defender alerts and policy decisions
(https://learn.microsoft.com/azure/azure-monitor/platform/activity-log-schema#categories)."""

WATCHED_OPERATIONS: dict[str, tuple[str, ...]] = {
    azure.STORAGE_ACCOUNT: (
        "Microsoft.Storage/storageAccounts/write",
        "Microsoft.Storage/storageAccounts/blobServices/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
        "Microsoft.Authorization/locks/delete",
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Insights/diagnosticSettings/delete",
    ),
    azure.KEY_VAULT: (
        "Microsoft.KeyVault/vaults/write",
        "Microsoft.KeyVault/vaults/delete",
        "Microsoft.Authorization/locks/delete",
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Insights/diagnosticSettings/delete",
    ),
}
"""The least an alert must watch, per protected type: turning versioning off, deleting a zone or its WORM
policy, removing a lock, granting a role, silencing the access logs, deleting or opening the vault."""


def _activity_log(stack: StackView) -> Iterator[tuple[str, str]]:
    settings = stack.of_type(azure.SUBSCRIPTION_DIAGNOSTIC_SETTING)
    workspaces = stack.of_type(azure.LOG_ANALYTICS)
    if not workspaces:
        return
    problems: list[str] = []
    for setting in settings:
        workspace = get(setting.props, "workspaceId")
        logs = setting.props.get("logs")
        if workspace is UNKNOWN or logs is UNKNOWN:
            return
        enabled = {
            str(entry.get("category") or entry.get("categoryGroup"))
            for entry in as_list(logs)
            if isinstance(entry, dict) and entry.get("enabled") is True
        }
        missing = [c for c in REQUIRED_ACTIVITY_CATEGORIES if c not in enabled and "allLogs" not in enabled]
        if not isinstance(workspace, str) or not workspace:
            problems.append(f"{setting.name} sends the Activity Log to no Log Analytics workspace")
        elif missing:
            problems.append(f"{setting.name} leaves out Activity Log categories {', '.join(missing)}")
        else:
            return
    first = workspaces[0]
    if not settings:
        yield first.urn, "the subscription's Activity Log is not sent to the platform's Log Analytics workspace"
    for problem in problems:
        yield first.urn, problem


ACTIVITY_LOG = StackRule(
    id="MLSEC-AUD-001",
    name="The subscription's Activity Log reaches the platform's Log Analytics workspace",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Deleting an immutability policy, removing a lock, deleting a container, granting a role on the data "
    "account or turning versioning off are Resource Manager operations: blob access logs never see them, only "
    "the Activity Log does, and it must sit where the alerts query.",
    remediation="Keep monitoring.activityLog on (a subscription diagnostic setting with at least the Administrative, "
    "Security and Policy categories to the platform workspace); turn it off only with a reason stating that the "
    "organisation already exports the Activity Log to this workspace.",
    mappings=Mappings(
        azure_policy="Configure Azure Activity logs to stream to specified Log Analytics workspace",
    ),
    opt_out="monitoring.activityLog",
    check=_activity_log,
)


def _watching(stack: StackView, res: Res) -> list[str] | None:
    """Queries (lower case) of the enabled Activity Log alerts built from ``res``, whose ID is in their query;
    None when a query is unknown (at preview: cannot tell yet)."""
    found = []
    for alert in stack.dependents(res, azure.SCHEDULED_QUERY_RULE):
        if alert.props.get("enabled") is False:
            continue
        for condition in as_list(get(alert.props, "criteria.allOf")):
            query = condition.get("query") if isinstance(condition, dict) else None
            if query is UNKNOWN:
                return None
            if isinstance(query, str) and "azureactivity" in query.lower():
                found.append(query.lower())
    return found


def _control_plane_alerts(stack: StackView) -> Iterator[tuple[str, str]]:
    protected = [r for r in stack.of_type(azure.STORAGE_ACCOUNT) if r.within(azure.DATA_STORAGE_COMPONENT)]
    protected += stack.of_type(azure.KEY_VAULT)
    for res in protected:
        queries = _watching(stack, res)
        if queries is None:
            continue
        required = WATCHED_OPERATIONS[res.type]
        unwatched = [op for op in required if not any(op.lower() in q for q in queries)]
        kind = res.type.rsplit(":", 1)[-1]
        if not queries:
            yield res.urn, f"{kind} {res.name}: no enabled Activity Log alert watches its control plane"
        elif unwatched:
            yield res.urn, f"{kind} {res.name}: no Activity Log alert watches {', '.join(unwatched)}"


CONTROL_PLANE_ALERTS = StackRule(
    id="MLSEC-AUD-002",
    name="Alerts watch the control plane of the training-data account and the Key Vault",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="An attacker who wants to poison or destroy training data without tripping the blob-log tripwires "
    "first removes the protection: deletes the WORM policy or the lock, grants itself a role, turns versioning or "
    "the access logs off. Each of these must raise an alert before the data is touched.",
    remediation="Keep the ControlPlaneWatch component of the platform: one log alert over AzureActivity per "
    "protected resource, covering its own protective settings and its locks, role assignments and diagnostic "
    "settings at its scope and above.",
    check=_control_plane_alerts,
)

RULES = (ACTIVITY_LOG, CONTROL_PLANE_ALERTS)
