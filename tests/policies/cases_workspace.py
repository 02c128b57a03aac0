"""Failing cases of the workspace rules: datastore auth casing, private-endpoint approval, the customer-managed
key's Cosmos DB grant, image builds, and the account-level approver role on the training-data account."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

_APPROVER_MISSING = (
    "the workspace identity has no Azure AI Enterprise Network Connection Approver role on the {} target, so the "
    "managed network's private endpoint to it is never approved"
)
_NO_COSMOS = (
    "the workspace is encrypted with a customer-managed key, but no Key Vault Crypto Service Encryption User grant "
    "on that key reaches the Azure Cosmos DB service principal"
)
_SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"
_READER = f"{_SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-MLW-005",
        "dev",
        "mlsec-dev-fraud-mlw",
        "systemDatastoresAuthMode",
        "identity",
        [("mlsec-dev-fraud-mlw", 'systemDatastoresAuthMode must be "Identity" (found "identity")')],
    ),
    (
        "MLSEC-MLW-011",
        "dev",
        "mlsec-dev-fraud-id-kv-pe-approver",
        None,
        None,
        [("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("keyVault"))],
    ),
    (
        "MLSEC-MLW-011",
        "dev",
        "mlsec-dev-fraud-id-data-pe-approver",
        None,
        None,
        [("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("outbound rule data-storage-blob"))],
    ),
    (
        "MLSEC-MLW-011",
        "dev",
        "mlsec-dev-fraud-id-acr-pe-approver",
        "roleDefinitionId",
        _READER,
        [("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("containerRegistry"))],
    ),
    (
        "MLSEC-MLW-011",
        "prod",
        "mlsec-prod-churn-id-sys-pe-approver",
        None,
        None,
        [("mlsec-prod-churn-mlw", _APPROVER_MISSING.format("storageAccount"))],
    ),
    (
        "MLSEC-MLW-012",
        "prod",
        "mlsec-prod-fraud-cmk-cosmos-cosmosdb",
        None,
        None,
        [("mlsec-prod-fraud-mlw", _NO_COSMOS)],
    ),
    (
        "MLSEC-MLW-012",
        "prod",
        "mlsec-prod-churn-cmk-cosmos-cosmosdb",
        "roleDefinitionId",
        _READER,
        [("mlsec-prod-churn-mlw", _NO_COSMOS)],
    ),
    (
        "MLSEC-MLW-013",
        "dev",
        "mlsec-dev-fraud-mlw",
        "imageBuildCompute",
        DELETE,
        [
            (
                "mlsec-dev-fraud-mlw",
                "registry mlsec-dev-fraudacr has public network access disabled and cannot build images; "
                "imageBuildCompute must name a compute cluster (found not set)",
            )
        ],
    ),
    (
        "MLSEC-MLW-013",
        "dev",
        "mlsec-dev-fraud-mlw",
        "imageBuildCompute",
        "gpu-train",
        [("mlsec-dev-fraud-mlw", "imageBuildCompute names gpu-train, which is no compute of this workspace")],
    ),
]
