"""Cases of MLSEC-EPT-020: nobody but the gateway can score, get tokens or keys for, or change a serving
endpoint, at any scope that reaches it."""

from __future__ import annotations

from typing import Any

SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"
ROLES = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions"
ML = "Microsoft.MachineLearningServices/workspaces"
ONLY_GATEWAY = "only the gateway may score a serving endpoint, and nobody may change it outside the stack"
ALL = (
    "score/action, token/action, listKeys/action, regenerateKeys/action, write, delete, deployments/write, "
    "deployments/delete"
)

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-EPT-020",
        "dev",
        "mlsec-dev-fraud-ws-data-scientists",
        "roleDefinitionId",
        f"{ROLES}/f6c7c914-8db3-469d-8ca1-694a8f32e121",
        [
            (
                "mlsec-dev-fraud-ws-data-scientists",
                f"mlsec-dev-fraud-ws-data-scientists grants AzureML Data Scientist ({ALL}) on endpoint "
                f"mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            )
        ],
    ),
    (
        "MLSEC-EPT-020",
        "dev",
        "mlsec-dev-fraud-ds-role",
        "permissions.0.notActions",
        [f"{ML}/delete", f"{ML}/write"],
        [
            (
                "mlsec-dev-fraud-ws-data-scientists",
                "mlsec-dev-fraud-ws-data-scientists grants mlsec-dev-fraud data scientist (no serving) "
                f"({ALL}) on endpoint mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            )
        ],
    ),
    (
        "MLSEC-EPT-020",
        "dev",
        "mlsec-dev-gw-scorer-role",
        "permissions",
        [{"actions": [f"{ML}/onlineEndpoints/score/action", f"{ML}/onlineEndpoints/token/action"]}],
        [
            (
                "mlsec-dev-gw-fraud-score-score",
                "mlsec-dev-gw-fraud-score-score grants mlsec-dev-gw model scorer (score/action, token/action) on "
                f"endpoint mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            )
        ],
    ),
    (
        "MLSEC-EPT-020",
        "prod",
        "mlsec-prod-fraud-ws-data-scientists",
        "roleDefinitionId",
        f"{ROLES}/00000000-1111-2222-3333-444444444444",
        [
            (
                "mlsec-prod-fraud-ws-data-scientists",
                "mlsec-prod-fraud-ws-data-scientists grants role 00000000-1111-2222-3333-444444444444, which the "
                "gate does not know, at a scope reaching endpoint mlsec-prod-fraud-score-f5c77c",
            )
        ],
    ),
]
