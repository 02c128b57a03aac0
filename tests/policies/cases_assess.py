"""Cases of the stealing-budget rule (MLSEC-EPT-030) that need no measured record: the caller-volume alert
must exist and must be able to fire under the rate limit. Cases with records are in tests/assess."""

from __future__ import annotations

from typing import Any

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

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    # dev: 60 calls per 60 s lets at most 900 calls through in 15 minutes; an alert above 900 never fires
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-caller-volume",
        _QUERY,
        _query(900),
        [
            (
                "mlsec-dev-gw-caller-volume",
                "the caller-volume alert fires above 900 calls in 15 minutes, but the rate limit lets at most 900 "
                "through in 15 minutes: the alert can never fire",
            )
        ],
    ),
    ("MLSEC-EPT-030", "dev", "mlsec-dev-gw-caller-volume", None, None, [("mlsec-dev-fraud-score-blue", NO_ALERT)]),
    (
        "MLSEC-EPT-030",
        "dev",
        "mlsec-dev-gw-caller-volume",
        "enabled",
        False,
        [("mlsec-dev-fraud-score-blue", NO_ALERT)],
    ),
]
