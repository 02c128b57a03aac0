"""The kill switch: exact ARM requests, verification, exit codes, and the same policy as the gateway.

No network and no real credential: a fake TokenCredential hands out a fixed token and a fake
HttpTransport plays Azure Resource Manager, answering from recorded responses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.core.rest import HttpRequest, HttpResponse

from components.config import Settings, validate
from components.gateway_policy import render
from scripts.ops import kill_switch
from scripts.plan.cli import make_plan
from scripts.plan.engine import FAKE_CLIENT_CONFIG
from tests.conftest import Plan, stack_values
from tests.ops.azure_fakes import FakeTransport, Recorded

SUB = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
TENANT = FAKE_CLIENT_CONFIG["tenantId"]
RG = "mlsec-dev-rg1a2b3c4d"
SERVICE = "mlsec-dev-gw-apim5e6f7a8b"
ARM = "https://management.azure.com"
REASON = "INC-123: extraction pattern from one caller"
TOKEN = "fake-arm-token"
TARGET = ["--subscription", SUB, "--resource-group", RG, "--service", SERVICE, "--tenant", TENANT]


def url(api: str, arm: str = ARM, sub: str = SUB, rg: str = RG, service: str = SERVICE) -> str:
    return (
        f"{arm}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{service}"
        f"/apis/{api}/policies/policy?api-version=2024-05-01"
    )


FORBIDDEN = {
    "error": {
        "code": "AuthorizationFailed",
        "message": (
            "The client 'oncall@contoso.com' with object id '5e0d9a7c-1111-4222-8333-444455556666' does not have "
            "authorization to perform action 'Microsoft.ApiManagement/service/apis/policies/write' over scope "
            "'/subscriptions/x' or the scope is invalid.\nIf access was recently granted, please refresh your "
            "credentials."
        ),
    }
}


# ---------------------------------------------------------------------------------------------
# Fakes
# ---------------------------------------------------------------------------------------------


class FakeCredential:
    """A TokenCredential that hands out a fixed token and records the scopes asked for."""

    def __init__(self, fail: bool = False) -> None:
        self.scopes: list[tuple[str, ...]] = []
        self.fail = fail

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.fail:
            raise ClientAuthenticationError(
                "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted: ..."
            )
        return AccessToken(TOKEN, 4_102_444_800)


class Unreachable(FakeTransport):
    """A network on which no connection to ARM can be made."""

    def __init__(self) -> None:
        self.attempts = 0
        super().__init__()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.attempts += 1
        raise ServiceRequestError("Failed to establish a new connection: [Errno 111] Connection refused")


class FakeArm(FakeTransport):
    """Azure Resource Manager for API policies: PUT stores, GET returns what was stored.

    ``answers`` queues recorded responses per (method, api) that are given instead, in order.
    """

    def __init__(self, answers: dict[tuple[str, str], list[tuple[int, Any]]] | None = None) -> None:
        self.answers = answers or {}
        self.policies: dict[str, str] = {}
        self.requests: list[HttpRequest] = []
        super().__init__()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.requests.append(request)
        api = request.url.split("/apis/", 1)[1].split("/", 1)[0]
        queued = self.answers.get((request.method, api))
        if queued:
            status, body = queued.pop(0)
            return Recorded(request, status, body)
        if request.method == "PUT":
            self.policies[api] = json.loads(request.content)["properties"]["value"]
        policy = {"id": "policy-id", "type": "Microsoft.ApiManagement/service/apis/policies", "name": "policy"}
        return Recorded(request, 200, {**policy, "properties": {"format": "xml", "value": self.policies[api]}})


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def run(
    argv: list[str], arm: FakeArm | None = None, credential: FakeCredential | None = None
) -> tuple[int, FakeArm, FakeCredential]:
    arm = arm if arm is not None else FakeArm()
    credential = credential if credential is not None else FakeCredential()
    code = kill_switch.main(argv, credential=credential, transport=arm)
    return code, arm, credential


def settings_of(values: dict[str, Any], stack: str = "dev") -> Settings:
    return validate(values, stack)


def expected_policy(values: dict[str, Any], suspended: bool, tenant: str = TENANT) -> str:
    return render(kill_switch.policy_settings(settings_of(values), tenant, suspended=suspended))


def body_value(request: HttpRequest) -> str:
    document = json.loads(request.content)
    assert set(document) == {"properties"}
    assert set(document["properties"]) == {"format", "value"}
    assert document["properties"]["format"] == "xml"
    value: str = document["properties"]["value"]
    return value


def suspended_values(reason: str = "already suspended for incident INC-99") -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        values["gateway"]["suspended"] = {"enabled": True, "reason": reason}

    return mutate


def add_endpoints(values: dict[str, Any]) -> None:
    fraud = values["workspaces"][0]
    fraud["endpoints"].append(
        {
            "name": "fraud-batch",
            "deployments": [
                {
                    "name": "green",
                    "model": "azureml:fraud-model:4",
                    "instanceType": "Standard_DS3_v2",
                    "instanceCount": 1,
                    "traffic": 100,
                }
            ],
        }
    )
    values["workspaces"].append(
        {
            "name": "churn",
            "dataScientistGroupId": "0b8e2f43-77c1-4c2e-a1f9-3d5e8c9b2a10",
            "endpoints": [
                {
                    "name": "churn-score",
                    "deployments": [
                        {
                            "name": "blue",
                            "model": "azureml:churn-model:1",
                            "instanceType": "Standard_DS3_v2",
                            "instanceCount": 1,
                            "traffic": 100,
                        }
                    ],
                }
            ],
        }
    )


# ---------------------------------------------------------------------------------------------
# Request shape and the policy itself
# ---------------------------------------------------------------------------------------------


def test_suspend_sends_exact_put_then_verifying_get(capsys: pytest.CaptureFixture[str]):
    code, arm, credential = run(["dev", "--reason", REASON, *TARGET])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    put, get = arm.requests
    assert (put.method, put.url) == ("PUT", url("fraud-score"))
    assert (get.method, get.url) == ("GET", url("fraud-score") + "&format=xml")
    assert put.headers["Authorization"] == f"Bearer {TOKEN}"
    assert get.headers["Authorization"] == f"Bearer {TOKEN}"
    assert put.headers["Content-Type"] == "application/json"
    assert put.headers["Accept"] == "application/json"
    assert put.headers["If-Match"] == "*"
    value = expected_policy(stack_values("dev"), suspended=True)
    assert put.content == json.dumps({"properties": {"format": "xml", "value": value}}, indent=2).encode()
    assert body_value(put) == value
    assert credential.scopes == [(f"{ARM}/.default",)]  # one token, reused for the GET
    assert arm.sleeps == []
    assert out.splitlines()[:2] == [
        f"Suspending 1 model API(s) of stack dev on service {SERVICE} (resource group {RG}, subscription {SUB}):",
        "  fraud-score: suspended (answers 503), verified",
    ]


def test_suspend_policy_is_byte_identical_to_the_gateways(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
):
    root = project(mutate=suspended_values(REASON))
    plan = Plan(make_plan("case", root))
    gateway_policy = plan.outputs["gatewayPolicy"]
    assert kill_switch.is_suspended(gateway_policy)
    # the plan runs as the fake deploying identity, whose tenant is TENANT; the kill switch is told it
    live = project(stack="live")  # the same stack without the suspended key, as it is during an incident
    code, arm, _ = run(["live", "--reason", REASON, *TARGET, "--project-dir", str(live)])
    assert code == 0
    assert body_value(arm.requests[0]) == gateway_policy
    assert [r["inputs"]["value"] for r in plan.of_type("azure-native:apimanagement:ApiPolicy")] == [gateway_policy]


def test_resume_puts_back_the_normal_policy(dev_plan: Plan, capsys: pytest.CaptureFixture[str]):
    arm = FakeArm()
    code, arm, _ = run(["dev", "--resume", *TARGET], arm)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    put, get = arm.requests
    assert (put.method, put.url, get.method) == ("PUT", url("fraud-score"), "GET")
    value = body_value(put)
    assert value == dev_plan.outputs["gatewayPolicy"]
    assert "<return-response" not in value
    assert not kill_switch.is_suspended(value)
    assert out.splitlines()[1:] == [
        "  fraud-score: resumed (normal policy), verified",
        "",
        "stacks/Pulumi.dev.yaml does not suspend the gateway; nothing to change there.",
    ]


def test_one_put_and_one_get_per_model_api_in_stack_order(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
):
    root = project(mutate=add_endpoints)
    code, arm, _ = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)])
    assert code == 0
    assert [(r.method, r.url) for r in arm.requests] == [
        ("PUT", url("fraud-score")),
        ("GET", url("fraud-score") + "&format=xml"),
        ("PUT", url("fraud-batch")),
        ("GET", url("fraud-batch") + "&format=xml"),
        ("PUT", url("churn-score")),
        ("GET", url("churn-score") + "&format=xml"),
    ]
    values = stack_values("dev")
    add_endpoints(values)
    value = expected_policy(values, suspended=True)
    assert [body_value(r) for r in arm.requests if r.method == "PUT"] == [value, value, value]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in arm.requests)
    assert capsys.readouterr().out.splitlines()[1:4] == [
        "  fraud-score: suspended (answers 503), verified",
        "  fraud-batch: suspended (answers 503), verified",
        "  churn-score: suspended (answers 503), verified",
    ]


def test_sovereign_cloud_uses_its_arm_endpoint_scope_and_login_host(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
):
    def gov(values: dict[str, Any]) -> None:
        values["cloud"] = "AzureUSGovernment"
        values["location"] = "usgovvirginia"

    root = project(mutate=gov)
    code, arm, credential = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)])
    assert code == 0
    gov_arm = "https://management.usgovcloudapi.net"
    assert arm.requests[0].url == url("fraud-score", arm=gov_arm)
    assert credential.scopes == [(f"{gov_arm}/.default",)]
    assert f"https://login.microsoftonline.us/{TENANT}/v2.0" in body_value(arm.requests[0])


def test_is_suspended_tells_the_two_renderings_apart():
    values = stack_values("dev")
    assert kill_switch.is_suspended(expected_policy(values, suspended=True))
    assert not kill_switch.is_suspended(expected_policy(values, suspended=False))
    # as API Management may hand it back: other attribute order, quotes and line breaks
    reformatted = "<policies><inbound><base/>\r\n\t<return-response>\r\n\t\t<set-status reason='x' code='503'/>"
    assert kill_switch.is_suspended(reformatted)
    assert not kill_switch.is_suspended('<return-response><set-status code="429" /></return-response>')


# ---------------------------------------------------------------------------------------------
# Dry run
# ---------------------------------------------------------------------------------------------


def test_dry_run_sends_nothing_and_prints_the_exact_requests(capsys: pytest.CaptureFixture[str]):
    credential = FakeCredential(fail=True)
    code, arm, _ = run(["dev", "--reason", REASON, *TARGET, "--dry-run"], credential=credential)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert arm.requests == []
    assert credential.scopes == []
    assert TOKEN not in out
    # what a real run sends, printed byte for byte apart from the token
    _, sent, _ = run(["dev", "--reason", REASON, *TARGET])
    put = sent.requests[0]
    scope = f"{ARM}/.default"
    put_text = "\n".join(
        [
            f"PUT {url('fraud-score')}",
            f"Authorization: Bearer <token for {scope}>",
            "Accept: application/json",
            f"Content-Length: {len(put.content)}",
            "Content-Type: application/json",
            "If-Match: *",
            "User-Agent: secure-ml-kill-switch",
            "",
            put.content.decode(),
        ]
    )
    get_text = "\n".join(
        [
            f"GET {url('fraud-score')}&format=xml",
            f"Authorization: Bearer <token for {scope}>",
            "Accept: application/json",
            "User-Agent: secure-ml-kill-switch",
        ]
    )
    assert out == (
        f"Dry run, nothing is sent. Suspending 1 model API(s) of stack dev on service {SERVICE} "
        f"(resource group {RG}, subscription {SUB}) would send:\n"
        f"\n{put_text}\n\n{get_text}\n"
        "  (then check that the returned properties.value contains the 503 return-response)\n"
    )


# ---------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------


def test_verification_failure_exits_1_naming_the_api(project: Callable[..., Path], capsys: pytest.CaptureFixture[str]):
    root = project(mutate=add_endpoints)
    values = stack_values("dev")
    add_endpoints(values)
    old = {"properties": {"format": "xml", "value": expected_policy(values, suspended=False)}}
    arm = FakeArm({("GET", "fraud-batch"): [(200, old)]})
    code, arm, _ = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)], arm)
    out, err = capsys.readouterr()
    assert code == 1
    assert len(arm.requests) == 6  # the other APIs are still suspended
    assert err.splitlines() == [
        "error: fraud-batch: verification failed: the policy read back does not contain the 503 return-response",
        "error: 1 of 3 model API(s) failed and may still be serving traffic: fraud-batch",
    ]
    assert out.splitlines()[1:3] == [
        "  fraud-score: suspended (answers 503), verified",
        "  churn-score: suspended (answers 503), verified",
    ]


def test_resume_verification_fails_while_the_503_is_still_there(capsys: pytest.CaptureFixture[str]):
    still = {"properties": {"format": "xml", "value": expected_policy(stack_values("dev"), suspended=True)}}
    code, _, _ = run(["dev", "--resume", *TARGET], FakeArm({("GET", "fraud-score"): [(200, still)]}))
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: fraud-score: verification failed: the policy read back still contains the 503 return-response",
        "error: 1 of 1 model API(s) failed and may still be suspended: fraud-score",
    ]


def test_forbidden_exits_1_with_one_line_per_api(capsys: pytest.CaptureFixture[str]):
    arm = FakeArm({("PUT", "fraud-score"): [(403, FORBIDDEN)]})
    code, arm, _ = run(["dev", "--reason", REASON, *TARGET], arm)
    out, err = capsys.readouterr()
    assert code == 1
    assert [r.method for r in arm.requests] == ["PUT"]  # 403 is not retried and nothing is read back
    message = " ".join(FORBIDDEN["error"]["message"].split())
    assert err.splitlines() == [
        f"error: fraud-score: PUT failed: HTTP 403 AuthorizationFailed: {message} (your identity needs "
        "Microsoft.ApiManagement/service/apis/policies/write on the service, for example through API Management "
        "Service Contributor)",
        "error: 1 of 1 model API(s) failed and may still be serving traffic: fraud-score",
    ]
    assert "Record it" not in out  # nothing changed, so nothing to record
    assert "Traceback" not in err


def test_error_without_arm_body_still_names_the_status(capsys: pytest.CaptureFixture[str]):
    code, _, _ = run(["dev", "--reason", REASON, *TARGET], FakeArm({("PUT", "fraud-score"): [(404, None)]}))
    assert code == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "error: fraud-score: PUT failed: HTTP 404 (check the service, resource group and subscription, "
        "and that this endpoint is deployed)"
    )


def test_transient_server_error_is_retried(capsys: pytest.CaptureFixture[str]):
    busy = {"error": {"code": "ServiceUnavailable", "message": "try again"}}
    arm = FakeArm({("PUT", "fraud-score"): [(500, busy)]})
    code, arm, _ = run(["dev", "--reason", REASON, *TARGET], arm)
    assert code == 0
    assert [r.method for r in arm.requests] == ["PUT", "PUT", "GET"]
    assert arm.requests[0].content == arm.requests[1].content


def test_unreachable_arm_is_retried_then_reported(capsys: pytest.CaptureFixture[str]):
    network = Unreachable()
    code = kill_switch.main(["dev", "--reason", REASON, *TARGET], credential=FakeCredential(), transport=network)
    assert code == 1
    assert network.attempts == 4  # the first try and three connection retries, with growing back-off
    assert network.sleeps == [1.6, 3.2]
    assert capsys.readouterr().err.splitlines() == [
        "error: fraud-score: request failed: Failed to establish a new connection: [Errno 111] Connection refused",
        "error: 1 of 1 model API(s) failed and may still be serving traffic: fraud-score",
    ]


def test_no_token_stops_before_any_request(project: Callable[..., Path], capsys: pytest.CaptureFixture[str]):
    root = project(mutate=add_endpoints)
    credential = FakeCredential(fail=True)
    code, arm, _ = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)], credential=credential)
    assert code == 1
    assert arm.requests == []
    assert credential.scopes == [(f"{ARM}/.default",)]  # asked once, not once per API
    reason = (
        f"no Azure token for {ARM}/.default: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials."
    )
    assert capsys.readouterr().err.splitlines() == [
        f"error: fraud-score: {reason}",
        f"error: fraud-batch: {reason}",
        f"error: churn-score: {reason}",
        "error: 3 of 3 model API(s) failed and may still be serving traffic: fraud-score, fraud-batch, churn-score",
    ]


# ---------------------------------------------------------------------------------------------
# Usage errors: exit 2, one line, nothing sent
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dev", *TARGET], "error: --reason is required to suspend (or give --resume)"),
        (
            ["dev", "--reason", "x" * 19, *TARGET],
            "error: --reason: expected at least 20 and at most 500 characters (the rule of "
            "gateway.suspended.reason), found 19",
        ),
        (
            ["dev", "--reason", "   " + "x" * 19 + "   ", *TARGET],
            "error: --reason: expected at least 20 and at most 500 characters (the rule of "
            "gateway.suspended.reason), found 19",
        ),
        (
            ["dev", "--reason", REASON, "--resume", *TARGET],
            "error: argument --resume: not allowed with argument --reason",
        ),
        (
            ["dev", "--reason", REASON],
            "error: missing --subscription, --resource-group, --service, --tenant (give them, or --from-outputs FILE)",
        ),
        (
            ["dev", "--reason", REASON, *TARGET[:-1], "not-a-guid"],
            "error: --tenant: expected a tenant ID (GUID), found 'not-a-guid'",
        ),
        (
            ["dev", "--reason", REASON, *TARGET[:4], "--service", "svc/../other", *TARGET[6:]],
            "error: --service: expected an API Management service name, found 'svc/../other'",
        ),
        (
            ["nosuch", "--reason", REASON, *TARGET],
            "error: stacks/Pulumi.nosuch.yaml: no such stack file (stacks: dev, prod)",
        ),
        (["dev", "--reason", REASON, "--force"], "error: unrecognized arguments: --force"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]):
    code, arm, credential = run(argv)
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", message + "\n")
    assert arm.requests == []
    assert credential.scopes == []


def test_reason_of_exactly_20_characters_is_accepted(capsys: pytest.CaptureFixture[str]):
    code, _, _ = run(["dev", "--reason", "x" * 20, *TARGET, "--dry-run"])
    assert code == 0


def test_invalid_stack_config_exits_2(project: Callable[..., Path], capsys: pytest.CaptureFixture[str]):
    def typo(values: dict[str, Any]) -> None:
        values["gateway"]["rateLimits"] = values["gateway"].pop("rateLimit")

    root = project(mutate=typo)
    code, arm, _ = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)])
    assert code == 2
    assert arm.requests == []
    err = capsys.readouterr().err
    assert err.startswith("error: stacks/Pulumi.case.yaml: invalid configuration\n")
    assert "  secure-ml:gateway.rateLimits: unknown key; did you mean 'rateLimit'?" in err.splitlines()


# ---------------------------------------------------------------------------------------------
# --from-outputs
# ---------------------------------------------------------------------------------------------


def write_outputs(tmp_path: Path, outputs: dict[str, Any]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs, indent=2))
    return path


def test_from_outputs_takes_the_gateway_and_tenant_from_the_stack_outputs(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    outputs = write_outputs(tmp_path, dev_plan.outputs)
    code, arm, _ = run(["dev", "--reason", REASON, "--from-outputs", str(outputs)])
    assert code == 0
    gateway_id = dev_plan.outputs["gatewayId"]
    assert arm.requests[0].url == f"{ARM}{gateway_id}/apis/fraud-score/policies/policy?api-version=2024-05-01"
    assert arm.requests[0].url == url(
        "fraud-score",
        sub=FAKE_CLIENT_CONFIG["subscriptionId"],
        rg=dev_plan.outputs["resourceGroupName"],
        service=gateway_id.rsplit("/", 1)[1],
    )
    assert f"https://login.microsoftonline.com/{TENANT}/v2.0" in body_value(arm.requests[0])


def test_read_outputs_parses_subscription_group_service_and_tenant(tmp_path: Path):
    gateway_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ApiManagement/service/{SERVICE}"
    bare = write_outputs(tmp_path, {"resourceGroupName": RG, "gatewayId": gateway_id})
    assert kill_switch.read_outputs(bare) == {"subscription": SUB, "resource_group": RG, "service": SERVICE}
    policy = expected_policy(stack_values("dev"), suspended=False, tenant="44444444-4444-4444-8444-444444444444")
    full = write_outputs(tmp_path, {"resourceGroupName": RG, "gatewayId": gateway_id, "gatewayPolicy": policy})
    assert kill_switch.read_outputs(full) == {
        "subscription": SUB,
        "resource_group": RG,
        "service": SERVICE,
        "tenant": "44444444-4444-4444-8444-444444444444",
    }


def test_from_outputs_without_policy_needs_tenant(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    gateway_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ApiManagement/service/{SERVICE}"
    outputs = write_outputs(tmp_path, {"resourceGroupName": RG, "gatewayId": gateway_id})
    code, arm, _ = run(["dev", "--reason", REASON, "--from-outputs", str(outputs)])
    assert (code, capsys.readouterr().err) == (
        2,
        "error: missing --tenant (give them, or --from-outputs FILE)\n",
    )
    code, arm, _ = run(["dev", "--reason", REASON, "--from-outputs", str(outputs), "--tenant", TENANT])
    assert code == 0
    assert [(r.method, r.url) for r in arm.requests] == [
        ("PUT", url("fraud-score")),
        ("GET", url("fraud-score") + "&format=xml"),
    ]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (
            {
                "resourceGroupName": "other-rg",
                "gatewayId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/"
                f"Microsoft.ApiManagement/service/{SERVICE}",
            },
            f"resourceGroupName 'other-rg' is not the resource group of gatewayId ('{RG}')",
        ),
        (
            {"gatewayId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{SERVICE}"},
            "gatewayId is not an API Management service ID, found "
            f"'/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{SERVICE}'",
        ),
        ({"vnetId": "x"}, "no gatewayId output (is this the right stack?)"),
        ([1, 2], "expected the JSON object of `pulumi stack output --json`"),
    ],
)
def test_from_outputs_refuses_what_it_cannot_trust(
    outputs: Any, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(["dev", "--reason", REASON, "--from-outputs", str(path), "--tenant", TENANT])
    assert (code, capsys.readouterr().err) == (2, f"error: --from-outputs {path}: {message}\n")
    assert arm.requests == []


def test_explicit_argument_contradicting_the_outputs_is_refused(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = write_outputs(tmp_path, dev_plan.outputs)
    service = dev_plan.outputs["gatewayId"].rsplit("/", 1)[1]
    code, arm, _ = run(["dev", "--reason", REASON, "--from-outputs", str(path), "--service", "mlsec-prod-gw"])
    assert (code, capsys.readouterr().err) == (
        2,
        f"error: --service 'mlsec-prod-gw' contradicts --from-outputs ('{service}')\n",
    )
    assert arm.requests == []


def test_unreadable_outputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "bad.json").write_text("{not json")
    code, _, _ = run(["dev", "--reason", REASON, "--from-outputs", str(tmp_path / "bad.json")])
    assert (code, capsys.readouterr().err) == (
        2,
        f"error: --from-outputs {tmp_path / 'bad.json'}: the stack outputs file is not valid JSON (line 1, column 2)\n",
    )


# ---------------------------------------------------------------------------------------------
# Recording the change in the stack file
# ---------------------------------------------------------------------------------------------


def test_printed_yaml_records_the_same_suspension_in_the_stack_file(capsys: pytest.CaptureFixture[str]):
    reason = "INC-7: 'quoted' reason: with colons # and a hash"
    code, arm, _ = run(["dev", "--reason", reason, *TARGET])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("Record it in stacks/Pulumi.dev.yaml now, or the next `pulumi up` puts the old policy back.")
    assert lines[start + 1 : start + 3] == ["Add this key to the existing secure-ml:gateway mapping:", ""]
    snippet = yaml.safe_load("\n".join(lines[start + 3 :]))
    assert snippet == {"secure-ml:gateway": {"suspended": {"enabled": True, "reason": reason}}}
    # with the snippet in the stack file, `pulumi up` renders exactly what the kill switch applied
    values = stack_values("dev")
    values["gateway"].update(snippet["secure-ml:gateway"])
    settings = settings_of(values)
    assert settings.gateway.suspended.enabled
    assert settings.gateway.suspended.reason == reason
    applied = body_value(arm.requests[0])
    assert render(kill_switch.policy_settings(settings, TENANT, settings.gateway.suspended.enabled)) == applied


def test_resume_tells_to_remove_the_recorded_suspension(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
):
    root = project(mutate=suspended_values())
    code, arm, _ = run(["case", "--resume", *TARGET, "--project-dir", str(root)])
    assert code == 0
    assert "<return-response" not in body_value(arm.requests[0])
    assert capsys.readouterr().out.splitlines()[2:] == [
        "",
        "Record it in stacks/Pulumi.case.yaml now, or the next `pulumi up` suspends the gateway again.",
        "Remove the suspended block from the secure-ml:gateway mapping:",
        "",
        "  secure-ml:gateway:",
        "    suspended: ...   # delete this key (reason was: already suspended for incident INC-99)",
    ]


def test_suspend_when_already_recorded_adds_nothing(project: Callable[..., Path], capsys: pytest.CaptureFixture[str]):
    root = project(mutate=suspended_values())
    code, arm, _ = run(["case", "--reason", REASON, *TARGET, "--project-dir", str(root)])
    assert code == 0
    assert kill_switch.is_suspended(body_value(arm.requests[0]))
    assert capsys.readouterr().out.splitlines()[2:] == [
        "",
        "stacks/Pulumi.case.yaml already has gateway.suspended on (reason: already suspended for incident INC-99); "
        "nothing to add.",
    ]
