"""Failing cases of the telemetry rules (policies/catalog/rules/telemetry.py, MLSEC-MON-*): Log Analytics
and Application Insights closed to public networks and reached through the private link scope."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

_NO_SCOPE = "is in no Azure Monitor Private Link Scope (no scoped resource links it)"

_OPEN = 'accessModeSettings.ingestionAccessMode is "Open" (PrivateOnly required)'


def _both(env: str, problem: str) -> tuple[tuple[str, str], ...]:
    scope = f"private link scope mlsec-{env}-tel-ampls"
    return (
        (f"mlsec-{env}-mon-appi", f"Component mlsec-{env}-mon-appi: {scope}: {problem}"),
        (f"mlsec-{env}-mon-law", f"Workspace mlsec-{env}-mon-law: {scope}: {problem}"),
    )


_EXCLUDED = "accessModeSettings.exclusions overrides the access modes for some private endpoints"

_NO_PE = "it has no private endpoint for azuremonitor"

CASES: tuple[Case, ...] = (
    Case(
        name="log-analytics-public-ingestion",
        rule="MLSEC-MON-001",
        base="dev",
        resource="mlsec-dev-mon-law",
        path="publicNetworkAccessForIngestion",
        value="Enabled",
        expected=(("mlsec-dev-mon-law", 'publicNetworkAccessForIngestion must be "Disabled" (found "Enabled")'),),
    ),
    Case(
        name="prod-log-analytics-public-query-unset",
        rule="MLSEC-MON-001",
        base="prod",
        resource="mlsec-prod-mon-law",
        path="publicNetworkAccessForQuery",
        value=DELETE,
        expected=(("mlsec-prod-mon-law", 'publicNetworkAccessForQuery must be "Disabled" (found not set)'),),
    ),
    Case(
        name="app-insights-public-query",
        rule="MLSEC-MON-002",
        base="dev",
        resource="mlsec-dev-mon-appi",
        path="publicNetworkAccessForQuery",
        value="Enabled",
        expected=(("mlsec-dev-mon-appi", 'publicNetworkAccessForQuery must be "Disabled" (found "Enabled")'),),
    ),
    Case(
        name="app-insights-public-ingestion",
        rule="MLSEC-MON-003",
        base="dev",
        resource="mlsec-dev-mon-appi",
        path="publicNetworkAccessForIngestion",
        value="Enabled",
        expected=(("mlsec-dev-mon-appi", 'publicNetworkAccessForIngestion must be "Disabled" (found "Enabled")'),),
    ),
    Case(
        name="log-analytics-outside-private-link-scope",
        rule="MLSEC-MON-004",
        base="dev",
        resource="mlsec-dev-tel-ampls-law",
        path=None,
        value=None,
        expected=(("mlsec-dev-mon-law", f"Workspace mlsec-dev-mon-law {_NO_SCOPE}"),),
    ),
    Case(
        name="private-link-scope-open-ingestion",
        rule="MLSEC-MON-004",
        base="dev",
        resource="mlsec-dev-tel-ampls",
        path="accessModeSettings.ingestionAccessMode",
        value="Open",
        expected=_both("dev", _OPEN),
    ),
    Case(
        name="prod-private-link-scope-exclusions",
        rule="MLSEC-MON-004",
        base="prod",
        resource="mlsec-prod-tel-ampls",
        path="accessModeSettings.exclusions",
        value=[{"privateEndpointConnectionName": "pe", "ingestionAccessMode": "Open", "queryAccessMode": "Open"}],
        expected=_both("prod", _EXCLUDED),
    ),
    Case(
        name="private-link-scope-endpoint-removed",
        rule="MLSEC-MON-004",
        base="dev",
        resource="mlsec-dev-tel-ampls-pe",
        path=None,
        value=None,
        expected=_both("dev", _NO_PE),
    ),
    Case(
        name="deployment-app-insights-enabled",
        rule="MLSEC-MON-005",
        base="dev",
        resource="mlsec-dev-fraud-score-blue",
        path="properties.appInsightsEnabled",
        value=True,
        expected=(
            (
                "mlsec-dev-fraud-score-blue",
                "OnlineDeployment mlsec-dev-fraud-score-blue sends Application Insights telemetry from the workspace's "
                "managed network, which Application Insights mlsec-dev-mon-appi refuses "
                "(publicNetworkAccessForIngestion is Disabled)",
            ),
        ),
    ),
)
