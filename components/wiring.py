"""From validated settings to each component's own arguments: the one place that reads the stack config.

Components never see a settings type; each takes its own frozen args dataclass. The functions here map one
settings area onto those args, so what a component depends on is what its args say, and a new config key
reaches a component only through a field added here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi

from components.common import BaseContext, Context, DiagnosticsTarget
from components.config import (
    PIPELINE_IDENTITIES,
    ConfigError,
    DataStorageSettings,
    EndpointSettings,
    NetworkSettings,
    Settings,
    WorkspaceSettings,
    gateway_zones,
    stack_file,
)
from components.controlplane import DATA_OPERATIONS, VAULT_OPERATIONS, ControlPlaneWatchArgs
from components.datastorage import DataStorage, DataStorageArgs, ZoneArgs
from components.endpoint import DeploymentArgs, Endpoint, EndpointArgs
from components.gateway import GatewayArgs
from components.gateway_alerts import GatewayAlertArgs
from components.gateway_policy import policy_settings
from components.keyvault import KeyVault, KeyVaultArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.network import SUBNET_NAMES, ExistingNetworkArgs, Network, NetworkArgs
from components.regions import CLOUDS
from components.telemetry import TelemetryArgs
from components.workspace import ComputeClusterArgs, Workspace, WorkspaceArgs
from components.workspace_keys import CustomerManagedKeyArgs

_ORDER = ["public", "internal", "confidential", "restricted"]


def tags(settings: Settings) -> dict[str, str]:
    """Tags of every resource of the environment (its highest data classification among them)."""
    return {
        "environment": settings.environment,
        "team": settings.tags.team,
        "owner": settings.tags.owner,
        "cost-center": settings.tags.cost_center,
        "data-classification": _highest(w.data_classification for w in settings.workspaces),
        "managed-by": "pulumi",
    }


def base_context(
    settings: Settings,
    subscription_id: str,
    tenant_id: str,
    resource_group_name: pulumi.Input[str],
    tags: Mapping[str, str],
) -> BaseContext:
    """What monitoring and the network are built from."""
    return BaseContext(
        subscription_id=subscription_id,
        tenant_id=tenant_id,
        resource_group_name=resource_group_name,
        location=settings.location,
        tags=tags,
        prod=settings.is_prod,
        lock=settings.locks.enabled,
        zone_redundant=settings.zone_redundant,
        storage_suffix=CLOUDS[settings.cloud].storage_suffix,
        hsm_keys=settings.key_vault.sku == "premium",
    )


def monitoring_args(settings: Settings, ctx: BaseContext) -> MonitoringArgs:
    """The monitoring section."""
    cfg = settings.monitoring
    return MonitoringArgs(
        ctx=ctx,
        log_retention_days=cfg.log_retention_days,
        alert_emails=cfg.alert_emails,
        private_link=cfg.private_link.enabled,
        app_insights_public_ingestion=cfg.app_insights_public_ingestion.enabled,
    )


def network_args(
    settings: NetworkSettings, cloud: str, ctx: BaseContext, diagnostics: DiagnosticsTarget
) -> NetworkArgs:
    """The network section, with the cloud's private-link zones and its API Management domain (``apim``)."""
    subnets = {key: getattr(settings.subnets, key) for key in SUBNET_NAMES}
    existing = settings.existing
    return NetworkArgs(
        ctx=ctx,
        diagnostic_settings=diagnostics,
        address_space=settings.address_space,
        subnets={key: cidr for key, cidr in subnets.items() if cidr is not None},
        # Private-link zones, plus the API Management domain for the internal-mode gateway's host names.
        dns_zones={**CLOUDS[cloud].private_dns_zones, "apim": CLOUDS[cloud].apim_dns_zone},
        hub_dns_zone_ids=settings.hub_dns_zone_ids,
        existing=None
        if existing is None
        else ExistingNetworkArgs(
            vnet_id=existing.virtual_network_id,
            subnet_ids={
                "private_endpoints": existing.private_endpoints_subnet_id,
                "compute": existing.compute_subnet_id,
                "gateway": existing.gateway_subnet_id,
            },
        ),
    )


