"""Failing cases of the online endpoint rules: traffic after deployments, scale type, egress."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

_NO_SPLIT = (
    "must be empty when the endpoint is created (found {found}): Azure ML refuses a split naming deployments that "
    "do not exist yet; the traffic step sets it after the deployments"
)

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-EPT-004",
        "dev",
        "mlsec-dev-fraud-score-ep",
        "properties.traffic",
        {"blue": 100},
        [("mlsec-dev-fraud-score-ep", "properties.traffic " + _NO_SPLIT.format(found='{"blue": 100}'))],
    ),
    (
        "MLSEC-EPT-004",
        "prod",
        "mlsec-prod-fraud-score-ep",
        "properties.mirrorTraffic",
        {"detector": 20},
        [("mlsec-prod-fraud-score-ep", "properties.mirrorTraffic " + _NO_SPLIT.format(found='{"detector": 20}'))],
    ),
    (
        "MLSEC-EPT-011",
        "dev",
        "mlsec-dev-fraud-score-traffic",
        None,
        None,
        [
            (
                "mlsec-dev-fraud-score-ep",
                "endpoint mlsec-dev-fraud-score-ep has deployments but no traffic step ordered after them",
            )
        ],
    ),
    (
        "MLSEC-EPT-011",
        "dev",
        "mlsec-dev-fraud-score-traffic",
        "traffic",
        {"green": 100},
        [
            (
                "mlsec-dev-fraud-score-traffic",
                "traffic step mlsec-dev-fraud-score-traffic names deployments that endpoint mlsec-dev-fraud-score-ep "
                "does not have: green",
            )
        ],
    ),
    (
        "MLSEC-EPT-011",
        "dev",
        "mlsec-dev-fraud-score-traffic",
        "traffic",
        {"blue": 90},
        [
            (
                "mlsec-dev-fraud-score-traffic",
                "traffic of step mlsec-dev-fraud-score-traffic must add up to 100 (found 90)",
            )
        ],
    ),
    (
        "MLSEC-EPT-011",
        "prod",
        "mlsec-prod-fraud-score-traffic",
        "mirrorTraffic",
        {"shadow": 20},
        [
            (
                "mlsec-prod-fraud-score-traffic",
                "traffic step mlsec-prod-fraud-score-traffic names deployments that endpoint "
                "mlsec-prod-fraud-score-ep does not have: shadow",
            )
        ],
    ),
    (
        "MLSEC-EPT-012",
        "prod",
        "mlsec-prod-fraud-score-blue",
        "properties.scaleSettings",
        {"scaleType": "TargetUtilization", "minInstances": 2, "maxInstances": 6, "targetUtilizationPercentage": 70},
        [
            (
                "mlsec-prod-fraud-score-blue",
                'properties.scaleSettings.scaleType must be "Default" (found "TargetUtilization")',
            )
        ],
    ),
    (
        "MLSEC-EPT-010",
        "dev",
        "mlsec-dev-fraud-mlw",
        "managedNetwork.isolationMode",
        "AllowInternetOutbound",
        [
            (
                "mlsec-dev-fraud-score-blue",
                "deployment mlsec-dev-fraud-score-blue runs in workspace mlsec-dev-fraud-mlw, whose managed network "
                "allows any outbound traffic: set managedNetwork.isolationMode to AllowOnlyApprovedOutbound "
                "(egressPublicNetworkAccess does not apply in a managed network)",
            )
        ],
    ),
    (
        "MLSEC-EPT-010",
        "dev",
        "mlsec-dev-fraud-mlw",
        "managedNetwork",
        DELETE,
        [
            (
                "mlsec-dev-fraud-score-blue",
                'properties.egressPublicNetworkAccess must be "Disabled" (found "Enabled"); workspace '
                "mlsec-dev-fraud-mlw has no managed network",
            )
        ],
    ),
    (
        "MLSEC-EPT-010",
        "serving",
        "score-blue",
        "properties.egressPublicNetworkAccess",
        "Enabled",
        [
            (
                "score-blue",
                'properties.egressPublicNetworkAccess must be "Disabled" (found "Enabled"); its workspace is unknown',
            )
        ],
    ),
]
