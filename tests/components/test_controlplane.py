"""The control plane is watched: the Activity Log reaches Log Analytics and alerts cover the operations that
weaken the training data's and the Key Vault's protection."""

from __future__ import annotations

from typing import Any

import pytest

from components.controlplane import (
    ACTIVITY_LOG_CATEGORIES,
    DATA_OPERATIONS,
    GUARD_OPERATIONS,
    VAULT_OPERATIONS,
    activity_query,
)
from tests.conftest import Plan

WATCH = "secure-ml:monitoring:ControlPlaneWatch"
RULE = "azure-native:monitor:ScheduledQueryRule"


def _query(rule: dict[str, Any]) -> str:
    return str(rule["inputs"]["criteria"]["allOf"][0]["query"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_activity_log_goes_to_the_platform_workspace(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    setting = plan.one("azure-native:monitor:SubscriptionDiagnosticSetting")
    workspace = plan.one("azure-native:operationalinsights:Workspace")
    assert setting["name"] == f"mlsec-{stack}-cp-activity"
    assert setting["inputs"]["name"] == f"mlsec-{stack}-activity-log"
    assert setting["dependencies"] == [workspace["urn"]]
    assert "/providers/Microsoft.OperationalInsights/workspaces/" in setting["inputs"]["workspaceId"]
    assert setting["inputs"]["logs"] == [{"category": c, "enabled": True} for c in ACTIVITY_LOG_CATEGORIES]
    assert {"Administrative", "Security", "Policy"} <= set(ACTIVITY_LOG_CATEGORIES)
    assert "storageAccountId" not in setting["inputs"] and "eventHubName" not in setting["inputs"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_alert_per_protected_resource(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    alerts = {r["name"]: r for r in plan.made_by(WATCH, RULE)}
    assert sorted(alerts) == [f"mlsec-{stack}-cp-data", f"mlsec-{stack}-cp-vault"]
    account = next(r for r in plan.of_type("azure-native:storage:StorageAccount") if r["name"].endswith("dataacct"))
    vault = plan.one("azure-native:keyvault:Vault")
    assert account["urn"] in alerts[f"mlsec-{stack}-cp-data"]["dependencies"]
    assert vault["urn"] in alerts[f"mlsec-{stack}-cp-vault"]["dependencies"]
    for alert in alerts.values():
        inputs = alert["inputs"]
        assert inputs["enabled"] is True
        assert inputs["severity"] == 1
        assert inputs["evaluationFrequency"] == "PT5M" and inputs["windowSize"] == "PT5M"
        assert inputs["criteria"]["allOf"][0]["threshold"] == 0
        assert inputs["criteria"]["allOf"][0]["operator"] == "GreaterThan"
        assert len(inputs["actions"]["actionGroups"]) == 1
        assert _query(alert).startswith("AzureActivity\n")
    for op in (*DATA_OPERATIONS, *GUARD_OPERATIONS):
        assert f'"{op}"' in _query(alerts[f"mlsec-{stack}-cp-data"])
    for op in (*VAULT_OPERATIONS, *GUARD_OPERATIONS):
        assert f'"{op}"' in _query(alerts[f"mlsec-{stack}-cp-vault"])
    assert '"Microsoft.KeyVault/vaults/delete"' not in _query(alerts[f"mlsec-{stack}-cp-data"])


def test_the_query_covers_the_resource_its_children_and_every_enclosing_authorization_scope() -> None:
    query = activity_query(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "s",
        "rg",
        ("Microsoft.Storage/storageAccounts/write",),
    )
    assert query == (
        "AzureActivity\n"
        '| where ActivityStatusValue !in~ ("Start", "Started")\n'
        '| where (OperationNameValue in~ ("Microsoft.Storage/storageAccounts/write") and (_ResourceId =~ '
        '"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"\n'
        '        or _ResourceId startswith "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/'
        'storageAccounts/acct/"))\n'
        '    or (OperationNameValue in~ ("Microsoft.Authorization/locks/write", '
        '"Microsoft.Authorization/locks/delete", '
        '"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", '
        '"Microsoft.Insights/diagnosticSettings/write", "Microsoft.Insights/diagnosticSettings/delete") and '
        '(_ResourceId startswith "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/'
        'acct/"\n'
        '        or _ResourceId startswith "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/"\n'
        '        or _ResourceId startswith "/subscriptions/s/providers/Microsoft.Authorization/"))\n'
        "| project TimeGenerated, Caller, CallerIpAddress, OperationNameValue, ActivityStatusValue, _ResourceId"
    )


def test_the_watched_operations_include_every_way_around_the_data_protection() -> None:
    for op in (
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
        "Microsoft.Storage/storageAccounts/blobServices/write",
    ):
        assert op in DATA_OPERATIONS
    for op in ("Microsoft.Authorization/locks/delete", "Microsoft.Authorization/roleAssignments/write"):
        assert op in GUARD_OPERATIONS


def test_an_opted_out_activity_log_keeps_the_alerts_and_is_declared(project: Any) -> None:
    from scripts.plan.cli import make_plan

    reason = "the landing zone's policy streams the Activity Log to this workspace"

    def opt_out(values: dict[str, Any]) -> None:
        values["monitoring"]["activityLog"] = {"enabled": False, "reason": reason}

    root = project(mutate=opt_out)
    plan = Plan(make_plan("case", root))
    assert plan.of_type("azure-native:monitor:SubscriptionDiagnosticSetting") == []
    assert len(plan.made_by(WATCH, RULE)) == 2
    assert plan.outputs["securityOptOuts"] == {
        "locks": "dev is torn down and rebuilt nightly; CanNotDelete locks would block the teardown",
        "dataStorage.immutability": "dev is torn down and rebuilt nightly; version-level WORM containers block "
        "the teardown",
        "monitoring.activityLog": reason,
    }
