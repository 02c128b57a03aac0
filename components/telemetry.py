"""Telemetry reachable only privately: the Azure Monitor Private Link Scope of one environment.

Order of creation. Monitoring comes first (every diagnostic setting of the network points at its
workspace), and its Log Analytics workspace and Application Insights are created with ingestion and queries
from public networks already disabled: those are properties of the resources themselves, and nothing that
sends telemetry exists yet. The network comes next, then this component: the scope, the two scoped
resources, and only then the scope's private endpoint in the private-endpoint subnet with its DNS zone
group (Microsoft's order: create the scope, connect the resources, connect the private endpoint;
https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-configure). The gateway, whose
logger is the first sender through the VNet, is ordered after this component.

Diagnostic settings are not governed by the public-access flags: "Logs and metrics sent to a workspace from
a diagnostic setting are over a secure private Microsoft channel and aren't controlled by these settings"
(https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-design#control-network-access-to-ampls-resources).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pulumi
from pulumi_azure_native import monitor

from components.common import Context, PrivateEndpoint, PrivateLinkTarget, child, linked_private_zone

GROUP_ID = "azuremonitor"
"""Private-link sub-resource of Microsoft.Insights/privateLinkScopes."""

ACCESS_MODE = "PrivateOnly"
"""Ingestion and query access mode of the scope: the VNet reaches only the Azure Monitor resources in the
scope, which prevents exfiltration to another tenant's workspace
(https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-design#access-modes)."""


@dataclass(frozen=True)
class TelemetryArgs:
    """Inputs of :class:`PrivateTelemetry`."""

    ctx: Context
    """Environment context; ``ctx.private_endpoints`` names the subnet and the blob zone."""
    vnet_id: pulumi.Input[str]
    """VNet the scope's own private DNS zones are linked to."""
    workspace_id: pulumi.Input[str]
    """Resource ID of the Log Analytics workspace."""
    app_insights_id: pulumi.Input[str]
    """Resource ID of the workspace-based Application Insights component."""
    zones: Mapping[str, str]
    """Azure Monitor private DNS zone names of the cloud by key (monitor, oms, ods, agentsvc), without blob."""
    hub_dns_zone_ids: Mapping[str, str]
    """Private DNS zones a hub already owns, by zone name; used instead of creating them."""


class PrivateTelemetry(pulumi.ComponentResource):
    """An Azure Monitor Private Link Scope with access modes PrivateOnly that holds the Log Analytics
    workspace and Application Insights, and its private endpoint (group azuremonitor) with the zones
    Microsoft lists for it. Hub zones are used where the stack names them: Microsoft's guidance is one
    scope per DNS (https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-design), so
    with shared hub zones this scope's records serve every network on that DNS."""

    scope: monitor.PrivateLinkScope
    endpoint: PrivateEndpoint

    def __init__(self, name: str, args: TelemetryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:monitoring:PrivateTelemetry", name, None, opts)
        ctx = args.ctx
        tags = dict(ctx.tags)
        self.scope = monitor.PrivateLinkScope(
            f"{name}-ampls",
            scope_name=f"{name}-ampls",
            resource_group_name=ctx.resource_group_name,
            location="global",
            access_mode_settings=monitor.AccessModeSettingsArgs(
                ingestion_access_mode=ACCESS_MODE, query_access_mode=ACCESS_MODE, exclusions=[]
            ),
            tags=tags,
            opts=child(self),
        )
        scoped = [
            monitor.PrivateLinkScopedResource(
                f"{name}-ampls-{key}",
                name=key,
                scope_name=self.scope.name,
                resource_group_name=ctx.resource_group_name,
                linked_resource_id=resource_id,
                opts=child(self),
            )
            for key, resource_id in (("law", args.workspace_id), ("appi", args.app_insights_id))
        ]
        zone_ids: dict[str, pulumi.Input[str]] = {"blob": ctx.private_endpoints.dns_zone_ids["blob"]}
        for key, zone_name in args.zones.items():
            hub_zone = args.hub_dns_zone_ids.get(zone_name)
            if hub_zone is not None:
                zone_ids[key] = hub_zone
                continue
            zone_id = linked_private_zone(f"{name}-dns-{key}", self, ctx, zone_name, args.vnet_id, tags)
            zone_ids[key] = zone_id
        # The scope's ID, once both resources are in it: the endpoint (whose DNS records Azure derives from the
        # scope's resources) is created only after them.
        scope_with_resources = pulumi.Output.all(self.scope.id, *(r.id for r in scoped)).apply(lambda ids: ids[0])
        self.endpoint = PrivateEndpoint(
            f"{name}-ampls",
            ctx=_with_zones(ctx, zone_ids),
            resource_id=scope_with_resources,
            group_id=GROUP_ID,
            dns_zones=[*args.zones, "blob"],
            opts=child(self),
        )
        self.register_outputs({"privateLinkScopeId": self.scope.id})

    def after_endpoint(self, value: pulumi.Input[str]) -> pulumi.Output[str]:
        """``value``, available only once the scope's private endpoint exists (to order its senders after it)."""
        return pulumi.Output.all(value, self.endpoint.endpoint.id).apply(lambda values: values[0])


def _with_zones(ctx: Context, zone_ids: Mapping[str, pulumi.Input[str]]) -> Context:
    """The context with the scope's zones as the private-endpoint zones."""
    target = PrivateLinkTarget(subnet_id=ctx.private_endpoints.subnet_id, dns_zone_ids=zone_ids)
    return replace(ctx, private_endpoints=target)
