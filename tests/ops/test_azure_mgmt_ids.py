"""scripts.ops.azure_mgmt: resource IDs from stack outputs, read with azure-mgmt-core's tools."""

from __future__ import annotations

import pytest

from scripts.ops.azure_mgmt import ResourceId, parse_resource_id, resource_path

SUB = "00000000-0000-4000-8000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/mlsec-dev-rg"


def test_a_nested_id_is_read_into_its_types_and_names_and_rebuilt():
    value = f"{RG}/providers/Microsoft.Storage/storageAccounts/mlsecdata/blobServices/default"
    parsed = parse_resource_id(value)
    assert parsed == ResourceId(
        SUB, "mlsec-dev-rg", "Microsoft.Storage", ("storageAccounts", "blobServices"), ("mlsecdata", "default")
    )
    assert (parsed.type, parsed.name) == ("Microsoft.Storage/storageAccounts/blobServices", "default")
    assert parsed.is_a("microsoft.storage/STORAGEACCOUNTS/blobservices")
    assert resource_path(parsed) == value


def test_segment_names_are_matched_without_regard_to_case_as_arm_does():
    parsed = parse_resource_id(f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/g/PROVIDERS/Microsoft.ApiManagement/service/gw")
    assert parsed is not None and parsed.is_a("Microsoft.ApiManagement/service")
    assert (parsed.subscription, parsed.resource_group, parsed.name) == (SUB, "g", "gw")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "gw",
        f"/subscriptions/{SUB}",
        RG,
        f"{RG}/providers/Microsoft.ApiManagement/service",
        f"{RG}/providers/Microsoft.ApiManagement/service/gw/apis",
        f"{RG}/providers/Microsoft.ApiManagement/service/gw/",
        f"subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.ApiManagement/service/gw",
        f"{RG}/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Insights/diagnosticSettings/d",
    ],
)
def test_what_is_not_the_id_of_one_resource_is_none(value):
    assert parse_resource_id(value) is None
