"""The stealing budget: how many queries the gateway lets one caller make, against what stealing costs.

``python -m scripts.assess budget`` (:func:`budget_main`) compares a stack's gateway limits with the extraction
cost an assessment measured. The arithmetic is the stealing-budget rule's (policies/catalog/rules/stealing.py,
MLSEC-EPT-030), so the command and the gate never disagree; its docstring gives the formulas and their sources.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from policies.catalog.rules.stealing import (
    ALERT_WINDOW_SECONDS,
    Budget,
    Limits,
    budget,
    period_reach,
    stolen_unnoticed,
)
from scripts.assess.stack import stack_settings
from scripts.common.cli import EXIT_FOUND, EXIT_OK

__all__ = [
    "ALERT_WINDOW_SECONDS",
    "Budget",
    "Limits",
    "budget",
    "budget_main",
    "measured_cost",
    "period_reach",
    "stack_limits",
    "stolen_unnoticed",
]


def stack_limits(stack: str, root: Path) -> Limits:
    """The per-caller limits of the stack's gateway, validated as the program validates them."""
    gateway = stack_settings(stack, root).gateway
    window, threshold = gateway.quota_volume_alert()
    return Limits(
        rate_calls=gateway.rate_limit.calls,
        rate_period_seconds=gateway.rate_limit.renewal_period_seconds,
        quota_calls=gateway.quota.calls,
        quota_period_seconds=gateway.quota.renewal_period_seconds,
        alert_threshold=gateway.caller_volume_threshold,
        period_alert=(threshold, window),
    )


def measured_cost(path: Path) -> tuple[int | None, float, int]:
    """queriesToTarget, fidelityTarget and the largest budget tried, from an assessment.json."""
    from scripts.common.safeload import InputError, mapping, read_json

    document = mapping(read_json(path, what="assessment report"), str(path), "assessment report")
    extraction = document.get("extraction")
    if not isinstance(extraction, dict):
        raise InputError(f"{path}: the assessment report has no extraction result")
    needed = extraction.get("queriesToTarget")
    target = extraction.get("fidelityTarget")
    queries = extraction.get("queries")
    valid_needed = needed is None or (isinstance(needed, int) and not isinstance(needed, bool) and needed > 0)
    if not valid_needed or not isinstance(target, float) or not isinstance(queries, list) or not queries:
        raise InputError(f"{path}: extraction.queriesToTarget, fidelityTarget or queries is missing or malformed")
    if not all(isinstance(q, int) and not isinstance(q, bool) for q in queries):
        raise InputError(f"{path}: extraction.queries must be whole numbers")
    return needed, target, max(queries)


def budget_main(args: argparse.Namespace) -> int:
    limits = stack_limits(args.stack, args.project_dir)
    needed, target, largest = measured_cost(args.assessment)
    found = budget(limits)
    hours = found.quota_period_seconds / 3600
    print(f"one caller, stack {args.stack}:")
    print(f"  {found.before_alert} queries per 15 minutes before the caller-volume alert fires")
    if found.before_period_alert is not None and limits.period_alert is not None:
        window_hours = limits.period_alert[1] / 3600
        print(f"  {found.before_period_alert} queries per {window_hours:g} h before the quota-volume alert fires")
    print(f"  {found.before_any_alert} queries before the first alert fires")
    print(f"  {found.before_quota} queries before the quota stops the caller ({hours:g} h period)")
    print(f"  {found.unnoticed_per_quota_period} queries per quota period without any alert")
    if needed is None:
        print(f"  the extraction did not reach {target:.0%} fidelity within {largest} queries")
    else:
        print(f"  the extraction reached {target:.0%} fidelity after {needed} queries")
    if stolen_unnoticed(needed, limits):
        print(
            f"FAIL stealing-budget: one caller copies the model to {target:.0%} fidelity within a quota period "
            "without an alert; lower gateway.quota.calls, gateway.quotaVolumePercent or gateway.callerVolumeThreshold "
            f"below {needed} queries per period, or release a model that costs more to copy"
        )
        return EXIT_FOUND
    if needed is None and largest < found.unnoticed_per_quota_period:
        print(
            f"FAIL stealing-budget: the extraction tried only {largest} queries, fewer than the "
            f"{found.unnoticed_per_quota_period} one caller may make unnoticed; the cost is not measured far enough"
        )
        return EXIT_FOUND
    print("PASS stealing-budget: stealing the model takes more queries than one caller may make unnoticed")
    return EXIT_OK
