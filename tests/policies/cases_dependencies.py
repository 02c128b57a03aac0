"""Cases of the rules on what a workspace depends on: its registry refuses ARM-audience tokens
(MLSEC-ACR-006), every storage account has versioning and soft delete settings (MLSEC-STG-024), and a
customer-managed-key workspace's registry and system storage use customer-managed keys (MLSEC-MLW-014)."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

CMK = "is not encrypted with a customer-managed key"

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-ACR-006",
        "dev",
        "mlsec-dev-fraudacr",
        "policies.azureADAuthenticationAsArmPolicy.status",
        "enabled",
        [
            (
                "mlsec-dev-fraudacr",
                'policies.azureADAuthenticationAsArmPolicy.status must be "disabled" (found "enabled")',
            )
        ],
    ),
    (
        "MLSEC-ACR-006",
        "prod",
        "mlsec-prod-churnacr",
        "policies.azureADAuthenticationAsArmPolicy",
        DELETE,
        [
            (
                "mlsec-prod-churnacr",
                'policies.azureADAuthenticationAsArmPolicy.status must be "disabled" (found not set)',
            )
        ],
    ),
    (
        "MLSEC-STG-024",
        "dev",
        "mlsec-dev-fraud-sys-blob",
        None,
        DELETE,
        [
            (
                "mlsec-dev-fraudsys",
                "StorageAccount mlsec-dev-fraudsys has no blob service settings (versioning, soft delete)",
            )
        ],
    ),
    (
        "MLSEC-MLW-014",
        "prod",
        "mlsec-prod-fraudacr",
        "encryption",
        DELETE,
        [
            (
                "mlsec-prod-fraudacr",
                f"registry mlsec-prod-fraudacr of CMK workspace mlsec-prod-fraud-mlw {CMK} (encryption.status not set)",
            )
        ],
    ),
    (
        "MLSEC-MLW-014",
        "prod",
        "mlsec-prod-churnsys",
        "encryption.keySource",
        "Microsoft.Storage",
        [
            (
                "mlsec-prod-churnsys",
                f"system storage mlsec-prod-churnsys of CMK workspace mlsec-prod-churn-mlw {CMK} "
                '(encryption.keySource "Microsoft.Storage")',
            )
        ],
    ),
]
