"""Cases of the stealing-budget rule (MLSEC-EPT-030) for the quota-volume alert, which watches the caller who
spreads calls evenly under the 15-minute caller-volume threshold: it must exist and must be able to fire."""

from __future__ import annotations

from typing import Any

_QUERY = "criteria.allOf.0.query"


def _query(threshold: int) -> str:
    return (
        'ApiManagementGatewayLogs\n| extend caller = tostring(BackendRequestHeaders["x-caller-id"])\n'
        f"| summarize calls = count() by caller\n| where calls > {threshold}"
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

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    # the alert removed, disabled, or its window beyond the two days a log search alert queries
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-quota-volume",
        None,
        None,
        [("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT)],
    ),
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-quota-volume",
        "enabled",
        False,
        [("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT)],
    ),
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-quota-volume",
        "windowSize",
        "P3D",
        [("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT)],
    ),
    # a window Azure refuses (it accepts 6 hours, 1 day and 2 days, not 12 hours) never runs
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-quota-volume",
        "windowSize",
        "PT12H",
        [("mlsec-dev-fraud-score-blue", NO_PERIOD_ALERT)],
    ),
    # dev: a day spans at most two quota periods of 10,000 calls, so a threshold of 20,000 never fires
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-quota-volume",
        _QUERY,
        _query(20_000),
        [("mlsec-dev-gw-quota-volume", NEVER_FIRES)],
    ),
]
