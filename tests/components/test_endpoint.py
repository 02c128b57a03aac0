"""Online endpoints Azure ML accepts: the endpoint without traffic, its deployments, autoscale, the traffic step
after every deployment, and the roles of the endpoint identity. Every value is asserted exactly; the traffic
provider runs against a fake ARM."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from components.common import FORBIDDEN_ROLES, ROLE
from components.endpoint_traffic import (
    API_VERSION,
    TYPE_TOKEN,
    Response,
    TrafficClient,
    TrafficError,
    TrafficProvider,
)
from policies.catalog import RULES_BY_ID
from scripts.plan.arm_export import ExportError, export, resource_id, unmapped_types
from tests.conftest import Plan
from tests.policies.policy_cases import violations

T = "azure-native:"
ARM = "https://management.azure.com"
SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"


def endpoint(p: Plan) -> dict[str, Any]:
    return p.one(T + "machinelearningservices:OnlineEndpoint")


def deployments(p: Plan) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["deploymentName"]: r for r in p.of_type(T + "machinelearningservices:OnlineDeployment")}


# ------------------------------------------------------------------------------------------- plan


def test_endpoint_is_created_without_traffic(dev_plan: Plan, prod_plan: Plan) -> None:
    for p in (dev_plan, prod_plan):
        ep = endpoint(p)["inputs"]
        assert ep["properties"] == {
            "authMode": "AADToken",
            "publicNetworkAccess": "Disabled",
            "description": "fraud-score: reached only through the API gateway",
        }
        assert ep["identity"]["type"] == "UserAssigned"
        (uami,) = ep["identity"]["userAssignedIdentities"]
        assert f"/userAssignedIdentities/mlsec-{p.document['stack']}-fraud-score-id" in uami


def test_deployments_use_default_scale_and_no_egress_flag(prod_plan: Plan) -> None:
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
        props = dep["inputs"]["properties"]
        assert props["endpointComputeType"] == "Managed", name
        assert props["scaleSettings"] == {"scaleType": "Default"}, name
        # not set by the blueprint: the provider's own default travels, and a managed network ignores it
        assert props["egressPublicNetworkAccess"] == "Enabled", name
        assert props["livenessProbe"] == probe and props["readinessProbe"] == probe, name
        assert props["dataCollector"]["collections"] == {
            "model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1},
            "model_outputs": {"dataCollectionMode": "Enabled", "samplingRate": 1},
        }, name
        assert endpoint(prod_plan)["urn"] in dep["dependencies"], name
    assert deps["blue"]["inputs"]["sku"] == {"name": "Default", "capacity": 2}
    assert deps["detector"]["inputs"]["sku"] == {"name": "Default", "capacity": 1}
    assert deps["blue"]["inputs"]["properties"]["model"] == "azureml:fraud-model:3"
    assert deps["detector"]["inputs"]["properties"]["model"] == "azureml:fraud-detector:1"


def test_autoscale_only_where_max_instances_is_set(dev_plan: Plan, prod_plan: Plan) -> None:
    assert dev_plan.of_type(T + "monitor:AutoscaleSetting") == []
    (setting,) = prod_plan.of_type(T + "monitor:AutoscaleSetting")
    blue = deployments(prod_plan)["blue"]
    blue_id = (
        f"{SUB}/resourceGroups/{blue['inputs']['resourceGroupName']}/providers/Microsoft.MachineLearningServices/"
        f"workspaces/{blue['inputs']['workspaceName']}/onlineEndpoints/{blue['inputs']['endpointName']}/deployments/blue"
    )
    inputs = setting["inputs"]
    assert setting["name"] == "mlsec-prod-fraud-score-blue-autoscale"
    assert inputs["enabled"] is True
    assert inputs["targetResourceUri"] == blue_id
    assert blue["urn"] in setting["dependencies"]

    def trigger(operator: str, threshold: int) -> dict[str, Any]:
        return {
            "metricName": "CpuUtilizationPercentage",
            "metricNamespace": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
            "metricResourceUri": blue_id,
            "operator": operator,
            "statistic": "Average",
            "threshold": threshold,
            "timeAggregation": "Average",
            "timeGrain": "PT1M",
            "timeWindow": "PT5M",
        }

    assert inputs["profiles"] == [
        {
            "name": "cpu",
            "capacity": {"minimum": "2", "maximum": "6", "default": "2"},
            "rules": [
                {
                    "metricTrigger": trigger("GreaterThan", 70),
                    "scaleAction": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"},
                },
                {
                    "metricTrigger": trigger("LessThan", 25),
                    "scaleAction": {"direction": "Decrease", "type": "ChangeCount", "value": "1", "cooldown": "PT10M"},
                },
            ],
        }
    ]


def test_traffic_step_follows_every_deployment(dev_plan: Plan, prod_plan: Plan) -> None:
    for p, live, mirror in ((dev_plan, {"blue": 100}, {}), (prod_plan, {"blue": 100}, {"detector": 20})):
        step = p.one(TYPE_TOKEN)
        ep = endpoint(p)
        deps = deployments(p)
        identity = p.one(T + "managedidentity:UserAssignedIdentity", f"mlsec-{p.document['stack']}-fraud-score-id")
        assert set(step["dependencies"]) == {ep["urn"], identity["urn"], *(d["urn"] for d in deps.values())}
        inputs = step["inputs"]
        assert inputs["traffic"] == live and inputs["mirrorTraffic"] == mirror
        ep_id = f"{SUB}/resourceGroups/{ep['inputs']['resourceGroupName']}/providers/Microsoft.MachineLearningServices"
        ep_id += f"/workspaces/{ep['inputs']['workspaceName']}/onlineEndpoints/{ep['inputs']['endpointName']}"
        assert inputs["endpointId"] == ep_id
        assert inputs["deployments"] == {
            name: {"id": f"{ep_id}/deployments/{name}", "model": d["inputs"]["properties"]["model"]}
            for name, d in deps.items()
        }
        assert inputs["apiVersion"] == API_VERSION
        assert re.fullmatch(r"[0-9a-f]{16}", inputs["endpointRevision"])
        # the pickled provider is a secret input: the plan keeps the marker, never the blob
        assert inputs["__provider"] == "[secret]"


def test_endpoint_identity_roles(prod_plan: Plan) -> None:
    names = {guid: name for name, guid in ROLE.items()}
    grants = sorted(
        (names[r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]], r["inputs"]["scope"])
        for r in prod_plan.made_by("secure-ml:ml:Endpoint", T + "authorization:RoleAssignment")
    )
    acr = prod_plan.one(T + "containerregistry:Registry", "mlsec-prod-fraudacr")
    ws = prod_plan.one(T + "machinelearningservices:Workspace", "mlsec-prod-fraud-mlw")
    sys_store = prod_plan.one(T + "storage:StorageAccount", "mlsec-prod-fraudsys")
    data = prod_plan.one(T + "storage:StorageAccount", "mlsec-prod-dataacct")
    acr_id, ws_id, sys_id = resource_id(acr), resource_id(ws), resource_id(sys_store)
    models = f"{resource_id(data)}/blobServices/default/containers/models"
    assert grants == sorted(
        [
            ("AcrPull", acr_id),
            ("AzureML Metrics Writer", ws_id),
            ("Storage Blob Data Contributor", sys_id),
            ("Storage Blob Data Reader", sys_id),
            ("Storage Blob Data Reader", models),
        ]
    )
    assert ROLE["AzureML Metrics Writer"] == "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"
    assert not {
        r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]
        for r in prod_plan.of_type(T + "authorization:RoleAssignment")
    } & set(FORBIDDEN_ROLES)
    # the endpoint waits for its grants: a deployment pulls its image and model as soon as it is created
    grant_urns = {r["urn"] for r in prod_plan.made_by("secure-ml:ml:Endpoint", T + "authorization:RoleAssignment")}
    assert grant_urns <= set(endpoint(prod_plan)["dependencies"])


def test_prod_and_dev_plans_pass_the_endpoint_rules(dev_plan: Plan, prod_plan: Plan) -> None:
    for p in (dev_plan, prod_plan):
        for rule in ("MLSEC-EPT-004", "MLSEC-EPT-010", "MLSEC-EPT-011", "MLSEC-EPT-012"):
            assert violations(p.document, rule) == [], (p.document["stack"], rule)


def test_traffic_step_must_depend_on_every_deployment(prod_plan: Plan) -> None:
    document = json.loads(json.dumps(prod_plan.document))
    step = next(r for r in document["resources"] if r["type"] == TYPE_TOKEN)
    detector = deployments(prod_plan)["detector"]["urn"]
    step["dependencies"] = [d for d in step["dependencies"] if d != detector]
    assert violations(document, "MLSEC-EPT-011") == [
        (
            "mlsec-prod-fraud-score-traffic",
            "traffic step mlsec-prod-fraud-score-traffic does not depend on the deployments "
            "mlsec-prod-fraud-score-detector",
        )
    ]
    assert RULES_BY_ID["MLSEC-EPT-011"].severity.value == "high"


def test_arm_export_leaves_the_traffic_step_out_and_refuses_unknown_dynamic_types(prod_plan: Plan) -> None:
    template = export(prod_plan.document, {})
    types = {r["type"] for r in template["resources"]}
    assert "Microsoft.Insights/autoscalesettings" in types
    assert not any("dynamic" in t for t in types)
    stray = json.loads(json.dumps(prod_plan.document))
    stray["resources"].append({**prod_plan.one(TYPE_TOKEN), "type": "pulumi-python:dynamic:Resource", "urn": "u"})
    assert unmapped_types(stray) == ["pulumi-python:dynamic:Resource"]
    with pytest.raises(ExportError):
        export(stray, {})


# ------------------------------------------------------------------------------- traffic provider

EP = f"{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/score"
EP_URL = f"{ARM}{EP}?api-version={API_VERSION}"
LIST_URL = f"{ARM}{EP}/deployments?api-version={API_VERSION}"
STATUS_URL = f"{ARM}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op1"


class FakeArm:
    """An endpoint with deployments; records every request."""

    def __init__(self, names: list[str], *, exists: bool = True, put_status: int = 201) -> None:
        self.names = names
        self.exists = exists
        self.put_status = put_status
        self.calls: list[tuple[str, str, Any, dict[str, str]]] = []
        self.body: dict[str, Any] = {
            "id": EP,
            "name": "score",
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": "westeurope",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/uami": {}}},
            "tags": {"team": "ml"},
            "properties": {
                "authMode": "AADToken",
                "publicNetworkAccess": "Disabled",
                "provisioningState": "Succeeded",
                "scoringUri": "https://score.westeurope.inference.ml.azure.com/score",
                "traffic": {},
            },
        }

    def request(self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
        self.calls.append((method, url, body, dict(headers or {})))
        if url == LIST_URL:
            return Response(200, {}, {"value": [{"name": n} for n in self.names]})
        if url == STATUS_URL:
            return Response(200, {}, {"status": "Succeeded"})
        if url == EP_URL and method == "GET":
            return Response(200, {"etag": '"e1"'}, self.body) if self.exists else Response(404, {}, {"error": {}})
        if url == EP_URL and method == "PUT":
            return Response(self.put_status, {"azure-asyncoperation": STATUS_URL, "retry-after": "0"}, body)
        raise AssertionError(f"unexpected {method} {url}")


def _client(fake: FakeArm) -> TrafficClient:
    return TrafficClient(fake, ARM, sleep=lambda _: None)


def test_apply_reads_then_puts_with_if_match_and_waits() -> None:
    fake = FakeArm(["blue", "detector"])
    written = _client(fake).apply(EP, {"blue": 100}, {"detector": 20})
    assert written == {"traffic": {"blue": 100}, "mirrorTraffic": {"detector": 20}}
    assert [(m, u) for m, u, _, _ in fake.calls] == [
        ("GET", LIST_URL),
        ("GET", EP_URL),
        ("PUT", EP_URL),
        ("GET", STATUS_URL),
    ]
    _, _, body, headers = fake.calls[2]
    assert headers == {"If-Match": '"e1"'}
    assert body == {
        "location": "westeurope",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/uami": {}}},
        "tags": {"team": "ml"},
        "properties": {
            "authMode": "AADToken",
            "publicNetworkAccess": "Disabled",
            "traffic": {"blue": 100},
            "mirrorTraffic": {"detector": 20},
        },
    }


def test_apply_refuses_deployments_that_do_not_exist() -> None:
    fake = FakeArm(["blue"])
    with pytest.raises(TrafficError, match="do not exist: detector, green \\(existing: blue\\)"):
        _client(fake).apply(EP, {"green": 100}, {"detector": 20})
    assert [m for m, _, _, _ in fake.calls] == ["GET"]  # nothing written


def test_apply_refuses_a_split_that_does_not_add_up_to_100() -> None:
    fake = FakeArm(["blue", "green"])
    with pytest.raises(TrafficError, match="must add up to 100 \\(found 90\\)"):
        _client(fake).apply(EP, {"blue": 60, "green": 30}, {})
    assert fake.calls == []


def test_a_concurrent_change_is_an_error() -> None:
    fake = FakeArm(["blue"], put_status=412)
    with pytest.raises(TrafficError, match="HTTP 412"):
        _client(fake).apply(EP, {"blue": 100}, {})


def test_clear_empties_both_splits_and_tolerates_a_deleted_endpoint() -> None:
    fake = FakeArm(["blue"])
    _client(fake).clear(EP)
    (put,) = [c for c in fake.calls if c[0] == "PUT"]
    assert put[2]["properties"]["traffic"] == {} and put[2]["properties"]["mirrorTraffic"] == {}
    gone = FakeArm(["blue"], exists=False)
    _client(gone).clear(EP)
    assert [(m, u) for m, u, _, _ in gone.calls] == [("GET", EP_URL)]


def test_provider_create_update_delete_and_diff() -> None:
    fake = FakeArm(["blue", "detector"])
    provider = TrafficProvider(ARM, fake)
    props = {
        "endpointId": EP,
        "endpointRevision": "a",
        "traffic": {"blue": 100},
        "mirrorTraffic": {},
        "deployments": {"blue": {"model": "m:1"}},
    }
    created = provider.create(props)
    assert created.id == f"{EP}/traffic"
    assert created.outs == {**props, "traffic": {"blue": 100}, "mirrorTraffic": {}}

    same = provider.diff(created.id, props, dict(props))
    assert (same.changes, same.replaces) == (False, [])
    new_model = {**props, "deployments": {"blue": {"model": "m:2"}}}
    assert provider.diff(created.id, props, new_model).changes is True
    shadow = {**props, "mirrorTraffic": {"detector": 10}}
    changed = provider.diff(created.id, props, shadow)
    assert (changed.changes, changed.replaces) == (True, [])
    endpoint_updated = provider.diff(created.id, props, {**props, "endpointRevision": "b"})
    assert (endpoint_updated.changes, endpoint_updated.replaces) == (True, [])
    moved = provider.diff(created.id, props, {**props, "endpointId": EP + "2"})
    assert (moved.changes, moved.replaces, moved.delete_before_replace) == (True, ["endpointId"], True)

    updated = provider.update(created.id, props, shadow)
    assert updated.outs is not None and updated.outs["mirrorTraffic"] == {"detector": 10}
    fake.calls.clear()
    provider.delete(created.id, shadow)
    (put,) = [c for c in fake.calls if c[0] == "PUT"]
    assert put[2]["properties"]["traffic"] == {} and put[2]["properties"]["mirrorTraffic"] == {}


def test_provider_is_recorded_by_reference_and_loads_back() -> None:
    import base64

    import dill
    from pulumi.dynamic.dynamic import serialize_provider

    blob = serialize_provider(TrafficProvider(ARM))
    assert len(blob) < 1000  # the class is referenced by module, not copied with its dependencies
    loaded = dill.loads(base64.b64decode(blob))
    assert type(loaded) is TrafficProvider and loaded.arm == ARM
