"""Failing cases of the gateway header rules (policies/catalog/rules/gateway_headers.py): the caller comes
from the token (MLSEC-APIM-031) and no client picks the deployment (MLSEC-APIM-032)."""

from __future__ import annotations

from tests.policies.case import Case

FORGEABLE = "a client could choose its own identity"

FROM_CLIENT = (
    '<set-header name="x-caller-id" exists-action="override">'
    '<value>@(context.Request.Headers.GetValueOrDefault("x-caller-id", ""))</value></set-header>'
)

GW_ALERTS = (
    "mlsec-dev-gw-caller-volume, mlsec-dev-gw-errors, mlsec-dev-gw-new-caller, mlsec-dev-gw-quota-volume, "
    "mlsec-dev-gw-throttled"
)

NO_DEPLOYMENT = '<set-header name="azureml-model-deployment" exists-action="delete" />'

CALLER = '@{var jwt = (Jwt)context.Variables["jwt"]; return jwt.Claims.GetValueOrDefault("oid", jwt.Subject);}'

VARIABLE = f'<set-variable name="caller" value="{CALLER.replace(chr(34), "&quot;")}" />'


def policy(*inbound: str) -> str:
    """An API policy whose inbound section holds ``inbound`` after <base />."""
    return (
        f"<policies><inbound><base />{''.join(inbound)}</inbound><backend><base /></backend>"
        "<outbound><base /></outbound><on-error><base /></on-error></policies>"
    )


FROM_TOKEN = (
    '<set-header name="x-caller-id" exists-action="override">'
    '<value>@((string)context.Variables["caller"])</value></set-header>'
)

CHOSEN = (
    "passes the client's azureml-model-deployment header on: a caller can target any deployment, the shadow "
    "model included, past the traffic split"
)

CASES: tuple[Case, ...] = (
    Case(
        name="caller-volume-alert-reads-client-headers",
        rule="MLSEC-APIM-031",
        base="dev",
        resource="mlsec-dev-gw-caller-volume",
        path="criteria.allOf.0.query",
        value='ApiManagementGatewayLogs\n| extend caller = tostring(RequestHeaders["x-caller-id"])\n'
        "| summarize calls = count() by caller",
        expected=(
            (
                "mlsec-dev-gw-caller-volume",
                "alert mlsec-dev-gw-caller-volume reads RequestHeaders, the headers the client sent; read the caller "
                "from BackendRequestHeaders, which the gateway's policy sets from the validated token",
            ),
        ),
    ),
    Case(
        name="api-policy-caller-id-from-client",
        rule="MLSEC-APIM-031",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=policy(VARIABLE, FROM_CLIENT, NO_DEPLOYMENT),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                f"API mlsec-dev-gw-fraud-score-api does not override x-caller-id from the validated token, yet "
                f"alerts {GW_ALERTS} attribute calls by it: {FORGEABLE}",
            ),
        ),
    ),
    Case(
        name="prod-api-policy-caller-id-not-overridden",
        rule="MLSEC-APIM-031",
        base="prod",
        resource="mlsec-prod-gw-fraud-score-policy",
        path="value",
        value=policy(VARIABLE, FROM_TOKEN.replace("override", "skip"), NO_DEPLOYMENT),
        expected=(
            (
                "mlsec-prod-gw-fraud-score-api",
                f"API mlsec-prod-gw-fraud-score-api does not override x-caller-id from the validated token, yet "
                f"alerts {GW_ALERTS.replace('-dev-', '-prod-')} attribute calls by it: {FORGEABLE}",
            ),
        ),
    ),
    Case(
        name="api-policy-passes-deployment-header",
        rule="MLSEC-APIM-032",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=policy(VARIABLE, FROM_TOKEN),
        expected=(("mlsec-dev-gw-fraud-score-api", f"API mlsec-dev-gw-fraud-score-api {CHOSEN}"),),
    ),
    Case(
        name="prod-api-policy-deployment-header-from-client",
        rule="MLSEC-APIM-032",
        base="prod",
        resource="mlsec-prod-gw-fraud-score-policy",
        path="value",
        value=policy(
            VARIABLE,
            FROM_TOKEN,
            NO_DEPLOYMENT,
            '<set-header name="azureml-model-deployment" exists-action="override">'
            '<value>@(context.Request.Url.Query.GetValueOrDefault("deployment", "blue"))</value></set-header>',
        ),
        expected=(("mlsec-prod-gw-fraud-score-api", f"API mlsec-prod-gw-fraud-score-api {CHOSEN}"),),
    ),
)