def context(base: BaseContext, monitoring: Monitoring, network: Network) -> Context:
    """The complete context, once monitoring and the network exist."""
    return Context.of(
        base,
        diagnostic_settings=monitoring.diagnostic_settings,
        alerts=monitoring.alert_target(),
        private_endpoints=network.private_link_target(),
    )


def telemetry_args(settings: Settings, ctx: Context, monitoring: Monitoring, network: Network) -> TelemetryArgs | None:
    """The Azure Monitor private link scope over monitoring's resources, in the network; None where
    ``monitoring.privateLink`` is off."""
    if not settings.monitoring.private_link.enabled:
        return None
    return TelemetryArgs(
        ctx=ctx,
        vnet_id=network.vnet_id,
        workspace_id=monitoring.workspace.id,
        app_insights_id=monitoring.app_insights.id,
        zones=CLOUDS[settings.cloud].monitor_zones,
        hub_dns_zone_ids=settings.network.hub_dns_zone_ids,
    )


def key_vault_args(settings: Settings, ctx: Context) -> KeyVaultArgs:
    """The keyVault section."""
    cfg = settings.key_vault
    return KeyVaultArgs(
        ctx=ctx,
        sku=cfg.sku,
        soft_delete_retention_days=cfg.soft_delete_retention_days,
        purge_protection=cfg.purge_protection.enabled,
        generation=cfg.generation,
    )


def data_storage_args(settings: Settings, ctx: Context, key_vault: KeyVault) -> DataStorageArgs:
    """The dataStorage section, with the Key Vault for its customer-managed key and a scratch container for each
    workspace that asks for one."""
    cfg: DataStorageSettings = settings.data_storage
    identities = cfg.pipeline_identities
    return DataStorageArgs(
        ctx=ctx,
        zones={
            purpose: ZoneArgs(zone.container, zone.classification, tuple(zone.legal_hold))
            for purpose, zone in cfg.zones.items()
        },
        soft_delete_retention_days=cfg.soft_delete_retention_days,
        change_feed_retention_days=cfg.change_feed_retention_days,
        raw_retention_days=cfg.raw_retention_days,
        cool_after_days=cfg.cool_after_days,
        cold_after_days=cfg.cold_after_days,
        immutability_retention_days=cfg.immutability_retention_days,
        immutable=cfg.immutability.enabled,
        lock_immutability=cfg.immutability_lock.enabled,
        customer_managed_key=cfg.customer_managed_key,
        pipeline_principals={
            step: principal for step in PIPELINE_IDENTITIES if (principal := getattr(identities, step)) is not None
        },
        failed_auth_threshold=cfg.failed_auth_threshold,
        key_vault_id=key_vault.vault.id,
        key_vault_uri=key_vault.vault.properties.vault_uri,
        scratch_containers=tuple(f"scratch-{ws.name}" for ws in settings.workspaces if ws.scratch),
    )


def control_plane_args(
    settings: Settings, ctx: Context, name: str, data: DataStorage, key_vault: KeyVault
) -> ControlPlaneWatchArgs:
    """The Activity Log export (``monitoring.activityLog``) and the watch over the data account and the Key Vault."""
    return ControlPlaneWatchArgs(
        ctx=ctx,
        name=name,
        protected=[
            ("data", data.account.id, DATA_OPERATIONS),
            ("vault", key_vault.vault.id, VAULT_OPERATIONS),
        ],
        export_activity_log=settings.monitoring.activity_log.enabled,
    )


def workspace_args(
    settings: Settings,
    ws: WorkspaceSettings,
    ctx: Context,
    key_vault: KeyVault,
    monitoring: Monitoring,
    data: DataStorage,
) -> WorkspaceArgs:
    """One entry of ``workspaces``, with the environment's Key Vault, Application Insights and data storage."""
    return WorkspaceArgs(
        ctx=ctx,
        name=ws.name,
        data_scientist_group_id=ws.data_scientist_group_id,
        key_vault_id=key_vault.vault.id,
        application_insights_id=monitoring.app_insights.id,
        data_classification=ws.data_classification,
        customer_managed_key=_customer_managed_key(settings, ws),
        outbound_fqdns=tuple(ws.outbound_fqdns),
        spark_pipeline_steps=tuple(ws.spark.pipeline_steps),
        compute_clusters=tuple(
            ComputeClusterArgs(c.name, c.vm_size, c.max_nodes, c.idle_seconds_before_scale_down)
            for c in ws.compute_clusters
        ),
        image_build_compute=ws.image_builder,
        scratch=ws.scratch,
        data=data,
        soft_delete_retention_days=settings.data_storage.soft_delete_retention_days,
        change_feed_retention_days=settings.data_storage.change_feed_retention_days,
    )


