"""The whole stack's settings: every area, the checks that span areas, and the limits of each environment."""

from __future__ import annotations

import difflib
import functools
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from components import naming
from components.config.data import DataStorageSettings
from components.config.gateway import GatewaySettings, gateway_zones
from components.config.network import NetworkSettings
from components.config.primitives import (
    _CONFIG,
    _COST_CENTER,
    _PREFIX,
    _REGION,
    _TEAM,
    COSMOS_DB_APP_ID,
    ON,
    Email,
    ObjectId,
    SecurityControl,
    _FieldError,
    _require_unique,
)
from components.config.services import KeyVaultSettings, MonitoringSettings
from components.config.workspace import WorkspaceSettings
from components.regions import CLOUDS

Environment = Literal["dev", "test", "prod"]


@dataclass(frozen=True, config=_CONFIG)
class Tags:
    """Tags carried by every resource (``environment`` and ``data-classification`` are added)."""

    team: Annotated[str, Field(pattern=_TEAM)]
    """Owning team, lowercase with hyphens."""
    owner: Email
    """Contact address of the accountable owner."""
    cost_center: Annotated[str, Field(min_length=2, max_length=64, pattern=_COST_CENTER)]
    """Cost centre the spend is booked to."""


@dataclass(frozen=True)
class EnvironmentLimits:
    """Maxima and minima that depend on the environment."""

    max_rate_limit_calls_per_minute: int
    max_quota_calls_per_day: int
    min_soft_delete_days: int


ENVIRONMENT_LIMITS: dict[str, EnvironmentLimits] = {
    "dev": EnvironmentLimits(600, 100_000, 7),
    "test": EnvironmentLimits(1_200, 500_000, 7),
    "prod": EnvironmentLimits(6_000, 5_000_000, 30),
}


