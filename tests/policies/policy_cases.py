"""Shared helpers for the policy tests: plan mutations, a hand-built serving stack, one-rule runs."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from policies.catalog import RULES_BY_ID
from scripts.gate.evaluate import Report, evaluate

DATA = Path(__file__).resolve().parent / "data"
NO_SUPPRESSIONS = DATA / "no-suppressions.yaml"
TODAY = dt.date(2026, 11, 29)
DELETE = object()

TAGS = {
    "cost-center": "CC-1",
    "data-classification": "confidential",
    "environment": "test",
    "managed-by": "pulumi",
    "owner": "ml@contoso.com",
    "team": "ml",
}
_P = "urn:pulumi:test::secure-ml::"
GW = "secure-ml:gateway:Gateway"
EP = "secure-ml:ml:Endpoint"
POLICY_XML = (
    '<policies><inbound><validate-jwt header-name="Authorization" /><rate-limit-by-key calls="60" '
    'renewal-period="60" counter-key="@(context.Subscription.Id)" /><quota-by-key calls="10000" '
    'renewal-period="86400" counter-key="@(context.Subscription.Id)" /><validate-content max-size="65536" '
    'unspecified-content-type-action="prevent" size-exceeded-action="prevent"><content type="application/json" '
    'validate-as="json" action="prevent" /></validate-content><authentication-managed-identity '
    'resource="https://ml.azure.com" /></inbound><backend><forward-request />'
    "</backend><outbound /><on-error /></policies>"
)
API_POLICY_XML = (
    "<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound>"
    "<on-error><base /></on-error></policies>"
)
_SEC = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."


def _res(chain: str, token: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = ()) -> dict[str, Any]:
    urn = f"{_P}{chain}${token}::{name}" if chain else f"{_P}{token}::{name}"
    return {
        "urn": urn,
        "type": token,
        "name": name,
        "parent": "",
        "inputs": inputs,
        "dependencies": list(deps),
        "protect": False,
    }


def serving_plan() -> dict[str, Any]:
    """A compliant gateway, endpoint and key stack built by hand (types the blueprint plan may not have)."""
    apim = _res(
        GW,
        "azure-native:apimanagement:ApiManagementService",
        "gw-apim",
        {
            "location": "westeurope",
            "tags": TAGS,
            "serviceName": "gw",
            "virtualNetworkType": "Internal",
            "identity": {"type": "SystemAssigned"},
            "customProperties": {
                **{
                    f"{_SEC}{side}Protocols.{p}": "False"
                    for side in ("", "Backend.")
                    for p in ("Tls10", "Tls11", "Ssl30")
                },
                f"{_SEC}Ciphers.TripleDes168": "False",
            },
        },
    )
    api = _res(GW, "azure-native:apimanagement:Api", "gw-api", {"serviceName": "gw", "apiId": "score"}, (apim["urn"],))
    glob = _res(
        GW,
        "azure-native:apimanagement:Policy",
        "gw-policy",
        {"serviceName": "gw", "format": "rawxml", "value": POLICY_XML},
        (apim["urn"],),
    )
    api_policy = _res(
        GW,
        "azure-native:apimanagement:ApiPolicy",
        "gw-api-policy",
        {"serviceName": "gw", "apiId": "score", "format": "rawxml", "value": API_POLICY_XML},
        (apim["urn"], api["urn"]),
    )
    endpoint = _res(
        EP,
        "azure-native:machinelearningservices:OnlineEndpoint",
        "score-ep",
        {
            "location": "westeurope",
            "tags": TAGS,
            "identity": {"type": "UserAssigned"},
            "properties": {"authMode": "AADToken", "publicNetworkAccess": "Disabled"},
        },
    )
    deployment = _res(
        EP,
        "azure-native:machinelearningservices:OnlineDeployment",
        "score-blue",
        {
            "location": "westeurope",
            "tags": TAGS,
            "deploymentName": "blue",
            "properties": {"endpointComputeType": "Managed", "egressPublicNetworkAccess": "Disabled"},
        },
        (endpoint["urn"],),
    )
    traffic = _res(
        EP,
        "pulumi-python:dynamic/endpoint:Traffic",
        "score-traffic",
        {"endpointId": "/subscriptions/x/ep", "traffic": {"blue": 100}, "mirrorTraffic": {}},
        (endpoint["urn"], deployment["urn"]),
    )
    key = _res(
        "",
        "azure-native:keyvault:Key",
        "cmk",
        {
            "properties": {
                "kty": "RSA",
                "keySize": 3072,
                "rotationPolicy": {
                    "lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeBeforeExpiry": "P30D"}}]
                },
            }
        },
    )
    rule = _res(
        "",
        "azure-native:network:SecurityRule",
        "ssh-from-vnet",
        {
            "name": "AllowSshFromVnet",
            "access": "Allow",
            "direction": "Inbound",
            "protocol": "Tcp",
            "sourceAddressPrefix": "VirtualNetwork",
            "destinationPortRange": "22",
            "priority": 100,
        },
    )
    diags = [
        _res(
            "",
            "azure-native:monitor:DiagnosticSetting",
            f"{r['name']}-diag",
            {"workspaceId": "/subscriptions/x/law", "logs": [{"categoryGroup": "allLogs", "enabled": True}]},
            (r["urn"],),
        )
        for r in (apim, endpoint)
    ]
    resources = [apim, api, glob, api_policy, endpoint, deployment, traffic, key, rule, *diags]
    return {"project": "secure-ml", "stack": "test", "resources": resources, "outputs": {}}


def with_endpoint_diagnostics(document: dict[str, Any]) -> dict[str, Any]:
    """The plan plus a diagnostic setting for each online endpoint that lacks one.

    The Endpoint component does not create them yet (a dated suppression in policies/suppressions.yaml covers
    the real stacks); the rule fixtures must be fully compliant without any suppression.
    """
    changed = copy.deepcopy(document)
    covered = {d for r in changed["resources"] if r["type"].endswith(":DiagnosticSetting") for d in r["dependencies"]}
    for r in document["resources"]:
        if r["type"] == "azure-native:machinelearningservices:OnlineEndpoint" and r["urn"] not in covered:
            changed["resources"].append(
                _res(
                    "",
                    "azure-native:monitor:DiagnosticSetting",
                    f"{r['name']}-diag",
                    {"workspaceId": "/subscriptions/x/law", "logs": [{"categoryGroup": "allLogs", "enabled": True}]},
                    (r["urn"],),
                )
            )
    return changed


def _set(node: Any, path: str, value: Any) -> None:
    parts = path.split("::") if "::" in path else path.split(".")
    keys: list[Any] = [int(k) if k.isdigit() else k for k in parts]
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


def resource(document: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in document["resources"] if r["name"] == name]
    if len(found) > 1:  # a component and a resource may share a name: take the resource
        found = [r for r in found if r["type"].startswith("azure-native:")]
    assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
    return found[0]


def mutate(document: dict[str, Any], name: str, path: str | None, value: Any = DELETE) -> dict[str, Any]:
    """A copy of ``document`` with one input of ``name`` changed (path None: the resource removed)."""
    changed = copy.deepcopy(document)
    if path is None:
        changed["resources"] = [r for r in changed["resources"] if r["name"] != name]
    else:
        _set(resource(changed, name)["inputs"], path, value)
    return changed


def run(document: dict[str, Any], rule_ids: list[str] | None = None, **kwargs: Any) -> Report:
    rules = [RULES_BY_ID[r] for r in rule_ids] if rule_ids else None
    options: dict[str, Any] = {"suppressions_file": NO_SUPPRESSIONS, "today": TODAY, **kwargs}
    if rules is not None:
        options["rules"] = rules
    return evaluate(document, **options)


def violations(document: dict[str, Any], rule_id: str) -> list[tuple[str, str]]:
    """(resource name, message) of every unsuppressed finding of one rule."""
    report = run(document, [rule_id])
    return [
        (f.urn.rsplit("::", 1)[-1] if f.urn else "(stack)", f.message)
        for f in report.findings
        if f.rule == rule_id and f.status != "suppressed"
    ]
