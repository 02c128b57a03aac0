"""Telemetry reachable only privately: the Azure Monitor Private Link Scope, asserted on the real plans."""

from __future__ import annotations

from typing import Any

import pytest

from components import config
from scripts.plan.cli import PlanError, make_plan
from tests.conftest import Plan, stack_values
from tests.policies.policy_cases import run

T = "azure-native:"
SCOPE = T + "monitor:PrivateLinkScope"
SCOPED = T + "monitor:PrivateLinkScopedResource"
TEL = "secure-ml:monitoring:PrivateTelemetry"
ZONES = {
    "monitor": "privatelink.monitor.azure.com",
    "oms": "privatelink.oms.opinsights.azure.com",
    "ods": "privatelink.ods.opinsights.azure.com",
    "agentsvc": "privatelink.agentsvc.azure-automation.net",
    "blob": "privatelink.blob.core.windows.net",
}
_REASON = "online deployments' Application Insights telemetry is needed for the model dashboards"


def _names(plan: Plan, urns: list[str]) -> set[str]:
    return {plan.by_urn[u]["name"] for u in urns if u in plan.by_urn}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_workspace_and_app_insights_block_public_networks(env: str, request: pytest.FixtureRequest):
    plan: Plan = request.getfixturevalue(f"{env}_plan")
    law = plan.inputs(T + "operationalinsights:Workspace", f"mlsec-{env}-mon-law")
    appi = plan.inputs(T + "applicationinsights:Component", f"mlsec-{env}-mon-appi")
    for inputs in (law, appi):
        assert inputs["publicNetworkAccessForIngestion"] == "Disabled"
        assert inputs["publicNetworkAccessForQuery"] == "Disabled"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_scope_is_private_only_and_holds_both(env: str, request: pytest.FixtureRequest):
    plan: Plan = request.getfixturevalue(f"{env}_plan")
    scope = plan.one(SCOPE, f"mlsec-{env}-tel-ampls")
    assert scope["inputs"]["location"] == "global"
    assert scope["inputs"]["accessModeSettings"] == {
        "exclusions": [],
        "ingestionAccessMode": "PrivateOnly",
        "queryAccessMode": "PrivateOnly",
    }
    linked = {r["inputs"]["name"]: r["inputs"] for r in plan.of_type(SCOPED)}
    assert set(linked) == {"law", "appi"}
    assert linked["law"]["linkedResourceId"].endswith(f"/Microsoft.OperationalInsights/workspaces/mlsec-{env}-mon-law")
    assert linked["appi"]["linkedResourceId"].endswith(f"/Microsoft.Insights/components/mlsec-{env}-mon-appi")
    assert {i["scopeName"] for i in linked.values()} == {f"mlsec-{env}-tel-ampls"}


