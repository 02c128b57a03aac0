"""Failing cases of the control-plane audit rules (policies/catalog/rules/audit.py, MLSEC-AUD-*): the Activity
Log export and the alerts on it."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

NOT_SENT = "the subscription's Activity Log is not sent to the platform's Log Analytics workspace"

UNWATCHED = "no enabled Activity Log alert watches its control plane"

NARROW_QUERY = 'AzureActivity\n| where OperationNameValue =~ "Microsoft.KeyVault/vaults/delete"'

CASES: tuple[Case, ...] = (
    Case(
        name="activity-log-export-removed",
        rule="MLSEC-AUD-001",
        base="dev",
        resource="mlsec-dev-cp-activity",
        path=None,
        value=None,
        expected=(("mlsec-dev-mon-law", NOT_SENT),),
    ),
    Case(
        name="prod-activity-log-without-security-and-policy",
        rule="MLSEC-AUD-001",
        base="prod",
        resource="mlsec-prod-cp-activity",
        path="logs",
        value=[{"category": "Administrative", "enabled": True}, {"category": "Security", "enabled": False}],
        expected=(
            ("mlsec-prod-mon-law", "mlsec-prod-cp-activity leaves out Activity Log categories Security, Policy"),
        ),
    ),
    Case(
        name="activity-log-export-without-workspace",
        rule="MLSEC-AUD-001",
        base="dev",
        resource="mlsec-dev-cp-activity",
        path="workspaceId",
        value=DELETE,
        expected=(("mlsec-dev-mon-law", "mlsec-dev-cp-activity sends the Activity Log to no Log Analytics workspace"),),
    ),
    Case(
        name="data-account-control-plane-alert-removed",
        rule="MLSEC-AUD-002",
        base="dev",
        resource="mlsec-dev-cp-data",
        path=None,
        value=None,
        expected=(("mlsec-dev-dataacct", f"StorageAccount mlsec-dev-dataacct: {UNWATCHED}"),),
    ),
    Case(
        name="prod-key-vault-control-plane-alert-disabled",
        rule="MLSEC-AUD-002",
        base="prod",
        resource="mlsec-prod-cp-vault",
        path="enabled",
        value=False,
        expected=(("mlsec-prod-kv-kv", f"Vault mlsec-prod-kv-kv: {UNWATCHED}"),),
    ),
    Case(
        name="key-vault-control-plane-alert-watches-delete-only",
        rule="MLSEC-AUD-002",
        base="dev",
        resource="mlsec-dev-cp-vault",
        path="criteria.allOf.0.query",
        value=NARROW_QUERY,
        expected=(
            (
                "mlsec-dev-kv-kv",
                "Vault mlsec-dev-kv-kv: no Activity Log alert watches Microsoft.KeyVault/vaults/write, "
                "Microsoft.Authorization/locks/delete, Microsoft.Authorization/roleAssignments/write, "
                "Microsoft.Insights/diagnosticSettings/delete",
            ),
        ),
    ),
)
