"""The whole environment: one component that builds every part, in the order the type checker holds it to.

Monitoring and the network take a :class:`~components.common.BaseContext`; every other part takes the
:class:`~components.common.Context` built from it and their outputs, so nothing that sends diagnostics,
raises alerts or opens private endpoints can be built before them. Each part's arguments come from
:mod:`components.wiring`.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources

from components import wiring
from components.common import child
from components.config import Settings
from components.controlplane import ControlPlaneWatch
from components.datastorage import DataStorage
from components.endpoint import Endpoint
from components.gateway import Gateway
from components.keyvault import KeyVault
from components.monitoring import Monitoring
from components.network import Network
from components.telemetry import PrivateTelemetry
from components.workspace import Workspace


class Platform(pulumi.ComponentResource):
    """A secure ML platform environment: resource group, network, monitoring, Key Vault and one
    workspace per entry of ``workspaces`` in the stack config."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:platform:Platform", name, None, opts)
        client = authorization.get_client_config()
        tags = wiring.tags(settings)
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg", location=settings.location, tags=tags, opts=child(self)
        )
        base = wiring.base_context(settings, client.subscription_id, client.tenant_id, self.resource_group.name, tags)
        self.monitoring = Monitoring(f"{name}-mon", wiring.monitoring_args(settings, base), opts=child(self))
        self.network = Network(
            f"{name}-net",
            wiring.network_args(settings.network, settings.cloud, base, self.monitoring.diagnostic_settings),
            opts=child(self),
        )
        ctx = wiring.context(base, self.monitoring, self.network)
        # Built after the network (its endpoint needs the subnet); the gateway's logger waits for it (telemetry.py).
        telemetry = wiring.telemetry_args(settings, ctx, self.monitoring, self.network)
        self.telemetry = PrivateTelemetry(f"{name}-tel", telemetry, opts=child(self)) if telemetry else None
        after = self.telemetry.after_endpoint if self.telemetry else pulumi.Output.from_input
        self.key_vault = KeyVault(f"{name}-kv", wiring.key_vault_args(settings, ctx), opts=child(self))
        self.data = DataStorage(
            f"{name}-data", wiring.data_storage_args(settings, ctx, self.key_vault), opts=child(self)
        )
        self.control_plane = ControlPlaneWatch(
            f"{name}-cp",
            wiring.control_plane_args(settings, ctx, f"{name}-activity-log", self.data, self.key_vault),
            opts=child(self),
        )
        self.workspaces = {
            ws.name: Workspace(
                f"{name}-{ws.name}",
                wiring.workspace_args(settings, ws, ctx, self.key_vault, self.monitoring, self.data),
                opts=child(self),
            )
            for ws in settings.workspaces
        }
        self.endpoints = [
            Endpoint(
                f"{name}-{endpoint.name}",
                wiring.endpoint_args(settings, endpoint, ctx, self.workspaces[ws.name], self.data),
                opts=child(self),
            )
            for ws in settings.workspaces
            for endpoint in ws.endpoints
        ]
        self.gateway = Gateway(
            f"{name}-gw",
            wiring.gateway_args(
                settings,
                ctx,
                self.network,
                self.endpoints,
                # The gateway's logger sends through the scope's private endpoint: it is created after it.
                application_insights_id=after(self.monitoring.app_insights.id),
                application_insights_connection_string=after(self.monitoring.app_insights.connection_string),
            ),
            opts=child(self),
        )
        self.register_outputs({"resourceGroupName": self.resource_group.name})
