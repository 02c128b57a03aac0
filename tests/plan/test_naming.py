"""Resource names: explicit and valid where Azure constrains them, provider-style where left out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components import config, naming
from scripts.plan.arm_types import AUTONAMED_FLAG, auto_name, check_inputs, name_input
from scripts.plan.cli import make_plan
from tests.conftest import Plan, stack_values
from tests.policies.policy_cases import violations

_CONSTRAINED = {
    "azure-native:storage:StorageAccount",
    "azure-native:containerregistry:Registry",
    "azure-native:keyvault:Vault",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:machinelearningservices:OnlineEndpoint",
    "azure-native:apimanagement:ApiManagementService",
    "azure-native:operationalinsights:Workspace",
    "azure-native:applicationinsights:Component",
}

DEV_NAMES = {
    "mlsec-dev-dataacct": "mlsecdevdataacct2a05fbc1",
    "mlsec-dev-fraudsys": "mlsecdevfraudsys73c0d5fc",
    "mlsec-dev-fraudacr": "mlsecdevfraudacr77fbe4b0",
    "mlsec-dev-kv-kv": "mlsec-dev-kv-kv-009df4",
    "mlsec-dev-fraud-mlw": "mlsec-dev-fraud-mlw",
    "mlsec-dev-fraud-score-ep": "mlsec-dev-fraud-score-a1a85a",
    "mlsec-dev-gw-apim": "mlsec-dev-gw-apim-b380a2d7",
    "mlsec-dev-mon-law": "mlsec-dev-mon-law",
    "mlsec-dev-mon-appi": "mlsec-dev-mon-appi",
}
PROD_NAMES = {
    "mlsec-prod-dataacct": "mlsecproddataaccd79af11a",
    "mlsec-prod-fraudsys": "mlsecprodfraudsyace5955c",
    "mlsec-prod-churnsys": "mlsecprodchurnsyeeae2154",
    "mlsec-prod-fraudacr": "mlsecprodfraudacr97c03403",
    "mlsec-prod-churnacr": "mlsecprodchurnacre0c23627",
    "mlsec-prod-kv-kv": "mlsec-prod-kv-kv-bbdbef",
    "mlsec-prod-fraud-mlw": "mlsec-prod-fraud-mlw",
    "mlsec-prod-churn-mlw": "mlsec-prod-churn-mlw",
    "mlsec-prod-fraud-score-ep": "mlsec-prod-fraud-score-f5c77c",
    "mlsec-prod-gw-apim": "mlsec-prod-gw-apim-62af26e0",
    "mlsec-prod-mon-law": "mlsec-prod-mon-law",
    "mlsec-prod-mon-appi": "mlsec-prod-mon-appi",
}


def _names(document: dict[str, Any]) -> dict[str, Any]:
    """Logical name -> name input of every constrained resource, with whether the name was generated."""
    found = {}
    for res in document["resources"]:
        if res["type"] in _CONSTRAINED:
            key = name_input(res["type"])
            assert key is not None
            assert AUTONAMED_FLAG not in res["inputs"], f"{res['name']} is left to auto-naming"
            found[res["name"]] = res["inputs"][key]
    return found


def test_dev_names_are_explicit_and_exact(dev_plan: Plan) -> None:
    assert _names(dev_plan.document) == DEV_NAMES


def test_prod_names_are_explicit_and_exact(prod_plan: Plan) -> None:
    assert _names(prod_plan.document) == PROD_NAMES


def test_names_are_stable_across_runs(dev_plan: Plan) -> None:
    assert _names(make_plan("dev")) == _names(dev_plan.document)


def test_dev_and_prod_never_share_a_globally_unique_name(dev_plan: Plan, prod_plan: Plan) -> None:
    assert set(_names(dev_plan.document).values()).isdisjoint(_names(prod_plan.document).values())


def test_the_hash_covers_subscription_stack_and_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(naming.pulumi, "get_project", lambda: "secure-ml")
    monkeypatch.setattr(naming.pulumi, "get_stack", lambda: "dev")
    sub_a, sub_b = "00000000-0000-4000-8000-000000000000", "11111111-1111-4111-8111-111111111111"
    base = naming.storage_account(sub_a, "mlsec-dev-dataacct")
    assert base == "mlsecdevdataacct2a05fbc1"
    assert naming.storage_account(sub_a.upper(), "mlsec-dev-dataacct") == base  # IDs compare case-insensitively
    assert naming.storage_account(sub_b, "mlsec-dev-dataacct") != base
    assert naming.storage_account(sub_a, "mlsec-dev-fraudsys") != base
    monkeypatch.setattr(naming.pulumi, "get_stack", lambda: "dev2")
    assert naming.storage_account(sub_a, "mlsec-dev-dataacct") != base


def test_longest_settings_still_give_valid_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(naming.pulumi, "get_project", lambda: "secure-ml")
    monkeypatch.setattr(naming.pulumi, "get_stack", lambda: "test")
    sub = "00000000-0000-4000-8000-000000000000"
    base = "abcdefgh-test"  # an 8-character namePrefix and the longest environment
    assert re.fullmatch(r"[a-z0-9]{24}", naming.storage_account(sub, f"{base}-abcdefghijsys"))
    assert re.fullmatch(r"[a-z0-9]{5,50}", naming.container_registry(sub, f"{base}-abcdefghijacr"))
    vault = naming.key_vault(sub, f"{base}-kv-kv", 1)
    assert len(vault) <= 24 and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", vault) and "--" not in vault
    assert naming.key_vault(sub, f"{base}-kv-kv", 2) != vault
    assert len(naming.api_management(sub, f"{base}-gw-apim")) <= 50
    assert naming.ml_workspace(f"{base}-abcdefghij-mlw") == "abcdefgh-test-abcdefghij-mlw"
    endpoint = naming.online_endpoint(sub, naming.endpoint_base("abcdefgh", "test", "fraud-score"))
    assert re.fullmatch(r"abcdefgh-test-fraud-score-[0-9a-f]{6}", endpoint)


def test_an_endpoint_name_too_long_for_azure_is_refused() -> None:
    values = stack_values("dev")
    values["workspaces"][0]["endpoints"][0]["name"] = "fraud-scoring-endpoint-v2"  # 25: mlsec-dev-...-hash is 42
    with pytest.raises(config.ConfigError) as err:
        config.validate(values, "dev")
    assert str(err.value).splitlines() == [
        "stacks/Pulumi.dev.yaml: invalid configuration",
        "  secure-ml:workspaces[0].endpoints[0].name: expected a name that keeps the Azure endpoint name "
        "'mlsec-dev-fraud-scoring-endpoint-v2-<hash>' within 32 characters, letters, digits and single hyphens "
        "(at most 15 characters with this namePrefix and environment), found 'fraud-scoring-endpoint-v2'",
    ]


def test_the_longest_endpoint_name_that_fits_is_accepted() -> None:
    values = stack_values("dev")
    values["workspaces"][0]["endpoints"][0]["name"] = "fraud-score-v20"  # 15 characters: 32 in Azure
    assert config.validate(values, "dev").workspaces[0].endpoints[0].name == "fraud-score-v20"
    values["workspaces"][0]["endpoints"][0]["name"] = "fraud-score-v200"
    with pytest.raises(config.ConfigError, match=r"endpoints\[0\]\.name: .*at most 15 characters"):
        config.validate(values, "dev")


def test_double_hyphen_in_an_endpoint_name_is_refused() -> None:
    values = stack_values("dev")
    values["workspaces"][0]["endpoints"][0]["name"] = "fraud--score"
    with pytest.raises(config.ConfigError, match=r"endpoints\[0\]\.name: .*single hyphens"):
        config.validate(values, "dev")


def test_the_gateway_keeps_the_configured_endpoint_name(dev_plan: Plan) -> None:
    endpoint = dev_plan.inputs("azure-native:machinelearningservices:OnlineEndpoint")
    api = dev_plan.inputs("azure-native:apimanagement:Api")
    assert endpoint["endpointName"] == "mlsec-dev-fraud-score-a1a85a"
    assert (api["apiId"], api["path"]) == ("fraud-score", "models/fraud-score")
    assert dev_plan.outputs["endpoints"] == {
        "fraud-score": "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/mlsec-dev-rgf7e1a2fe/"
        "providers/Microsoft.MachineLearningServices/workspaces/mlsec-dev-fraud-mlw/onlineEndpoints/"
        "mlsec-dev-fraud-score-a1a85a"
    }


# ---------------------------------------------------------------------------------------------
# The offline engine reproduces the provider's auto-naming
# ---------------------------------------------------------------------------------------------


def test_auto_name_is_the_logical_name_plus_eight_hex_characters() -> None:
    name = auto_name("azure-native:storage:StorageAccount", "My-Data_Account")
    assert re.fullmatch(r"My-Data_Account[0-9a-f]{8}", name)  # no separator, no cleaning, no cap
    assert auto_name("azure-native:storage:StorageAccount", "My-Data_Account") == name
    long = "x" * 60
    assert len(auto_name("azure-native:containerregistry:Registry", long)) == 68
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        auto_name("azure-native:authorization:RoleAssignment", "ra"),
    )


def test_check_fills_in_and_flags_only_left_out_names() -> None:
    account_type = "azure-native:storage:StorageAccount"
    generated = check_inputs(account_type, "acct", {"location": "westeurope"})
    assert generated == {
        "location": "westeurope",
        "accountName": auto_name(account_type, "acct"),
        AUTONAMED_FLAG: True,
    }
    assert check_inputs(account_type, "acct", {"accountName": "given"}) == {"accountName": "given"}
    assert check_inputs(account_type, "acct", {"accountName": "[unknown]"}) == {"accountName": "[unknown]"}
    assert check_inputs("azure-native:storage:BlobServiceProperties", "b", {}) == {}


def test_plan_records_generated_names_as_the_provider_check_does(dev_plan: Plan) -> None:
    group = dev_plan.one("azure-native:resources:ResourceGroup")
    assert group["inputs"]["resourceGroupName"] == "mlsec-dev-rgf7e1a2fe"
    assert group["inputs"][AUTONAMED_FLAG] is True


def test_storage_account_left_to_auto_naming_fails_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reintroduce the old code: the storage accounts get no explicit name, so the provider names them.
    monkeypatch.setattr(naming, "storage_account", lambda subscription_id, logical: None)
    document = make_plan("dev")
    account = next(r for r in document["resources"] if r["name"] == "mlsec-dev-dataacct")
    generated = account["inputs"]["accountName"]
    assert re.fullmatch(r"mlsec-dev-dataacct[0-9a-f]{8}", generated)
    assert account["inputs"][AUTONAMED_FLAG] is True
    found = violations(document, "MLSEC-NAME-001")
    assert (
        "mlsec-dev-dataacct",
        f"accountName '{generated}' (generated by the provider from the logical name) breaks Azure's naming "
        "rule: expected 3-24 characters (found 26), only lowercase letters and digits",
    ) in found
    assert {name for name, _ in found} == {"mlsec-dev-dataacct", "mlsec-dev-fraudsys"}
