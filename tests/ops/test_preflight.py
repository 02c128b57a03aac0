"""Preflight: the actions each plan needs, Azure's evaluation of permissions, providers, exit codes, skipping.

No network and no real credential: the fake credential and fake ARM transport of the live verification
play Azure Resource Manager. The permission answers have the shape of ``Permissions - List For Resource
Group`` (2022-04-01): one entry per role assignment of the caller, with the role's actions and notActions,
as Microsoft publishes them for the built-in roles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from policies.catalog import roles
from scripts.ops import permissions, plan_needs, preflight
from scripts.plan.arm_types import ARM_TYPES, NON_ARM_TYPES
from tests.conftest import ROOT, Plan
from tests.ops.test_verify_deployment import FakeArm, FakeCredential

ARM = "https://management.azure.com"
SUB = "11111111-2222-4333-8444-555555555555"
RG = "mlsec-dev-rg1a2b3c4d"
SUB_PERMISSIONS = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
RG_PERMISSIONS = (
    f"{ARM}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Authorization/permissions"
    "?api-version=2022-04-01"
)
PROVIDERS = f"{ARM}/subscriptions/{SUB}/providers?api-version=2021-04-01"
SUBSCRIPTIONS = f"{ARM}/subscriptions?api-version=2022-12-01"


def _permission(guid: str) -> dict[str, Any]:
    """What Permissions - List returns for a principal holding one built-in role."""
    role = roles.BUILT_IN[guid]
    return {
        "actions": list(role.actions),
        "notActions": list(role.not_actions),
        "dataActions": [],
        "notDataActions": [],
    }


CONTRIBUTOR = _permission(roles.CONTRIBUTOR)
RBAC_ADMINISTRATOR = _permission(roles.RBAC_ADMINISTRATOR)
USER_ACCESS_ADMINISTRATOR = _permission(roles.USER_ACCESS_ADMINISTRATOR)
OWNER = _permission(roles.OWNER)

DEV_PROVIDERS = [
    "Microsoft.ApiManagement",
    "Microsoft.Authorization",
    "Microsoft.ContainerRegistry",
    "Microsoft.Insights",
    "Microsoft.KeyVault",
    "Microsoft.MachineLearningServices",
    "Microsoft.ManagedIdentity",
    "Microsoft.Network",
    "Microsoft.OperationalInsights",
    "Microsoft.Resources",
    "Microsoft.Storage",
]


def providers(*namespaces: str, state: str = "Registered", **states: str) -> dict[str, Any]:
    """A Providers - List answer: each namespace in ``state``, and ``states`` (underscores for dots)."""
    listed = {n: state for n in namespaces} | {k.replace("_", "."): v for k, v in states.items()}
    return {
        "value": [
            {"id": f"/subscriptions/{SUB}/providers/{n}", "namespace": n, "registrationState": s, "resourceTypes": []}
            for n, s in listed.items()
        ]
    }


def routes(*roles: dict[str, Any], registered: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        SUB_PERMISSIONS: (200, {"value": list(roles)}),
        PROVIDERS: (200, registered or providers(*DEV_PROVIDERS, "Microsoft.Compute")),
    }


@pytest.fixture(autouse=True)
def no_subscription_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)


def write_plan(tmp_path: Path, plan: Plan | dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(getattr(plan, "document", plan)))
    return path


def run(argv: list[str], arm: FakeArm, credential: FakeCredential | None = None) -> tuple[int, FakeArm, FakeCredential]:
    credential = credential or FakeCredential()
    return preflight.main(argv, credential=credential, transport=arm), arm, credential


def missing_rows(out: str) -> list[list[str]]:
    """The table rows as [scope, action, result, role...] split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.startswith("  ")]


# ---------------------------------------------------------------------------------------------
# What the plan needs
# ---------------------------------------------------------------------------------------------


def test_every_arm_type_has_its_required_actions():
    assert set(plan_needs.REQUIRED) == set(ARM_TYPES) | set(NON_ARM_TYPES)
    # the resource group's operation is named under subscriptions (resource provider operations list)
    operation = {"Microsoft.Resources/resourceGroups": "Microsoft.Resources/subscriptions/resourceGroups"}
    for token, need in plan_needs.REQUIRED.items():
        if token in NON_ARM_TYPES:
            continue  # a step that writes other resources, not a resource of its own
        arm_type = ARM_TYPES[token].arm_type
        assert f"{operation.get(arm_type, arm_type)}/write" in need.actions, token


