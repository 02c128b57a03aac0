"""Cases of the control-plane audit rules (MLSEC-AUD-*): the Activity Log export and the alerts on it."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

NOT_SENT = "the subscription's Activity Log is not sent to the platform's Log Analytics workspace"
UNWATCHED = "no enabled Activity Log alert watches its control plane"
NARROW_QUERY = 'AzureActivity\n| where OperationNameValue =~ "Microsoft.KeyVault/vaults/delete"'

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-AUD-001",
        "dev",
        "mlsec-dev-cp-activity",
        None,
        DELETE,
        [("mlsec-dev-mon-law", NOT_SENT)],
    ),
    (
        "MLSEC-AUD-001",
        "prod",
        "mlsec-prod-cp-activity",
        "logs",
        [{"category": "Administrative", "enabled": True}, {"category": "Security", "enabled": False}],
        [("mlsec-prod-mon-law", "mlsec-prod-cp-activity leaves out Activity Log categories Security, Policy")],
    ),
    (
        "MLSEC-AUD-001",
        "dev",
        "mlsec-dev-cp-activity",
        "workspaceId",
        DELETE,
        [("mlsec-dev-mon-law", "mlsec-dev-cp-activity sends the Activity Log to no Log Analytics workspace")],
    ),
    (
        "MLSEC-AUD-002",
        "dev",
        "mlsec-dev-cp-data",
        None,
        DELETE,
        [("mlsec-dev-dataacct", f"StorageAccount mlsec-dev-dataacct: {UNWATCHED}")],
    ),
    (
        "MLSEC-AUD-002",
        "prod",
        "mlsec-prod-cp-vault",
        "enabled",
        False,
        [("mlsec-prod-kv-kv", f"Vault mlsec-prod-kv-kv: {UNWATCHED}")],
    ),
    (
        "MLSEC-AUD-002",
        "dev",
        "mlsec-dev-cp-vault",
        "criteria.allOf.0.query",
        NARROW_QUERY,
        [
            (
                "mlsec-dev-kv-kv",
                "Vault mlsec-dev-kv-kv: no Activity Log alert watches Microsoft.KeyVault/vaults/write, "
                "Microsoft.Authorization/locks/delete, Microsoft.Authorization/roleAssignments/write, "
                "Microsoft.Insights/diagnosticSettings/delete",
            )
        ],
    ),
]
