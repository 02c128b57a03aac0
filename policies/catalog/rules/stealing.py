"""The stealing budget: a deployed model must cost more queries to copy than one caller may make unnoticed.

The gateway limits every caller with ``rate-limit-by-key`` (a sliding window of at most 300 s) and
``quota-by-key`` (calls per renewal period); the caller-volume alert fires when one caller makes more than a
threshold of calls in 15 minutes, and the quota-volume alert when one caller makes more than a share of the
quota within the longest window Azure accepts within the quota's period (LOG_ALERT_WINDOWS: at most two
days, the longest a log search alert queries), which catches
the patient caller who spreads calls evenly under the 15-minute threshold. The measured cost of copying a
model - the queries a surrogate needed to reach the fidelity target, from ``python -m scripts.assess`` -
reaches the gate through a reviewed records file, ``policies/assessments.yaml``, keyed by the model reference
a deployment names (``azureml:<name>:<version>``).

Counts are upper bounds on what an attacker gets, so that the comparison errs against the stack:

- ``rate_per_window = calls * ceil(900 / renewal-period)``: any 15 minutes span at most that many rate-limit
  windows (https://learn.microsoft.com/azure/api-management/rate-limit-by-key-policy: renewal-period is the
  length of the sliding window; rate limiting is never completely accurate).
- ``before_alert = min(threshold, rate_per_window)``: the log search alert fires on more than the threshold
  (``where calls > N`` over a 15-minute window, components/gateway.py).
- ``before_any_alert = min(before_alert, quota-volume threshold)``: the queries one caller makes before the
  first alert fires, burst or patient.
- ``unnoticed_per_quota_period = min(quota calls, before_alert * ceil(quota period / 900),
  quota-volume threshold * ceil(quota period / its window))``: a caller who stays under both alerts in every
  window (https://learn.microsoft.com/azure/api-management/quota-by-key-policy: calls per renewal-period;
  https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule: time ranges of at
  most two days).

Where a stack has several gateway policies, the most permissive limits count. Three findings need no record:
a stack with model deployments and no caller-volume alert, or no quota-volume alert, and an alert whose
threshold the rate limit and quota never let a caller reach (it can never fire). A deployment whose model has
no record is not judged here: the pipeline's assessment stage measures the cost, and the change that makes a
deployment name the model commits the record for review.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import StackRule, StackView, Threat
from policies.catalog.rules.ops import ALERT_TIME_RANGE_LIMIT, duration_seconds
from policies.catalog.values import MISSING, UNKNOWN, get

ALERT_WINDOW_SECONDS = 900
"""Window of the caller-volume alert (components/gateway.py: PT15M)."""
LOG_ALERT_WINDOWS = tuple(60 * m for m in (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880))
"""Window sizes (seconds) a log search alert accepts: Azure answers any other windowSize with "Supported
granularities are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880" (minutes;
github.com/Azure/azure-rest-api-specs/issues/21258); the gateway derives its alert window from the same list
(components/config/)."""
RECORDS_FILE = Path(__file__).resolve().parents[2] / "assessments.yaml"
"""The reviewed extraction records (policies/assessments.yaml)."""

_ALERT_QUERY = re.compile(r"summarize\s+calls\s*=\s*count\(\)\s+by\s+caller\s*\|\s*where\s+calls\s*>\s*(\d+)\s*$")


@dataclass(frozen=True)
class Limits:
    """One gateway's per-caller limits."""

    rate_calls: int
    rate_period_seconds: int
    quota_calls: int
    quota_period_seconds: int
    alert_threshold: int | None
    """Calls by one caller in 15 minutes above which the model-stealing alert fires (None: no such alert)."""
    period_alert: tuple[int, int] | None = None
    """(threshold, window seconds) of the quota-volume alert: calls by one caller in a window longer than
    15 minutes above which it fires (None: no such alert)."""