def test_dev_plan_needs_resource_group_creation_on_the_subscription_and_the_rest_in_the_group(dev_plan: Plan):
    needs = plan_needs.requirements(dev_plan.document)
    assert needs.actions[plan_needs.SUBSCRIPTION] == {
        "Microsoft.Resources/subscriptions/resourceGroups/write": {"azure-native:resources:ResourceGroup"},
        "Microsoft.Insights/diagnosticSettings/write": {"azure-native:monitor:SubscriptionDiagnosticSetting"},
    }
    group = needs.actions[plan_needs.RESOURCE_GROUP]
    assert group["Microsoft.Authorization/roleAssignments/write"] == {"azure-native:authorization:RoleAssignment"}
    assert group["Microsoft.Authorization/roleDefinitions/write"] == {"azure-native:authorization:RoleDefinition"}
    assert group["Microsoft.Insights/diagnosticSettings/write"] == {"azure-native:monitor:DiagnosticSetting"}
    assert group["Microsoft.Network/virtualNetworks/subnets/join/action"] == {"azure-native:network:PrivateEndpoint"}
    assert "Microsoft.Authorization/locks/write" not in group  # dev turns locks off
    assert sorted(needs.providers) == DEV_PROVIDERS


def test_prod_plan_needs_locks(prod_plan: Plan):
    group = plan_needs.requirements(prod_plan.document).actions[plan_needs.RESOURCE_GROUP]
    assert group["Microsoft.Authorization/locks/write"] == {"azure-native:authorization:ManagementLockByScope"}


def test_unknown_resource_type_cannot_be_judged_and_nothing_is_sent(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    document = json.loads(json.dumps(dev_plan.document))
    document["resources"].append({"urn": "urn:x", "type": "azure-native:compute:VirtualMachine", "inputs": {}})
    code, arm, credential = run(["dev", "--plan", str(write_plan(tmp_path, document))], FakeArm({}))
    assert code == 2
    assert arm.requests == [] and credential.scopes == []
    assert "azure-native:compute:VirtualMachine" in capsys.readouterr().err


def test_a_missing_plan_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, arm, _ = run(["dev", "--plan", str(tmp_path / "absent.json")], FakeArm({}))
    assert code == 2 and arm.requests == []
    assert "run `make plan` first" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# How Azure evaluates actions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "Microsoft.Storage/storageAccounts/write", True),
        ("*/read", "Microsoft.Storage/storageAccounts/read", True),
        ("*/read", "Microsoft.Storage/storageAccounts/write", False),
        ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleDefinitions/write", True),
        ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/locks/write", True),
        ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/delete", False),
        ("Microsoft.Authorization/*", "Microsoft.Authorization/locks/write", True),
        ("microsoft.network/VIRTUALNETWORKS/write", "Microsoft.Network/virtualNetworks/write", True),
        ("Microsoft.Network/virtualNetworks/*", "Microsoft.Network/virtualNetworksX/write", False),
        ("Microsoft.Storage/*", "MicrosoftXStorage/storageAccounts/write", False),
        ("Microsoft.Storage/storageAccounts/write", "Microsoft.Storage/storageAccounts/writeX", False),
    ],
)
def test_wildcards_and_case(pattern: str, action: str, expected: bool):
    assert permissions.matches(pattern, action) is expected


def test_not_actions_subtract_only_from_their_own_role():
    contributor = permissions.parse_permissions([CONTRIBUTOR])
    both = permissions.parse_permissions([CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR])
    action = "Microsoft.Authorization/roleDefinitions/write"
    assert not any(p.allows(action) for p in contributor)
    assert any(p.allows(action) for p in both)
    assert any(p.allows("Microsoft.Storage/storageAccounts/write") for p in contributor)


def test_the_least_built_in_role_granting_each_action_is_named():
    assert permissions.granted_by("Microsoft.Authorization/roleAssignments/write") == (
        "Role Based Access Control Administrator"
    )
    assert permissions.granted_by("Microsoft.Storage/storageAccounts/write") == "Contributor"
    assert permissions.granted_by("Microsoft.Authorization/roleDefinitions/write") == "User Access Administrator"
    assert permissions.granted_by("Microsoft.Authorization/locks/write") == "User Access Administrator"


# ---------------------------------------------------------------------------------------------
# Against Azure (fake)
# ---------------------------------------------------------------------------------------------


