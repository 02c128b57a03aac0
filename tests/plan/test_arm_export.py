"""The ARM export of a plan: shape of each resource, names, scopes, dependsOn, coverage and determinism."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any

import pytest

from policies.catalog.governance import CheckovSkip, load_suppressions
from scripts.common.paths import ROOT
from scripts.plan import cli as plan
from scripts.plan.arm_export import (
    RENAMES,
    SCHEMA,
    ExportError,
    api_version,
    api_versions,
    dumps,
    export,
    export_with_urns,
    resource_lines,
    reviewed_skips,
)
from scripts.plan.arm_types import ARM_TYPES, arm_api_version, provider_api_version

SUB = "00000000-0000-4000-8000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg1"
P = "urn:pulumi:t::secure-ml::"
NET = "secure-ml:network:Network"
VNET_ID = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
NSG_ID = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg1"
SUBNET_ID = f"{VNET_ID}/subnets/snet1"
UAI_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/t-id61a6de0b"  # auto-named
ACCOUNT_ID = f"{RG}/providers/Microsoft.Storage/storageAccounts/acct1"
ROLE_NAME = "39befd09-37e8-4433-b74a-5e9c8d8abd2e"  # the mock's GUID for an auto-named assignment
READER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def _res(token: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = (), parent: str = "") -> dict[str, Any]:
    chain = f"{parent.split('::')[2]}$" if parent else ""
    return {
        "urn": f"{P}{chain}{token}::{name}",
        "type": token,
        "name": name,
        "parent": parent,
        "inputs": inputs,
        "dependencies": list(deps),
        "protect": False,
    }


def small_plan() -> dict[str, Any]:
    """A hand-built plan: a network component with its children, an identity, an account, a grant, a setting."""
    net = _res(NET, "t-net", {})
    vnet = _res(
        "azure-native:network:VirtualNetwork",
        "t-vnet",
        {
            "resourceGroupName": "rg1",
            "virtualNetworkName": "vnet1",
            "location": "westeurope",
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        },
        parent=net["urn"],
    )
    nsg = _res(
        "azure-native:network:NetworkSecurityGroup",
        "t-nsg",
        {
            "resourceGroupName": "rg1",
            "networkSecurityGroupName": "nsg1",
            "location": "westeurope",
            "securityRules": [
                {
                    "name": "deny-all-inbound",
                    "access": "Deny",
                    "direction": "Inbound",
                    "priority": 4096,
                    "protocol": "*",
                    "sourceAddressPrefix": "*",
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": "*",
                    "destinationPortRange": "*",
                }
            ],
        },
        parent=net["urn"],
    )
    subnet = _res(
        "azure-native:network:Subnet",
        "t-snet",
        {
            "resourceGroupName": "rg1",
            "virtualNetworkName": "vnet1",
            "subnetName": "snet1",
            "addressPrefix": "10.0.1.0/24",
            "networkSecurityGroup": {"id": NSG_ID},
            "delegations": [{"name": "aml", "serviceName": "Microsoft.MachineLearningServices/workspaces"}],
        },
        (vnet["urn"], nsg["urn"]),
        parent=net["urn"],
    )
    identity = _res(
        "azure-native:managedidentity:UserAssignedIdentity",
        "t-id",
        {"resourceGroupName": "rg1", "location": "westeurope"},
    )
    account = _res(
        "azure-native:storage:StorageAccount",
        "t-acct",
        {
            "resourceGroupName": "rg1",
            "accountName": "acct1",
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_ZRS"},
            "tags": {"owner": "ml@contoso.com"},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": [UAI_ID]},
            "enableHttpsTrafficOnly": True,
            "networkRuleSet": {"bypass": "AzureServices", "defaultAction": "Deny"},
            "encryption": {
                "keySource": "Microsoft.Keyvault",
                "keyVaultProperties": {"keyName": "cmk", "keyVaultUri": "https://kv1.vault.azure.net/"},
                "encryptionIdentity": {"encryptionUserAssignedIdentity": UAI_ID},
            },
            "sasPolicy": {"expirationAction": "Block", "sasExpirationPeriod": "[secret]"},
        },
        (identity["urn"], net["urn"]),
    )
    grant = _res(
        "azure-native:authorization:RoleAssignment",
        "t-ra",
        {
            "principalId": "11111111-1111-4111-8111-111111111111",
            "principalType": "ServicePrincipal",
            "roleDefinitionId": READER,
            "scope": ACCOUNT_ID,
        },
        (identity["urn"], account["urn"]),
    )
    setting = _res(
        "azure-native:monitor:DiagnosticSetting",
        "t-diag",
        {
            "name": "to-law",
            "resourceUri": ACCOUNT_ID,
            "workspaceId": f"{RG}/providers/Microsoft.OperationalInsights/workspaces/law1",
            "logs": [{"category": "StorageRead", "enabled": True}],
        },
        (account["urn"],),
    )
    resources = [net, vnet, nsg, subnet, identity, account, grant, setting]
    return {"project": "secure-ml", "stack": "t", "resources": resources, "outputs": {}}


@pytest.fixture(scope="module")
def small() -> dict[str, dict[str, Any]]:
    template = export(small_plan(), skips=[])
    return {r["name"]: r for r in template["resources"]}


def test_template_header_and_order() -> None:
    template = export(small_plan(), skips=[])
    assert (
        template["$schema"]
        == SCHEMA
        == ("https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#")
    )
    assert template["contentVersion"] == "1.0.0.0"
    assert [(r["type"], r["name"]) for r in template["resources"]] == [
        ("Microsoft.Authorization/roleAssignments", ROLE_NAME),
        ("Microsoft.Insights/diagnosticSettings", "to-law"),
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "t-id61a6de0b"),
        ("Microsoft.Network/networkSecurityGroups", "nsg1"),
        ("Microsoft.Network/virtualNetworks", "vnet1"),
        ("Microsoft.Network/virtualNetworks/subnets", "vnet1/snet1"),
        ("Microsoft.Storage/storageAccounts", "acct1"),
    ]


def test_storage_account_with_renames_identity_object_and_component_dependency(
    small: dict[str, dict[str, Any]],
) -> None:
    assert small["acct1"] == {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2024-01-01",
        "name": "acct1",
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_ZRS"},
        "tags": {"owner": "ml@contoso.com"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {UAI_ID: {}}},
        "properties": {
            "supportsHttpsTrafficOnly": True,
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny"},
            "encryption": {
                "keySource": "Microsoft.Keyvault",
                "keyvaultproperties": {"keyname": "cmk", "keyvaulturi": "https://kv1.vault.azure.net/"},
                "identity": {"userAssignedIdentity": UAI_ID},
            },
            "sasPolicy": {"expirationAction": "Block", "sasExpirationPeriod": "[secret]"},
        },
        # the identity, and the network component's three azure-native children in its place
        "dependsOn": sorted([UAI_ID, NSG_ID, VNET_ID, SUBNET_ID]),
    }


def test_role_assignment_is_an_extension_resource_with_scope(small: dict[str, dict[str, Any]]) -> None:
    assert small[ROLE_NAME] == {
        "type": "Microsoft.Authorization/roleAssignments",
        "apiVersion": "2022-04-01",
        "name": ROLE_NAME,
        "scope": ACCOUNT_ID,
        "properties": {
            "principalId": "11111111-1111-4111-8111-111111111111",
            "principalType": "ServicePrincipal",
            "roleDefinitionId": READER,
        },
        "dependsOn": [UAI_ID, ACCOUNT_ID],
    }


def test_subnet_is_named_by_its_parents_with_sub_resources_nested(small: dict[str, dict[str, Any]]) -> None:
    assert small["vnet1/snet1"] == {
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "apiVersion": "2024-05-01",
        "name": "vnet1/snet1",
        "properties": {
            "addressPrefix": "10.0.1.0/24",
            "networkSecurityGroup": {"id": NSG_ID},
            "delegations": [
                {"name": "aml", "properties": {"serviceName": "Microsoft.MachineLearningServices/workspaces"}}
            ],
        },
        "dependsOn": [NSG_ID, VNET_ID],
    }


def test_nsg_rules_keep_name_beside_properties(small: dict[str, dict[str, Any]]) -> None:
    assert small["nsg1"]["properties"]["securityRules"] == [
        {
            "name": "deny-all-inbound",
            "properties": {
                "access": "Deny",
                "direction": "Inbound",
                "priority": 4096,
                "protocol": "*",
                "sourceAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "*",
            },
        }
    ]


def test_auto_named_identity_and_diagnostic_setting_scope(small: dict[str, dict[str, Any]]) -> None:
    assert small["t-id61a6de0b"] == {
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "apiVersion": "2023-01-31",
        "name": "t-id61a6de0b",
        "location": "westeurope",
    }
    assert small["to-law"] == {
        "type": "Microsoft.Insights/diagnosticSettings",
        "apiVersion": "2021-05-01-preview",
        "name": "to-law",
        "scope": ACCOUNT_ID,
        "properties": {
            "workspaceId": f"{RG}/providers/Microsoft.OperationalInsights/workspaces/law1",
            "logs": [{"category": "StorageRead", "enabled": True}],
        },
        "dependsOn": [ACCOUNT_ID],
    }


def test_checkov_skips_go_to_metadata_of_matching_types_and_stacks() -> None:
    account, expires = "Microsoft.Storage/storageAccounts", dt.date(2099, 1, 1)
    skips = [
        CheckovSkip("CKV_AZURE_35", account, "only in prod stacks", "ops@contoso.com", expires, ("prod",)),
        CheckovSkip("CKV_AZURE_206", account, "replication follows the stack", "ops@contoso.com", expires),
    ]
    by_name = {r["name"]: r for r in export(small_plan(), skips=skips)["resources"]}
    assert by_name["acct1"]["metadata"] == {"checkov": ["checkov:skip=CKV_AZURE_206:replication follows the stack"]}
    assert "metadata" not in by_name["vnet1"]
    prod = {**small_plan(), "stack": "prod"}
    assert {r["name"]: r for r in export(prod, skips=skips)["resources"]}["acct1"]["metadata"] == {
        "checkov": [
            "checkov:skip=CKV_AZURE_206:replication follows the stack",
            "checkov:skip=CKV_AZURE_35:only in prod stacks",
        ]
    }


def test_an_unmapped_type_is_an_error() -> None:
    document = small_plan()
    document["resources"].append(_res("azure-native:network:PublicIPAddress", "t-pip", {"resourceGroupName": "rg1"}))
    with pytest.raises(ExportError) as info:
        export(document)
    assert str(info.value) == (
        "no ARM type for azure-native:network:PublicIPAddress: add it to ARM_TYPES in scripts/plan/arm_types.py"
    )


SINGLE_RESOURCE = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"


def _metric_alert() -> dict[str, Any]:
    criterion = {
        "criterionType": "StaticThresholdCriterion",
        "name": "RequestLatency",
        "metricName": "RequestLatency",
        "operator": "GreaterThan",
        "threshold": 500,
        "timeAggregation": "Average",
    }
    return _res(
        "azure-native:monitor:MetricAlert",
        "t-latency",
        {
            "resourceGroupName": "rg1",
            "ruleName": "latency",
            "location": "global",
            "severity": 2,
            "criteria": {"odataType": SINGLE_RESOURCE, "allOf": [criterion]},
        },
    )


def test_metric_alert_criteria_carry_arms_odata_type_discriminator() -> None:
    document = small_plan()
    document["resources"].append(_metric_alert())
    alert = next(r for r in export(document)["resources"] if r["type"] == "Microsoft.Insights/metricAlerts")
    assert alert["apiVersion"] == "2018-03-01"  # metricAlert_API.json of this version: discriminator "odata.type"
    assert alert["properties"]["criteria"]["odata.type"] == SINGLE_RESOURCE
    assert "odataType" not in alert["properties"]["criteria"]
    assert alert["properties"]["criteria"]["allOf"][0]["criterionType"] == "StaticThresholdCriterion"


def test_a_provider_only_name_left_in_a_resource_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(RENAMES, "azure-native:monitor:MetricAlert")
    document = small_plan()
    document["resources"].append(_metric_alert())
    with pytest.raises(ExportError) as info:
        export(document)
    assert str(info.value) == (
        "azure-native:monitor:MetricAlert: properties.criteria.odataType is the provider's name; "
        "add the ARM name to RENAMES"
    )


def test_shipped_metric_alerts_use_odata_type(dev_plan: Any, prod_plan: Any) -> None:
    for document in (dev_plan.document, prod_plan.document):
        alerts = [r for r in export(document)["resources"] if r["type"] == "Microsoft.Insights/metricAlerts"]
        assert len(alerts) == 2  # latency and server errors of the one endpoint
        assert all(a["properties"]["criteria"]["odata.type"] == SINGLE_RESOURCE for a in alerts)
        assert '"odataType"' not in dumps(export(document))


def test_the_api_version_table_is_the_one_the_provider_deploys_with() -> None:
    """ARM_TYPES is the one record of each type's REST API version: an azure-native upgrade that moves a type to
    another version (a preview among them) fails here until the table says so."""
    differing = {
        token: (spec.api_version, provider_api_version(token))
        for token, spec in ARM_TYPES.items()
        if spec.api_version != provider_api_version(token)
    }
    assert differing == {}
    previews = {spec.arm_type: spec.api_version for spec in ARM_TYPES.values() if spec.api_version.endswith("-preview")}
    assert previews == {
        # azure-native 3.29 ships one API version per resource: these types have no stable default in it.
        "Microsoft.Authorization/roleDefinitions": "2022-05-01-preview",
        "Microsoft.ContainerRegistry/registries": "2023-01-01-preview",
        "Microsoft.Insights/actionGroups": "2024-10-01-preview",
        "Microsoft.Insights/autoscalesettings": "2021-05-01-preview",
        "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
        "Microsoft.Insights/privateLinkScopes": "2023-06-01-preview",
        "Microsoft.Insights/privateLinkScopes/scopedResources": "2023-06-01-preview",
        "Microsoft.Insights/scheduledQueryRules": "2025-01-01-preview",
    }


def test_the_templates_carry_the_tables_api_versions(dev_plan: Any, prod_plan: Any) -> None:
    for document in (dev_plan.document, prod_plan.document):
        versions = api_versions(document)
        assert all(preview == v.endswith("-preview") for v, preview in versions.values())
        assert {(r["type"], r["apiVersion"]) for r in export(document)["resources"]} == {
            (t, v) for t, (v, _) in versions.items()
        }
        assert all(versions[ARM_TYPES[token].arm_type][0] == api_version(token) for token in ARM_TYPES
                   if ARM_TYPES[token].arm_type in versions)  # fmt: skip


def test_the_provider_api_version_comes_from_the_class_docstring() -> None:
    import typing

    from pulumi_azure_native import storage

    docs = " ".join(f.__doc__ or "" for f in typing.get_overloads(storage.StorageAccount.__init__))
    assert f"Uses Azure REST API version {provider_api_version('azure-native:storage:StorageAccount')}." in docs
    assert provider_api_version("azure-native:storage:NoSuchType") is None


def test_every_type_of_the_shipped_plans_is_mapped(dev_plan: Any, prod_plan: Any) -> None:
    for document in (dev_plan.document, prod_plan.document):
        native = {r["type"] for r in document["resources"] if r["type"].startswith("azure-native:")}
        assert native - set(ARM_TYPES) == set()
        template, urns = export_with_urns(document)
        assert sorted(urns) == sorted(r["urn"] for r in document["resources"] if r["type"] in native)
        assert {r["type"] for r in template["resources"]} == {ARM_TYPES[t].arm_type for t in native}


def test_shipped_template_details(dev_plan: Any, prod_plan: Any) -> None:
    dev = {(r["type"], r["name"]): r for r in export(dev_plan.document)["resources"]}
    prod = {(r["type"], r["name"]): r for r in export(prod_plan.document)["resources"]}
    for template in (dev, prod):
        for resource in template.values():
            assert "resourceGroupName" not in resource.get("properties", {}), resource["name"]
            assert set(resource) <= {
                "type", "apiVersion", "name", "scope", "location", "tags", "sku", "kind", "identity", "zones",
                "properties", "dependsOn", "metadata",
            }  # fmt: skip
    law = next(r for (t, _), r in dev.items() if t == "Microsoft.OperationalInsights/workspaces")
    assert "sku" not in law and law["properties"]["sku"] == {"name": "PerGB2018"}
    appi = next(r for (t, _), r in dev.items() if t == "Microsoft.Insights/components")
    assert (appi["kind"], appi["properties"]["Application_Type"], appi["properties"]["DisableLocalAuth"]) == (
        "web",
        "web",
        True,
    )
    vault = next(r for (t, _), r in prod.items() if t == "Microsoft.KeyVault/vaults")
    assert vault["properties"]["enablePurgeProtection"] is True and "properties" not in vault["properties"]
    acr = [r for (t, _), r in dev.items() if t == "Microsoft.ContainerRegistry/registries"]
    assert any("CKV_AZURE_233" in s for s in acr[0]["metadata"]["checkov"])
    assert not any(
        "CKV_AZURE_233" in s for (t, _), r in prod.items() if t == acr[0]["type"] for s in r["metadata"]["checkov"]
    )


def test_every_checkov_skip_names_a_mapped_type_and_a_reason() -> None:
    arm_types = {spec.arm_type for spec in ARM_TYPES.values()}
    for skip in load_suppressions().checkov:
        assert skip.arm_type in arm_types and skip.check.startswith("CKV"), skip.label
        assert len(skip.reason) >= 80 and "\n" not in skip.reason, skip.label


CHECKOV_ENTRY = """
checkov:
  - check: CKV_AZURE_206
    armType: Microsoft.Storage/storageAccounts
    stacks: [t, "*-dev"]
    owner: ml-platform@contoso.com
    expires: 2026-11-29
    reason: Replication follows the stack; recovery rests on versioning.
