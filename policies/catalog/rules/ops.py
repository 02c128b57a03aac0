"""Operations: locks, diagnostics to Log Analytics, tags, log integrity and alerting."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackRule, StackView, Threat, expect, field_check
from policies.catalog.values import UNKNOWN, as_dict, as_list, get, show

_SUB_SERVICE = ("/blobServices/", "/fileServices/", "/queueServices/", "/tableServices/")


def _locks(stack: StackView) -> Iterator[tuple[str, str]]:
    for res in stack.of_type(azure.STORAGE_ACCOUNT, azure.KEY_VAULT):
        levels = [lock.props.get("level") for lock in stack.dependents(res, azure.LOCK)]
        if not any(level in ("CanNotDelete", "ReadOnly", UNKNOWN) for level in levels):
            kind = res.type.rsplit(":", 1)[-1]
            yield res.urn, f"{kind} {res.name} has no CanNotDelete lock"


LOCKS = StackRule(
    id="MLSEC-OPS-001",
    name="Storage accounts and Key Vaults carry a CanNotDelete lock",
    severity=Severity.MEDIUM,
    threat=Threat.AVAILABILITY,
    rationale="A lock stops a mistaken or malicious delete of the training data or the encryption keys, even by an "
    "Owner, until someone removes the lock on purpose (which the activity log records).",
    remediation="Leave the locks setting on (it is on by default); a stack that must be torn down turns it off "
    "with {enabled: false, reason: ...}.",
    opt_out="locks",
    check=_locks,
)


def _diagnosed(stack: StackView, setting: Res) -> list[Res]:
    """What a diagnostic setting is for: what it depends on besides Log Analytics, else Log Analytics itself."""
    deps = stack.deps(setting, *azure.DIAGNOSED_TYPES)
    return [d for d in deps if d.type != azure.LOG_ANALYTICS] or deps


def _diagnostics(stack: StackView) -> Iterator[tuple[str, str]]:
    covered: set[str] = set()
    for setting in stack.of_type(azure.DIAGNOSTIC_SETTING):
        if not any(part in str(setting.props.get("resourceUri", "")) for part in _SUB_SERVICE):
            covered |= {r.urn for r in _diagnosed(stack, setting)}
    for res in stack.of_type(*azure.DIAGNOSED_TYPES):
        if res.urn not in covered:
            kind = res.type.rsplit(":", 1)[-1]
            yield res.urn, f"{kind} {res.name} has no diagnostic setting"


DIAGNOSTICS = StackRule(
    id="MLSEC-OPS-002",
    name="Every resource that has diagnostic settings sends them to Log Analytics",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="Resource logs (Key Vault AuditEvent, ML job and endpoint logs, registry pulls, NSG events) are how "
    "misuse is seen and investigated.",
    remediation="Add a diagnostic setting to the platform Log Analytics workspace with "
    "components.common.diagnostic_setting: it sends every log and metric category the resource type supports "
    "(policies/catalog/diagnostics.py; storage takes Capacity and Transaction, not AllMetrics).",
    mappings=Mappings(
        azure_policy="Resource logs in Key Vault should be enabled; Resource logs in Azure Machine Learning "
        "Workspaces should be enabled",
        psrule="Azure.KeyVault.Logs",
    ),
    check=_diagnostics,
)


def _destination(res: Res) -> Iterator[str]:
    workspace = get(res.props, "workspaceId")
    if workspace is not UNKNOWN and not isinstance(workspace, str):
        yield f"workspaceId must name the Log Analytics workspace (found {show(workspace)})"
    entries = as_list(res.props.get("logs")) + as_list(res.props.get("metrics"))
    if not entries and res.props.get("logs") is not UNKNOWN and res.props.get("metrics") is not UNKNOWN:
        yield "the setting sends no log or metric category"
    for entry in entries:
        if isinstance(entry, dict) and entry.get("enabled") is False:
            label = entry.get("category") or entry.get("categoryGroup")
            yield f"category {label} is disabled"


DIAGNOSTIC_DESTINATION = ResourceRule(
    id="MLSEC-OPS-003",
    name="Diagnostic settings send enabled categories to Log Analytics",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="A setting with disabled categories or without a workspace looks like logging but records nothing "
    "the alerts can query.",
    remediation="Set workspaceId to the platform Log Analytics workspace and enable every listed category.",
    types=(azure.DIAGNOSTIC_SETTING,),
    check=_destination,
)


def _tags(res: Res) -> Iterator[str]:
    if "location" not in res.props or res.props.get("tags") is UNKNOWN:
        return
    tags = as_dict(res.props.get("tags"))
    missing = [
        t for t in azure.REQUIRED_TAGS if tags.get(t) is not UNKNOWN and not (isinstance(tags.get(t), str) and tags[t])
    ]
    if missing:
        yield f"tags {', '.join(missing)} missing"


TAGS = ResourceRule(
    id="MLSEC-OPS-004",
    name="Every resource that takes tags carries environment, team, owner, cost-center and data-classification",
    severity=Severity.LOW,
    threat=Threat.EVASION,
    rationale="Alerts, reviews and incident response route by owner and classification; an untagged resource "
    "has no one to call and no handling rules.",
    remediation="Set the tags in the stack file (tags:) and merge the component's tags into every resource.",
    mappings=Mappings(azure_policy="Require a tag on resources", psrule="Azure.Resource.UseTags"),
    types=(),
    check=_tags,
)

LAW_LOCAL_AUTH = ResourceRule(
    id="MLSEC-OPS-005",
    name="Log Analytics accepts only Entra ID authenticated ingestion and queries",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="With workspace keys anyone holding one can inject forged records or read the audit trail.",
    remediation="Set features.disableLocalAuth to true.",
    mappings=Mappings(azure_policy="Log Analytics workspaces should block non-Azure Active Directory based ingestion"),
    types=(azure.LOG_ANALYTICS,),
    check=field_check("features.disableLocalAuth", True),
)

APPI_LOCAL_AUTH = ResourceRule(
    id="MLSEC-OPS-006",
    name="Application Insights accepts telemetry only from Entra ID authenticated senders",
    severity=Severity.LOW,
    threat=Threat.EVASION,
    rationale="The instrumentation key is embedded in clients; with local auth on, anyone can forge telemetry.",
    remediation="Set disableLocalAuth to true.",
    mappings=Mappings(
        azure_policy="Application Insights components should block non-Azure Active Directory based ingestion"
    ),
    types=(azure.APP_INSIGHTS,),
    check=field_check("disableLocalAuth", True),
)


def _retention(res: Res) -> Iterator[str]:
    minimum = 90 if res.tag("environment") == "prod" else 30
    days = get(res.props, "retentionInDays")
    if days is not UNKNOWN and not (isinstance(days, int) and days >= minimum):
        yield f"retentionInDays must be at least {minimum} (found {show(days)})"


LOG_RETENTION = ResourceRule(
    id="MLSEC-OPS-007",
    name="Log Analytics keeps logs at least 30 days (90 in production)",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="Slow extraction and poisoning campaigns are found weeks later; the logs must still be there.",
    remediation="Set monitoring.logRetentionDays (retentionInDays) to at least 30, or 90 in prod.",
    types=(azure.LOG_ANALYTICS,),
    check=_retention,
)


def _alert(res: Res) -> Iterator[str]:
    yield from expect(res.props, "enabled", [True], absent_ok=True)
    groups = get(res.props, "actions.actionGroups")
    if groups is not UNKNOWN and not as_list(groups):
        yield "actions.actionGroups must name at least one action group"


ALERTS = ResourceRule(
    id="MLSEC-OPS-008",
    name="Alert rules are enabled and notify an action group",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="The tripwires on the data zones only help if they fire and someone is told.",
    remediation="Set enabled to true and actions.actionGroups to the security action group.",
    types=(azure.SCHEDULED_QUERY_RULE,),
    check=_alert,
)

ALERT_TIME_RANGE_LIMIT = 2 * 24 * 3600
"""Seconds a log search alert may look back: two days."""

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def duration_seconds(text: str) -> float | None:
    """An ISO 8601 duration in seconds (years and months count as at least 365 and 28 days); None if invalid."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    days = parts["years"] * 365 + parts["months"] * 28 + parts["weeks"] * 7 + parts["days"]
    return days * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def _alert_time_range(res: Res) -> Iterator[str]:
    for key in ("windowSize", "overrideQueryTimeRange"):
        value = res.props.get(key)
        if value is UNKNOWN or value is None or key not in res.props:
            continue
        seconds = duration_seconds(value) if isinstance(value, str) else None
        if seconds is None:
            yield f"{key} must be an ISO 8601 duration (found {show(value)})"
        elif seconds > ALERT_TIME_RANGE_LIMIT:
            yield f"{key} must be at most P2D, the longest time range a log search alert queries (found {show(value)})"


ALERT_TIME_RANGE = ResourceRule(
    id="MLSEC-OPS-020",
    name="Log search alerts query at most the two days Azure Monitor allows",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="Azure Monitor limits a log search alert's time range to two days: a detection written for a longer "
    "windowSize or overrideQueryTimeRange never sees the data it was written for "
    "(learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule, Override query time range; "
    "the REST spec, monitor Microsoft.Insights 2023-12-01 scheduledQueryRule_API.json, states no maximum).",
    remediation="Redesign the detection within two days (a shorter baseline, or a summary table maintained on a "
    "schedule) and set windowSize and overrideQueryTimeRange to at most P2D.",
    types=(azure.SCHEDULED_QUERY_RULE,),
    check=_alert_time_range,
)

RULES = (
    LOCKS,
    DIAGNOSTICS,
    DIAGNOSTIC_DESTINATION,
    TAGS,
    LAW_LOCAL_AUTH,
    APPI_LOCAL_AUTH,
    LOG_RETENTION,
    ALERTS,
    ALERT_TIME_RANGE,
)
