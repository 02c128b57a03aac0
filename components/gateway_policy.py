"""The API Management policy in front of every model endpoint, generated from config.

Kept free of Pulumi so that the gateway component and the kill switch (scripts/ops/kill_switch.py)
render byte-identical XML from the same settings.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.config import GatewaySettings

ML_RESOURCE = "https://ml.azure.com"
"""Token audience of Azure ML online endpoints (Entra-token auth)."""

INTERNAL_HEADERS = (
    "azureml-model-deployment",
    "azureml-model-session",
    "ms-azureml-model-error-reason",
    "ms-azureml-model-error-statuscode",
    "x-ms-run-function-failed",
    "x-ms-run-fn-exec-ms",
    "x-ms-client-request-id",
    "Server",
    "X-Powered-By",
)
"""Backend response headers that reveal internals (deployment names, timings, stack); removed."""

CALLER = (
    '@{var jwt = (Jwt)context.Variables["jwt"]; '
    'return jwt.Claims.GetValueOrDefault("oid", jwt.Claims.GetValueOrDefault("appid", '
    'jwt.Claims.GetValueOrDefault("azp", jwt.Subject)));}'
)
"""The caller's identity from the validated token: object ID, else application ID, else subject."""

CALLER_HEADER = "x-caller-id"
"""Backend request header that carries the validated caller; the gateway logs it from the backend request."""

DEPLOYMENT_HEADER = "azureml-model-deployment"
"""Request header that makes Azure ML route to one named deployment; removed from every inbound request."""

SCORE_CONTENT_TYPE = "application/json"
"""The one request content type the scoring API declares, and the one validate-content checks as JSON."""

SCORE_SCHEMA_ID = "score-request"
"""Schema (Microsoft.ApiManagement/service/apis/schemas) holding the scoring request's definition."""

SCORE_SCHEMA_CONTENT_TYPE = "application/vnd.oai.openapi.components+json"
"""OpenAPI v3 components document (REST spec 2024-05-01 SchemaContractProperties.contentType)."""

SCORE_REQUEST_TYPE = "ScoreRequest"
"""Type name of the scoring request in that schema; the operation's application/json representation uses it."""


def score_request_components(endpoint: str, max_request_bytes: int) -> dict[str, Any]:
    """The OpenAPI components of one model API: the definition validate-content checks requests against.

    Azure ML online endpoints take a JSON object (``{"input_data": ...}`` for MLflow models, the scoring
    script's own shape otherwise), so the definition requires a non-empty JSON object; what is inside is the
    model's business. Bodies that are not JSON, or are a bare array, string or number, are refused with 400.
    """
    return {
        "schemas": {
            SCORE_REQUEST_TYPE: {
                "type": "object",
                "minProperties": 1,
                "description": f"Scoring input of model endpoint {endpoint}: a JSON object of at most "
                f"{max_request_bytes} bytes",
            }
        }
    }


@dataclass(frozen=True)
class PolicySettings:
    """Everything the policy depends on."""

    tenant_id: str
    """Entra tenant whose tokens are accepted."""
    login_host: str
    """Entra authority host of the cloud, such as login.microsoftonline.com."""
    audience: str
    """Audience the caller's token must carry."""
    required_roles: Sequence[str]
    """App roles of which the token must hold at least one."""
    rate_limit_calls: int
    """Calls per caller per rate-limit period."""
    rate_limit_period: int
    """Rate-limit renewal period in seconds."""
    quota_calls: int
    """Calls per caller per quota period."""
    quota_period: int
    """Quota renewal period in seconds."""
    max_request_bytes: int
    """Largest request body accepted."""
    suspended: bool
    """Answer 503 to everything (kill switch)."""


def policy_settings(gateway: GatewaySettings, tenant_id: str, login_host: str, *, suspended: bool) -> PolicySettings:
    """The policy inputs of a stack's gateway settings, with the kill switch as given."""
    return PolicySettings(
        tenant_id=tenant_id,
        login_host=login_host,
        audience=gateway.jwt_audience,
        required_roles=tuple(gateway.required_roles),
        rate_limit_calls=gateway.rate_limit.calls,
        rate_limit_period=gateway.rate_limit.renewal_period_seconds,
        quota_calls=gateway.quota.calls,
        quota_period=gateway.quota.renewal_period_seconds,
        max_request_bytes=gateway.max_request_bytes,
        suspended=suspended,
    )