"""


def test_a_checkov_skip_is_written_until_it_expires_then_the_check_is_back(tmp_path: Path) -> None:
    store = tmp_path / "suppressions.yaml"
    store.write_text(CHECKOV_ENTRY)
    [live] = reviewed_skips("t", store, today=dt.date(2026, 11, 29))
    assert (live.check, live.arm_type, live.stacks) == (
        "CKV_AZURE_206",
        "Microsoft.Storage/storageAccounts",
        ("t", "*-dev"),
    )
    by_name = {r["name"]: r for r in export(small_plan(), skips=[live])["resources"]}
    assert by_name["acct1"]["metadata"] == {
        "checkov": ["checkov:skip=CKV_AZURE_206:Replication follows the stack; recovery rests on versioning."]
    }
    assert reviewed_skips("t", store, today=dt.date(2026, 11, 30)) == []
    assert reviewed_skips("prod", store, today=dt.date(2026, 11, 29)) == []
    assert len(reviewed_skips("team1-dev", store, today=dt.date(2026, 11, 29))) == 1


def test_an_unusable_exception_store_is_an_export_error(tmp_path: Path) -> None:
    store = tmp_path / "suppressions.yaml"
    store.write_text(CHECKOV_ENTRY.replace("armType:", "arm_type:"))
    with pytest.raises(ExportError, match=r"^suppressions.yaml: checkov\[0\]: unknown keys arm_type$"):
        reviewed_skips("t", store)


def test_resource_lines_point_at_each_resource() -> None:
    template = export(small_plan(), skips=[])
    lines = dumps(template).splitlines()
    spans = resource_lines(template)
    assert [lines[start - 1] for start, _ in spans] == ["    {"] * len(template["resources"])
    assert [lines[end - 1] for end, _ in [(e, s) for s, e in spans]] == ["    },"] * (len(spans) - 1) + ["    }"]
    assert [json.loads("\n".join(lines[s - 1 : e]).rstrip(",")) for s, e in spans] == template["resources"]


def test_plan_writes_a_byte_identical_template(project: Any, dev_plan: Any) -> None:
    root: Path = project("dev")
    assert plan.main(["dev", "--project-dir", str(root), "--quiet"]) == 0
    written = (root / "build" / "dev" / "template.json").read_text()
    assert written == dumps(export(copy.deepcopy(dev_plan.document)))
    assert json.loads(written)["resources"][0]["type"] == "Microsoft.ApiManagement/service"


def test_plan_exits_2_when_a_type_cannot_be_exported(
    project: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root: Path = project("dev")
    monkeypatch.delitem(ARM_TYPES, "azure-native:keyvault:Vault")
    assert plan.main(["dev", "--project-dir", str(root), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        "error: ARM export: no ARM type for azure-native:keyvault:Vault:"
        " add it to ARM_TYPES in scripts/plan/arm_types.py\n"
    )
    assert (root / "build" / "dev" / "plan.json").is_file()
    assert not (root / "build" / "dev" / "template.json").exists()


def test_the_live_checks_request_the_versions_the_table_records() -> None:
    """The operations commands and the traffic step read what the blueprint deployed with the API versions it
    deployed with: the ones ARM_TYPES records, looked up by ARM type in any case."""
    from components import endpoint_traffic
    from scripts.ops import kill_switch, verify_deployment

    table = {spec.arm_type: spec.api_version for spec in ARM_TYPES.values()}
    assert kill_switch.API_VERSION == table["Microsoft.ApiManagement/service/apis/policies"] == "2024-05-01"
    endpoints = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert endpoint_traffic.API_VERSION == "2025-12-01" == table[endpoints]
    assert verify_deployment.api_version("microsoft.storage/STORAGEACCOUNTS/blobServices") == "2024-01-01"
    assert verify_deployment.api_version("Microsoft.Insights/diagnosticSettings") == "2021-05-01-preview"
    assert all(arm_api_version(t.upper()) == v for t, v in table.items())
    with pytest.raises(KeyError, match=r"no API version for Microsoft\.Web/sites: add its type to ARM_TYPES"):
        arm_api_version("Microsoft.Web/sites")


_PROBE = """
import sys
import components.endpoint_traffic
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("components", "policies", "scripts"))))
"""


def test_the_traffic_providers_host_imports_only_the_table() -> None:
    """At ``pulumi up`` the dynamic-provider host unpickles the traffic provider by importing its module (Pulumi
    pickles it with dill, which keeps a class of an importable module by reference): of the project, that import
    pulls in the module and the table of API versions, nothing else."""
    from pulumi.dynamic.dynamic import serialize_provider

    from components.endpoint_traffic import TrafficProvider

    pickled = base64.b64decode(serialize_provider(TrafficProvider("https://management.azure.com")))
    assert b"components.endpoint_traffic" in pickled
    assert b"API_VERSION" not in pickled and b"2025-12-01" not in pickled
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == [
        "components",
        "components.endpoint_traffic",
        "scripts",
        "scripts.plan",
        "scripts.plan.arm_types",
    ]


def test_tokens_of_one_arm_type_record_one_api_version() -> None:
    versions: dict[str, set[str]] = {}
    for spec in ARM_TYPES.values():
        versions.setdefault(spec.arm_type.lower(), set()).add(spec.api_version)
    assert {t: v for t, v in versions.items() if len(v) > 1} == {}


_VERSION_LITERAL = re.compile(r"""^[rbuf]*['"]\d{4}-\d{2}-\d{2}(?:-preview)?['"]$|api-version=\d""", re.IGNORECASE)


def test_api_versions_are_recorded_in_one_table() -> None:
    """No module keeps its own copy of an API version: every string that is one (or sends one in a URL) is in
    scripts/plan/arm_types.py, apart from the preflight's reads of types the blueprint does not deploy."""
    found = []
    for folder in ("components", "policies", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(("scripts/dataset/", "scripts/bench/dataset")):
                continue
            with path.open("rb") as handle:
                strings = [t for t in tokenize.tokenize(handle.readline) if t.type == tokenize.STRING]
            found += [(relative, t.string) for t in strings if _VERSION_LITERAL.search(t.string)]
    assert {(path, literal) for path, literal in found if path != "scripts/plan/arm_types.py"} == {
        ("scripts/ops/preflight.py", '"2022-04-01"'),  # Microsoft.Authorization/permissions
        ("scripts/ops/preflight.py", '"2021-04-01"'),  # Microsoft.Resources providers
        ("scripts/ops/preflight.py", '"2022-12-01"'),  # subscriptions
    }
    assert sum(path == "scripts/plan/arm_types.py" for path, _ in found) == len(ARM_TYPES)
