"""The gateway's header handling, run in order on forged requests: the policy that the prod plan ships is
interpreted element by element (set-variable, set-header with its exists-action, inbound before backend),
and the backend request, the gateway's log of it and the alert queries are checked together."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from components.gateway_policy import CALLER, CALLER_HEADER, DEPLOYMENT_HEADER
from tests.conftest import Plan

COUNTER = '@((string)context.Variables["caller"])'


class UnknownExpressionError(Exception):
    """The policy holds an expression this interpreter does not know: the test must not guess."""


def _caller(claims: dict[str, str]) -> str:
    """CALLER's C#, for the claims of a validated token: oid, else appid, else azp, else sub."""
    return claims.get("oid") or claims.get("appid") or claims.get("azp") or claims["sub"]


def _evaluate(value: str, variables: dict[str, str]) -> str:
    if not value.startswith("@"):
        return value
    if value == COUNTER:
        return variables["caller"]
    raise UnknownExpressionError(value)


def backend_request(policy: str, headers: dict[str, str], claims: dict[str, str]) -> dict[str, str] | None:
    """The headers the backend receives for a request, or None when the gateway answers itself."""
    inbound = ET.fromstring(policy).find("inbound")
    assert inbound is not None
    current = {k.lower(): v for k, v in headers.items()}
    variables: dict[str, str] = {}
    for element in inbound:
        if element.tag == "return-response":
            return None
        if element.tag == "set-variable":
            if element.get("value") != CALLER:
                raise UnknownExpressionError(str(element.get("value")))
            variables[str(element.get("name"))] = _caller(claims)
        elif element.tag == "set-header":
            name = str(element.get("name")).lower()
            action = element.get("exists-action", "override")
            if action == "delete":
                current.pop(name, None)
            elif action == "skip":
                current.setdefault(name, _evaluate(element.findtext("value") or "", variables))
            elif action == "override":
                current[name] = _evaluate(element.findtext("value") or "", variables)
            else:
                raise UnknownExpressionError(f"exists-action {action}")
        elif element.tag in ("base", "validate-jwt", "rate-limit-by-key", "quota-by-key", "validate-content"):
            continue  # the request passes these (a valid token, within limits, a JSON object)
        elif element.tag == "authentication-managed-identity":
            current["authorization"] = "Bearer <gateway's managed-identity token>"
        else:
            raise UnknownExpressionError(f"<{element.tag}>")
    backend = ET.fromstring(policy).find("backend")
    assert backend is not None and [e.tag for e in backend] == ["base"]  # forwards the request as it stands
    return current


TOKEN = {"oid": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "tid": "33333333-3333-4333-8333-333333333333", "sub": "s"}


@pytest.fixture(scope="module")
def policy(prod_plan: Plan) -> str:
    return str(prod_plan.inputs("azure-native:apimanagement:ApiPolicy", "mlsec-prod-gw-fraud-score-policy")["value"])


@pytest.mark.parametrize(
    "forged",
    [
        {CALLER_HEADER: "someone-else", DEPLOYMENT_HEADER: "detector"},
        {"X-Caller-Id": "", "AzureML-Model-Deployment": "blue"},
        {},
    ],
    ids=["forged", "forged-other-case", "absent"],
)
def test_the_backend_sees_the_tokens_caller_and_no_chosen_deployment(policy: str, forged: dict[str, str]) -> None:
    backend = backend_request(policy, {"Authorization": "Bearer <caller's token>", **forged}, TOKEN)
    assert backend is not None
    assert backend[CALLER_HEADER] == TOKEN["oid"]
    assert DEPLOYMENT_HEADER not in backend
    assert backend["authorization"] == "Bearer <gateway's managed-identity token>"


def test_an_application_token_is_attributed_to_its_application(policy: str) -> None:
    backend = backend_request(policy, {CALLER_HEADER: "x"}, {"appid": "app-1", "sub": "s"})
    assert backend is not None and backend[CALLER_HEADER] == "app-1"


def test_the_logged_caller_is_the_backend_header_and_every_alert_reads_it(prod_plan: Plan, policy: str) -> None:
    for diagnostic in prod_plan.of_type("azure-native:apimanagement:Diagnostic"):
        inputs = diagnostic["inputs"]
        assert "headers" not in inputs["frontend"]["request"]  # the client's headers are not logged
        assert inputs["backend"]["request"]["headers"] == [CALLER_HEADER]
    queries = {
        r["name"]: r["inputs"]["criteria"]["allOf"][0]["query"]
        for r in prod_plan.of_type("azure-native:monitor:ScheduledQueryRule")
        if r["name"].startswith("mlsec-prod-gw-")
    }
    assert sorted(queries) == [
        f"mlsec-prod-gw-{a}" for a in ("caller-volume", "errors", "new-caller", "quota-volume", "throttled")
    ]
    for query in queries.values():
        assert f'| extend caller = tostring(BackendRequestHeaders["{CALLER_HEADER}"])\n' in query
        assert "| where RequestHeaders" not in query and "(RequestHeaders" not in query
    backend = backend_request(policy, {CALLER_HEADER: "rotating-1"}, TOKEN)
    assert backend is not None and backend[CALLER_HEADER] == TOKEN["oid"]  # what BackendRequestHeaders logs


def test_a_suspended_gateway_forwards_nothing() -> None:
    from components.gateway_policy import PolicySettings, render

    settings = PolicySettings(
        "t", "login.microsoftonline.com", "api://x", ("Model.Score",), 60, 60, 1000, 86400, 65536, True
    )
    assert backend_request(render(settings), {CALLER_HEADER: "x"}, TOKEN) is None


def test_an_unknown_expression_is_not_guessed() -> None:
    policy = (
        '<policies><inbound><set-header name="x-caller-id" exists-action="override">'
        '<value>@(context.Request.Headers.GetValueOrDefault("x-caller-id", ""))</value></set-header></inbound>'
        "<backend><base /></backend></policies>"
    )
    with pytest.raises(UnknownExpressionError):
        backend_request(policy, {}, TOKEN)
