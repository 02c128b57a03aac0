"""The whole environment: one component that builds every part from validated settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pulumi
from pulumi_azure_native import authorization, resources

from components.common import AlertTarget, Context, child
from components.config import Settings
from components.controlplane import DATA_OPERATIONS, VAULT_OPERATIONS, ControlPlaneWatch, ControlPlaneWatchArgs
from components.datastorage import DataStorage, DataStorageArgs
from components.endpoint import Endpoint, EndpointArgs
from components.gateway import Gateway, GatewayArgs
from components.keyvault import KeyVault, KeyVaultArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs
from components.regions import CLOUDS
from components.telemetry import PrivateTelemetry, TelemetryArgs
from components.workspace import Workspace, WorkspaceArgs


class Platform(pulumi.ComponentResource):
    """A secure ML platform environment: resource group, network, monitoring, Key Vault and one
    workspace per entry of ``workspaces`` in the stack config."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:platform:Platform", name, None, opts)
        client = authorization.get_client_config()
        tags = {
            "environment": settings.environment,
            "team": settings.tags.team,
            "owner": settings.tags.owner,
            "cost-center": settings.tags.cost_center,
            "data-classification": _highest(w.data_classification for w in settings.workspaces),
            "managed-by": "pulumi",
        }
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg", location=settings.location, tags=tags, opts=child(self)
        )
        ctx = Context(
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
            resource_group_name=self.resource_group.name,
            location=settings.location,
            tags=tags,
            prod=settings.is_prod,
            lock=settings.locks.enabled,
            zone_redundant=settings.zone_redundant,
            storage_suffix=CLOUDS[settings.cloud].storage_suffix,
            hsm_keys=settings.key_vault.sku == "premium",
        )
        self.monitoring = Monitoring(
            f"{name}-mon",
            MonitoringArgs(
                ctx=ctx,
                log_retention_days=settings.monitoring.log_retention_days,
                alert_emails=settings.monitoring.alert_emails,
                private_link=settings.monitoring.private_link.enabled,
                app_insights_public_ingestion=settings.monitoring.app_insights_public_ingestion.enabled,
            ),
            opts=child(self),
        )
        ctx = replace(
            ctx,
            diagnostic_settings=self.monitoring.diagnostic_settings,
            alerts=AlertTarget(
                workspace_id=self.monitoring.workspace.id, action_group_id=self.monitoring.action_group.id
            ),
        )
        self.network = Network(
            f"{name}-net", NetworkArgs(ctx=ctx, settings=settings.network, cloud=settings.cloud), opts=child(self)
        )
        ctx = replace(ctx, private_endpoints=self.network.private_link_target())
        # Built after the network (its endpoint needs the subnet); the gateway's logger waits for it (telemetry.py).
        self.telemetry = (
            PrivateTelemetry(
                f"{name}-tel",
                TelemetryArgs(
                    ctx=ctx,
                    vnet_id=self.network.vnet_id,
                    workspace_id=self.monitoring.workspace.id,
                    app_insights_id=self.monitoring.app_insights.id,
                    zones=CLOUDS[settings.cloud].monitor_zones,
                    hub_dns_zone_ids=settings.network.hub_dns_zone_ids,
                ),
                opts=child(self),
            )
            if settings.monitoring.private_link.enabled
            else None
        )
        after = self.telemetry.after_endpoint if self.telemetry else pulumi.Output.from_input
        self.key_vault = KeyVault(
            f"{name}-kv",
            KeyVaultArgs(
                ctx=ctx,
                sku=settings.key_vault.sku,
                soft_delete_retention_days=settings.key_vault.soft_delete_retention_days,
                purge_protection=settings.key_vault.purge_protection.enabled,
                generation=settings.key_vault.generation,
            ),
            opts=child(self),
        )
        self.data = DataStorage(
            f"{name}-data",
            DataStorageArgs(
                ctx=ctx,
                settings=settings.data_storage,
                key_vault_id=self.key_vault.vault.id,
                key_vault_uri=self.key_vault.vault.properties.vault_uri,
                scratch_containers=[f"scratch-{ws.name}" for ws in settings.workspaces if ws.scratch],
            ),
            opts=child(self),
        )
        self.control_plane = ControlPlaneWatch(
            f"{name}-cp",
            ControlPlaneWatchArgs(
                ctx=ctx,
                name=f"{name}-activity-log",
                protected=[
                    ("data", self.data.account.id, DATA_OPERATIONS),
                    ("vault", self.key_vault.vault.id, VAULT_OPERATIONS),
                ],
                export_activity_log=settings.monitoring.activity_log.enabled,
            ),
            opts=child(self),
        )
        self.workspaces = {
            ws.name: Workspace(
                f"{name}-{ws.name}",
                WorkspaceArgs(
                    ctx=ctx,
                    settings=ws,
                    key_vault_id=self.key_vault.vault.id,
                    application_insights_id=self.monitoring.app_insights.id,
                    data=self.data,
                    cosmos_db_principal_id=settings.cosmos_db_principal_id,
                    soft_delete_retention_days=settings.data_storage.soft_delete_retention_days,
                    change_feed_retention_days=settings.data_storage.change_feed_retention_days,
                ),
                opts=child(self),
            )
            for ws in settings.workspaces
        }
        self.endpoints = [
            Endpoint(
                f"{name}-{endpoint.name}",
                EndpointArgs(
                    ctx=ctx,
                    settings=endpoint,
                    workspace=self.workspaces[ws.name],
                    data=self.data,
                    latency_threshold_ms=settings.gateway.latency_threshold_ms,
                    error_threshold=settings.gateway.error_threshold,
                    app_insights=settings.monitoring.app_insights_public_ingestion.enabled
                    or not settings.monitoring.private_link.enabled,
                ),
                opts=child(self),
            )
            for ws in settings.workspaces
            for endpoint in ws.endpoints
        ]
        self.gateway = Gateway(
            f"{name}-gw",
            GatewayArgs(
                ctx=ctx,
                settings=settings.gateway,
                subnet_id=self.network.subnet_ids["gateway"],
                # The gateway's logger sends through the scope's private endpoint: it is created after it.
                application_insights_id=after(self.monitoring.app_insights.id),
                application_insights_connection_string=after(self.monitoring.app_insights.connection_string),
                endpoints=self.endpoints,
                login_host=CLOUDS[settings.cloud].login_host,
                name_prefix=settings.name_prefix,
                dns_zone_id=settings.network.hub_dns_zone_ids.get(CLOUDS[settings.cloud].apim_dns_zone)
                or self.network.dns_zone_ids["apim"],
            ),
            opts=child(self),
        )
        self.register_outputs({"resourceGroupName": self.resource_group.name})


_ORDER = ["public", "internal", "confidential", "restricted"]


def _highest(classifications: Iterable[str]) -> str:
    return max(classifications, key=_ORDER.index)
