"""Cases of the gateway header rules: the caller comes from the token (MLSEC-APIM-031) and no client picks
the deployment (MLSEC-APIM-032)."""

from __future__ import annotations

from typing import Any

CALLER = '@{var jwt = (Jwt)context.Variables["jwt"]; return jwt.Claims.GetValueOrDefault("oid", jwt.Subject);}'


def policy(*inbound: str) -> str:
    """An API policy whose inbound section holds ``inbound`` after <base />."""
    return (
        f"<policies><inbound><base />{''.join(inbound)}</inbound><backend><base /></backend>"
        "<outbound><base /></outbound><on-error><base /></on-error></policies>"
    )


VARIABLE = f'<set-variable name="caller" value="{CALLER.replace(chr(34), "&quot;")}" />'
FROM_TOKEN = (
    '<set-header name="x-caller-id" exists-action="override">'
    '<value>@((string)context.Variables["caller"])</value></set-header>'
)
FROM_CLIENT = (
    '<set-header name="x-caller-id" exists-action="override">'
    '<value>@(context.Request.Headers.GetValueOrDefault("x-caller-id", ""))</value></set-header>'
)
NO_DEPLOYMENT = '<set-header name="azureml-model-deployment" exists-action="delete" />'
GW_ALERTS = (
    "mlsec-dev-gw-caller-volume, mlsec-dev-gw-errors, mlsec-dev-gw-new-caller, mlsec-dev-gw-quota-volume, "
    "mlsec-dev-gw-throttled"
)
FORGEABLE = "a client could choose its own identity"
CHOSEN = (
    "passes the client's azureml-model-deployment header on: a caller can target any deployment, the shadow "
    "model included, past the traffic split"
)

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-APIM-031",
        "dev",
        "mlsec-dev-gw-caller-volume",
        "criteria.allOf.0.query",
        'ApiManagementGatewayLogs\n| extend caller = tostring(RequestHeaders["x-caller-id"])\n'
        "| summarize calls = count() by caller",
        [
            (
                "mlsec-dev-gw-caller-volume",
                "alert mlsec-dev-gw-caller-volume reads RequestHeaders, the headers the client sent; read the caller "
                "from BackendRequestHeaders, which the gateway's policy sets from the validated token",
            )
        ],
    ),
    (
        "MLSEC-APIM-031",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        policy(VARIABLE, FROM_CLIENT, NO_DEPLOYMENT),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                f"API mlsec-dev-gw-fraud-score-api does not override x-caller-id from the validated token, yet "
                f"alerts {GW_ALERTS} attribute calls by it: {FORGEABLE}",
            )
        ],
    ),
    (
        "MLSEC-APIM-031",
        "prod",
        "mlsec-prod-gw-fraud-score-policy",
        "value",
        policy(VARIABLE, FROM_TOKEN.replace("override", "skip"), NO_DEPLOYMENT),
        [
            (
                "mlsec-prod-gw-fraud-score-api",
                f"API mlsec-prod-gw-fraud-score-api does not override x-caller-id from the validated token, yet "
                f"alerts {GW_ALERTS.replace('-dev-', '-prod-')} attribute calls by it: {FORGEABLE}",
            )
        ],
    ),
    (
        "MLSEC-APIM-032",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        policy(VARIABLE, FROM_TOKEN),
        [("mlsec-dev-gw-fraud-score-api", f"API mlsec-dev-gw-fraud-score-api {CHOSEN}")],
    ),
    (
        "MLSEC-APIM-032",
        "prod",
        "mlsec-prod-gw-fraud-score-policy",
        "value",
        policy(
            VARIABLE,
            FROM_TOKEN,
            NO_DEPLOYMENT,
            '<set-header name="azureml-model-deployment" exists-action="override">'
            '<value>@(context.Request.Url.Query.GetValueOrDefault("deployment", "blue"))</value></set-header>',
        ),
        [("mlsec-prod-gw-fraud-score-api", f"API mlsec-prod-gw-fraud-score-api {CHOSEN}")],
    ),
]
