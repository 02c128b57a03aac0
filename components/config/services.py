"""Settings of the environment's shared services: monitoring (Log Analytics, Application Insights, alert
routing) and the Key Vault."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from components.config.primitives import (
    _CONFIG,
    OFF,
    ON,
    Email,
    ReasonedSwitch,
    SecurityControl,
)


@dataclass(frozen=True, config=_CONFIG)
class MonitoringSettings:
    """Log Analytics, Application Insights and alert routing."""

    log_retention_days: Annotated[int, Field(ge=30, le=730)]
    """Log Analytics retention in days (30-730)."""
    alert_emails: Annotated[list[Email], Field(min_length=1, max_length=10)]
    """Addresses the security action group notifies."""
    activity_log: SecurityControl = ON
    """Send the subscription's Activity Log (Administrative, Security, Policy, ...) to this workspace, where
    the control-plane alerts read it. Off only when the organisation already exports it to this workspace,
    with that reason: the deployer then needs no permission at subscription scope."""
    private_link: SecurityControl = ON
    """Reach Log Analytics and Application Insights only through an Azure Monitor Private Link Scope (private
    endpoint in the VNet, access modes PrivateOnly) with ingestion and queries from public networks disabled on
    both. Off only where Microsoft documents no Azure Monitor private-link DNS zones (AzureChinaCloud), with
    that reason."""
    app_insights_public_ingestion: ReasonedSwitch = OFF
    """Let Application Insights accept ingestion from public networks (queries stay private). Online
    deployments run in the workspace's managed network, which cannot have a private endpoint to Azure
    Monitor: only with this switch on do they send Application Insights telemetry (their request, console
    and event logs reach Log Analytics through the endpoint's diagnostic setting either way)."""


@dataclass(frozen=True, config=_CONFIG)
class KeyVaultSettings:
    """The environment's Key Vault."""

    sku: Literal["standard", "premium"] = "standard"
    """Key Vault SKU; premium makes every customer-managed key HSM-backed (RSA-HSM)."""
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90
    """Days a deleted vault or secret stays recoverable (7-90)."""
    purge_protection: SecurityControl = ON
    """Purge protection; deleted keys cannot be purged before retention ends."""
    generation: Annotated[int, Field(ge=1, le=999)] = 1
    """Part of the vault name's hash (1-999); bump it to rebuild beside a soft-deleted vault of the old name."""
