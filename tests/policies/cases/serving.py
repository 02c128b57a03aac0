"""Failing cases of the serving rules (policies/catalog/rules/serving.py, MLSEC-EPT-*, MLSEC-APIM-*): the
endpoint, its deployments and traffic step, and the API Management gateway in front of it."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

_NO_SPLIT = (
    "must be empty when the endpoint is created (found {found}): Azure ML refuses a split naming deployments that "
    "do not exist yet; the traffic step sets it after the deployments"
)

GATEWAY_ELEMENTS = (
    "validate-jwt",
    "rate-limit-by-key",
    "quota-by-key",
    "validate-content",
    "authentication-managed-identity",
)


def _policy_without(missing: str) -> str:
    """An API policy with every gateway control but ``missing``."""
    inbound = "".join(f"<{e} />" for e in GATEWAY_ELEMENTS if e != missing)
    return (
        f"<policies><inbound><base />{inbound}</inbound><backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>"
    )


_ANSWER_400 = " (every such call would get 400)"

_API = "mlsec-dev-gw-fraud-score-api"

_OP = "mlsec-dev-gw-fraud-score-score-op"

_REPRESENTATION = (
    f"API {_API} validates application/json as JSON but the application/json request representation of operation {_OP} "
)

CASES: tuple[Case, ...] = (
    Case(
        name="serving-endpoint-key-auth",
        rule="MLSEC-EPT-001",
        base="serving",
        resource="score-ep",
        path="properties.authMode",
        value="Key",
        expected=(("score-ep", 'properties.authMode must be "AADToken" (found "Key")'),),
    ),
    Case(
        name="endpoint-key-auth",
        rule="MLSEC-EPT-001",
        base="dev",
        resource="mlsec-dev-fraud-score-ep",
        path="properties.authMode",
        value="Key",
        expected=(("mlsec-dev-fraud-score-ep", 'properties.authMode must be "AADToken" (found "Key")'),),
    ),
    Case(
        name="serving-endpoint-public-network-unset",
        rule="MLSEC-EPT-002",
        base="serving",
        resource="score-ep",
        path="properties.publicNetworkAccess",
        value=DELETE,
        expected=(("score-ep", 'properties.publicNetworkAccess must be "Disabled" (found not set)'),),
    ),
    Case(
        name="endpoint-public-network-enabled",
        rule="MLSEC-EPT-002",
        base="dev",
        resource="mlsec-dev-fraud-score-ep",
        path="properties.publicNetworkAccess",
        value="Enabled",
        expected=(("mlsec-dev-fraud-score-ep", 'properties.publicNetworkAccess must be "Disabled" (found "Enabled")'),),
    ),
    Case(
        name="serving-endpoint-without-identity",
        rule="MLSEC-EPT-003",
        base="serving",
        resource="score-ep",
        path="identity.type",
        value="None",
        expected=(("score-ep", 'identity.type must be UserAssigned or SystemAssigned (found "None")'),),
    ),
    Case(
        name="endpoint-traffic-at-creation",
        rule="MLSEC-EPT-004",
        base="dev",
        resource="mlsec-dev-fraud-score-ep",
        path="properties.traffic",
        value={"blue": 100},
        expected=(("mlsec-dev-fraud-score-ep", "properties.traffic " + _NO_SPLIT.format(found='{"blue": 100}')),),
    ),
    Case(
        name="prod-endpoint-mirror-traffic-at-creation",
        rule="MLSEC-EPT-004",
        base="prod",
        resource="mlsec-prod-fraud-score-ep",
        path="properties.mirrorTraffic",
        value={"detector": 20},
        expected=(
            ("mlsec-prod-fraud-score-ep", "properties.mirrorTraffic " + _NO_SPLIT.format(found='{"detector": 20}')),
        ),
    ),
    Case(
        name="deployment-workspace-internet-outbound",
        rule="MLSEC-EPT-010",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="managedNetwork.isolationMode",
        value="AllowInternetOutbound",
        expected=(
            (
                "mlsec-dev-fraud-score-blue",
                "deployment mlsec-dev-fraud-score-blue runs in workspace mlsec-dev-fraud-mlw, whose managed network "
                "allows any outbound traffic: set managedNetwork.isolationMode to AllowOnlyApprovedOutbound "
                "(egressPublicNetworkAccess does not apply in a managed network)",
            ),
        ),
    ),
    Case(
        name="deployment-workspace-managed-network-removed",
        rule="MLSEC-EPT-010",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="managedNetwork",
        value=DELETE,
        expected=(
            (
                "mlsec-dev-fraud-score-blue",
                'properties.egressPublicNetworkAccess must be "Disabled" (found "Enabled"); workspace '
                "mlsec-dev-fraud-mlw has no managed network",
            ),
        ),
    ),
    Case(
        name="serving-deployment-public-egress",
        rule="MLSEC-EPT-010",
        base="serving",
        resource="score-blue",
        path="properties.egressPublicNetworkAccess",
        value="Enabled",
        expected=(
            (
                "score-blue",
                'properties.egressPublicNetworkAccess must be "Disabled" (found "Enabled"); its workspace is unknown',
            ),
        ),
    ),
    Case(
        name="endpoint-traffic-step-removed",
        rule="MLSEC-EPT-011",
        base="dev",
        resource="mlsec-dev-fraud-score-traffic",
        path=None,
        value=None,
        expected=(
            (
                "mlsec-dev-fraud-score-ep",
                "endpoint mlsec-dev-fraud-score-ep has deployments but no traffic step ordered after them",
            ),
        ),
    ),
    Case(
        name="traffic-step-unknown-deployment",
        rule="MLSEC-EPT-011",
        base="dev",
        resource="mlsec-dev-fraud-score-traffic",
        path="traffic",
        value={"green": 100},
        expected=(
            (
                "mlsec-dev-fraud-score-traffic",
                "traffic step mlsec-dev-fraud-score-traffic names deployments that endpoint mlsec-dev-fraud-score-ep "
                "does not have: green",
            ),
        ),
    ),
    Case(
        name="traffic-step-adds-up-to-90",
        rule="MLSEC-EPT-011",
        base="dev",
        resource="mlsec-dev-fraud-score-traffic",
        path="traffic",
        value={"blue": 90},
        expected=(
            (
                "mlsec-dev-fraud-score-traffic",
                "traffic of step mlsec-dev-fraud-score-traffic must add up to 100 (found 90)",
            ),
        ),
    ),
    Case(
        name="prod-traffic-step-unknown-mirror-deployment",
        rule="MLSEC-EPT-011",
        base="prod",
        resource="mlsec-prod-fraud-score-traffic",
        path="mirrorTraffic",
        value={"shadow": 20},
        expected=(
            (
                "mlsec-prod-fraud-score-traffic",
                "traffic step mlsec-prod-fraud-score-traffic names deployments that endpoint "
                "mlsec-prod-fraud-score-ep does not have: shadow",
            ),
        ),
    ),
    Case(
        name="prod-deployment-target-utilization-scaling",
        rule="MLSEC-EPT-012",
        base="prod",
        resource="mlsec-prod-fraud-score-blue",
        path="properties.scaleSettings",
        value={
            "scaleType": "TargetUtilization",
            "minInstances": 2,
            "maxInstances": 6,
            "targetUtilizationPercentage": 70,
        },
        expected=(
            (
                "mlsec-prod-fraud-score-blue",
                'properties.scaleSettings.scaleType must be "Default" (found "TargetUtilization")',
            ),
        ),
    ),
    Case(
        name="serving-gateway-external-vnet",
        rule="MLSEC-APIM-001",
        base="serving",
        resource="gw-apim",
        path="virtualNetworkType",
        value="External",
        expected=(("gw-apim", 'virtualNetworkType must be "Internal" (found "External")'),),
    ),
    Case(
        name="gateway-external-vnet",
        rule="MLSEC-APIM-001",
        base="dev",
        resource="mlsec-dev-gw-apim",
        path="virtualNetworkType",
        value="External",
        expected=(("mlsec-dev-gw-apim", 'virtualNetworkType must be "Internal" (found "External")'),),
    ),
    Case(
        name="serving-gateway-backend-tls-1-0",
        rule="MLSEC-APIM-002",
        base="serving",
        resource="gw-apim",
        path="customProperties::Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10",
        value="True",
        expected=(
            (
                "gw-apim",
                "customProperties[Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10] "
                'must be "False" (found "True")',
            ),
        ),
    ),
    Case(
        name="serving-gateway-triple-des-unset",
        rule="MLSEC-APIM-003",
        base="serving",
        resource="gw-apim",
        path="customProperties",
        value={},
        expected=(
            (
                "gw-apim",
                "customProperties[Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168] "
                'must be "False" (found not set)',
            ),
        ),
    ),
    Case(
        name="serving-gateway-identity-removed",
        rule="MLSEC-APIM-004",
        base="serving",
        resource="gw-apim",
        path="identity",
        value=DELETE,
        expected=(("gw-apim", "identity.type must be UserAssigned or SystemAssigned (found not set)"),),
    ),
    Case(
        name="serving-api-policy-without-base",
        rule="MLSEC-APIM-010",
        base="serving",
        resource="gw-api-policy",
        path="value",
        value="<policies><inbound /><backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>",
        expected=(("gw-api-policy", "<inbound> must contain <base />"),),
    ),
    Case(
        name="serving-api-policy-malformed-xml",
        rule="MLSEC-APIM-010",
        base="serving",
        resource="gw-api-policy",
        path="value",
        value="<policies><inbound>",
        expected=(("gw-api-policy", "policy is not well-formed XML: no element found: line 1, column 19"),),
    ),
    Case(
        name="serving-gateway-without-validate-jwt",
        rule="MLSEC-APIM-011",
        base="serving",
        resource="gw-policy",
        path="value",
        value="<policies><inbound><rate-limit-by-key /><quota-by-key /></inbound></policies>",
        expected=(("gw-api", "API gw-api has no validate-jwt in its inbound policy (global or API level)"),),
    ),
    Case(
        name="api-policy-without-validate-jwt",
        rule="MLSEC-APIM-011",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=_policy_without("validate-jwt"),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no validate-jwt in its inbound policy (global or API level)",
            ),
        ),
    ),
    Case(
        name="serving-gateway-without-rate-limit",
        rule="MLSEC-APIM-012",
        base="serving",
        resource="gw-policy",
        path="value",
        value="<policies><inbound><validate-jwt /><quota-by-key /></inbound></policies>",
        expected=(("gw-api", "API gw-api has no rate-limit-by-key in its inbound policy (global or API level)"),),
    ),
    Case(
        name="api-policy-without-rate-limit",
        rule="MLSEC-APIM-012",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=_policy_without("rate-limit-by-key"),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no rate-limit-by-key in its inbound policy (global or API level)",
            ),
        ),
    ),
    Case(
        name="serving-gateway-without-quota",
        rule="MLSEC-APIM-013",
        base="serving",
        resource="gw-policy",
        path=None,
        value=None,
        expected=(("gw-api", "API gw-api has no quota-by-key in its inbound policy (global or API level)"),),
    ),
    Case(
        name="api-policy-without-quota",
        rule="MLSEC-APIM-013",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=_policy_without("quota-by-key"),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no quota-by-key in its inbound policy (global or API level)",
            ),
        ),
    ),
    Case(
        name="serving-gateway-without-validate-content",
        rule="MLSEC-APIM-014",
        base="serving",
        resource="gw-policy",
        path="value",
        value="<policies><inbound><validate-jwt /><rate-limit-by-key /><quota-by-key />"
        "<authentication-managed-identity /></inbound></policies>",
        expected=(("gw-api", "API gw-api has no validate-content in its inbound policy (global or API level)"),),
    ),
    Case(
        name="api-policy-without-validate-content",
        rule="MLSEC-APIM-014",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=_policy_without("validate-content"),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no validate-content in its inbound policy (global or API level)",
            ),
        ),
    ),
    Case(
        name="serving-gateway-without-managed-identity-auth",
        rule="MLSEC-APIM-015",
        base="serving",
        resource="gw-policy",
        path="value",
        value="<policies><inbound><validate-jwt /><rate-limit-by-key /><quota-by-key /><validate-content /></inbound>"
        "</policies>",
        expected=(
            ("gw-api", "API gw-api has no authentication-managed-identity in its inbound policy (global or API level)"),
        ),
    ),
    Case(
        name="api-policy-without-managed-identity-auth",
        rule="MLSEC-APIM-015",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=_policy_without("authentication-managed-identity"),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no authentication-managed-identity in its inbound policy "
                "(global or API level)",
            ),
        ),
    ),
    Case(
        name="prod-gateway-two-units-three-zones",
        rule="MLSEC-APIM-020",
        base="prod",
        resource="mlsec-prod-gw-apim",
        path="sku.capacity",
        value=2,
        expected=(
            (
                "mlsec-prod-gw-apim",
                "sku.capacity 2 does not divide evenly across the 3 availability zones in zones (use a multiple of 3)",
            ),
        ),
    ),
    Case(
        name="gateway-zones-on-developer-tier",
        rule="MLSEC-APIM-020",
        base="dev",
        resource="mlsec-dev-gw-apim",
        path="zones",
        value=["1", "2"],
        expected=(
            ("mlsec-dev-gw-apim", 'zones ["1", "2"] need the Premium tier (found sku.name "Developer")'),
            (
                "mlsec-dev-gw-apim",
                "sku.capacity 1 does not divide evenly across the 2 availability zones in zones (use a multiple of 2)",
            ),
        ),
    ),
    Case(
        name="api-request-schema-removed",
        rule="MLSEC-APIM-021",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-schema",
        path=None,
        value=None,
        expected=(
            (
                _API,
                _REPRESENTATION
                + 'names schema "score-request", which the stack does not define for the API'
                + _ANSWER_400,
            ),
        ),
    ),
    Case(
        name="score-operation-request-unset",
        rule="MLSEC-APIM-021",
        base="dev",
        resource=_OP,
        path="request",
        value=DELETE,
        expected=(
            (
                _API,
                f"API {_API} validates application/json as JSON but operation {_OP} declares no application/json "
                "request representation with a schema (every such call would get 400)",
            ),
        ),
    ),
    Case(
        name="score-operation-schema-id-unset",
        rule="MLSEC-APIM-021",
        base="dev",
        resource=_OP,
        path="request.representations.0.schemaId",
        value=DELETE,
        expected=((_API, _REPRESENTATION + "names no schemaId" + _ANSWER_400),),
    ),
    Case(
        name="score-operation-unknown-type-name",
        rule="MLSEC-APIM-021",
        base="dev",
        resource=_OP,
        path="request.representations.0.typeName",
        value="Score",
        expected=(
            (_API, _REPRESENTATION + 'names type "Score", which schema "score-request" does not define' + _ANSWER_400),
        ),
    ),
    Case(
        name="score-operation-removed",
        rule="MLSEC-APIM-021",
        base="dev",
        resource=_OP,
        path=None,
        value=None,
        expected=(
            (_API, f"API {_API} validates application/json as JSON but has no operation declaring a request schema"),
        ),
    ),
)
