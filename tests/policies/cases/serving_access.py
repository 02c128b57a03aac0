"""Failing cases of MLSEC-EPT-020 (policies/catalog/rules/serving_access.py): nobody but the gateway can
score, get tokens or keys for, or change a serving endpoint, at any scope that reaches it."""

from __future__ import annotations

from tests.policies.case import Case

ALL = (
    "score/action, token/action, listKeys/action, regenerateKeys/action, write, delete, deployments/write, "
    "deployments/delete"
)

ONLY_GATEWAY = "only the gateway may score a serving endpoint, and nobody may change it outside the stack"

SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"

ROLES = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions"

ML = "Microsoft.MachineLearningServices/workspaces"

CASES: tuple[Case, ...] = (
    Case(
        name="data-scientists-granted-data-scientist-on-endpoint",
        rule="MLSEC-EPT-020",
        base="dev",
        resource="mlsec-dev-fraud-ws-data-scientists",
        path="roleDefinitionId",
        value=f"{ROLES}/f6c7c914-8db3-469d-8ca1-694a8f32e121",
        expected=(
            (
                "mlsec-dev-fraud-ws-data-scientists",
                f"mlsec-dev-fraud-ws-data-scientists grants AzureML Data Scientist ({ALL}) on endpoint "
                f"mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            ),
        ),
    ),
    Case(
        name="data-scientist-role-can-change-endpoint",
        rule="MLSEC-EPT-020",
        base="dev",
        resource="mlsec-dev-fraud-ds-role",
        path="permissions.0.notActions",
        value=[f"{ML}/delete", f"{ML}/write"],
        expected=(
            (
                "mlsec-dev-fraud-ws-data-scientists",
                "mlsec-dev-fraud-ws-data-scientists grants mlsec-dev-fraud data scientist (no serving) "
                f"({ALL}) on endpoint mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            ),
        ),
    ),
    Case(
        name="gateway-scorer-role-adds-token-action",
        rule="MLSEC-EPT-020",
        base="dev",
        resource="mlsec-dev-gw-scorer-role",
        path="permissions",
        value=[{"actions": [f"{ML}/onlineEndpoints/score/action", f"{ML}/onlineEndpoints/token/action"]}],
        expected=(
            (
                "mlsec-dev-gw-fraud-score-score",
                "mlsec-dev-gw-fraud-score-score grants mlsec-dev-gw model scorer (score/action, token/action) on "
                f"endpoint mlsec-dev-fraud-score-a1a85a; {ONLY_GATEWAY}",
            ),
        ),
    ),
    Case(
        name="prod-data-scientists-unknown-role-on-endpoint",
        rule="MLSEC-EPT-020",
        base="prod",
        resource="mlsec-prod-fraud-ws-data-scientists",
        path="roleDefinitionId",
        value=f"{ROLES}/00000000-1111-2222-3333-444444444444",
        expected=(
            (
                "mlsec-prod-fraud-ws-data-scientists",
                "mlsec-prod-fraud-ws-data-scientists grants role 00000000-1111-2222-3333-444444444444, which the "
                "gate does not know, at a scope reaching endpoint mlsec-prod-fraud-score-f5c77c",
            ),
        ),
    ),
)
