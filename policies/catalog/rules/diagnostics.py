"""Diagnostic settings: only categories Azure Monitor accepts for the target's resource type."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.diagnostics import SUB_SERVICES, TOKEN_TYPES, Categories, arm_type_of, lookup
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.values import UNKNOWN, as_list, show


def _targets(stack: StackView, setting: Res) -> tuple[list[str], str | None]:
    """The ARM types the setting may target, and a finding if it cannot be told.

    A known ``resourceUri`` names the type itself (sub-resources such as ``/blobServices/default``
    included). At preview the URI of a resource not created yet is unknown: the type comes from the
    resource the setting depends on (besides the Log Analytics workspace it sends to), and for a storage
    account it may be the account or one of its services.
    """
    uri = setting.props.get("resourceUri")
    if isinstance(uri, str):
        arm_type = arm_type_of(uri)
        if arm_type is None:
            return [], f"resourceUri {show(uri)} is not an ARM resource ID"
        return [arm_type], None
    if uri is not UNKNOWN and uri is not None:
        return [], f"resourceUri must be an ARM resource ID (found {show(uri)})"
    deps = [stack.by_urn[d] for d in setting.dependencies if d in stack.by_urn]
    deps = [d for d in deps if d.type.startswith("azure-native:") and d.type != azure.LOG_ANALYTICS] or [
        d for d in deps if d.type == azure.LOG_ANALYTICS
    ]
    if not deps:
        return [], "the target resource cannot be told (resourceUri unknown and no dependency names it)"
    unknown = sorted({d.type for d in deps if d.type not in TOKEN_TYPES})
    if unknown:
        return [], f"target type {', '.join(unknown)} has no supported diagnostic categories in the table"
    types = [TOKEN_TYPES[d.type] for d in deps]
    return [t for base in types for t in (base, *SUB_SERVICES.get(base, ()))], None


def _problems(setting: Res, row: Categories) -> list[str]:
    """What the setting sends that ``row``'s type does not support."""
    found: list[str] = []
    for entry in as_list(setting.props.get("logs")):
        if not isinstance(entry, dict):
            continue
        category, group = entry.get("category"), entry.get("categoryGroup")
        if isinstance(category, str) and category not in row.logs:
            supported = ", ".join(row.logs) or "none"
            found.append(f"log category {category} is not supported by {row.arm_type} (supported: {supported})")
        if isinstance(group, str) and group not in row.groups:
            supported = ", ".join(row.groups) or "none"
            found.append(f"category group {group} is not supported by {row.arm_type} (supported: {supported})")
    for entry in as_list(setting.props.get("metrics")):
        if not isinstance(entry, dict):
            continue
        category = entry.get("category")
        if isinstance(category, str) and category not in row.metrics:
            supported = ", ".join(row.metrics) or "none"
            found.append(f"metric category {category} is not supported by {row.arm_type} (supported: {supported})")
    return found


def _categories(stack: StackView) -> Iterator[tuple[str, str]]:
    for setting in stack.of_type(azure.DIAGNOSTIC_SETTING):
        types, problem = _targets(stack, setting)
        if problem is not None:
            yield setting.urn, problem
            continue
        rows = [lookup(t) for t in types]
        missing = [t for t, row in zip(types, rows, strict=True) if row is None]
        if missing:
            yield setting.urn, f"target type {', '.join(missing)} has no supported diagnostic categories in the table"
            continue
        judged = [_problems(setting, row) for row in rows if row is not None]
        if all(judged):  # no candidate type accepts every category: report against the closest one
            for message in min(judged, key=len):
                yield setting.urn, message


DIAGNOSTIC_CATEGORIES = StackRule(
    id="MLSEC-DIAG-001",
    name="Diagnostic settings use only the log categories, category groups and metric categories the target's "
    "resource type supports",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="Azure rejects a diagnostic setting that names a category its target type does not have (AllMetrics "
    "on a storage account or its blob and file services answers 400, supported categories are "
    "'Capacity;Transaction'): the deployment fails, and a setting dropped to get past it leaves the resource "
    "unlogged. The supported categories per type come from Azure Monitor's supported-logs and supported-metrics "
    "reference (https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/"
    "microsoft-storage-storageaccounts-blobservices-logs and the pages cited in policies/catalog/diagnostics.py). "
    "A target type missing from that table is reported, not passed.",
    remediation="Create diagnostic settings with components.common.diagnostic_setting and the target's ARM type: it "
    "picks the categories from policies/catalog/diagnostics.py (storage: Capacity and Transaction metrics, "
    "services' StorageRead/StorageWrite/StorageDelete logs; NSGs: no metrics). A new target type needs its row, "
    "with the Microsoft pages it comes from.",
    check=_categories,
)

RULES = (DIAGNOSTIC_CATEGORIES,)