@dataclass(frozen=True)
class Budget:
    rate_per_window: int
    before_alert: int
    before_quota: int
    unnoticed_per_quota_period: int
    quota_period_seconds: int
    before_period_alert: int | None
    """Queries one caller makes in the quota-volume alert's window before it fires (None: no such alert)."""
    before_any_alert: int
    """Queries one caller makes before the first alert fires: the smaller of the two alerts' figures."""


def budget(limits: Limits) -> Budget:
    """What one caller may ask (see the module docstring)."""
    rate_per_window = limits.rate_calls * math.ceil(ALERT_WINDOW_SECONDS / limits.rate_period_seconds)
    threshold = rate_per_window if limits.alert_threshold is None else limits.alert_threshold
    before_alert = min(threshold, rate_per_window)
    windows = math.ceil(limits.quota_period_seconds / ALERT_WINDOW_SECONDS)
    unnoticed = min(limits.quota_calls, before_alert * windows)
    before_period_alert = None
    if limits.period_alert is not None:
        period_threshold, period_window = limits.period_alert
        before_period_alert = min(period_threshold, period_reach(limits, period_window))
        periods = math.ceil(limits.quota_period_seconds / period_window)
        unnoticed = min(unnoticed, before_period_alert * periods)
    return Budget(
        rate_per_window=rate_per_window,
        before_alert=before_alert,
        before_quota=limits.quota_calls,
        unnoticed_per_quota_period=unnoticed,
        quota_period_seconds=limits.quota_period_seconds,
        before_period_alert=before_period_alert,
        before_any_alert=before_alert if before_period_alert is None else min(before_alert, before_period_alert),
    )


def period_reach(limits: Limits, window_seconds: int) -> int:
    """The most calls the rate limit and the quota let one caller make in a window of ``window_seconds``: a
    window spans at most ceil(window / period) + 1 quota periods, hence that many quotas (upper bound)."""
    by_rate = limits.rate_calls * math.ceil(window_seconds / limits.rate_period_seconds)
    by_quota = limits.quota_calls * (math.ceil(window_seconds / limits.quota_period_seconds) + 1)
    return min(by_rate, by_quota)


def stolen_unnoticed(queries_to_target: int | None, limits: Limits) -> bool:
    """Whether one caller reaches the fidelity target within a quota period without raising the alert."""
    return queries_to_target is not None and queries_to_target <= budget(limits).unnoticed_per_quota_period


@dataclass(frozen=True)
class Record:
    """The measured extraction cost of one model."""

    fidelity_target: float
    queries_to_target: int | None
    max_queries: int


class RecordsError(ValueError):
    """The records file cannot be read; the rule reports it instead of passing."""


def parse_records(document: Any, source: str) -> dict[str, Record]:
    if not isinstance(document, dict) or set(document) != {"models"} or not isinstance(document["models"], dict):
        raise RecordsError(f"{source}: expected a mapping with one key, models")
    records: dict[str, Record] = {}
    for model, entry in document["models"].items():
        if not isinstance(entry, dict) or not {"fidelityTarget", "queriesToTarget", "maxQueries"} <= set(entry):
            raise RecordsError(f"{source}: models.{model}: expected fidelityTarget, queriesToTarget and maxQueries")
        needed, largest, target = entry["queriesToTarget"], entry["maxQueries"], entry["fidelityTarget"]
        whole = (type(needed) is int and needed > 0) or needed is None
        if not whole or type(largest) is not int or largest < 1 or type(target) is not float or not 0 < target <= 1:
            raise RecordsError(f"{source}: models.{model}: expected whole numbers of queries and a fidelity in (0, 1]")
        records[str(model)] = Record(target, needed, largest)
    return records


