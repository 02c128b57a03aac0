"""Interfaces shared by every component: tags, diagnostic settings, role assignments, private
endpoints and locks. The same names are used in every component's args."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, network

ROLE = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "Azure AI Administrator": "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
}
"""Built-in role definition GUIDs the blueprint assigns (and nothing broader)."""

FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
"""Roles no identity of the platform may hold."""


@dataclass(frozen=True)
class RoleAssignmentSpec:
    """A built-in role granted to a principal on the component's main resource."""

    role: str
    """Built-in role name, a key of :data:`ROLE`."""
    principal_id: pulumi.Input[str]
    """Object ID of the user, group or managed identity."""
    principal_type: str = "ServicePrincipal"
    """User, Group or ServicePrincipal (managed identities are ServicePrincipal)."""
    name: str = ""
    """Short label that makes the child resource name unique."""


@dataclass(frozen=True)
class DiagnosticsTarget:
    """Where diagnostic settings send logs and metrics."""

    workspace_id: pulumi.Input[str]
    """Resource ID of the Log Analytics workspace."""


@dataclass(frozen=True)
class PrivateLinkTarget:
    """Where private endpoints go and which DNS zones resolve them."""

    subnet_id: pulumi.Input[str]
    """Resource ID of the private-endpoint subnet."""
    dns_zone_ids: Mapping[str, pulumi.Input[str]]
    """Private DNS zone resource ID by private-link service key (blob, vault, registry, ...)."""


@dataclass(frozen=True)
class Context:
    """What every component of one environment needs to know."""

    subscription_id: str
    """Subscription the platform deploys into."""
    tenant_id: str
    """Microsoft Entra tenant of the subscription."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the environment."""
    location: str
    """Azure region."""
    tags: Mapping[str, str]
    """Tags for every resource."""
    prod: bool
    """Whether this is a production environment."""
    lock: bool
    """Whether to put CanNotDelete locks on data and key stores."""
    zone_redundant: bool
    """Whether to use zone-redundant SKUs."""
    diagnostic_settings: DiagnosticsTarget | None = None
    """Log Analytics destination; None only while monitoring itself is being built."""
    private_endpoints: PrivateLinkTarget | None = None
    """Private-endpoint subnet and DNS zones; None only while the network is being built."""

    def role_definition_id(self, role: str) -> str:
        """Full ARM ID of a built-in role definition."""
        return f"/subscriptions/{self.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLE[role]}"


def child(parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
    """Options for a child resource: parented to the component (providers are inherited)."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)  # type: ignore[arg-type]


def diagnostic_setting(
    name: str,
    parent: pulumi.Resource,
    resource_id: pulumi.Input[str],
    target: DiagnosticsTarget,
    *,
    logs: bool = True,
    metrics: bool = True,
    log_categories: Sequence[str] = (),
) -> monitor.DiagnosticSetting:
    """Send every log category (``allLogs``) and all metrics of a resource to Log Analytics.

    ``log_categories`` replaces ``allLogs`` with named categories where a resource needs them spelled
    out (blob services: StorageRead, StorageWrite, StorageDelete).
    """
    log_settings: list[monitor.DiagnosticsLogSettingsArgs] = []
    if log_categories:
        log_settings = [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in log_categories]
    elif logs:
        log_settings = [monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)]
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_id,
        workspace_id=target.workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=log_settings or None,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)] if metrics else None,
        opts=child(parent),
    )


def role_assignments(
    name: str,
    parent: pulumi.Resource,
    ctx: Context,
    scope: pulumi.Input[str],
    specs: Sequence[RoleAssignmentSpec],
) -> list[authorization.RoleAssignment]:
    """Grant each spec's role on ``scope``; refuse Owner, Contributor and User Access Administrator."""
    created = []
    for spec in specs:
        if spec.role not in ROLE:
            raise ValueError(f"{name}: role {spec.role!r} is not one the blueprint grants")
        label = spec.name or spec.role.lower().replace(" ", "-")
        created.append(
            authorization.RoleAssignment(
                f"{name}-{label}",
                scope=scope,
                role_definition_id=ctx.role_definition_id(spec.role),
                principal_id=spec.principal_id,
                principal_type=spec.principal_type,
                description=f"{spec.role} for {label} (secure ML platform)",
                opts=child(parent),
            )
        )
    return created


def delete_lock(name: str, parent: pulumi.Resource, scope: pulumi.Input[str], notes: str) -> None:
    """A CanNotDelete lock on ``scope``."""
    authorization.ManagementLockByScope(
        f"{name}-lock",
        scope=scope,
        level="CanNotDelete",
        notes=notes,
        opts=child(parent),
    )


class PrivateEndpoint(pulumi.ComponentResource):
    """A private endpoint for one sub-resource (``group_id``) plus its DNS zone group.

    The one way the blueprint makes a service reachable: every PaaS resource gets its endpoints from
    here, so the groupIds and DNS zones are right everywhere.
    """

    endpoint: network.PrivateEndpoint

    def __init__(
        self,
        name: str,
        *,
        ctx: Context,
        resource_id: pulumi.Input[str],
        group_id: str,
        dns_zones: Sequence[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secure-ml:network:PrivateEndpoint", name, None, opts)
        target = ctx.private_endpoints
        if target is None:
            raise ValueError(f"{name}: no private-endpoint subnet in context")
        self.endpoint = network.PrivateEndpoint(
            f"{name}-pe",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            subnet=network.SubnetArgs(id=target.subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=f"{name}-{group_id}",
                    private_link_service_id=resource_id,
                    group_ids=[group_id],
                )
            ],
            tags=dict(ctx.tags),
            opts=child(self),
        )
        network.PrivateDnsZoneGroup(
            f"{name}-dns",
            resource_group_name=ctx.resource_group_name,
            private_endpoint_name=self.endpoint.name,
            private_dns_zone_group_name="default",
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name=zone, private_dns_zone_id=target.dns_zone_ids[zone])
                for zone in dns_zones
            ],
            opts=child(self),
        )
        self.register_outputs({"privateEndpointId": self.endpoint.id})
