"""The table of supported diagnostic categories, the helper that uses it, and MLSEC-DIAG-001 at preview time."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from components.common import DiagnosticsTarget, diagnostic_setting
from policies.catalog import azure
from policies.catalog.diagnostics import SUPPORTED, TOKEN_TYPES, arm_type_of, categories, lookup
from policies.catalog.rules.diagnostics import DIAGNOSTIC_CATEGORIES
from scripts.gate.evaluate import evaluate

RG = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg"
ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa"
NO_SUPPRESSIONS = Path(__file__).resolve().parents[1] / "policies" / "data" / "no-suppressions.yaml"


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        (ACCOUNT, "Microsoft.Storage/storageAccounts"),
        (f"{ACCOUNT}/blobServices/default", "Microsoft.Storage/storageAccounts/blobServices"),
        (f"{ACCOUNT}/fileServices/default", "Microsoft.Storage/storageAccounts/fileServices"),
        (
            f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        ),
        (
            f"{ACCOUNT}/providers/Microsoft.Insights/diagnosticSettings/d",
            "Microsoft.Insights/diagnosticSettings",
        ),
        ("mlsecdevdataacct", None),
        (f"{RG}", None),
        (f"{ACCOUNT}/blobServices", None),
        (f"{RG}/providers/Microsoft.Storage", None),
        ("/tenants/t/providers/Microsoft.Storage/storageAccounts/sa", None),
    ],
)
def test_arm_type_of_a_resource_id(resource_id: str, expected: str | None) -> None:
    assert arm_type_of(resource_id) == expected


def test_storage_types_take_capacity_and_transaction_never_allmetrics() -> None:
    for kind in ("", "/blobServices", "/fileServices"):
        row = categories(f"Microsoft.Storage/storageAccounts{kind}")
        assert row.metrics == ("Capacity", "Transaction")
    assert categories("Microsoft.Storage/storageAccounts").logs == ()
    assert categories("Microsoft.Storage/storageAccounts/blobServices").logs == (
        "StorageDelete",
        "StorageRead",
        "StorageWrite",
    )
    assert categories("Microsoft.Network/networkSecurityGroups").metrics == ()
    assert lookup("microsoft.keyvault/VAULTS") is categories("Microsoft.KeyVault/vaults")
    assert lookup("Microsoft.Network/privateEndpoints") is None


def test_every_diagnosed_type_has_a_row_with_its_sources() -> None:
    for token in azure.DIAGNOSED_TYPES:
        row = categories(TOKEN_TYPES[token])
        assert row.logs or row.metrics, token
        assert set(row.groups) <= {"allLogs", "audit"}
        assert not row.groups or row.logs, f"{token}: a category group needs log categories"
    for row in SUPPORTED:
        assert row.sources and all(
            s.startswith("https://learn.microsoft.com/azure/azure-monitor/") for s in row.sources
        )
    assert len({row.arm_type.lower() for row in SUPPORTED}) == len(SUPPORTED)


def test_the_helper_refuses_a_category_the_type_does_not_have() -> None:
    target = DiagnosticsTarget(workspace_id="/law")
    refused = r"^sa-diag: Microsoft\.Storage/storageAccounts has no diagnostic category AllMetrics$"
    with pytest.raises(ValueError, match=refused):
        diagnostic_setting(
            "sa-diag",
            None,  # type: ignore[arg-type]
            ACCOUNT,
            target,
            target_type="Microsoft.Storage/storageAccounts",
            metric_categories=["AllMetrics"],
        )
    with pytest.raises(KeyError, match=r"Microsoft\.Network/privateEndpoints: no supported diagnostic categories"):
        diagnostic_setting(
            "pe-diag",
            None,  # type: ignore[arg-type]
            "/pe",
            target,
            target_type="Microsoft.Network/privateEndpoints",
        )
    with pytest.raises(ValueError, match="would send no log or metric category"):
        diagnostic_setting(
            "sa-diag",
            None,  # type: ignore[arg-type]
            ACCOUNT,
            target,
            target_type="Microsoft.Storage/storageAccounts",
            metrics=False,
        )


def _findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    report = evaluate(
        document, rules=[DIAGNOSTIC_CATEGORIES], suppressions_file=NO_SUPPRESSIONS, today=dt.date(2026, 11, 29)
    )
    return sorted((f.urn.rsplit("::", 1)[-1], f.message) for f in report.findings if f.rule == DIAGNOSTIC_CATEGORIES.id)


def _at_preview(document: dict[str, Any]) -> dict[str, Any]:
    """The plan as ``pulumi preview`` sees it before anything exists: every resourceUri unknown."""
    changed = copy.deepcopy(document)
    for r in changed["resources"]:
        if r["type"] == azure.DIAGNOSTIC_SETTING:
            r["inputs"]["resourceUri"] = "[unknown]"
    return changed


def _setting(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in document["resources"] if r["name"] == name and r["type"] == azure.DIAGNOSTIC_SETTING)


def test_shipped_plans_pass_with_known_and_unknown_resource_uris(dev_plan: Any, prod_plan: Any) -> None:
    for document in (dev_plan.document, prod_plan.document):
        assert _findings(document) == []
        assert _findings(_at_preview(document)) == []


def test_at_preview_the_dependency_tells_the_type(dev_plan: Any) -> None:
    document = _at_preview(dev_plan.document)
    _setting(document, "mlsec-dev-fraud-sys-diag")["inputs"]["metrics"] = [{"category": "AllMetrics", "enabled": True}]
    _setting(document, "mlsec-dev-fraud-sys-blob-diag")["inputs"]["logs"] = [
        {"categoryGroup": "audit", "enabled": True}
    ]
    _setting(document, "mlsec-dev-kv-diag")["inputs"]["logs"] = [{"category": "StorageRead", "enabled": True}]
    assert _findings(document) == [
        (
            "mlsec-dev-fraud-sys-blob-diag",
            "category group audit is not supported by Microsoft.Storage/storageAccounts (supported: none)",
        ),
        (
            "mlsec-dev-fraud-sys-diag",
            "metric category AllMetrics is not supported by Microsoft.Storage/storageAccounts "
            "(supported: Capacity, Transaction)",
        ),
        (
            "mlsec-dev-kv-diag",
            "log category StorageRead is not supported by Microsoft.KeyVault/vaults "
            "(supported: AuditEvent, AzurePolicyEvaluationDetails)",
        ),
    ]


def test_at_preview_a_target_outside_the_table_is_a_finding(dev_plan: Any) -> None:
    document = _at_preview(dev_plan.document)
    setting = _setting(document, "mlsec-dev-kv-diag")
    pe = next(r for r in document["resources"] if r["type"] == azure.PRIVATE_ENDPOINT)
    law = next(r for r in document["resources"] if r["type"] == azure.LOG_ANALYTICS)
    setting["dependencies"] = [pe["urn"], law["urn"]]
    assert _findings(document) == [
        (
            "mlsec-dev-kv-diag",
            "target type azure-native:network:PrivateEndpoint has no supported diagnostic categories in the table",
        )
    ]
    setting["dependencies"] = []
    assert _findings(document) == [
        ("mlsec-dev-kv-diag", "the target resource cannot be told (resourceUri unknown and no dependency names it)")
    ]