def test_private_endpoint_group_subnet_and_zones(dev_plan: Plan):
    endpoint = dev_plan.one(T + "network:PrivateEndpoint", "mlsec-dev-tel-ampls-pe")
    (connection,) = endpoint["inputs"]["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["azuremonitor"]
    assert connection["privateLinkServiceId"].endswith("/Microsoft.Insights/privateLinkScopes/mlsec-dev-tel-ampls")
    assert endpoint["inputs"]["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    # The endpoint comes after both scoped resources (Microsoft's order: scope, resources, endpoint).
    assert {"mlsec-dev-tel-ampls-law", "mlsec-dev-tel-ampls-appi"} <= _names(dev_plan, endpoint["dependencies"])
    group = dev_plan.inputs(T + "network:PrivateDnsZoneGroup", "mlsec-dev-tel-ampls-dns")
    configs = {c["name"]: c["privateDnsZoneId"] for c in group["privateDnsZoneConfigs"]}
    assert {k: v.rsplit("/", 1)[-1] for k, v in configs.items()} == ZONES
    made = {r["inputs"]["privateZoneName"] for r in dev_plan.made_by(TEL, T + "privatedns:PrivateZone")}
    assert made == set(ZONES.values()) - {ZONES["blob"]}
    links = dev_plan.made_by(TEL, T + "privatedns:VirtualNetworkLink")
    assert len(links) == 4
    assert all(link["inputs"]["registrationEnabled"] is False for link in links)


def test_gateway_logger_waits_for_the_private_endpoint(dev_plan: Plan):
    logger = dev_plan.one(T + "apimanagement:Logger")
    assert "mlsec-dev-tel-ampls-pe" in _names(dev_plan, logger["dependencies"])


def test_deployments_send_no_telemetry_application_insights_would_refuse(dev_plan: Plan):
    for deployment in dev_plan.of_type(T + "machinelearningservices:OnlineDeployment"):
        assert deployment["inputs"]["properties"]["appInsightsEnabled"] is False, deployment["name"]


def _plan_with(project: Any, mutate: Any) -> Plan:
    root = project("case", base="dev", mutate=mutate)
    return Plan(make_plan("case", root))


def test_public_ingestion_is_an_explicit_opt_out_the_gate_sees(project):
    def opt_in(values: dict[str, Any]) -> None:
        values["monitoring"]["appInsightsPublicIngestion"] = {"enabled": True, "reason": _REASON}

    plan = _plan_with(project, opt_in)
    appi = plan.inputs(T + "applicationinsights:Component")
    assert appi["publicNetworkAccessForIngestion"] == "Enabled"
    assert appi["publicNetworkAccessForQuery"] == "Disabled"
    assert plan.inputs(T + "operationalinsights:Workspace")["publicNetworkAccessForIngestion"] == "Disabled"
    deployments = plan.of_type(T + "machinelearningservices:OnlineDeployment")
    assert deployments and all(d["inputs"]["properties"]["appInsightsEnabled"] is True for d in deployments)
    assert plan.outputs["securityOptOuts"]["monitoring.appInsightsPublicIngestion"] == _REASON
    findings = run(plan.document, ["MLSEC-MON-003", "MLSEC-MON-005"], stack="dev").findings
    assert [(f.rule, f.status, f.note) for f in findings] == [
        ("MLSEC-MON-003", "accepted", f"opt-out monitoring.appInsightsPublicIngestion: {_REASON}")
    ]
    # Where the rule is mandatory (prod) the declared opt-out does not make the plan pass.
    findings = run(plan.document, ["MLSEC-MON-003"], stack="prod").findings
    assert [(f.rule, f.level, f.status) for f in findings] == [("MLSEC-MON-003", "mandatory", "violation")]


def test_hub_zones_are_used_instead_of_creating_them(project):
    hub = (
        "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/hub"
        "/providers/Microsoft.Network/privateDnsZones/"
    )

    def with_hub(values: dict[str, Any]) -> None:
        values["network"]["hubDnsZoneIds"] = {ZONES["monitor"]: hub + ZONES["monitor"]}

    plan = _plan_with(project, with_hub)
    made = {r["inputs"]["privateZoneName"] for r in plan.made_by(TEL, T + "privatedns:PrivateZone")}
    assert made == {ZONES["oms"], ZONES["ods"], ZONES["agentsvc"]}
    group = plan.inputs(T + "network:PrivateDnsZoneGroup", "mlsec-dev-tel-ampls-dns")
    configs = {c["name"]: c["privateDnsZoneId"] for c in group["privateDnsZoneConfigs"]}
    assert configs["monitor"] == hub + ZONES["monitor"]


def test_china_needs_the_private_link_turned_off(project):
    def china(values: dict[str, Any]) -> None:
        values["cloud"] = "AzureChinaCloud"
        values["location"] = "chinanorth3"

    with pytest.raises(PlanError) as raised:
        _plan_with(project, china)
    assert "secure-ml:monitoring.privateLink: expected {enabled: false, reason: ...} in AzureChinaCloud" in str(
        raised.value
    )


def test_turning_the_private_link_off_opens_both_and_is_reported():
    values = stack_values("dev")
    reason = "Microsoft lists no Azure Monitor private-link zones in this cloud"
    values["monitoring"]["privateLink"] = {"enabled": False, "reason": reason}
    settings = config.validate(values, "dev")
    assert settings.opt_outs["monitoring.privateLink"] == reason
    assert settings.opt_outs["monitoring.appInsightsPublicIngestion"] == f"implied by monitoring.privateLink: {reason}"
    values["monitoring"]["privateLink"] = {"enabled": False}
    with pytest.raises(config.ConfigError):
        config.validate(values, "dev")