def render(settings: PolicySettings) -> str:
    """The policy XML document for one model API."""
    root = ET.Element("policies")
    inbound = ET.SubElement(root, "inbound")
    ET.SubElement(inbound, "base")
    if settings.suspended:
        stop = ET.SubElement(inbound, "return-response")
        ET.SubElement(stop, "set-status", code="503", reason="Service Unavailable")
        retry = ET.SubElement(stop, "set-header", {"name": "Retry-After", "exists-action": "override"})
        ET.SubElement(retry, "value").text = "3600"
    jwt = ET.SubElement(
        inbound,
        "validate-jwt",
        {
            "header-name": "Authorization",
            "failed-validation-httpcode": "401",
            "failed-validation-error-message": "Unauthorized",
            "require-expiration-time": "true",
            "require-signed-tokens": "true",
            "require-scheme": "Bearer",
            "output-token-variable-name": "jwt",
        },
    )
    authority = f"https://{settings.login_host}/{settings.tenant_id}"
    ET.SubElement(jwt, "openid-config", url=f"{authority}/v2.0/.well-known/openid-configuration")
    ET.SubElement(ET.SubElement(jwt, "audiences"), "audience").text = settings.audience
    issuers = ET.SubElement(jwt, "issuers")
    ET.SubElement(issuers, "issuer").text = f"{authority}/v2.0"
    ET.SubElement(issuers, "issuer").text = f"https://sts.windows.net/{settings.tenant_id}/"
    claim = ET.SubElement(ET.SubElement(jwt, "required-claims"), "claim", name="roles", match="any")
    for role in settings.required_roles:
        ET.SubElement(claim, "value").text = role
    ET.SubElement(inbound, "set-variable", name="caller", value=CALLER)
    counter = '@((string)context.Variables["caller"])'
    # Only the validated token says who is calling: the backend request (and so the gateway's logs of it and
    # the endpoint's data collector) carries the token's identity, whatever the client sent in x-caller-id.
    caller_header = ET.SubElement(inbound, "set-header", {"name": CALLER_HEADER, "exists-action": "override"})
    ET.SubElement(caller_header, "value").text = counter
    # A client must not pick the deployment: Azure ML routes a request that names one in
    # azureml-model-deployment straight to it, bypassing the traffic split - and reaching a shadow model that
    # should only ever see mirrored traffic.
    # https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
    ET.SubElement(inbound, "set-header", {"name": DEPLOYMENT_HEADER, "exists-action": "delete"})
    ET.SubElement(
        inbound,
        "rate-limit-by-key",
        {
            "calls": str(settings.rate_limit_calls),
            "renewal-period": str(settings.rate_limit_period),
            "counter-key": counter,
        },
    )
    ET.SubElement(
        inbound,
        "quota-by-key",
        {"calls": str(settings.quota_calls), "renewal-period": str(settings.quota_period), "counter-key": counter},
    )
    content = ET.SubElement(
        inbound,
        "validate-content",
        {
            "unspecified-content-type-action": "prevent",
            "max-size": str(settings.max_request_bytes),
            "size-exceeded-action": "prevent",
            "errors-variable-name": "contentErrors",
        },
    )
    ET.SubElement(content, "content", {"type": SCORE_CONTENT_TYPE, "validate-as": "json", "action": "prevent"})
    ET.SubElement(inbound, "authentication-managed-identity", resource=ML_RESOURCE)
    ET.SubElement(ET.SubElement(root, "backend"), "base")
    outbound = ET.SubElement(root, "outbound")
    ET.SubElement(outbound, "base")
    for header in INTERNAL_HEADERS:
        ET.SubElement(outbound, "set-header", {"name": header, "exists-action": "delete"})
    ET.SubElement(ET.SubElement(root, "on-error"), "base")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"
