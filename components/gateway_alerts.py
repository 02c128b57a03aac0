"""The gateway's log alerts: per-caller volume (the model-extraction signal, over 15 minutes and over the
quota's period), throttling and error surges, and callers seen for the first time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pulumi

from components.common import Context, log_alert
from components.gateway_policy import CALLER_HEADER

NEW_CALLER_LOOKBACK = "P2D"
"""How far back the new-caller alert looks. Log search alert time ranges are at most two days
(learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule, "Override query time range")."""


@dataclass(frozen=True)
class GatewayAlertArgs:
    """Thresholds of the gateway's alerts."""

    caller_volume_threshold: int
    """Scoring calls by one caller in 15 minutes that raise the model-extraction alert."""
    quota_volume_window_seconds: int
    """Window of the quota-volume alert: the longest log-alert window within the quota's period."""
    quota_volume_threshold: int
    """Scoring calls by one caller within that window that raise the quota-volume alert."""
    quota_volume_percent: int
    """Share of the quota the quota-volume threshold stands for (named in the alert's title)."""
    throttled_threshold: int
    """Throttled (429) calls in 15 minutes that raise an alert."""
    error_threshold: int
    """Failed (4xx/5xx, not 429) calls in 15 minutes that raise an alert."""
    new_caller_alert: bool = True
    """Alert when a caller with no call in the previous 47 hours starts scoring."""


class _Alert(NamedTuple):
    suffix: str
    title: str
    query: str
    threshold: int
    severity: int
    window: str
    query_time_range: str | None = None


def gateway_alerts(
    name: str, parent: pulumi.Resource, ctx: Context, service_id: pulumi.Output[str], args: GatewayAlertArgs
) -> None:
    """Log alerts over the service's ApiManagementGatewayLogs, each notifying the security action group."""

    def logs(query: str) -> pulumi.Output[str]:
        return service_id.apply(
            lambda service_id: (
                f'ApiManagementGatewayLogs\n| where _ResourceId =~ "{service_id}"\n'
                # RequestHeaders is dynamic and ResponseCode int (Azure Monitor table reference:
                # learn.microsoft.com/azure/azure-monitor/reference/tables/apimanagementgatewaylogs).
                # The caller comes from the backend request: the token's identity, set by the policy.
                f'| extend caller = tostring(BackendRequestHeaders["{CALLER_HEADER}"])\n' + query
            )
        )

    window = iso_duration(args.quota_volume_window_seconds)
    quota = args.quota_volume_threshold
    alerts = [
        _Alert(
            "caller-volume",
            f"A caller made more than {args.caller_volume_threshold} scoring calls in 15 minutes (model extraction?)",
            f"| summarize calls = count() by caller\n| where calls > {args.caller_volume_threshold}",
            0,
            1,
            "PT15M",
        ),
        _Alert(
            "quota-volume",
            f"A caller made more than {quota} scoring calls in {window} "
            f"({args.quota_volume_percent}% of its quota; patient model extraction?)",
            f"| summarize calls = count() by caller\n| where calls > {quota}",
            0,
            1,
            window,
        ),
        _Alert(
            "throttled",
            f"More than {args.throttled_threshold} throttled (429) calls in 15 minutes",
            "| where ResponseCode == 429",
            args.throttled_threshold,
            2,
            "PT15M",
        ),
        _Alert(
            "errors",
            f"More than {args.error_threshold} failed (4xx/5xx, not 429) calls in 15 minutes",
            "| where ResponseCode >= 400 and ResponseCode != 429",
            args.error_threshold,
            2,
            "PT15M",
        ),
    ]
    if args.new_caller_alert:
        # The query sees the two days Azure allows: a caller whose earliest call in that range falls in the last
        # hour called nothing in the 47 hours before it (a new or long-dormant identity).
        alerts.append(
            _Alert(
                "new-caller",
                "A caller with no call in the previous 47 hours made its first call within the last hour",
                "| where isnotempty(caller)\n"
                "| summarize first_seen = min(TimeGenerated) by caller\n"
                "| where first_seen > ago(1h)",
                0,
                3,
                "PT1H",
                NEW_CALLER_LOOKBACK,
            )
        )
    for alert in alerts:
        log_alert(
            f"{name}-{alert.suffix}",
            parent,
            ctx,
            alert.title,
            logs(alert.query),
            threshold=alert.threshold,
            severity=alert.severity,
            window=alert.window,
            query_time_range=alert.query_time_range,
        )


def iso_duration(seconds: int) -> str:
    """An ISO 8601 duration such as P1D, PT12H or P1DT1H30M."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
