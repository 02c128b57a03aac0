"""Settings of the API gateway: tier, limits, token rules, alert thresholds and the kill switch."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from components.config.primitives import (
    _CONFIG,
    OFF,
    Email,
    ReasonedSwitch,
)


@dataclass(frozen=True, config=_CONFIG)
class Limit:
    """Calls allowed per caller in a renewal period."""

    calls: Annotated[int, Field(ge=1)]
    """Calls allowed per period."""
    renewal_period_seconds: Annotated[int, Field(ge=1)]
    """Length of the period in seconds."""


GATEWAY_ZONES = ("1", "2", "3")
"""Availability zones of a zone-redundant gateway."""


def gateway_zones(sku: str, zone_redundant: bool) -> tuple[str, ...] | None:
    """The availability zones the gateway's units are pinned to (None: no zones; Developer has none)."""
    return GATEWAY_ZONES if zone_redundant and sku == "Premium" else None


LOG_ALERT_WINDOWS = tuple(60 * m for m in (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880))
"""Window sizes (seconds) a log search alert accepts: Azure answers any other windowSize with "Supported
granularities are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880" (minutes;
github.com/Azure/azure-rest-api-specs/issues/21258). Two days is also the longest time range a log search
alert queries (learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule)."""


@dataclass(frozen=True, config=_CONFIG)
class GatewaySettings:
    """API Management in front of every online endpoint."""

    sku: Literal["Developer", "Premium"]
    """Tier; both support internal VNet mode (Developer has no SLA)."""
    capacity: Annotated[int, Field(ge=1, le=12)]
    """Scale units. With zoneRedundant on a Premium gateway the units are pinned to availability zones 1, 2
    and 3, so the count must be a multiple of 3 (units must divide evenly across the zones)."""
    publisher_name: Annotated[str, Field(min_length=1, max_length=100)]
    """Organisation shown in the developer portal and e-mails."""
    publisher_email: Email
    """Address that receives API Management system notifications."""
    rate_limit: Limit
    """Per-caller rate limit (rate-limit-by-key); period at most 300 s."""
    quota: Limit
    """Per-caller quota (quota-by-key); period at least 3600 s."""
    jwt_audience: Annotated[str, Field(min_length=3, max_length=200)]
    """Audience (application ID URI) callers' Entra tokens must carry, such as api://ml-scoring."""
    required_roles: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")]], Field(min_length=1)]
    """App roles a caller's token must hold one of (roles claim), such as Model.Score."""
    max_request_bytes: Annotated[int, Field(ge=1024, le=102_400)] = 65_536
    """Largest scoring request accepted (bytes); larger ones are refused before the model sees them. At most
    102,400, the largest max-size validate-content accepts."""
    caller_volume_threshold: Annotated[int, Field(ge=1)] = 1_000
    """Calls by one caller in 15 minutes that raise the model-stealing alert."""
    quota_volume_percent: Annotated[int, Field(ge=1, le=99)] = 50
    """Share of quota.calls (percent) one caller may make within the quota's period before the patient-extraction
    alert fires; a caller who spreads calls evenly stays under callerVolumeThreshold. The alert's window is the
    longest Azure accepts within the period (1 to 6 hours, 1 day or 2 days, the longest a log search alert
    queries), with the share scaled to the window."""
    throttled_threshold: Annotated[int, Field(ge=1)] = 50
    """429 answers in 15 minutes that raise an alert."""
    error_threshold: Annotated[int, Field(ge=1)] = 100
    """4xx/5xx answers in 15 minutes that raise an alert."""
    new_caller_alert: bool = True
    """Alert when a caller whose first call in the last hour follows no call in the 47 hours before it
    (log search alerts look back at most two days) is scoring models."""
    latency_threshold_ms: Annotated[int, Field(ge=10, le=60_000)] = 1_000
    """Average endpoint latency (ms over 15 minutes) that raises an alert."""
    suspended: ReasonedSwitch = OFF
    """Kill switch: answer 503 to every call."""

    def quota_volume_alert(self) -> tuple[int, int]:
        """Window (seconds) and threshold of the per-caller quota-volume alert: the longest window Azure accepts
        within the quota's period (LOG_ALERT_WINDOWS), and quotaVolumePercent of the calls the quota allows in
        that window."""
        period = self.quota.renewal_period_seconds
        seconds = max(w for w in LOG_ALERT_WINDOWS if w <= period)  # periods are at least an hour
        share = self.quota.calls * self.quota_volume_percent * seconds // (100 * period)
        return seconds, max(1, share)