@cache
def load_records(path: Path = RECORDS_FILE) -> dict[str, Record] | RecordsError:
    try:
        return parse_records(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        return RecordsError(f"{path.name}: cannot be read ({type(exc).__name__})")
    except RecordsError as exc:
        return exc


def _limits_in(text: str) -> tuple[int, int, int, int] | type[ValueError] | None:
    """(rate calls, rate period, quota calls, quota period) of a policy, None without both, ValueError if
    a value is not a plain number (a policy expression cannot be judged)."""
    try:
        root = ET.fromstring(text)  # noqa: S314 (the plan's own policy text)
    except ET.ParseError:
        return None
    rate = root.find(".//inbound//rate-limit-by-key")
    quota = root.find(".//inbound//quota-by-key")
    if rate is None or quota is None:
        return None
    values = [rate.get("calls"), rate.get("renewal-period"), quota.get("calls"), quota.get("renewal-period")]
    if not all(v is not None and v.isdigit() and int(v) > 0 for v in values):
        return ValueError
    numbers = [int(v) for v in values if v is not None]
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _volume_alerts(stack: StackView) -> list[tuple[Any, int, int]] | Any:
    """(alert rule, threshold, window seconds) of every enabled per-caller volume alert whose window is 15
    minutes to two days; UNKNOWN while unknown."""
    found: list[tuple[Any, int, int]] = []
    for rule in stack.of_type(azure.SCHEDULED_QUERY_RULE):
        window = get(rule.props, "windowSize")
        if window is UNKNOWN:
            return UNKNOWN
        seconds = duration_seconds(window) if isinstance(window, str) else None
        if get(rule.props, "enabled") is False or seconds is None:
            continue
        if seconds not in LOG_ALERT_WINDOWS or not ALERT_WINDOW_SECONDS <= seconds <= ALERT_TIME_RANGE_LIMIT:
            continue  # a window Azure refuses never runs
        override = get(rule.props, "overrideQueryTimeRange")
        if override is UNKNOWN:
            return UNKNOWN
        if override is not MISSING and override != window:
            continue  # a query range other than the window is not a per-window count
        criteria = get(rule.props, "criteria.allOf")
        if criteria is UNKNOWN:
            return UNKNOWN
        for criterion in criteria if isinstance(criteria, list) else []:
            query = criterion.get("query") if isinstance(criterion, dict) else None
            if query is UNKNOWN:
                return UNKNOWN
            match = _ALERT_QUERY.search(query) if isinstance(query, str) else None
            if match:
                found.append((rule, int(match.group(1)), int(seconds)))
    return found


def _stealing_budget(stack: StackView) -> Iterator[tuple[str, str]]:
    deployments = stack.of_type(azure.ONLINE_DEPLOYMENT)
    if not deployments:
        return
    records = load_records()
    if isinstance(records, RecordsError):
        for deployment in deployments:
            yield deployment.urn, f"the extraction records cannot be judged: {records}"
        return
    policies: list[tuple[int, int, int, int]] = []
    for policy in stack.of_type(azure.APIM_GLOBAL_POLICY, azure.APIM_API_POLICY):
        text = get(policy.props, "value")
        if text is UNKNOWN:
            return
        found = _limits_in(text) if isinstance(text, str) else None
        if found is ValueError:
            yield policy.urn, "the rate limit or quota is not a plain number; the stealing budget cannot be judged"
            return
        if isinstance(found, tuple):
            policies.append(found)
    alerts = _volume_alerts(stack)
    if alerts is UNKNOWN or not policies:
        return  # no per-caller limits at all is MLSEC-APIM-012/013's finding
    short = [(alert, t) for alert, t, w in alerts if w == ALERT_WINDOW_SECONDS]
    long = [(alert, t, w) for alert, t, w in alerts if w > ALERT_WINDOW_SECONDS]
    if not short:
        for deployment in deployments:
            yield (
                deployment.urn,
                (
                    "no enabled 15-minute caller-volume alert (summarize calls = count() by caller | where calls > N) "
                    "watches the scoring calls: one caller may use the whole quota unnoticed"
                ),
            )
    if not long:
        for deployment in deployments:
            yield (
                deployment.urn,
                (
                    "no enabled quota-volume alert (summarize calls = count() by caller | where calls > N, window "
                    "longer than 15 minutes and at most P2D) watches the scoring calls: a caller who spreads calls "
                    "under the 15-minute threshold may use the whole quota unnoticed"
                ),
            )
    threshold = min(t for _, t in short) if short else None
    # the alert that lets the fewest calls through per quota period is the one that binds
    periods: list[tuple[int, int] | None] = [(t, w) for _, t, w in long] or [None]
    candidates = [Limits(r, rp, q, qp, threshold, period) for r, rp, q, qp in policies for period in periods]
    worst: dict[tuple[int, int, int, int], Limits] = {}
    for lim in candidates:
        key = (lim.rate_calls, lim.rate_period_seconds, lim.quota_calls, lim.quota_period_seconds)
        if key not in worst or budget(lim).unnoticed_per_quota_period < budget(worst[key]).unnoticed_per_quota_period:
            worst[key] = lim
    limits = max(worst.values(), key=lambda lim: budget(lim).unnoticed_per_quota_period)
    allowed = budget(limits)
    for alert, alert_threshold in short:
        if alert_threshold >= allowed.rate_per_window:
            yield (
                alert.urn,
                (
                    f"the caller-volume alert fires above {alert_threshold} calls in 15 minutes, but the rate limit "
                    f"lets at most {allowed.rate_per_window} through in 15 minutes: the alert can never fire"
                ),
            )
    for alert, alert_threshold, window in long:
        reach = max(period_reach(lim, window) for lim in worst.values())
        if alert_threshold >= reach:
            yield (
                alert.urn,
                (
                    f"the quota-volume alert fires above {alert_threshold} calls in {window} s, but the rate limit "
                    f"and quota let at most {reach} through in {window} s: the alert can never fire"
                ),
            )
    for deployment in deployments:
        model = get(deployment.props, "properties.model")
        if not isinstance(model, str) or model not in records:
            continue
        record = records[model]
        if stolen_unnoticed(record.queries_to_target, limits):
            yield (
                deployment.urn,
                (
                    f"{model} is copied to {record.fidelity_target:.0%} fidelity with {record.queries_to_target} "
                    f"queries, and one caller may make {allowed.unnoticed_per_quota_period} per quota period "
                    f"({allowed.quota_period_seconds} s) without an alert"
                ),
            )
        elif record.queries_to_target is None and record.max_queries < allowed.unnoticed_per_quota_period:
            yield (
                deployment.urn,
                (
                    f"{model}'s extraction tried only {record.max_queries} queries, fewer than the "
                    f"{allowed.unnoticed_per_quota_period} one caller may make per quota period without an alert"
                ),
            )


STEALING_BUDGET = StackRule(
    id="MLSEC-EPT-030",
    name="One caller cannot copy a deployed model within a quota period without raising an alert",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A surrogate trained on a model's answers copies it; the assessment measures how many queries that "
    "takes. When the gateway's quota and caller-volume alert let one caller make that many queries quietly within "
    "a quota period, the limits do not protect the model, whatever they look like.",
    remediation="Keep the caller-volume alert (gateway.callerVolumeThreshold) below what the rate limit lets through "
    "in 15 minutes and the quota-volume alert (gateway.quotaVolumePercent) below the quota, and lower "
    "gateway.quota.calls, gateway.quotaVolumePercent, gateway.callerVolumeThreshold or gateway.rateLimit below the "
    "model's measured extraction cost (policies/assessments.yaml), or release a model that costs more to copy; "
    "see docs/model-assessment.md.",
    check=_stealing_budget,
)

RULES = (STEALING_BUDGET,)

__all__ = ["RULES", "STEALING_BUDGET", "Budget", "Limits", "budget", "period_reach", "stolen_unnoticed"]