@dataclass(frozen=True, config=_CONFIG)
class Settings:
    """Everything one environment stack declares."""

    environment: Environment
    """Environment kind; selects limits and defaults (dev, test or prod)."""
    location: Annotated[str, Field(pattern=_REGION)]
    """Azure region, such as westeurope."""
    name_prefix: Annotated[str, Field(pattern=_PREFIX)]
    """2-8 lowercase letters and digits starting every resource name."""
    tags: Tags
    """Ownership tags for every resource."""
    network: NetworkSettings
    """Virtual network, subnets and DNS."""
    monitoring: MonitoringSettings
    """Logs, metrics and alert routing."""
    data_storage: DataStorageSettings
    """Retention of the training-data account."""
    workspaces: Annotated[list[WorkspaceSettings], Field(min_length=1, max_length=50)]
    """One or more ML workspaces sharing network, monitoring and gateway."""
    gateway: GatewaySettings
    """API gateway in front of the model endpoints."""
    cloud: Literal["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzurePublicCloud"
    """Azure cloud; selects region names and private-link DNS zones."""
    key_vault: KeyVaultSettings = KeyVaultSettings()
    """Key Vault settings."""
    zone_redundant: bool = False
    """Zone-redundant storage and gateway (prod should say true)."""
    locks: SecurityControl = ON
    """CanNotDelete locks on Key Vault and storage accounts."""
    cosmos_db_principal_id: ObjectId | None = None
    """Object ID, in this tenant, of the service principal of the Azure Cosmos DB first-party application
    (application ID a232010e-820c-4083-83bb-3ace5fc29d0b; 57506a73-e302-42a9-b869-6f12d9ec29e9 in Azure
    Government). A workspace with a customer-managed key keeps its metadata in Cosmos DB, which must wrap and
    unwrap with the key. Required when any workspace sets customerManagedKey. Find it with
    `az ad sp show --id a232010e-820c-4083-83bb-3ace5fc29d0b --query id -o tsv`."""

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.location not in CLOUDS[self.cloud].regions:
            near = difflib.get_close_matches(self.location, sorted(CLOUDS[self.cloud].regions), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise _FieldError("location", f"expected an {self.cloud} region such as westeurope", self.location, hint)
        if self.monitoring.private_link.enabled and not CLOUDS[self.cloud].monitor_zones:
            raise _FieldError(
                "monitoring.privateLink",
                f"expected {{enabled: false, reason: ...}} in {self.cloud}: Microsoft's private DNS zone values list "
                "no Azure Monitor private-link zones for this cloud, so the scope's private endpoint cannot resolve",
                {"enabled": True},
            )
        _require_unique("workspaces", [w.name for w in self.workspaces])
        seen_endpoints: set[str] = set()
        for i, ws in enumerate(self.workspaces):
            for j, endpoint in enumerate(ws.endpoints):
                if endpoint.name in seen_endpoints:
                    raise _FieldError(
                        f"workspaces[{i}].endpoints[{j}].name",
                        "expected an endpoint name not used elsewhere in the stack (names are unique per region)",
                        endpoint.name,
                    )
                # Azure name: <namePrefix>-<environment>-<name>-<hash>, 3-32 characters (components/naming.py)
                length = naming.endpoint_length(self.name_prefix, self.environment, endpoint.name)
                base = naming.endpoint_base(self.name_prefix, self.environment, endpoint.name)
                if length > naming.ENDPOINT_MAX_LENGTH or "--" in base:
                    raise _FieldError(
                        f"workspaces[{i}].endpoints[{j}].name",
                        f"expected a name that keeps the Azure endpoint name '{base}-<hash>' within "
                        f"{naming.ENDPOINT_MAX_LENGTH} characters, letters, digits and single hyphens "
                        f"(at most {naming.ENDPOINT_MAX_LENGTH - length + len(endpoint.name)} "
                        "characters with this namePrefix and environment)",
                        endpoint.name,
                    )
                seen_endpoints.add(endpoint.name)
        pinned = gateway_zones(self.gateway.sku, self.zone_redundant) or ()
        zones = len(pinned)
        if zones and self.gateway.capacity % zones:
            # https://learn.microsoft.com/azure/reliability/reliability-api-management (Considerations: number
            # of units for zone-redundant instances must distribute evenly across the selected zones)
            raise _FieldError(
                "gateway.capacity",
                f"expected a multiple of {zones} (zoneRedundant spreads the Premium gateway's units evenly over "
                f"availability zones {', '.join(pinned)})",
                self.gateway.capacity,
            )
        limits = ENVIRONMENT_LIMITS[self.environment]
        per_minute = self.gateway.rate_limit.calls * 60 / self.gateway.rate_limit.renewal_period_seconds
        if self.gateway.rate_limit.renewal_period_seconds > 300:
            raise _FieldError(
                "gateway.rateLimit.renewalPeriodSeconds",
                "expected at most 300 (rate-limit-by-key renewal period)",
                self.gateway.rate_limit.renewal_period_seconds,
            )
        if per_minute > limits.max_rate_limit_calls_per_minute:
            raise _FieldError(
                "gateway.rateLimit.calls",
                f"expected at most {limits.max_rate_limit_calls_per_minute} calls per minute per caller "
                f"in {self.environment}",
                self.gateway.rate_limit.calls,
            )
        if self.gateway.quota.renewal_period_seconds < 3600:
            raise _FieldError(
                "gateway.quota.renewalPeriodSeconds",
                "expected at least 3600 (quotas are hourly or longer)",
                self.gateway.quota.renewal_period_seconds,
            )
        per_day = self.gateway.quota.calls * 86400 / self.gateway.quota.renewal_period_seconds
        if per_day > limits.max_quota_calls_per_day:
            raise _FieldError(
                "gateway.quota.calls",
                f"expected at most {limits.max_quota_calls_per_day} calls per day per caller in {self.environment}",
                self.gateway.quota.calls,
            )
        cmk = [i for i, w in enumerate(self.workspaces) if w.customer_managed_key]
        if cmk and self.cosmos_db_principal_id is None:
            raise _FieldError(
                "cosmosDbPrincipalId",
                f"expected the object ID of this tenant's Azure Cosmos DB service principal because "
                f"workspaces[{cmk[0]}].customerManagedKey is true (az ad sp show --id "
                f"{COSMOS_DB_APP_ID[self.cloud]} --query id -o tsv)",
                None,
            )
        if (cmk or self.data_storage.customer_managed_key) and not self.key_vault.purge_protection.enabled:
            where = f"workspaces[{cmk[0]}].customerManagedKey" if cmk else "dataStorage.customerManagedKey"
            raise _FieldError(
                "keyVault.purgeProtection",
                f"expected it on because {where} is true (a vault holding customer-managed keys needs soft delete "
                "and purge protection)",
                {"enabled": False},
            )
        for index, workspace in enumerate(self.workspaces):
            existing = [step for step in workspace.spark.pipeline_steps
                        if getattr(self.data_storage.pipeline_identities, step) is not None]  # fmt: skip
            if existing:
                raise _FieldError(
                    f"workspaces[{index}].spark.pipelineSteps",
                    f"expected only steps whose identity the platform creates: serverless Spark runs as a "
                    f"user-assigned identity attached to the workspace, and dataStorage.pipelineIdentities."
                    f"{existing[0]} is an existing principal",
                    workspace.spark.pipeline_steps,
                )
            _require_unique(
                "spark",
                list(workspace.spark.pipeline_steps),
                key_of=functools.partial("workspaces[{}].spark.pipelineSteps[{}]".format, index),
            )
        if self.is_prod and not self.data_storage.immutability.enabled:
            raise _FieldError(
                "dataStorage.immutability",
                "expected it on in prod (training data stays write-once; only a stack that is torn down may "
                "turn it off)",
                {"enabled": False},
            )
        if self.data_storage.soft_delete_retention_days < limits.min_soft_delete_days:
            raise _FieldError(
                "dataStorage.softDeleteRetentionDays",
                f"expected at least {limits.min_soft_delete_days} days in {self.environment}",
                self.data_storage.soft_delete_retention_days,
            )
        return self

    @property
    def opt_outs(self) -> dict[str, str]:
        """Security controls this stack turns off, with their reasons, by config key."""
        found: dict[str, str] = {}
        for key, control in (
            ("locks", self.locks),
            ("keyVault.purgeProtection", self.key_vault.purge_protection),
            ("monitoring.activityLog", self.monitoring.activity_log),
            ("dataStorage.immutability", self.data_storage.immutability),
            ("monitoring.privateLink", self.monitoring.private_link),
        ):
            if not control.enabled:
                found[key] = control.reason or ""
        if self.monitoring.app_insights_public_ingestion.enabled:
            found["monitoring.appInsightsPublicIngestion"] = self.monitoring.app_insights_public_ingestion.reason or ""
        elif not self.monitoring.private_link.enabled:
            # Without the private link scope Application Insights accepts public ingestion too.
            found["monitoring.appInsightsPublicIngestion"] = (
                f"implied by monitoring.privateLink: {self.monitoring.private_link.reason or ''}"
            )
        return found

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"
