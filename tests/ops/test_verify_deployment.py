"""Live posture verification: the checks, the table, exit codes, and skipping without credentials.

No network and no real credential: a fake TokenCredential hands out a fixed token and a fake HttpTransport
plays Azure Resource Manager, serving the recorded GET responses in tests/ops/data/verify/ by URL. The stack
outputs are those of the dev plan, and the recordings carry the same resource IDs.

The recorded API policy (api-policy.json) has no ``value``: the fake fills in the plan's ``gatewayPolicy``
output the way API Management hands it back (tab-indented, CRLF line breaks, quotes in element text
escaped), so the recording follows the policy renderer.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import CredentialUnavailableError

from components.config import validate
from components.gateway_policy import render
from scripts.ops import kill_switch, verify_deployment
from scripts.plan.engine import FAKE_CLIENT_CONFIG
from tests.conftest import ROOT, Plan, stack_values
from tests.ops.azure_fakes import FakeTransport, Recorded

DATA = ROOT / "tests" / "ops" / "data" / "verify"
ARM = "https://management.azure.com"
TOKEN = "fake-arm-token"
TENANT = FAKE_CLIENT_CONFIG["tenantId"]

SUB = "00000000-0000-4000-8000-000000000000"
RG = "mlsec-dev-rgf7e1a2fe"
ACCOUNT = "mlsecdevdataacct2a05fbc1"
VAULT = "mlsec-dev-kv-kv-009df4"
WORKSPACE = "mlsec-dev-fraud-mlw"
SERVICE = "mlsec-dev-gw-apim-b380a2d7"
LAW = "mlsec-dev-mon-law"
ENDPOINT = "mlsec-dev-fraud-score-a1a85a"
"""The Azure name of the endpoint configured as fraud-score (its API on the gateway keeps that name)."""

V_STORAGE = "api-version=2024-01-01"
V_KEYVAULT = "api-version=2024-11-01"
V_ML = "api-version=2025-12-01"
V_APIM = "api-version=2024-05-01"
V_DIAG = "api-version=2021-05-01-preview"

BLOB = f"blob service {ACCOUNT}/default"
LOGS = f"logs to {LAW}"


# ---------------------------------------------------------------------------------------------
# Fakes
# ---------------------------------------------------------------------------------------------


class FakeCredential:
    """A TokenCredential that hands out a fixed token and records the scopes asked for.

    ``fail_after`` tokens, it raises ``error``; with ``expires_on=0`` every request asks for a new token.
    """

    def __init__(
        self, fail_after: int | None = None, error: Exception | None = None, expires_on: int = 4_102_444_800
    ) -> None:
        self.scopes: list[tuple[str, ...]] = []
        self.fail_after = fail_after
        self.error = error or ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted: ..."
        )
        self.expires_on = expires_on

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.fail_after is not None and len(self.scopes) > self.fail_after:
            raise self.error
        return AccessToken(TOKEN, self.expires_on)


class FakeArm(FakeTransport):
    """Azure Resource Manager answering GETs by URL: (status, body) or an exception to raise."""

    def __init__(self, routes: dict[str, tuple[int, Any] | Exception]) -> None:
        self.routes = routes
        self.requests: list[HttpRequest] = []
        super().__init__()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.requests.append(request)
        assert request.method == "GET", f"unexpected {request.method} {request.url}"
        answer = self.routes.get(request.url)
        if answer is None:
            raise AssertionError(f"no recorded response for {request.url}")
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return Recorded(request, status, body)

    def urls(self) -> list[str]:
        return [r.url for r in self.requests]


# ---------------------------------------------------------------------------------------------
# Recorded responses and the deployment they belong to
# ---------------------------------------------------------------------------------------------


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def as_api_management_returns(policy: str) -> str:
    """The policy as a GET with format=xml gives it back: tabs, CRLF, quotes in element text escaped."""
    lines = []
    for line in policy.strip().splitlines():
        stripped = line.lstrip(" ")
        indent = (len(line) - len(stripped)) // 2
        lines.append("\t" * indent + re.sub(r'(>[^<]*)"([^<]*)"', r"\1&quot;\2&quot;", stripped))
    return "\r\n".join(lines)


def policy_response(value: str) -> dict[str, Any]:
    document = recorded("api-policy.json")
    document["properties"]["value"] = value
    return document


def diag_url(resource_id: str, arm: str = ARM) -> str:
    return f"{arm}{resource_id}/providers/Microsoft.Insights/diagnosticSettings?{V_DIAG}"


def policy_url(outputs: dict[str, Any], api: str, arm: str = ARM) -> str:
    return f"{arm}{outputs['gatewayId']}/apis/{api}/policies/policy?{V_APIM}&format=xml"


def compliant_routes(outputs: dict[str, Any], arm: str = ARM) -> dict[str, tuple[int, Any] | Exception]:
    """The URL of every GET of a compliant deployment of ``outputs`` -> its recorded answer."""
    data = outputs["dataAccountId"]
    routes: dict[str, tuple[int, Any] | Exception] = {
        f"{arm}{data}?{V_STORAGE}": (200, recorded("storage-account.json")),
        f"{arm}{data}/blobServices/default?{V_STORAGE}": (200, recorded("blob-service.json")),
        diag_url(f"{data}/blobServices/default", arm): (200, recorded("diagnostic-settings-blob-service.json")),
        f"{arm}{outputs['keyVaultId']}?{V_KEYVAULT}": (200, recorded("key-vault.json")),
        diag_url(outputs["keyVaultId"], arm): (200, recorded("diagnostic-settings-key-vault.json")),
        diag_url(outputs["gatewayId"], arm): (200, recorded("diagnostic-settings-api-management.json")),
    }
    for workspace_id in outputs["workspaces"].values():
        routes[f"{arm}{workspace_id}?{V_ML}"] = (200, recorded("ml-workspace.json"))
        routes[diag_url(workspace_id, arm)] = (200, recorded("diagnostic-settings-ml-workspace.json"))
    for name, endpoint_id in outputs["endpoints"].items():
        routes[f"{arm}{endpoint_id}?{V_ML}"] = (200, recorded("online-endpoint.json"))
        value = as_api_management_returns(outputs["gatewayPolicy"])
        routes[policy_url(outputs, name, arm)] = (200, policy_response(value))
    return routes


@pytest.fixture
def outputs(dev_plan: Plan) -> dict[str, Any]:
    """``pulumi stack output --json`` of the dev stack (the plan's outputs have exactly that shape), as a stack
    that keeps version-level immutability on (the dev opt-out has a test of its own)."""
    document = copy.deepcopy(dev_plan.outputs)
    document["securityOptOuts"].pop("dataStorage.immutability")
    return document


def write_outputs(tmp_path: Path, outputs: Any) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs, indent=2))
    return path


def run(argv: list[str], arm: FakeArm, credential: FakeCredential | None = None) -> tuple[int, FakeArm, FakeCredential]:
    credential = credential if credential is not None else FakeCredential()
    code = verify_deployment.main(argv, credential=credential, transport=arm)
    return code, arm, credential


def verify(
    outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    routes: dict[str, tuple[int, Any] | Exception] | None = None,
) -> tuple[int, dict[str, Any], FakeArm]:
    """Run with --json; the exit code, the parsed JSON and the fake ARM."""
    path = write_outputs(tmp_path, outputs)
    arm = FakeArm(routes if routes is not None else compliant_routes(outputs))
    code, _, _ = run(["dev", "--from-outputs", str(path), "--json"], arm)
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out), arm


def body(routes: dict[str, tuple[int, Any] | Exception], url: str) -> Any:
    """The recorded body served at ``url``, to change in place."""
    answer = routes[url]
    assert not isinstance(answer, Exception)
    return answer[1]


def problems(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in document["checks"] if row["result"] != "OK"]


def suspended_policy() -> str:
    settings = validate(stack_values("dev"), "dev")
    return render(kill_switch.policy_settings(settings, TENANT, suspended=True))


EXPECTED_ROWS = [
    (f"storage account {ACCOUNT}", "publicNetworkAccess", "Disabled", "Disabled", "OK"),
    (f"storage account {ACCOUNT}", "allowBlobPublicAccess", "false", "false", "OK"),
    (f"storage account {ACCOUNT}", "allowSharedKeyAccess", "false", "false", "OK"),
    (f"storage account {ACCOUNT}", "immutableStorageWithVersioning.enabled", "true", "true", "OK"),
    (BLOB, "isVersioningEnabled", "true", "true", "OK"),
    (BLOB, "deleteRetentionPolicy.enabled", "true", "true", "OK"),
    (BLOB, "containerDeleteRetentionPolicy.enabled", "true", "true", "OK"),
    (BLOB, "changeFeed.enabled", "true", "true", "OK"),
    (BLOB, "diagnostic settings", LOGS, LOGS, "OK"),
    (f"key vault {VAULT}", "enablePurgeProtection", "true", "true", "OK"),
    (f"key vault {VAULT}", "publicNetworkAccess", "Disabled", "Disabled", "OK"),
    (f"key vault {VAULT}", "enableRbacAuthorization", "true", "true", "OK"),
    (f"key vault {VAULT}", "diagnostic settings", LOGS, LOGS, "OK"),
    (f"ML workspace {WORKSPACE}", "publicNetworkAccess", "Disabled", "Disabled", "OK"),
    (f"ML workspace {WORKSPACE}", "diagnostic settings", LOGS, LOGS, "OK"),
    (f"online endpoint {ENDPOINT}", "authMode", "AADToken", "AADToken", "OK"),
    (f"online endpoint {ENDPOINT}", "publicNetworkAccess", "Disabled", "Disabled", "OK"),
    (f"API Management {SERVICE}", "diagnostic settings", LOGS, LOGS, "OK"),
    (f"API Management {SERVICE}", "policy of API fraud-score", "gatewayPolicy output", "matches", "OK"),
]


def table_line(resource: str, check: str, expected: str, found: str, result: str) -> str:
    """A row as the table prints it: columns as wide as the longest value of the dev stack, two spaces apart."""
    return f"{resource:<45}  {check:<38}  {expected:<25}  {found:<25}  {result}"


EXPECTED_TABLE = (
    f"Live posture of stack dev (AzurePublicCloud): subscription {SUB}, resource group {RG}\n"
    "\n"
    + table_line("RESOURCE", "CHECK", "EXPECTED", "FOUND", "RESULT")
    + "\n"
    + "".join(table_line(*row) + "\n" for row in EXPECTED_ROWS)
    + "\n19 checks: 19 OK, 0 DRIFT, 0 ERROR\n"
)


# ---------------------------------------------------------------------------------------------
# A compliant deployment
# ---------------------------------------------------------------------------------------------


def test_recordings_are_of_the_dev_plans_resources(outputs: dict[str, Any]):
    base = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers"
    assert (
        outputs["dataAccountId"]
        == recorded("storage-account.json")["id"]
        == f"{base}/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    )
    assert recorded("blob-service.json")["id"] == f"{outputs['dataAccountId']}/blobServices/default"
    assert outputs["keyVaultId"] == recorded("key-vault.json")["id"]
    assert outputs["workspaces"] == {"fraud": recorded("ml-workspace.json")["id"]}
    assert outputs["endpoints"] == {"fraud-score": recorded("online-endpoint.json")["id"]}
    assert recorded("api-policy.json")["id"] == f"{outputs['gatewayId']}/apis/fraud-score/policies/policy"
    assert outputs["gatewayId"] == f"{base}/Microsoft.ApiManagement/service/{SERVICE}"
    assert outputs["logAnalyticsWorkspaceId"] == f"{base}/Microsoft.OperationalInsights/workspaces/{LAW}"
    for name in ("blob-service", "key-vault", "ml-workspace", "api-management"):
        (setting,) = recorded(f"diagnostic-settings-{name}.json")["value"]
        # as ARM returns it: the same ID, partly in lower case
        assert setting["properties"]["workspaceId"] != outputs["logAnalyticsWorkspaceId"]
        assert setting["properties"]["workspaceId"].lower() == outputs["logAnalyticsWorkspaceId"].lower()


def test_compliant_deployment_prints_every_check_ok_and_exits_0(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = write_outputs(tmp_path, outputs)
    routes = compliant_routes(outputs)
    code, arm, credential = run(["dev", "--from-outputs", str(path)], FakeArm(routes))
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == EXPECTED_TABLE
    data, vault, gateway = outputs["dataAccountId"], outputs["keyVaultId"], outputs["gatewayId"]
    workspace, endpoint = outputs["workspaces"]["fraud"], outputs["endpoints"]["fraud-score"]
    assert arm.urls() == [
        f"{ARM}{data}?{V_STORAGE}",
        f"{ARM}{data}/blobServices/default?{V_STORAGE}",
        f"{ARM}{data}/blobServices/default/providers/Microsoft.Insights/diagnosticSettings?{V_DIAG}",
        f"{ARM}{vault}?{V_KEYVAULT}",
        f"{ARM}{vault}/providers/Microsoft.Insights/diagnosticSettings?{V_DIAG}",
        f"{ARM}{workspace}?{V_ML}",
        f"{ARM}{workspace}/providers/Microsoft.Insights/diagnosticSettings?{V_DIAG}",
        f"{ARM}{endpoint}?{V_ML}",
        f"{ARM}{gateway}/providers/Microsoft.Insights/diagnosticSettings?{V_DIAG}",
        f"{ARM}{gateway}/apis/fraud-score/policies/policy?{V_APIM}&format=xml",
    ]
    assert set(arm.urls()) == set(routes)
    for request in arm.requests:
        assert request.method == "GET"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["User-Agent"] == "secure-ml-verify-deployment"
        assert request.content is None
    assert credential.scopes == [(f"{ARM}/.default",)]  # one token for every request
    assert arm.sleeps == []


def test_json_output_has_every_row_and_the_overall_result(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, document, _ = verify(outputs, tmp_path, capsys)
    assert code == 0
    assert {k: v for k, v in document.items() if k != "checks"} == {
        "stack": "dev",
        "cloud": "AzurePublicCloud",
        "subscription": SUB,
        "resourceGroup": RG,
        "result": "OK",
    }
    assert len(document["checks"]) == 19
    assert document["checks"][0] == {
        "resource": f"storage account {ACCOUNT}",
        "check": "publicNetworkAccess",
        "expected": "Disabled",
        "found": "Disabled",
        "result": "OK",
        "detail": None,
    }
    assert document["checks"][-1] == {
        "resource": f"API Management {SERVICE}",
        "check": "policy of API fraud-score",
        "expected": "gatewayPolicy output",
        "found": "matches",
        "result": "OK",
        "detail": None,
    }
    assert [tuple(r[k] for k in ("resource", "check", "expected", "found", "result")) for r in document["checks"]] == (
        EXPECTED_ROWS
    )


# ---------------------------------------------------------------------------------------------
# One drift per checked control
# ---------------------------------------------------------------------------------------------


def set_property(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value None, remove) ``properties.<path>`` of a recorded document."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = ["properties", *path.split(".")]
        node = document
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return mutate


def no_settings(document: dict[str, Any]) -> None:
    document["value"] = []


def logs_disabled(document: dict[str, Any]) -> None:
    for log in document["value"][0]["properties"]["logs"]:
        log["enabled"] = False


def to_other_workspace(document: dict[str, Any]) -> None:
    document["value"][0]["properties"]["workspaceId"] = (
        f"/subscriptions/{SUB}/resourceGroups/central-logs/providers/Microsoft.OperationalInsights/workspaces/soc-law"
    )


DRIFTS: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, str, str, str]]] = [
    (
        "storage-account.json",
        set_property("publicNetworkAccess", "Enabled"),
        (f"storage account {ACCOUNT}", "publicNetworkAccess", "Disabled", "Enabled"),
    ),
    (
        "storage-account.json",
        set_property("allowBlobPublicAccess", True),
        (f"storage account {ACCOUNT}", "allowBlobPublicAccess", "false", "true"),
    ),
    (
        "storage-account.json",
        set_property("allowSharedKeyAccess", None),  # absent: Azure allows shared keys
        (f"storage account {ACCOUNT}", "allowSharedKeyAccess", "false", "(absent)"),
    ),
    (
        "storage-account.json",
        set_property("immutableStorageWithVersioning.enabled", False),
        (f"storage account {ACCOUNT}", "immutableStorageWithVersioning.enabled", "true", "false"),
    ),
    (
        "blob-service.json",
        set_property("isVersioningEnabled", False),
        (BLOB, "isVersioningEnabled", "true", "false"),
    ),
    (
        "blob-service.json",
        set_property("deleteRetentionPolicy.enabled", False),
        (BLOB, "deleteRetentionPolicy.enabled", "true", "false"),
    ),
    (
        "blob-service.json",
        set_property("containerDeleteRetentionPolicy", None),
        (BLOB, "containerDeleteRetentionPolicy.enabled", "true", "(absent)"),
    ),
    (
        "blob-service.json",
        set_property("changeFeed.enabled", False),
        (BLOB, "changeFeed.enabled", "true", "false"),
    ),
    ("diagnostic-settings-blob-service.json", no_settings, (BLOB, "diagnostic settings", LOGS, "none")),
    (
        "key-vault.json",
        set_property("enablePurgeProtection", None),
        (f"key vault {VAULT}", "enablePurgeProtection", "true", "(absent)"),
    ),
    (
        "key-vault.json",
        set_property("publicNetworkAccess", "Enabled"),
        (f"key vault {VAULT}", "publicNetworkAccess", "Disabled", "Enabled"),
    ),
    (
        "key-vault.json",
        set_property("enableRbacAuthorization", False),
        (f"key vault {VAULT}", "enableRbacAuthorization", "true", "false"),
    ),
    (
        "diagnostic-settings-key-vault.json",
        to_other_workspace,
        (f"key vault {VAULT}", "diagnostic settings", LOGS, "to soc-law"),
    ),
    (
        "ml-workspace.json",
        set_property("publicNetworkAccess", "Enabled"),
        (f"ML workspace {WORKSPACE}", "publicNetworkAccess", "Disabled", "Enabled"),
    ),
    (
        "diagnostic-settings-ml-workspace.json",
        logs_disabled,
        (f"ML workspace {WORKSPACE}", "diagnostic settings", LOGS, f"to {LAW}, no log enabled"),
    ),
    (
        "online-endpoint.json",
        set_property("authMode", "Key"),
        (f"online endpoint {ENDPOINT}", "authMode", "AADToken", "Key"),
    ),
    (
        "online-endpoint.json",
        set_property("publicNetworkAccess", "Enabled"),
        (f"online endpoint {ENDPOINT}", "publicNetworkAccess", "Disabled", "Enabled"),
    ),
    (
        "diagnostic-settings-api-management.json",
        no_settings,
        (f"API Management {SERVICE}", "diagnostic settings", LOGS, "none"),
    ),
]


@pytest.mark.parametrize(
    ("recording", "mutate", "row"),
    [pytest.param(*case, id=f"{case[2][0].rsplit(' ', 1)[0]}: {case[2][1]}") for case in DRIFTS],
)
def test_each_drifted_control_is_named_and_exits_1(
    recording: str,
    mutate: Callable[[dict[str, Any]], None],
    row: tuple[str, str, str, str],
    outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    routes = compliant_routes(outputs)
    (url,) = [u for u, answer in routes.items() if answer == (200, recorded(recording))]
    mutate(body(routes, url))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert document["result"] == "DRIFT"
    resource, check, expected, found = row
    assert problems(document) == [
        {"resource": resource, "check": check, "expected": expected, "found": found, "result": "DRIFT", "detail": None}
    ]
    assert len(document["checks"]) == 19


def test_drift_in_the_table_names_resource_check_and_found_value(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    set_property("publicNetworkAccess", "Enabled")(body(routes, f"{ARM}{outputs['dataAccountId']}?{V_STORAGE}"))
    path = write_outputs(tmp_path, outputs)
    code, _, _ = run(["dev", "--from-outputs", str(path)], FakeArm(routes))
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[3] == table_line(f"storage account {ACCOUNT}", "publicNetworkAccess", "Disabled", "Enabled", "DRIFT")
    assert lines[4:22] == EXPECTED_TABLE.splitlines()[4:22]
    assert lines[-1] == "19 checks: 18 OK, 1 DRIFT, 0 ERROR"


def test_enum_values_compare_without_regard_to_case(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    set_property("authMode", "aadtoken")(body(routes, f"{ARM}{outputs['endpoints']['fraud-score']}?{V_ML}"))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert (code, problems(document)) == (0, [])
    assert document["checks"][15]["found"] == "aadtoken"


def test_purge_protection_opted_out_by_the_stack_is_not_drift(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    outputs["securityOptOuts"]["keyVault.purgeProtection"] = "dev vaults are purged by the nightly teardown"
    routes = compliant_routes(outputs)
    set_property("enablePurgeProtection", None)(body(routes, f"{ARM}{outputs['keyVaultId']}?{V_KEYVAULT}"))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert (code, problems(document)) == (0, [])
    assert document["checks"][9] == {
        "resource": f"key vault {VAULT}",
        "check": "enablePurgeProtection",
        "expected": "any (opted out: securityOptOuts.keyVault.purgeProtection)",
        "found": "(absent)",
        "result": "OK",
        "detail": None,
    }


def test_immutability_opted_out_by_the_stack_is_not_drift(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    outputs["securityOptOuts"]["dataStorage.immutability"] = "dev is torn down and rebuilt nightly"
    routes = compliant_routes(outputs)
    set_property("immutableStorageWithVersioning.enabled", False)(
        body(routes, f"{ARM}{outputs['dataAccountId']}?{V_STORAGE}")
    )
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert (code, problems(document)) == (0, [])
    assert document["checks"][3] == {
        "resource": f"storage account {ACCOUNT}",
        "check": "immutableStorageWithVersioning.enabled",
        "expected": "any (opted out: securityOptOuts.dataStorage.immutability)",
        "found": "false",
        "result": "OK",
        "detail": None,
    }


# ---------------------------------------------------------------------------------------------
# The gateway policy
# ---------------------------------------------------------------------------------------------


def policy_problem(found: str, detail: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "resource": f"API Management {SERVICE}",
            "check": "policy of API fraud-score",
            "expected": "gatewayPolicy output",
            "found": found,
            "result": "DRIFT",
            "detail": detail,
        }
    ]


def test_missing_policy_is_drift(outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    routes = compliant_routes(outputs)
    routes[policy_url(outputs, "fraud-score")] = (404, recorded("policy-not-found.json"))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert problems(document) == policy_problem("missing")


def test_different_policy_is_drift_with_where_it_differs(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    assert '<rate-limit-by-key calls="60"' in outputs["gatewayPolicy"]
    loosened = outputs["gatewayPolicy"].replace('<rate-limit-by-key calls="60"', '<rate-limit-by-key calls="6000"')
    routes[policy_url(outputs, "fraud-score")] = (200, policy_response(as_api_management_returns(loosened)))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    (problem,) = problems(document)
    assert (problem["found"], problem["result"]) == ("different", "DRIFT")
    assert re.fullmatch(
        r"differs from the gatewayPolicy output at character \d+ of the canonical XML: "
        r"live '.*calls=\"6000\".*', output '.*calls=\"60\".*'",
        problem["detail"],
    )


def test_policy_differences_in_text_mode_go_to_stderr(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    routes[policy_url(outputs, "fraud-score")] = (
        200,
        policy_response("<policies><inbound><base /></inbound></policies>"),
    )
    path = write_outputs(tmp_path, outputs)
    code, _, _ = run(["dev", "--from-outputs", str(path)], FakeArm(routes))
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[21].split() == [
        "API",
        "Management",
        SERVICE,
        "policy",
        "of",
        "API",
        "fraud-score",
        "gatewayPolicy",
        "output",
        "different",
        "DRIFT",
    ]
    assert err == (
        f"drift: API Management {SERVICE}: differs from the gatewayPolicy output at character 33 of the canonical "
        "XML: live 'bound><base></base></inbound></policies>', "
        "output 'bound><base></base><validate-jwt failed-validation-error-mes'\n"
    )


def test_suspended_live_policy_is_reported_as_suspended(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    routes[policy_url(outputs, "fraud-score")] = (200, policy_response(as_api_management_returns(suspended_policy())))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert problems(document) == policy_problem("suspended (503 return-response)")


def test_suspension_recorded_in_the_stack_but_not_live_is_drift(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    normal = outputs["gatewayPolicy"]
    outputs["gatewayPolicy"] = suspended_policy()
    routes = compliant_routes(outputs)
    routes[policy_url(outputs, "fraud-score")] = (200, policy_response(as_api_management_returns(normal)))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert problems(document) == policy_problem("not suspended")


def test_suspended_in_both_matches(outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outputs["gatewayPolicy"] = suspended_policy()
    code, document, _ = verify(outputs, tmp_path, capsys)
    assert (code, problems(document)) == (0, [])


def test_canonical_policy_ignores_layout_but_not_content():
    policy = (
        '<policies>\n  <inbound>\n    <base />\n    <set-header name="a" exists-action="delete" />\n'
        "  </inbound>\n</policies>\n"
    )
    returned = (
        "<policies>\r\n\t<inbound>\r\n\t\t<base/>\r\n\t\t<set-header exists-action='delete' name='a'/>\r\n"
        "\t</inbound>\r\n</policies>"
    )
    assert verify_deployment.canonical_policy(returned) == verify_deployment.canonical_policy(policy)
    assert verify_deployment.canonical_policy(policy) == (
        '<policies><inbound><base></base><set-header exists-action="delete" name="a"></set-header></inbound></policies>'
    )
    assert verify_deployment.canonical_policy(policy.replace('"a"', '"b"')) != verify_deployment.canonical_policy(
        policy
    )
    # not XML at all: compared as text, whitespace collapsed
    assert verify_deployment.canonical_policy("<policies>\n  <inbound>") == "<policies> <inbound>"


# ---------------------------------------------------------------------------------------------
# Errors: ERROR rows, exit 1
# ---------------------------------------------------------------------------------------------


def test_forbidden_read_gives_error_rows_and_one_message(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    vault_url = f"{ARM}{outputs['keyVaultId']}?{V_KEYVAULT}"
    routes[vault_url] = (403, recorded("forbidden.json"))
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(["dev", "--from-outputs", str(path)], FakeArm(routes))
    out, err = capsys.readouterr()
    assert code == 1
    assert arm.urls().count(vault_url) == 1  # a 403 is not retried
    assert len(arm.requests) == 10  # the other checks still run
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines[12:15]] == [f"key vault {VAULT}"] * 3
    assert [line.rsplit(None, 3)[1:] for line in lines[12:15]] == [["403", "AuthorizationFailed", "ERROR"]] * 3
    assert lines[-1] == "19 checks: 16 OK, 0 DRIFT, 3 ERROR"
    message = recorded("forbidden.json")["error"]["message"]
    assert err == (
        f"error: key vault {VAULT}: GET failed: HTTP 403 AuthorizationFailed: {message} "
        "(your identity needs read access, for example Reader on the resource group)\n"
    )


def test_forbidden_read_in_json(outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    routes = compliant_routes(outputs)
    routes[f"{ARM}{outputs['keyVaultId']}?{V_KEYVAULT}"] = (403, recorded("forbidden.json"))
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert document["result"] == "ERROR"
    message = recorded("forbidden.json")["error"]["message"]
    detail = (
        f"GET failed: HTTP 403 AuthorizationFailed: {message} "
        "(your identity needs read access, for example Reader on the resource group)"
    )
    assert problems(document) == [
        {
            "resource": f"key vault {VAULT}",
            "check": check,
            "expected": expected,
            "found": "HTTP 403 AuthorizationFailed",
            "result": "ERROR",
            "detail": detail,
        }
        for check, expected in (
            ("enablePurgeProtection", "true"),
            ("publicNetworkAccess", "Disabled"),
            ("enableRbacAuthorization", "true"),
        )
    ]


def test_error_and_drift_together_report_error(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    routes[f"{ARM}{outputs['workspaces']['fraud']}?{V_ML}"] = (404, None)
    set_property("changeFeed.enabled", False)(
        body(routes, f"{ARM}{outputs['dataAccountId']}/blobServices/default?{V_STORAGE}")
    )
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert document["result"] == "ERROR"
    assert [(p["check"], p["found"], p["result"]) for p in problems(document)] == [
        ("changeFeed.enabled", "false", "DRIFT"),
        ("publicNetworkAccess", "HTTP 404", "ERROR"),
    ]
    assert problems(document)[1]["detail"] == (
        "GET failed: HTTP 404 (is the stack deployed, and is the --from-outputs file of this stack?)"
    )


def test_unreachable_arm_is_retried_then_an_error_row(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    endpoint_url = f"{ARM}{outputs['endpoints']['fraud-score']}?{V_ML}"
    routes[endpoint_url] = ServiceRequestError("Failed to establish a new connection: [Errno 111] Connection refused")
    code, document, arm = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert arm.urls().count(endpoint_url) == 4  # the first try and three connection retries
    assert arm.sleeps == [1.6, 3.2]
    detail = "request failed: Failed to establish a new connection: [Errno 111] Connection refused"
    assert [(p["check"], p["found"], p["detail"]) for p in problems(document)] == [
        ("authMode", "no answer", detail),
        ("publicNetworkAccess", "no answer", detail),
    ]


def test_answer_that_is_not_a_json_object_is_an_error(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    routes = compliant_routes(outputs)
    routes[diag_url(outputs["keyVaultId"])] = (200, b"<html>proxy sign-in page</html>")
    routes[diag_url(outputs["gatewayId"])] = (200, ["not", "an", "object"])
    code, document, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert [(p["resource"], p["found"], p["detail"]) for p in problems(document)] == [
        (f"key vault {VAULT}", "not JSON", "GET failed: HTTP 200 with a body that is not JSON"),
        (f"API Management {SERVICE}", "not an object", "GET failed: the answer is not a JSON object"),
    ]


def test_token_lost_after_the_first_request_is_an_error_not_a_skip(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    credential = FakeCredential(fail_after=1, expires_on=0)  # every request needs a new token; only one is given
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(["dev", "--from-outputs", str(path), "--json"], FakeArm(compliant_routes(outputs)), credential)
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert len(arm.requests) == 1
    assert [row["result"] for row in document["checks"]] == ["OK"] * 4 + ["ERROR"] * 15
    reason = (
        f"no Azure token for {ARM}/.default: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials."
    )
    assert {(row["found"], row["detail"]) for row in document["checks"][4:]} == {("no token", reason)}


# ---------------------------------------------------------------------------------------------
# No credential: skipped, exit 0, nothing sent
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted: ..."
        ),
        CredentialUnavailableError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted: ..."
        ),
    ],
    ids=["ClientAuthenticationError", "CredentialUnavailableError"],
)
def test_without_credentials_it_is_skipped_and_sends_nothing(
    error: Exception, outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = write_outputs(tmp_path, outputs)
    credential = FakeCredential(fail_after=0, error=error)
    code, arm, _ = run(["dev", "--from-outputs", str(path)], FakeArm(compliant_routes(outputs)), credential)
    assert (code, arm.requests, credential.scopes) == (0, [], [(f"{ARM}/.default",)])
    assert capsys.readouterr() == (
        f"skipped, nothing checked: no Azure token for {ARM}/.default: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n",
        "",
    )


def test_skipped_in_json(outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(
        ["dev", "--from-outputs", str(path), "--json"], FakeArm(compliant_routes(outputs)), FakeCredential(0)
    )
    assert (code, arm.requests) == (0, [])
    assert json.loads(capsys.readouterr().out) == {
        "stack": "dev",
        "cloud": "AzurePublicCloud",
        "subscription": SUB,
        "resourceGroup": RG,
        "result": "SKIPPED",
        "reason": f"no Azure token for {ARM}/.default: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials.",
        "checks": [],
    }


def test_default_credential_is_made_for_the_clouds_authority_quietly_and_closed(
    outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
):
    made: list[dict[str, Any]] = []
    closed: list[bool] = []

    class NoSignIn:
        """Fails as DefaultAzureCredential does where nothing is signed in, with its warning log."""

        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            logging.getLogger("azure.identity._credentials.chained").warning(
                "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
                "Attempted credentials:\n\tEnvironmentCredential: ..."
            )
            raise CredentialUnavailableError("EnvironmentCredential: environment variables are not fully configured.")

        def close(self) -> None:
            closed.append(True)

    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", NoSignIn)
    caplog.set_level(logging.WARNING)
    path = write_outputs(tmp_path, outputs)
    arm = FakeArm(compliant_routes(outputs))
    code = verify_deployment.main(["dev", "--from-outputs", str(path)], transport=arm)
    assert (code, arm.requests, made, closed) == (0, [], [{"authority": "login.microsoftonline.com"}], [True])
    assert capsys.readouterr() == (
        f"skipped, nothing checked: no Azure token for {ARM}/.default: "
        "EnvironmentCredential: environment variables are not fully configured.\n",
        "",
    )
    assert caplog.records == []  # the credential's own warnings are held back
    assert logging.getLogger("azure.identity").level == logging.NOTSET  # and only while it runs


# ---------------------------------------------------------------------------------------------
# Clouds and more than one endpoint
# ---------------------------------------------------------------------------------------------


def test_cloud_comes_from_the_stack_file(
    project: Callable[..., Path], outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    def gov(values: dict[str, Any]) -> None:
        values["cloud"] = "AzureUSGovernment"
        values["location"] = "usgovvirginia"

    root = project(mutate=gov)
    gov_arm = "https://management.usgovcloudapi.net"
    path = write_outputs(tmp_path, outputs)
    argv = ["case", "--from-outputs", str(path), "--project-dir", str(root), "--json"]
    code, arm, credential = run(argv, FakeArm(compliant_routes(outputs, gov_arm)))
    document = json.loads(capsys.readouterr().out)
    assert (code, document["cloud"], problems(document)) == (0, "AzureUSGovernment", [])
    assert all(url.startswith(f"{gov_arm}/subscriptions/{SUB}/") for url in arm.urls())
    assert len(arm.requests) == 10
    assert credential.scopes == [(f"{gov_arm}/.default",)]


def test_cloud_option_needs_no_stack_file(outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    china_arm = "https://management.chinacloudapi.cn"
    path = write_outputs(tmp_path, outputs)
    argv = ["nosuch", "--from-outputs", str(path), "--cloud", "AzureChinaCloud", "--project-dir", str(tmp_path)]
    code, arm, credential = run(argv, FakeArm(compliant_routes(outputs, china_arm)))
    assert code == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"Live posture of stack nosuch (AzureChinaCloud): subscription {SUB}, resource group {RG}"
    )
    assert all(url.startswith(china_arm) for url in arm.urls())
    assert credential.scopes == [(f"{china_arm}/.default",)]


def test_every_workspace_and_endpoint_is_checked(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    churn = outputs["workspaces"]["fraud"].replace(WORKSPACE, "mlsec-dev-churn-mlw0c4f1e2a")
    outputs["workspaces"]["churn"] = churn
    outputs["endpoints"]["churn-score"] = f"{churn}/onlineEndpoints/churn-score"
    code, document, arm = verify(outputs, tmp_path, capsys)
    assert (code, problems(document)) == (0, [])
    assert [(r["resource"], r["check"]) for r in document["checks"][13:]] == [
        (f"ML workspace {WORKSPACE}", "publicNetworkAccess"),
        (f"ML workspace {WORKSPACE}", "diagnostic settings"),
        ("ML workspace mlsec-dev-churn-mlw0c4f1e2a", "publicNetworkAccess"),
        ("ML workspace mlsec-dev-churn-mlw0c4f1e2a", "diagnostic settings"),
        (f"online endpoint {ENDPOINT}", "authMode"),
        (f"online endpoint {ENDPOINT}", "publicNetworkAccess"),
        ("online endpoint churn-score", "authMode"),
        ("online endpoint churn-score", "publicNetworkAccess"),
        (f"API Management {SERVICE}", "diagnostic settings"),
        (f"API Management {SERVICE}", "policy of API fraud-score"),
        (f"API Management {SERVICE}", "policy of API churn-score"),
    ]
    assert arm.urls()[-2:] == [policy_url(outputs, "fraud-score"), policy_url(outputs, "churn-score")]


# ---------------------------------------------------------------------------------------------
# Usage errors: exit 2, one line, nothing sent
# ---------------------------------------------------------------------------------------------


def replace(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(outputs: dict[str, Any]) -> Any:
        if value is None:
            del outputs[key]
        else:
            outputs[key] = value
        return outputs

    return mutate


DATA_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (replace("keyVaultId", None), "no keyVaultId output (is this the right stack?)"),
        (replace("gatewayPolicy", None), "no gatewayPolicy output (is this the right stack?)"),
        (
            replace("dataAccountId", DATA_ID.replace("Microsoft.Storage/storageAccounts", "Microsoft.Web/sites")),
            "dataAccountId is not a Microsoft.Storage/storageAccounts ID, found "
            f"'{DATA_ID.replace('Microsoft.Storage/storageAccounts', 'Microsoft.Web/sites')}'",
        ),
        (
            replace("dataAccountId", f"{DATA_ID}/../../other"),
            f"dataAccountId is not a Microsoft.Storage/storageAccounts ID, found '{DATA_ID}/../../other'",
        ),
        (
            replace("dataAccountId", DATA_ID.replace(ACCOUNT, "..")),
            f"dataAccountId is not a Microsoft.Storage/storageAccounts ID, found '{DATA_ID.replace(ACCOUNT, '..')}'",
        ),
        (
            replace("dataAccountId", DATA_ID + "?api-version=x"),
            f"dataAccountId is not a Microsoft.Storage/storageAccounts ID, found '{DATA_ID}?api-version=x'",
        ),
        (replace("dataAccountId", 42), "dataAccountId is not a Microsoft.Storage/storageAccounts ID, found 42"),
        (
            replace("workspaces", ["fraud"]),
            "workspaces: expected an object of name to Microsoft.MachineLearningServices/workspaces ID",
        ),
        (
            replace("endpoints", {"fraud score": DATA_ID}),
            "endpoints: 'fraud score' is not a resource name",
        ),
        (
            replace("endpoints", {"fraud-score": DATA_ID}),
            "endpoints.fraud-score is not a Microsoft.MachineLearningServices/workspaces/onlineEndpoints ID, "
            f"found '{DATA_ID}'",
        ),
        (replace("gatewayPolicy", "  "), "gatewayPolicy: expected the policy XML document"),
        (
            replace("securityOptOuts", ["keyVault.purgeProtection"]),
            "securityOptOuts: expected an object of config key to reason",
        ),
        (
            lambda o: replace("keyVaultId", o["keyVaultId"].replace(SUB, "11111111-1111-4111-8111-111111111111"))(o),
            "keyVaultId is in subscription 11111111-1111-4111-8111-111111111111, dataAccountId in "
            f"{SUB}: the outputs are not of one stack",
        ),
        (lambda o: [o], "expected the JSON object of `pulumi stack output --json`"),
    ],
)
def test_outputs_that_cannot_be_trusted_exit_2(
    mutate: Callable[[dict[str, Any]], Any],
    message: str,
    outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    path = write_outputs(tmp_path, mutate(outputs))
    code, arm, credential = run(["dev", "--from-outputs", str(path)], FakeArm({}))
    assert (code, capsys.readouterr()) == (2, ("", f"error: --from-outputs {path}: {message}\n"))
    assert (arm.requests, credential.scopes) == ([], [])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dev"], "error: the following arguments are required: --from-outputs"),
        ([], "error: the following arguments are required: stack, --from-outputs"),
        (["dev", "--from-outputs", "OUT", "--force"], "error: unrecognized arguments: --force"),
        (
            ["dev", "--from-outputs", "OUT", "--cloud", "AzureGermanCloud"],
            "error: --cloud: expected one of AzurePublicCloud, AzureUSGovernment, AzureChinaCloud, "
            "found 'AzureGermanCloud'",
        ),
        (
            ["nosuch", "--from-outputs", "OUT"],
            "error: stacks/Pulumi.nosuch.yaml: no such stack file (stacks: dev, prod)",
        ),
        (
            ["dev", "--from-outputs", "MISSING"],
            "error: --from-outputs MISSING: no such stack outputs file",
        ),
        (
            ["dev", "--from-outputs", "BAD"],
            "error: --from-outputs BAD: the stack outputs file is not valid JSON (line 1, column 2)",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out_path = write_outputs(tmp_path, outputs)
    (tmp_path / "bad.json").write_text("{not json")
    files = {"OUT": str(out_path), "MISSING": str(tmp_path / "missing.json"), "BAD": str(tmp_path / "bad.json")}
    argv = [files.get(arg, arg) for arg in argv]
    for name, file in files.items():
        message = message.replace(f" {name}:", f" {file}:")
    code, arm, credential = run(argv, FakeArm(compliant_routes(outputs)))
    assert (code, capsys.readouterr()) == (2, ("", message + "\n"))
    assert (arm.requests, credential.scopes) == ([], [])


@pytest.mark.parametrize(
    ("value", "found"),
    [("AzureGermanCloud", "'AzureGermanCloud'"), ("{name: AzurePublicCloud}", "{'name': 'AzurePublicCloud'}")],
)
def test_unknown_cloud_in_the_stack_file_exits_2(
    value: str,
    found: str,
    project: Callable[..., Path],
    outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    root = project(raw=f"config:\n  secure-ml:cloud: {value}\n")
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(["case", "--from-outputs", str(path), "--project-dir", str(root)], FakeArm({}))
    assert (code, capsys.readouterr()) == (
        2,
        (
            "",
            "error: stacks/Pulumi.case.yaml: secure-ml:cloud: expected one of AzurePublicCloud, AzureUSGovernment, "
            f"AzureChinaCloud, found {found}\n",
        ),
    )
    assert arm.requests == []


def test_required_credentials_turn_a_skip_into_a_failure(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = write_outputs(tmp_path, outputs)
    code, arm, _ = run(
        ["dev", "--from-outputs", str(path), "--require-credentials"],
        FakeArm(compliant_routes(outputs)),
        FakeCredential(0),
    )
    assert (code, arm.requests) == (1, [])
    assert capsys.readouterr() == (
        "",
        f"error: no Azure credential, nothing checked: no Azure token for {ARM}/.default: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n",
    )
