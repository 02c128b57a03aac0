"""What the gateway passes on and logs: the caller comes from the validated token, never from a header the
client chose, and no client picks the model deployment that answers.

The rules read the effective inbound policy of each API - the API's own policy with ``<base />`` replaced by
the service's global policy - in document order, as API Management runs it; the last ``set-header`` for a
name decides what the backend receives.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.values import UNKNOWN, as_list, get

DEPLOYMENT_HEADER = "azureml-model-deployment"
"""Routes a scoring request straight to the named deployment, past the traffic split
(https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints)."""

_GATEWAY_LOGS = "apimanagementgatewaylogs"
_FRONTEND_HEADERS = re.compile(r"(?<![A-Za-z])RequestHeaders\s*\[")
_BACKEND_HEADERS = re.compile(r"BackendRequestHeaders\s*\[\s*[\"']([^\"']+)[\"']\s*\]")
_FROM_TOKEN = re.compile(r"context\.Variables\s*\[\s*\"(\w+)\"\s*\]|\(Jwt\)|\.AsJwt\(\)")


@dataclass(frozen=True)
class SetHeader:
    """One set-header of an effective inbound policy."""

    name: str
    action: str
    value: str


@dataclass(frozen=True)
class Inbound:
    """The effective inbound policy of one API, in the order API Management runs it."""

    headers: list[SetHeader]
    variables: dict[str, str]
    """set-variable name -> value expression."""

    def last(self, name: str) -> SetHeader | None:
        found = [h for h in self.headers if h.name.lower() == name.lower()]
        return found[-1] if found else None


_UNKNOWN_TEXT = ET.Element("unknown")
"""Stands for a policy text not known yet (preview)."""


def _inbound_of(text: object) -> ET.Element | None:
    """The <inbound> of a policy text; _UNKNOWN_TEXT while unknown; None when it is not XML (MLSEC-APIM-010)."""
    if not isinstance(text, str):
        return _UNKNOWN_TEXT
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError:
        return None
    return root.find("inbound")


def _effective(stack: StackView, api: Res) -> Inbound | None:
    """The API's inbound policy with <base /> replaced by the global one; None while a text is unknown."""
    service = api.props.get("serviceName")
    global_inbound: list[ET.Element] = []
    for policy in stack.of_type(azure.APIM_GLOBAL_POLICY):
        if policy.props.get("serviceName") in (service, UNKNOWN):
            found = _inbound_of(policy.props.get("value"))
            if found is _UNKNOWN_TEXT:
                return None
            if found is not None:
                global_inbound.append(found)
    own: list[ET.Element] = []
    for policy in stack.of_type(azure.APIM_API_POLICY):
        same_api = policy.props.get("apiId") in (api.props.get("apiId"), UNKNOWN) or api.urn in policy.dependencies
        if same_api and policy.props.get("serviceName") in (service, UNKNOWN):
            found = _inbound_of(policy.props.get("value"))
            if found is _UNKNOWN_TEXT:
                return None
            if found is not None:
                own.append(found)
    headers: list[SetHeader] = []
    variables: dict[str, str] = {}

    def walk(element: ET.Element, expand_base: bool) -> None:
        for child in element:
            if child.tag == "base" and expand_base:
                for outer in global_inbound:
                    walk(outer, expand_base=False)
            elif child.tag == "set-header":
                value = child.findtext("value") or ""
                headers.append(SetHeader(child.get("name", ""), child.get("exists-action", "override"), value))
            elif child.tag == "set-variable":
                variables[child.get("name", "")] = child.get("value", "")
            elif child.tag != "return-response":  # a response the gateway sends itself reaches no backend
                walk(child, expand_base)

    if own:
        for inbound in own:
            walk(inbound, expand_base=True)
    else:
        for outer in global_inbound:
            walk(outer, expand_base=False)
    return Inbound(headers, variables)


