"""Failing cases of the telemetry rules (MLSEC-MON-*); loaded by test_policy_rules.py."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

_NO_SCOPE = "is in no Azure Monitor Private Link Scope (no scoped resource links it)"
_OPEN = 'accessModeSettings.ingestionAccessMode is "Open" (PrivateOnly required)'
_EXCLUDED = "accessModeSettings.exclusions overrides the access modes for some private endpoints"
_NO_PE = "it has no private endpoint for azuremonitor"


def _both(env: str, problem: str) -> list[tuple[str, str]]:
    scope = f"private link scope mlsec-{env}-tel-ampls"
    return [
        (f"mlsec-{env}-mon-appi", f"Component mlsec-{env}-mon-appi: {scope}: {problem}"),
        (f"mlsec-{env}-mon-law", f"Workspace mlsec-{env}-mon-law: {scope}: {problem}"),
    ]


CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-MON-001",
        "dev",
        "mlsec-dev-mon-law",
        "publicNetworkAccessForIngestion",
        "Enabled",
        [("mlsec-dev-mon-law", 'publicNetworkAccessForIngestion must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-MON-001",
        "prod",
        "mlsec-prod-mon-law",
        "publicNetworkAccessForQuery",
        DELETE,
        [("mlsec-prod-mon-law", 'publicNetworkAccessForQuery must be "Disabled" (found not set)')],
    ),
    (
        "MLSEC-MON-002",
        "dev",
        "mlsec-dev-mon-appi",
        "publicNetworkAccessForQuery",
        "Enabled",
        [("mlsec-dev-mon-appi", 'publicNetworkAccessForQuery must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-MON-003",
        "dev",
        "mlsec-dev-mon-appi",
        "publicNetworkAccessForIngestion",
        "Enabled",
        [("mlsec-dev-mon-appi", 'publicNetworkAccessForIngestion must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-MON-004",
        "dev",
        "mlsec-dev-tel-ampls-law",
        None,
        None,
        [("mlsec-dev-mon-law", f"Workspace mlsec-dev-mon-law {_NO_SCOPE}")],
    ),
    (
        "MLSEC-MON-004",
        "dev",
        "mlsec-dev-tel-ampls",
        "accessModeSettings.ingestionAccessMode",
        "Open",
        _both("dev", _OPEN),
    ),
    (
        "MLSEC-MON-004",
        "prod",
        "mlsec-prod-tel-ampls",
        "accessModeSettings.exclusions",
        [{"privateEndpointConnectionName": "pe", "ingestionAccessMode": "Open", "queryAccessMode": "Open"}],
        _both("prod", _EXCLUDED),
    ),
    ("MLSEC-MON-004", "dev", "mlsec-dev-tel-ampls-pe", None, None, _both("dev", _NO_PE)),
    (
        "MLSEC-MON-005",
        "dev",
        "mlsec-dev-fraud-score-blue",
        "properties.appInsightsEnabled",
        True,
        [
            (
                "mlsec-dev-fraud-score-blue",
                "OnlineDeployment mlsec-dev-fraud-score-blue sends Application Insights telemetry from the workspace's "
                "managed network, which Application Insights mlsec-dev-mon-appi refuses "
                "(publicNetworkAccessForIngestion is Disabled)",
            )
        ],
    ),
]
