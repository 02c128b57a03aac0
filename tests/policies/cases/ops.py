"""Failing cases of the operations rules (policies/catalog/rules/ops.py, MLSEC-OPS-*): locks, diagnostic
settings, tags, local auth, retention, tripwires and log search alert time ranges."""

from __future__ import annotations

from tests.policies.case import Case, StackCase
from tests.policies.policy_cases import DELETE

_RANGE = "must be at most P2D, the longest time range a log search alert queries"

CASES: tuple[Case, ...] = (
    Case(
        name="prod-key-vault-lock-removed",
        rule="MLSEC-OPS-001",
        base="prod",
        resource="mlsec-prod-kv-lock",
        path=None,
        value=None,
        expected=(("mlsec-prod-kv-kv", "Vault mlsec-prod-kv-kv has no CanNotDelete lock"),),
    ),
    Case(
        name="registry-diagnostics-removed",
        rule="MLSEC-OPS-002",
        base="dev",
        resource="mlsec-dev-fraud-acr-diag",
        path=None,
        value=None,
        expected=(("mlsec-dev-fraudacr", "Registry mlsec-dev-fraudacr has no diagnostic setting"),),
    ),
    Case(
        name="log-analytics-diagnostics-removed",
        rule="MLSEC-OPS-002",
        base="dev",
        resource="mlsec-dev-mon-law-diag",
        path=None,
        value=None,
        expected=(("mlsec-dev-mon-law", "Workspace mlsec-dev-mon-law has no diagnostic setting"),),
    ),
    Case(
        name="key-vault-diagnostics-all-logs-off",
        rule="MLSEC-OPS-003",
        base="dev",
        resource="mlsec-dev-kv-diag",
        path="logs.0.enabled",
        value=False,
        expected=(("mlsec-dev-kv-diag", "category allLogs is disabled"),),
    ),
    Case(
        name="key-vault-diagnostics-without-workspace",
        rule="MLSEC-OPS-003",
        base="dev",
        resource="mlsec-dev-kv-diag",
        path="workspaceId",
        value=DELETE,
        expected=(("mlsec-dev-kv-diag", "workspaceId must name the Log Analytics workspace (found not set)"),),
    ),
    Case(
        name="key-vault-owner-tag-removed",
        rule="MLSEC-OPS-004",
        base="dev",
        resource="mlsec-dev-kv-kv",
        path="tags.owner",
        value=DELETE,
        expected=(("mlsec-dev-kv-kv", "tags owner missing"),),
    ),
    Case(
        name="log-analytics-local-auth-enabled",
        rule="MLSEC-OPS-005",
        base="dev",
        resource="mlsec-dev-mon-law",
        path="features.disableLocalAuth",
        value=False,
        expected=(("mlsec-dev-mon-law", "features.disableLocalAuth must be true (found false)"),),
    ),
    Case(
        name="app-insights-local-auth-enabled",
        rule="MLSEC-OPS-006",
        base="dev",
        resource="mlsec-dev-mon-appi",
        path="disableLocalAuth",
        value=False,
        expected=(("mlsec-dev-mon-appi", "disableLocalAuth must be true (found false)"),),
    ),
    Case(
        name="prod-log-retention-60-days",
        rule="MLSEC-OPS-007",
        base="prod",
        resource="mlsec-prod-mon-law",
        path="retentionInDays",
        value=60,
        expected=(("mlsec-prod-mon-law", "retentionInDays must be at least 90 (found 60)"),),
    ),
    Case(
        name="raw-tripwire-disabled",
        rule="MLSEC-OPS-008",
        base="dev",
        resource="mlsec-dev-data-tripwire-raw",
        path="enabled",
        value=False,
        expected=(("mlsec-dev-data-tripwire-raw", "enabled must be true (found false)"),),
    ),
    Case(
        name="raw-tripwire-without-action-group",
        rule="MLSEC-OPS-008",
        base="dev",
        resource="mlsec-dev-data-tripwire-raw",
        path="actions.actionGroups",
        value=[],
        expected=(("mlsec-dev-data-tripwire-raw", "actions.actionGroups must name at least one action group"),),
    ),
    Case(
        name="new-caller-alert-range-fourteen-days",
        rule="MLSEC-OPS-020",
        base="dev",
        resource="mlsec-dev-gw-new-caller",
        path="overrideQueryTimeRange",
        value="P14D",
        expected=(("mlsec-dev-gw-new-caller", f'overrideQueryTimeRange {_RANGE} (found "P14D")'),),
    ),
    Case(
        name="caller-volume-alert-window-49-hours",
        rule="MLSEC-OPS-020",
        base="dev",
        resource="mlsec-dev-gw-caller-volume",
        path="windowSize",
        value="PT49H",
        expected=(("mlsec-dev-gw-caller-volume", f'windowSize {_RANGE} (found "PT49H")'),),
    ),
    Case(
        name="new-caller-alert-range-not-iso-8601",
        rule="MLSEC-OPS-020",
        base="dev",
        resource="mlsec-dev-gw-new-caller",
        path="overrideQueryTimeRange",
        value="2 days",
        expected=(("mlsec-dev-gw-new-caller", 'overrideQueryTimeRange must be an ISO 8601 duration (found "2 days")'),),
    ),
)

STACK_CASES: tuple[StackCase, ...] = (
    # the settings validation accepts 30 days and more in every environment; the rule wants 90 in prod
    StackCase(
        name="prod-stack-file-log-retention-60-days",
        rule="MLSEC-OPS-007",
        stack="prod",
        key="monitoring.logRetentionDays",
        value=60,
        expected=(("mlsec-prod-mon-law", "retentionInDays must be at least 90 (found 60)"),),
    ),
)
