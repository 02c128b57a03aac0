"""Failing cases of the stealing-budget rule (policies/catalog/rules/stealing.py, MLSEC-EPT-030) that need
no measured record: the caller-volume and quota-volume alerts must exist and must be able to fire under the
rate limit. Cases with records are in tests/assess."""

from __future__ import annotations

from tests.policies.case import Case, StackCase

_QUERY = "criteria.allOf.0.query"


def _query(threshold: int) -> str:
    return (
        'ApiManagementGatewayLogs\n| extend caller = tostring(BackendRequestHeaders["x-caller-id"])\n'
        f"| summarize calls = count() by caller\n| where calls > {threshold}"
    )


NO_ALERT = (
    "no enabled 15-minute caller-volume alert (summarize calls = count() by caller | where calls > N) watches the "
    "scoring calls: one caller may use the whole quota unnoticed"
)

NO_PERIOD_ALERT = (
    "no enabled quota-volume alert (summarize calls = count() by caller | where calls > N, window longer than 15 "
    "minutes and at most P2D) watches the scoring calls: a caller who spreads calls under the 15-minute threshold "
    "may use the whole quota unnoticed"
)

NEVER_FIRES = (
    "the quota-volume alert fires above 20000 calls in 86400 s, but the rate limit and quota let at most 20000 "
    "through in 86400 s: the alert can never fire"
)

CASES: tuple[Case, ...] = (
    # dev: 60 calls per 60 s lets at most 900 calls through in 15 minutes; an alert above 900 never fires
    Case(
        name="caller-volume-alert-at-900-never-fires",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-caller-volume",
        path=_QUERY,
        value=_query(900),
        expected=(
            (
                "mlsec-dev-gw-caller-volume",
                "the caller-volume alert fires above 900 calls in 15 minutes, but the rate limit lets at most 900 "
                "through in 15 minutes: the alert can never fire",
            ),
        ),
    ),
    Case(
        name="caller-volume-alert-removed",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-caller-volume",
        path=None,
        value=None,
        expected=(("mlsec-dev-fraud-score-blue", NO_ALERT),),
    ),
    Case(
        name="caller-volume-alert-disabled",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-caller-volume",
        path="enabled",
        value=False,
        expected=(("mlsec-dev-fraud-score-blue", NO_ALERT),),
    ),
    # the alert removed, disabled, or its window beyond the two days a log search alert queries
    Case(
        name="quota-volume-alert-removed",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-quota-volume",
        path=None,
        value=None,
        expected=(("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT),),
    ),
    Case(
        name="quota-volume-alert-disabled",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-quota-volume",
        path="enabled",
        value=False,
        expected=(("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT),),
    ),
    Case(
        name="quota-volume-alert-window-three-days",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-quota-volume",
        path="windowSize",
        value="P3D",
        expected=(("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT),),
    ),
    # a window Azure refuses (it accepts 6 hours, 1 day and 2 days, not 12 hours) never runs
    Case(
        name="quota-volume-alert-window-twelve-hours",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-quota-volume",
        path="windowSize",
        value="PT12H",
        expected=(("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT),),
    ),
    # dev: a day spans at most two quota periods of 10,000 calls, so a threshold of 20,000 never fires
    Case(
        name="quota-volume-alert-at-20000-never-fires",
        rule="MLSEC-EPT-030",
        base="dev",
        resource="mlsec-dev-gw-quota-volume",
        path=_QUERY,
        value=_query(20_000),
        expected=(("mlsec-dev-gw-quota-volume", NEVER_FIRES),),
    ),
)

STACK_CASES: tuple[StackCase, ...] = (
    # dev: the shipped rate limit (60 calls per 60 s) lets at most 900 calls through in 15 minutes
    StackCase(
        name="stack-file-caller-volume-threshold-900-never-fires",
        rule="MLSEC-EPT-030",
        stack="dev",
        key="gateway.callerVolumeThreshold",
        value=900,
        expected=(
            (
                "mlsec-dev-gw-caller-volume",
                "the caller-volume alert fires above 900 calls in 15 minutes, but the rate limit lets at most 900 "
                "through in 15 minutes: the alert can never fire",
            ),
        ),
    ),
)
