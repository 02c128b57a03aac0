"""Failing cases of the diagnostic-category rule (policies/catalog/rules/diagnostics.py, MLSEC-DIAG-001): a
category the target type does not have, which Azure answers with 400."""

from __future__ import annotations

from tests.policies.case import Case

_STORAGE = "(supported: Capacity, Transaction)"

_SYS = (
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.Storage/storageAccounts/sa"
)

CASES: tuple[Case, ...] = (
    Case(
        name="system-storage-diagnostics-all-metrics",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-fraud-sys-diag",
        path="metrics",
        value=[{"category": "AllMetrics", "enabled": True}],
        expected=(
            (
                "mlsec-dev-fraud-sys-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts {_STORAGE}",
            ),
        ),
    ),
    Case(
        name="system-blob-diagnostics-all-metrics",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-fraud-sys-blob-diag",
        path="metrics.0.category",
        value="AllMetrics",
        expected=(
            (
                "mlsec-dev-fraud-sys-blob-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts/blobServices "
                f"{_STORAGE}",
            ),
        ),
    ),
    Case(
        name="prod-data-account-diagnostics-all-metrics",
        rule="MLSEC-DIAG-001",
        base="prod",
        resource="mlsec-prod-data-diag",
        path="metrics.0.category",
        value="AllMetrics",
        expected=(
            (
                "mlsec-prod-data-diag",
                f"metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts {_STORAGE}",
            ),
        ),
    ),
    Case(
        name="key-vault-diagnostics-unknown-log-category",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-kv-diag",
        path="logs",
        value=[{"category": "AuditEvents", "enabled": True}],
        expected=(
            (
                "mlsec-dev-kv-diag",
                "log category AuditEvents is not supported by Microsoft.KeyVault/vaults "
                "(supported: AuditEvent, AzurePolicyEvaluationDetails)",
            ),
        ),
    ),
    Case(
        name="nsg-diagnostics-all-metrics",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-net-nsg-compute-diag",
        path="metrics",
        value=[{"category": "AllMetrics", "enabled": True}],
        expected=(
            (
                "mlsec-dev-net-nsg-compute-diag",
                "metric category AllMetrics is not supported by Microsoft.Network/networkSecurityGroups "
                "(supported: none)",
            ),
        ),
    ),
    Case(
        name="system-storage-diagnostics-all-logs",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-fraud-sys-diag",
        path="logs",
        value=[{"categoryGroup": "allLogs", "enabled": True}],
        expected=(
            (
                "mlsec-dev-fraud-sys-diag",
                "category group allLogs is not supported by Microsoft.Storage/storageAccounts (supported: none)",
            ),
        ),
    ),
    Case(
        name="diagnostics-on-queue-service",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-fraud-sys-diag",
        path="resourceUri",
        value=f"{_SYS}/queueServices/default",
        expected=(
            (
                "mlsec-dev-fraud-sys-diag",
                "target type Microsoft.Storage/storageAccounts/queueServices has no supported diagnostic categories "
                "in the table",
            ),
        ),
    ),
    Case(
        name="key-vault-diagnostics-uri-not-arm-id",
        rule="MLSEC-DIAG-001",
        base="dev",
        resource="mlsec-dev-kv-diag",
        path="resourceUri",
        value="mlsec-dev-kv-kv",
        expected=(("mlsec-dev-kv-diag", 'resourceUri "mlsec-dev-kv-kv" is not an ARM resource ID'),),
    ),
    Case(
        name="serving-endpoint-diagnostics-audit-group",
        rule="MLSEC-DIAG-001",
        base="serving",
        resource="score-ep-diag",
        path="logs.0.categoryGroup",
        value="audit",
        expected=(
            (
                "score-ep-diag",
                "category group audit is not supported by Microsoft.MachineLearningServices/workspaces/onlineEndpoints "
                "(supported: allLogs)",
            ),
        ),
    ),
)