def test_contributor_and_rbac_administrator_lack_only_the_custom_role_on_dev(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    code, arm, credential = run(argv, FakeArm(routes(CONTRIBUTOR, RBAC_ADMINISTRATOR)))
    out = capsys.readouterr().out
    assert code == 1
    assert missing_rows(out)[1:] == [
        [
            "resource group",
            "Microsoft.Authorization/roleDefinitions/write",
            "MISSING",
            "User Access Administrator",
            "azure-native:authorization:RoleDefinition",
        ]
    ]
    assert f"permissions checked at /subscriptions/{SUB}" in out
    assert "1 action(s) missing, 0 granted only under a condition, 0 provider(s) not registered" in out
    assert arm.urls() == [SUB_PERMISSIONS, PROVIDERS]
    assert credential.scopes == [("https://management.azure.com/.default",)]


def test_contributor_and_rbac_administrator_lack_the_custom_role_and_locks_on_prod(
    prod_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["prod", "--plan", str(write_plan(tmp_path, prod_plan)), "--subscription", SUB]
    code, _, _ = run(argv, FakeArm(routes(CONTRIBUTOR, RBAC_ADMINISTRATOR)))
    rows = missing_rows(capsys.readouterr().out)[1:]
    assert code == 1
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("Microsoft.Authorization/locks/write", "MISSING", "User Access Administrator"),
        ("Microsoft.Authorization/roleDefinitions/write", "MISSING", "User Access Administrator"),
    ]


@pytest.mark.parametrize("roles", [[OWNER], [CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR]], ids=["owner", "c+uaa"])
def test_owner_or_contributor_with_user_access_administrator_pass(
    roles: list[dict[str, Any]], prod_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["prod", "--plan", str(write_plan(tmp_path, prod_plan)), "--subscription", SUB]
    code, _, _ = run(argv, FakeArm(routes(*roles)))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 action(s) missing, 0 granted only under a condition, 0 provider(s) not registered" in out


def test_a_not_action_on_a_provider_is_reported_per_action(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    no_network = {**OWNER, "notActions": ["Microsoft.Network/*"]}
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    code, _, _ = run(argv, FakeArm(routes(no_network)))
    rows = missing_rows(capsys.readouterr().out)[1:]
    assert code == 1
    assert [r[1] for r in rows] == [
        "Microsoft.Network/networkSecurityGroups/write",
        "Microsoft.Network/privateDnsZones/A/write",
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",
        "Microsoft.Network/privateDnsZones/write",
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write",
        "Microsoft.Network/privateEndpoints/write",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/write",
        "Microsoft.Network/virtualNetworks/write",
    ]
    assert {r[3] for r in rows} == {"Contributor"}


def test_a_grant_under_a_condition_is_reported_but_not_missing(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    conditional_uaa = {**USER_ACCESS_ADMINISTRATOR, "condition": "((!(ActionMatches{'x'})))", "conditionVersion": "2.0"}
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    code, _, _ = run(argv, FakeArm(routes(CONTRIBUTOR, conditional_uaa)))
    out = capsys.readouterr().out
    assert code == 0
    assert [(r[1], r[2]) for r in missing_rows(out)[1:]] == [
        ("Microsoft.Authorization/roleAssignments/write", "CONDITIONAL"),
        ("Microsoft.Authorization/roleDefinitions/write", "CONDITIONAL"),
    ]


def test_unregistered_provider_is_reported_and_fails(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    listed = providers(
        *[p for p in DEV_PROVIDERS if p not in {"Microsoft.MachineLearningServices", "Microsoft.ApiManagement"}],
        Microsoft_MachineLearningServices="NotRegistered",
    )
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    code, _, _ = run(argv, FakeArm(routes(OWNER, registered=listed)))
    out = capsys.readouterr().out
    assert code == 1
    assert "  Microsoft.ApiManagement  NotFound\n  Microsoft.MachineLearningServices  NotRegistered\n" in out
    assert "0 action(s) missing, 0 granted only under a condition, 2 provider(s) not registered" in out


def test_provider_namespaces_compare_without_regard_to_case(dev_plan: Plan, tmp_path: Path):
    listed = providers(*[p.lower() for p in DEV_PROVIDERS])
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    assert run(argv, FakeArm(routes(OWNER, registered=listed)))[0] == 0


def test_an_existing_resource_group_is_checked_in_place(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    arm = FakeArm({RG_PERMISSIONS: (200, {"value": [OWNER]}), PROVIDERS: (200, providers(*DEV_PROVIDERS))})
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB, "--resource-group", RG]
    code, _, _ = run(argv, arm)
    assert code == 0
    assert arm.urls() == [RG_PERMISSIONS, PROVIDERS]
    assert f"permissions checked at /subscriptions/{SUB}/resourceGroups/{RG}" in capsys.readouterr().out


def test_a_resource_group_that_does_not_exist_yet_is_checked_on_the_subscription(dev_plan: Plan, tmp_path: Path):
    not_found = {"error": {"code": "ResourceGroupNotFound", "message": f"Resource group '{RG}' could not be found."}}
    arm = FakeArm({RG_PERMISSIONS: (404, not_found), **routes(CONTRIBUTOR, RBAC_ADMINISTRATOR)})
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB, "--resource-group", RG]
    code, _, _ = run(argv, arm)
    assert code == 1
    assert arm.urls() == [RG_PERMISSIONS, SUB_PERMISSIONS, PROVIDERS]


def test_pages_are_followed(dev_plan: Plan, tmp_path: Path):
    page2 = f"{SUB_PERMISSIONS}&$skiptoken=2"
    arm = FakeArm(
        {
            SUB_PERMISSIONS: (200, {"value": [CONTRIBUTOR], "nextLink": page2}),
            page2: (200, {"value": [USER_ACCESS_ADMINISTRATOR]}),
            PROVIDERS: (200, providers(*DEV_PROVIDERS)),
        }
    )
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    assert run(argv, arm)[0] == 0
    assert arm.urls() == [SUB_PERMISSIONS, page2, PROVIDERS]


@pytest.mark.parametrize(
    "answer",
    [
        (200, {"permissions": []}),
        (200, {"value": [{"actions": "*"}]}),
        (403, {"error": {"code": "AuthorizationFailed", "message": "no"}}),
        (200, {"value": [OWNER], "nextLink": "https://elsewhere.example/next"}),
    ],
    ids=["no-value", "actions-not-a-list", "forbidden", "foreign-next-link"],
)
def test_an_unexpected_permissions_answer_cannot_be_judged(
    answer: tuple[int, Any], dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    arm = FakeArm({SUB_PERMISSIONS: answer, PROVIDERS: (200, providers(*DEV_PROVIDERS))})
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    assert run(argv, arm)[0] == 2
    assert "error: cannot judge the permissions" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Subscription and credentials
# ---------------------------------------------------------------------------------------------


def test_subscription_from_the_environment(dev_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUB)
    arm = FakeArm(routes(OWNER))
    assert run(["dev", "--plan", str(write_plan(tmp_path, dev_plan))], arm)[0] == 0
    assert arm.urls() == [SUB_PERMISSIONS, PROVIDERS]


def test_the_only_visible_subscription_is_used(dev_plan: Plan, tmp_path: Path):
    listed = {"value": [{"subscriptionId": SUB, "state": "Enabled"}, {"subscriptionId": "x", "state": "Disabled"}]}
    arm = FakeArm({SUBSCRIPTIONS: (200, listed), **routes(OWNER)})
    assert run(["dev", "--plan", str(write_plan(tmp_path, dev_plan))], arm)[0] == 0
    assert arm.urls() == [SUBSCRIPTIONS, SUB_PERMISSIONS, PROVIDERS]


def test_several_visible_subscriptions_cannot_be_judged(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    other = "99999999-2222-4333-8444-555555555555"
    listed = {"value": [{"subscriptionId": SUB, "state": "Enabled"}, {"subscriptionId": other, "state": "Enabled"}]}
    arm = FakeArm({SUBSCRIPTIONS: (200, listed)})
    assert run(["dev", "--plan", str(write_plan(tmp_path, dev_plan))], arm)[0] == 2
    assert "name one with --subscription" in capsys.readouterr().err


def test_a_subscription_that_is_not_a_guid_is_a_usage_error(dev_plan: Plan, tmp_path: Path):
    arm = FakeArm({})
    assert run(["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", "../x"], arm)[0] == 2
    assert arm.requests == []


def test_without_credentials_it_skips_with_exit_0(dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB]
    code, arm, _ = run(argv, FakeArm(routes(OWNER)), FakeCredential(fail_after=0))
    assert code == 0
    assert arm.requests == []
    assert capsys.readouterr().out.startswith("skipped, nothing checked: no Azure token for ")


def test_without_credentials_and_require_credentials_it_exits_2(
    dev_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["dev", "--plan", str(write_plan(tmp_path, dev_plan)), "--subscription", SUB, "--require-credentials"]
    code, _, _ = run(argv, FakeArm(routes(OWNER)), FakeCredential(fail_after=0))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("error: no Azure credential, nothing checked: no Azure token for ")


# ---------------------------------------------------------------------------------------------
# The condition for the deployer's role assignment
# ---------------------------------------------------------------------------------------------


def test_the_condition_names_exactly_the_roles_the_plan_assigns(
    prod_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    custom = sorted(
        r["inputs"]["roleDefinitionId"] for r in prod_plan.of_type("azure-native:authorization:RoleDefinition")
    )
    code, arm, credential = run(
        ["prod", "--plan", str(write_plan(tmp_path, prod_plan)), "--print-condition"], FakeArm({})
    )
    out = capsys.readouterr().out
    assert code == 0 and arm.requests == [] and credential.scopes == []
    roles = (
        "{2a2b9908-6ea1-4ae2-8e65-a410df84e7d1, 3913510d-42f4-4e42-8a64-420c390055eb, "
        "635dd51f-9968-44d3-b7fb-6d9a6bd613ae, 69566ab7-960f-475b-8e7c-b3118f30c6bd, "
        "7f951dda-4ed3-4680-a7ca-43fe172d538d, 8311e382-0749-4cb8-b61a-304f252e45ec, "
        "9518aee0-f99d-541f-bbd4-2d5dc31aa131, 9d3c7a64-d9e4-5b53-8b56-580aecfdd91f, "
        "acdd72a7-3385-48ef-bd42-f606fba81ae7, b556d68e-0be0-4f35-a333-ad7ee1ce17ea, "
        "b78c5d69-af96-48a3-bf8d-a8b4d589de94, b86a8fe4-44ce-4948-aee5-eccb2c155cd7, "
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe, e147488a-f6f5-4113-8e2d-b22465e65bf6, "
        "eaac1b6a-cba8-504b-8d50-1bde16990db1}"
    )
    # the gateway's scorer role and each workspace's data-scientist role
    assert custom == [
        "9518aee0-f99d-541f-bbd4-2d5dc31aa131",
        "9d3c7a64-d9e4-5b53-8b56-580aecfdd91f",
        "eaac1b6a-cba8-504b-8d50-1bde16990db1",
    ]
    attribute = "[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals"
    assert out == (
        "(\n (\n  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})\n )\n OR\n (\n"
        f"  @Request{attribute} {roles}\n )\n)\nAND\n"
        "(\n (\n  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})\n )\n OR\n (\n"
        f"  @Resource{attribute} {roles}\n )\n)\n"
    )


def test_the_condition_follows_the_plan(dev_plan: Plan):
    document = json.loads(json.dumps(dev_plan.document))
    assert "e147488a-f6f5-4113-8e2d-b22465e65bf6" not in plan_needs.assigned_roles(document)  # no HSM keys in dev
    assignment = next(r for r in document["resources"] if r["type"] == "azure-native:authorization:RoleAssignment")
    assignment["inputs"]["roleDefinitionId"] = (
        "/subscriptions/0/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"
    )
    assert "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" in plan_needs.assigned_roles(document)
    assignment["inputs"]["roleDefinitionId"] = "[unknown]"
    with pytest.raises(plan_needs.CannotJudgeError):
        plan_needs.assigned_roles(document)


# ---------------------------------------------------------------------------------------------
# docs/deployment.md and the deployer role follow the plans
# ---------------------------------------------------------------------------------------------


def test_documented_providers_are_those_the_plans_use(dev_plan: Plan, prod_plan: Plan):
    text = (ROOT / "docs" / "deployment.md").read_text()
    loop = re.search(r"for ns in (.*?); do", text, re.DOTALL)
    assert loop is not None
    documented = set(loop[1].replace("\\", " ").split())
    used = plan_needs.requirements(dev_plan.document).providers | plan_needs.requirements(prod_plan.document).providers
    assert documented | {"Microsoft.Authorization", "Microsoft.Resources"} == used


def test_the_deployer_role_adds_exactly_the_authorization_actions_contributor_lacks(prod_plan: Plan):
    role = json.loads((ROOT / "docs" / "platform-deployer-role.json").read_text())
    contributor = permissions.parse_permissions([CONTRIBUTOR])
    needed = {
        action
        for actions in plan_needs.requirements(prod_plan.document).actions.values()
        for action in actions
        if not any(p.allows(action) for p in contributor)
    }
    assert needed == {
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Authorization/roleDefinitions/write",
        "Microsoft.Authorization/locks/write",
    }
    deletes = {a.replace("/write", "/delete") for a in needed}
    assert set(role["Actions"]) == needed | deletes
    assert role["NotActions"] == role["DataActions"] == role["NotDataActions"] == []
    # Contributor + this role passes the prod plan
    granted = permissions.parse_permissions([CONTRIBUTOR, {"actions": role["Actions"], "notActions": []}])
    assert permissions.evaluate(plan_needs.requirements(prod_plan.document), granted) == []
