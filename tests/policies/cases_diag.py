"""Failing cases of the diagnostic-category rule (MLSEC-DIAG-001); loaded by test_policy_rules.py."""

from __future__ import annotations

from typing import Any

_STORAGE = "(supported: Capacity, Transaction)"
_SYS = (
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.Storage/storageAccounts/sa"
)

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-fraud-sys-diag",
        "metrics",
        [{"category": "AllMetrics", "enabled": True}],
        [
            (
                "mlsec-dev-fraud-sys-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts {_STORAGE}",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-fraud-sys-blob-diag",
        "metrics.0.category",
        "AllMetrics",
        [
            (
                "mlsec-dev-fraud-sys-blob-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts/blobServices "
                f"{_STORAGE}",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "prod",
        "mlsec-prod-data-diag",
        "metrics.0.category",
        "AllMetrics",
        [
            (
                "mlsec-prod-data-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts {_STORAGE}",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-kv-diag",
        "logs",
        [{"category": "AuditEvents", "enabled": True}],
        [
            (
                "mlsec-dev-kv-diag",
                "log category AuditEvents is not supported by Microsoft.KeyVault/vaults "
                "(supported: AuditEvent, AzurePolicyEvaluationDetails)",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-net-nsg-compute-diag",
        "metrics",
        [{"category": "AllMetrics", "enabled": True}],
        [
            (
                "mlsec-dev-net-nsg-compute-diag",
                "metric category AllMetrics is not supported by Microsoft.Network/networkSecurityGroups "
                "(supported: none)",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-fraud-sys-diag",
        "logs",
        [{"categoryGroup": "allLogs", "enabled": True}],
        [
            (
                "mlsec-dev-fraud-sys-diag",
                "category group allLogs is not supported by Microsoft.Storage/storageAccounts (supported: none)",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-fraud-sys-diag",
        "resourceUri",
        f"{_SYS}/queueServices/default",
        [
            (
                "mlsec-dev-fraud-sys-diag",
                "target type Microsoft.Storage/storageAccounts/queueServices has no supported diagnostic categories "
                "in the table",
            )
        ],
    ),
    (
        "MLSEC-DIAG-001",
        "dev",
        "mlsec-dev-kv-diag",
        "resourceUri",
        "mlsec-dev-kv-kv",
        [("mlsec-dev-kv-diag", 'resourceUri "mlsec-dev-kv-kv" is not an ARM resource ID')],
    ),
    (
        # At preview the URI is unknown: the type comes from the dependency (the online endpoint here).
        "MLSEC-DIAG-001",
        "serving",
        "score-ep-diag",
        "logs.0.categoryGroup",
        "audit",
        [
            (
                "score-ep-diag",
                "category group audit is not supported by Microsoft.MachineLearningServices/workspaces/onlineEndpoints "
                "(supported: allLogs)",
            )
        ],
    ),
]