def _customer_managed_key(settings: Settings, ws: WorkspaceSettings) -> CustomerManagedKeyArgs | None:
    if not ws.customer_managed_key:
        return None
    if settings.cosmos_db_principal_id is None:
        # Refused by config validation (cosmosDbPrincipalId is required when a workspace sets customerManagedKey).
        raise ValueError(f"workspace {ws.name}: a customer-managed key needs the Azure Cosmos DB service principal")
    return CustomerManagedKeyArgs(cosmos_db_principal_id=settings.cosmos_db_principal_id)


def endpoint_args(
    settings: Settings, endpoint: EndpointSettings, ctx: Context, workspace: Workspace, data: DataStorage
) -> EndpointArgs:
    """One endpoint of a workspace entry, with the gateway's alert thresholds for it."""
    return EndpointArgs(
        ctx=ctx,
        name=endpoint.name,
        deployments=tuple(
            DeploymentArgs(
                name=d.name,
                model=d.model,
                instance_type=d.instance_type,
                instance_count=d.instance_count,
                max_instances=d.max_instances,
                traffic=d.traffic,
                mirror=d.mirror,
            )
            for d in endpoint.deployments
        ),
        workspace=workspace,
        data=data,
        latency_threshold_ms=settings.gateway.latency_threshold_ms,
        error_threshold=settings.gateway.error_threshold,
        app_insights=settings.monitoring.app_insights_public_ingestion.enabled
        or not settings.monitoring.private_link.enabled,
    )


def gateway_args(
    settings: Settings,
    ctx: Context,
    network: Network,
    endpoints: list[Endpoint],
    application_insights_id: pulumi.Input[str],
    application_insights_connection_string: pulumi.Input[str],
) -> GatewayArgs:
    """The gateway section. Its host-name records go to the cloud's API Management zone: the hub's, where
    ``network.hubDnsZoneIds`` names it (which must then be in the stack's subscription), else the network's."""
    cfg, cloud = settings.gateway, CLOUDS[settings.cloud]
    hub_zone = settings.network.hub_dns_zone_ids.get(cloud.apim_dns_zone)
    if hub_zone is not None and hub_zone.split("/")[2].lower() != ctx.subscription_id.lower():
        # The records are written with the stack's credentials and subscription.
        raise ConfigError(
            f"{stack_file(pulumi.get_stack())}: invalid configuration\n"
            f"  secure-ml:network.hubDnsZoneIds: expected the {hub_zone.rsplit('/', 1)[-1]} zone in the stack's "
            f"subscription {ctx.subscription_id} (the gateway writes its host-name records there), "
            f"found {hub_zone!r}"
        )
    window, threshold = cfg.quota_volume_alert()
    return GatewayArgs(
        ctx=ctx,
        sku=cfg.sku,
        capacity=cfg.capacity,
        zones=gateway_zones(cfg.sku, ctx.zone_redundant),
        publisher_name=cfg.publisher_name,
        publisher_email=cfg.publisher_email,
        policy=policy_settings(cfg, ctx.tenant_id, cloud.login_host, suspended=cfg.suspended.enabled),
        alerts=GatewayAlertArgs(
            caller_volume_threshold=cfg.caller_volume_threshold,
            quota_volume_window_seconds=window,
            quota_volume_threshold=threshold,
            quota_volume_percent=cfg.quota_volume_percent,
            throttled_threshold=cfg.throttled_threshold,
            error_threshold=cfg.error_threshold,
            new_caller_alert=cfg.new_caller_alert,
        ),
        subnet_id=network.subnet_ids["gateway"],
        application_insights_id=application_insights_id,
        application_insights_connection_string=application_insights_connection_string,
        endpoints=endpoints,
        name_prefix=settings.name_prefix,
        dns_zone_id=hub_zone or network.dns_zone_ids["apim"],
    )


def _highest(classifications: Iterable[str]) -> str:
    return max(classifications, key=_ORDER.index)
