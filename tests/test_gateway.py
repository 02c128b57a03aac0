"""Online endpoints behind the API gateway (issue: managed-identity endpoints, rate-limited gateway,
anomaly alerts, kill switch). Every control is asserted at its exact value."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from components.common import FORBIDDEN_ROLES, ROLE
from components.gateway import SCORE_ACTION, TLS_SETTINGS
from components.gateway_policy import INTERNAL_HEADERS, PolicySettings, render
from scripts import plan
from tests.conftest import Plan

T = "azure-native:"
TENANT = "33333333-3333-4333-8333-333333333333"


def endpoint(p: Plan) -> dict:
    (ep,) = p.of_type(T + "machinelearningservices:OnlineEndpoint")
    return ep["inputs"]


def deployments(p: Plan) -> dict[str, dict]:
    return {
        r["inputs"]["deploymentName"]: r["inputs"] for r in p.of_type(T + "machinelearningservices:OnlineDeployment")
    }


# ---------------------------------------------------------------------------------------- endpoints


def test_endpoint_uses_entra_tokens_no_public_access_and_its_own_identity(dev_plan: Plan):
    ep = endpoint(dev_plan)
    assert ep["properties"]["authMode"] == "AADToken"
    assert ep["properties"]["publicNetworkAccess"] == "Disabled"
    assert ep["identity"]["type"] == "UserAssigned"
    (uami,) = ep["identity"]["userAssignedIdentities"]
    assert "/userAssignedIdentities/mlsec-dev-fraud-score-id" in uami
    assert ep["properties"]["traffic"] == {"blue": 100}
    assert "mirrorTraffic" not in ep["properties"]


def test_deployments_are_declared_with_egress_disabled_probes_and_data_collection(prod_plan: Plan):
    deps = deployments(prod_plan)
    assert set(deps) == {"blue", "detector"}
    probe = {
        "failureThreshold": 3,
        "initialDelay": "PT30S",
        "period": "PT10S",
        "successThreshold": 1,
        "timeout": "PT2S",
    }
    for name, dep in deps.items():
        props = dep["properties"]
        assert props["endpointComputeType"] == "Managed", name
        assert props["egressPublicNetworkAccess"] == "Disabled", name  # the SDK default is Enabled
        assert props["livenessProbe"] == probe and props["readinessProbe"] == probe, name
        collections = props["dataCollector"]["collections"]
        assert collections == {
            "model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1},
            "model_outputs": {"dataCollectionMode": "Enabled", "samplingRate": 1},
        }, name
    assert deps["blue"]["properties"]["model"] == "azureml:fraud-model:3"
    assert deps["blue"]["properties"]["scaleSettings"] == {
        "scaleType": "TargetUtilization",
        "minInstances": 2,
        "maxInstances": 6,
        "targetUtilizationPercentage": 70,
        "pollingInterval": "PT1M",
    }
    assert deps["blue"]["sku"] == {"name": "Default", "capacity": 2}
    assert deps["detector"]["properties"]["model"] == "azureml:fraud-detector:1"


def test_shadow_deployment_gets_mirrored_traffic_only(prod_plan: Plan):
    props = endpoint(prod_plan)["properties"]
    assert props["traffic"] == {"blue": 100}
    assert props["mirrorTraffic"] == {"detector": 20}


def test_endpoint_identity_holds_only_acr_pull_and_models_reader(prod_plan: Plan):
    names = {guid: name for name, guid in ROLE.items()}
    grants = sorted(
        (names[r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]], r["inputs"]["scope"].rsplit("/", 2)[-2])
        for r in prod_plan.made_by("secure-ml:ml:Endpoint", T + "authorization:RoleAssignment")
    )
    assert grants == [("AcrPull", "registries"), ("Storage Blob Data Reader", "containers")]
    models = [
        r
        for r in prod_plan.made_by("secure-ml:ml:Endpoint", T + "authorization:RoleAssignment")
        if r["inputs"]["scope"].endswith("/containers/models")
    ]
    assert len(models) == 1


def test_endpoint_metric_alerts(prod_plan: Plan):
    alerts = {r["name"]: r["inputs"] for r in prod_plan.of_type(T + "monitor:MetricAlert")}
    latency = alerts["mlsec-prod-fraud-score-latency"]["criteria"]["allOf"][0]
    errors = alerts["mlsec-prod-fraud-score-errors"]["criteria"]["allOf"][0]
    assert (latency["metricName"], latency["operator"], latency["threshold"]) == ("RequestLatency", "GreaterThan", 500)
    assert (errors["metricName"], errors["threshold"]) == ("RequestsPerMinute", 200)
    assert errors["dimensions"] == [{"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]}]
    for alert in alerts.values():
        assert alert["scopes"] == [prod_plan.outputs["endpoints"]["fraud-score"]]
        assert alert["actions"] == [{"actionGroupId": prod_plan.outputs["actionGroupId"]}]


# ------------------------------------------------------------------------------------------ gateway


def service(p: Plan) -> dict:
    (svc,) = p.of_type(T + "apimanagement:ApiManagementService")
    return svc["inputs"]


def test_gateway_is_internal_with_tls12_only_and_a_system_identity(dev_plan: Plan, prod_plan: Plan):
    svc = service(dev_plan)
    assert svc["sku"] == {"name": "Developer", "capacity": 1}
    assert svc["virtualNetworkType"] == "Internal"
    assert svc["virtualNetworkConfiguration"]["subnetResourceId"].endswith("/subnets/snet-gateway")
    assert svc["identity"] == {"type": "SystemAssigned"}
    props = svc["customProperties"]
    for side in ("", "Backend."):
        for proto in ("Ssl30", "Tls10", "Tls11"):
            assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}Protocols.{proto}"] == "False"
    assert props["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"] == "False"
    assert props == TLS_SETTINGS
    assert svc["developerPortalStatus"] == "Disabled"
    prod = service(prod_plan)
    assert (prod["sku"], prod["zones"]) == ({"name": "Premium", "capacity": 2}, ["1", "2", "3"])


def test_gateway_logs_the_caller_to_app_insights_and_log_analytics(dev_plan: Plan):
    logger = dev_plan.inputs(T + "apimanagement:Logger")
    assert logger["loggerType"] == "applicationInsights"
    assert logger["credentials"] == "[secret]"
    diagnostics = {r["inputs"]["diagnosticId"]: r["inputs"] for r in dev_plan.of_type(T + "apimanagement:Diagnostic")}
    assert set(diagnostics) == {"applicationinsights", "azuremonitor"}
    for diag in diagnostics.values():
        assert diag["frontend"]["request"]["headers"] == ["x-caller-id"]
        assert diag["sampling"] == {"samplingType": "fixed", "percentage": 100}
        assert diag["logClientIp"] is True
    assert diagnostics["azuremonitor"]["loggerId"] == dev_plan.outputs["gatewayId"] + "/loggers/azuremonitor"
    settings = {r["inputs"]["resourceUri"]: r["inputs"] for r in dev_plan.of_type(T + "monitor:DiagnosticSetting")}
    assert settings[dev_plan.outputs["gatewayId"]]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_one_api_per_endpoint_with_post_score(dev_plan: Plan):
    api = dev_plan.inputs(T + "apimanagement:Api")
    assert (api["apiId"], api["path"], api["protocols"]) == ("fraud-score", "models/fraud-score", ["https"])
    # the scoring host carries the Azure endpoint name; the API keeps the configured one
    assert api["serviceUrl"] == "https://mlsec-dev-fraud-score-a1a85a.westeurope.inference.ml.azure.com"
    op = dev_plan.inputs(T + "apimanagement:ApiOperation")
    assert (op["method"], op["urlTemplate"], op["operationId"]) == ("POST", "/score", "score")
    policy = dev_plan.inputs(T + "apimanagement:ApiPolicy")
    assert policy["format"] == "xml"
    assert policy["value"] == dev_plan.outputs["gatewayPolicy"]


def test_gateway_role_grants_only_score_on_each_endpoint(dev_plan: Plan, prod_plan: Plan):
    role = dev_plan.inputs(T + "authorization:RoleDefinition")
    assert role["permissions"] == [{"actions": [SCORE_ACTION]}]
    assert role["roleType"] == "CustomRole"
    rg_scope = role["scope"]
    assert role["assignableScopes"] == [rg_scope]
    gateway_grants = [
        r["inputs"] for r in dev_plan.made_by("secure-ml:gateway:Gateway", T + "authorization:RoleAssignment")
    ]
    score = [g for g in gateway_grants if g["roleDefinitionId"].endswith(role["roleDefinitionId"])]
    assert [g["scope"] for g in score] == [dev_plan.outputs["endpoints"]["fraud-score"]]
    others = [g for g in gateway_grants if g not in score]
    assert [o["roleDefinitionId"].rsplit("/", 1)[-1] for o in others] == [ROLE["Monitoring Metrics Publisher"]]
    for p in (dev_plan, prod_plan):
        for r in p.role_assignments():
            assert r["roleDefinitionId"].rsplit("/", 1)[-1] not in FORBIDDEN_ROLES


# ------------------------------------------------------------------------------------------- policy


def parsed(p: Plan) -> ET.Element:
    return ET.fromstring(p.outputs["gatewayPolicy"])


def test_policy_structure_and_values_from_config(dev_plan: Plan):
    root = parsed(dev_plan)
    inbound = root.find("inbound")
    assert [child.tag for child in inbound] == [
        "base",
        "validate-jwt",
        "set-variable",
        "rate-limit-by-key",
        "quota-by-key",
        "validate-content",
        "set-header",
        "authentication-managed-identity",
    ]
    jwt = inbound.find("validate-jwt")
    assert jwt.get("require-signed-tokens") == "true" and jwt.get("require-expiration-time") == "true"
    assert jwt.find("openid-config").get("url") == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
    )
    assert [a.text for a in jwt.find("audiences")] == ["api://mlsec-dev-scoring"]
    claim = jwt.find("required-claims/claim")
    assert (claim.get("name"), [v.text for v in claim]) == ("roles", ["Model.Score"])
    rate = inbound.find("rate-limit-by-key")
    assert (rate.get("calls"), rate.get("renewal-period")) == ("60", "60")
    assert rate.get("counter-key") == '@((string)context.Variables["caller"])'
    quota = inbound.find("quota-by-key")
    assert (quota.get("calls"), quota.get("renewal-period")) == ("10000", "86400")
    content = inbound.find("validate-content")
    assert (content.get("max-size"), content.get("unspecified-content-type-action")) == ("65536", "prevent")
    assert content.find("content").attrib == {"type": "application/json", "validate-as": "json", "action": "prevent"}
    assert inbound.find("authentication-managed-identity").get("resource") == "https://ml.azure.com"
    removed = [h.get("name") for h in root.find("outbound") if h.get("exists-action") == "delete"]
    assert removed == list(INTERNAL_HEADERS)
    for section in ("inbound", "backend", "outbound", "on-error"):
        assert root.find(section)[0].tag == "base", section
    assert inbound.find("return-response") is None


def test_limits_above_the_environment_maximum_are_refused(project):
    from scripts.offline import PlanError

    def greedy(values):
        values["gateway"]["rateLimit"] = {"calls": 601, "renewalPeriodSeconds": 60}

    with pytest.raises(PlanError, match="at most 600 calls per minute per caller in dev"):
        plan.make_plan("greedy", project("greedy", mutate=greedy))


def test_suspended_gateway_answers_503_before_anything_else(project):
    def suspend(values):
        values["gateway"]["suspended"] = {"enabled": True, "reason": "incident INC-7 model extraction suspected"}

    p = Plan(plan.make_plan("stop", project("stop", mutate=suspend)))
    inbound = parsed(p).find("inbound")
    assert [c.tag for c in inbound][:3] == ["base", "return-response", "validate-jwt"]
    stop = inbound.find("return-response")
    assert stop.find("set-status").attrib == {"code": "503", "reason": "Service Unavailable"}


def test_render_is_deterministic_and_escapes_values():
    settings = PolicySettings(TENANT, "login.microsoftonline.com", 'api://a"<b>', ["R&D"], 1, 1, 1, 3600, 2048, False)
    assert render(settings) == render(settings)
    root = ET.fromstring(render(settings))
    assert root.find("inbound/validate-jwt/audiences/audience").text == 'api://a"<b>'
    assert root.find("inbound/validate-jwt/required-claims/claim/value").text == "R&D"


# ------------------------------------------------------------------------------------------- alerts


def gateway_alerts(p: Plan) -> dict[str, dict]:
    return {
        r["name"].removeprefix("mlsec-dev-gw-").removeprefix("mlsec-prod-gw-"): r["inputs"]
        for r in p.made_by("secure-ml:gateway:Gateway", T + "monitor:ScheduledQueryRule")
    }


def test_anomaly_alerts_with_configured_thresholds(dev_plan: Plan, prod_plan: Plan):
    dev = gateway_alerts(dev_plan)
    assert set(dev) == {"caller-volume", "throttled", "errors", "new-caller"}
    volume = dev["caller-volume"]["criteria"]["allOf"][0]
    assert "| summarize calls = count() by caller\n| where calls > 500" in volume["query"]
    assert 'tostring(parse_json(RequestHeaders)["x-caller-id"])' in volume["query"]
    assert f'| where _ResourceId =~ "{dev_plan.outputs["gatewayId"]}"' in volume["query"]
    assert dev["caller-volume"]["windowSize"] == "PT15M"
    prod = gateway_alerts(prod_plan)
    assert prod["throttled"]["criteria"]["allOf"][0]["threshold"] == 100
    assert "| where ResponseCode == 429" in prod["throttled"]["criteria"]["allOf"][0]["query"]
    assert prod["errors"]["criteria"]["allOf"][0]["threshold"] == 200
    assert prod["new-caller"]["overrideQueryTimeRange"] == "P14D"
    for p, alerts in ((dev_plan, dev), (prod_plan, prod)):
        for alert in alerts.values():
            assert alert["scopes"] == [p.outputs["logAnalyticsWorkspaceId"]]
            assert alert["actions"] == {"actionGroups": [p.outputs["actionGroupId"]]}
