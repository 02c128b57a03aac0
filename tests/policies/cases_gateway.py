"""Failing cases of the API gateway rules: zones and units, request schemas for validated content, and
log search alert time ranges (see tests/policies/test_policy_rules.py for the format)."""

from __future__ import annotations

from typing import Any

from tests.policies.policy_cases import DELETE

_API = "mlsec-dev-gw-fraud-score-api"
_OP = "mlsec-dev-gw-fraud-score-score-op"
_REPRESENTATION = (
    f"API {_API} validates application/json as JSON but the application/json request representation of operation {_OP} "
)
_ANSWER_400 = " (every such call would get 400)"
_RANGE = "must be at most P2D, the longest time range a log search alert queries"

CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-APIM-020",
        "prod",
        "mlsec-prod-gw-apim",
        "sku.capacity",
        2,
        [
            (
                "mlsec-prod-gw-apim",
                "sku.capacity 2 does not divide evenly across the 3 availability zones in zones (use a multiple of 3)",
            )
        ],
    ),
    (
        "MLSEC-APIM-020",
        "dev",
        "mlsec-dev-gw-apim",
        "zones",
        ["1", "2"],
        [
            ("mlsec-dev-gw-apim", 'zones ["1", "2"] need the Premium tier (found sku.name "Developer")'),
            (
                "mlsec-dev-gw-apim",
                "sku.capacity 1 does not divide evenly across the 2 availability zones in zones (use a multiple of 2)",
            ),
        ],
    ),
    (
        "MLSEC-APIM-021",
        "dev",
        "mlsec-dev-gw-fraud-score-schema",
        None,
        None,
        [
            (
                _API,
                _REPRESENTATION
                + 'names schema "score-request", which the stack does not define for the API'
                + _ANSWER_400,
            )
        ],
    ),
    (
        "MLSEC-APIM-021",
        "dev",
        _OP,
        "request",
        DELETE,
        [
            (
                _API,
                f"API {_API} validates application/json as JSON but operation {_OP} declares no application/json "
                "request representation with a schema (every such call would get 400)",
            )
        ],
    ),
    (
        "MLSEC-APIM-021",
        "dev",
        _OP,
        "request.representations.0.schemaId",
        DELETE,
        [(_API, _REPRESENTATION + "names no schemaId" + _ANSWER_400)],
    ),
    (
        "MLSEC-APIM-021",
        "dev",
        _OP,
        "request.representations.0.typeName",
        "Score",
        [(_API, _REPRESENTATION + 'names type "Score", which schema "score-request" does not define' + _ANSWER_400)],
    ),
    (
        "MLSEC-APIM-021",
        "dev",
        _OP,
        None,
        None,
        [(_API, f"API {_API} validates application/json as JSON but has no operation declaring a request schema")],
    ),
    (
        "MLSEC-OPS-020",
        "dev",
        "mlsec-dev-gw-new-caller",
        "overrideQueryTimeRange",
        "P14D",
        [("mlsec-dev-gw-new-caller", f'overrideQueryTimeRange {_RANGE} (found "P14D")')],
    ),
    (
        "MLSEC-OPS-020",
        "dev",
        "mlsec-dev-gw-caller-volume",
        "windowSize",
        "PT49H",
        [("mlsec-dev-gw-caller-volume", f'windowSize {_RANGE} (found "PT49H")')],
    ),
    (
        "MLSEC-OPS-020",
        "dev",
        "mlsec-dev-gw-new-caller",
        "overrideQueryTimeRange",
        "2 days",
        [("mlsec-dev-gw-new-caller", 'overrideQueryTimeRange must be an ISO 8601 duration (found "2 days")')],
    ),
]