def _from_token(value: str, variables: dict[str, str], depth: int = 0) -> bool:
    """Whether a policy expression is computed from the validated token (directly or through variables)."""
    if not value.startswith("@") or depth > 5:
        return False
    for match in _FROM_TOKEN.finditer(value):
        variable = match.group(1)
        if variable is None:
            return True
        if variable == "jwt" or _from_token(variables.get(variable, ""), variables, depth + 1):
            return True
    return False


def _apis(stack: StackView) -> list[Res]:
    return stack.of_type(azure.APIM_API)


def _gateway_queries(stack: StackView) -> Iterator[tuple[Res, str]]:
    for rule in stack.of_type(azure.SCHEDULED_QUERY_RULE):
        for condition in as_list(get(rule.props, "criteria.allOf")):
            query = condition.get("query") if isinstance(condition, dict) else None
            if isinstance(query, str) and _GATEWAY_LOGS in query.lower():
                yield rule, query


def _caller_from_token(stack: StackView) -> Iterator[tuple[str, str]]:
    read: dict[str, list[Res]] = {}
    for rule, query in _gateway_queries(stack):
        if _FRONTEND_HEADERS.search(query):
            yield (
                rule.urn,
                f"alert {rule.name} reads RequestHeaders, the headers the client sent; read the caller from "
                "BackendRequestHeaders, which the gateway's policy sets from the validated token",
            )
        for header in _BACKEND_HEADERS.findall(query):
            read.setdefault(header.lower(), []).append(rule)
    for header, rules in sorted(read.items()):
        names = ", ".join(sorted({r.name for r in rules}))
        for api in _apis(stack):
            inbound = _effective(stack, api)
            if inbound is None:
                continue
            last = inbound.last(header)
            if last is None or last.action != "override" or not _from_token(last.value, inbound.variables):
                yield (
                    api.urn,
                    f"API {api.name} does not override {header} from the validated token, yet alerts {names} "
                    "attribute calls by it: a client could choose its own identity",
                )


CALLER_FROM_TOKEN = StackRule(
    id="MLSEC-APIM-031",
    name="Alerts attribute each call to the validated token's identity, never to a header the client sent",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="The per-caller volume and new-caller alerts are the model-stealing signal. A header the client "
    "sends (RequestHeaders in the gateway logs) is whatever the client wants: rotating or omitting it spreads an "
    "extraction over many fake callers or none. set-header changes only the backend request, so the caller must "
    "be read from BackendRequestHeaders, and every API must override that header from the validated JWT.",
    remediation="Set the caller header in each API's inbound policy with exists-action override from the token "
    '(set-variable from (Jwt)context.Variables["jwt"]); log it from the backend request; read it in alert '
    'queries as BackendRequestHeaders["x-caller-id"].',
    suppressible=False,
    check=_caller_from_token,
)


def _no_deployment_choice(stack: StackView) -> Iterator[tuple[str, str]]:
    for api in _apis(stack):
        inbound = _effective(stack, api)
        if inbound is None:
            continue
        last = inbound.last(DEPLOYMENT_HEADER)
        fixed = last is not None and last.action == "override" and not last.value.startswith("@")
        if last is None or not (last.action == "delete" or fixed):
            yield (
                api.urn,
                f"API {api.name} passes the client's {DEPLOYMENT_HEADER} header on: a caller can target any "
                "deployment, the shadow model included, past the traffic split",
            )


NO_DEPLOYMENT_CHOICE = StackRule(
    id="MLSEC-APIM-032",
    name="No client picks the model deployment: the gateway removes azureml-model-deployment from every request",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Azure ML sends a request that names a deployment in azureml-model-deployment straight to it. "
    "Passed through, the header lets any caller query the shadow model that should see mirrored traffic only, "
    "or a deployment with no traffic, and compare them - the diversity the shadow adds is lost.",
    remediation=f'Add <set-header name="{DEPLOYMENT_HEADER}" exists-action="delete" /> to the inbound policy '
    "of every model API (or the global policy), after anything that could set it.",
    suppressible=False,
    check=_no_deployment_choice,
)

RULES = (CALLER_FROM_TOKEN, NO_DEPLOYMENT_CHOICE)
