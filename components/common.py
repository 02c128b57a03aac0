"""Interfaces shared by every component: the environment's context (:class:`BaseContext` for monitoring and
the network, :class:`Context` for everything built after them), tags, diagnostic settings, role assignments,
private endpoints, locks and alerts. The same names are used in every component's args."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import pulumi
from pulumi_azure_native import authorization, monitor, network, privatedns

from policies.catalog import diagnostics

ROLE = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "Azure AI Administrator": "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    "AzureML Metrics Writer": "635dd51f-9968-44d3-b7fb-6d9a6bd613ae",
    "Azure AI Enterprise Network Connection Approver": "b556d68e-0be0-4f35-a333-ad7ee1ce17ea",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
}
"""Built-in role definition GUIDs the blueprint assigns (and nothing broader). GUIDs as listed in
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles."""

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
class AlertTarget:
    """Where alerts look and whom they notify."""

    workspace_id: pulumi.Input[str]
    """Log Analytics workspace that log alerts query."""
    action_group_id: pulumi.Input[str]
    """Security action group every alert notifies."""


@dataclass(frozen=True)
class PrivateLinkTarget:
    """Where private endpoints go and which DNS zones resolve them."""

    subnet_id: pulumi.Input[str]
    """Resource ID of the private-endpoint subnet."""
    dns_zone_ids: Mapping[str, pulumi.Input[str]]
    """Private DNS zone resource ID by private-link service key (blob, vault, registry, ...)."""


@dataclass(frozen=True)
class BaseContext:
    """What every component of one environment needs to know before monitoring and the network exist.

    Monitoring and the network are built from this; everything built after them takes a :class:`Context`,
    which also carries their outputs, so a component that sends diagnostics, raises alerts or opens private
    endpoints cannot be given a context without them (the type checker refuses it).
    """

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
    storage_suffix: str = "core.windows.net"
    """Storage endpoint suffix of the Azure cloud in use."""
    hsm_keys: bool = False
    """Create customer-managed keys HSM-backed (RSA-HSM); needs the premium Key Vault SKU."""

    def role_definition_id(self, role: str) -> str:
        """Full ARM ID of a built-in role definition."""
        return f"/subscriptions/{self.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLE[role]}"


@dataclass(frozen=True, kw_only=True)
class Context(BaseContext):
    """The environment once monitoring and the network exist: the base plus where diagnostics, alerts and
    private endpoints go. Built with :meth:`of`; none of the three can be missing."""

    diagnostic_settings: DiagnosticsTarget
    """Log Analytics destination of every diagnostic setting."""
    alerts: AlertTarget
    """Log Analytics workspace and action group of every alert."""
    private_endpoints: PrivateLinkTarget
    """Private-endpoint subnet and DNS zones."""

    @classmethod
    def of(
        cls,
        base: BaseContext,
        *,
        diagnostic_settings: DiagnosticsTarget,
        alerts: AlertTarget,
        private_endpoints: PrivateLinkTarget,
    ) -> Context:
        """The complete context: ``base`` with the monitoring and network outputs."""
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(BaseContext)},
            diagnostic_settings=diagnostic_settings,
            alerts=alerts,
            private_endpoints=private_endpoints,
        )


def last_segment(resource_id: str) -> str:
    """The name at the end of an ARM resource ID."""
    return resource_id.rsplit("/", 1)[-1]


def child(parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
    """Options for a child resource: parented to the component (providers are inherited)."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)  # type: ignore[arg-type]


def diagnostic_setting(
    name: str,
    parent: pulumi.Resource,
    resource_id: pulumi.Input[str],
    target: DiagnosticsTarget,
    *,
    target_type: str,
    logs: bool = True,
    metrics: bool = True,
    log_categories: Sequence[str] = (),
    metric_categories: Sequence[str] = (),
) -> monitor.DiagnosticSetting:
    """Send a resource's logs and metrics to Log Analytics, in the categories Azure accepts for its type.

    ``target_type`` is the ARM type of ``resource_id`` (``Microsoft.Storage/storageAccounts/blobServices``
    for ``<account id>/blobServices/default``); its row in :data:`policies.catalog.diagnostics.SUPPORTED`
    decides the defaults: every log (``allLogs`` where the type supports the group, else each log
    category) and every metric category (Capacity and Transaction for storage, AllMetrics elsewhere, none
    for types without metrics). ``log_categories`` and ``metric_categories`` narrow that to the named
    categories; a category the type does not support is an error here rather than a 400 from Azure.
    """
    row = diagnostics.categories(target_type)
    unsupported = [c for c in log_categories if c not in row.logs] + [
        c for c in metric_categories if c not in row.metrics
    ]
    if unsupported:
        raise ValueError(f"{name}: {target_type} has no diagnostic category {', '.join(unsupported)}")
    chosen_logs = [("category", c) for c in log_categories] if log_categories else list(row.default_logs())
    log_settings = [
        monitor.DiagnosticsLogSettingsArgs(category_group=value, enabled=True)
        if key == "categoryGroup"
        else monitor.DiagnosticsLogSettingsArgs(category=value, enabled=True)
        for key, value in chosen_logs
    ]
    metric_settings = [
        monitor.DiagnosticsMetricSettingsArgs(category=c, enabled=True) for c in (metric_categories or row.metrics)
    ]
    if not (logs and log_settings) and not (metrics and metric_settings):
        raise ValueError(f"{name}: the setting would send no log or metric category of {target_type}")
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_id,
        workspace_id=target.workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=log_settings if logs and log_settings else None,
        metrics=metric_settings if metrics and metric_settings else None,
        opts=child(parent),
    )


def role_assignments(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
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


def linked_private_zone(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
    zone_name: str,
    vnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
) -> pulumi.Output[str]:
    """A private DNS zone ``name`` linked to the VNet (``name``-link, no auto-registration); its resource ID."""
    zone = privatedns.PrivateZone(
        name,
        resource_group_name=ctx.resource_group_name,
        private_zone_name=zone_name,
        location="global",
        tags=dict(tags),
        opts=child(parent),
    )
    privatedns.VirtualNetworkLink(
        f"{name}-link",
        resource_group_name=ctx.resource_group_name,
        private_zone_name=zone.name,
        location="global",
        virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        registration_enabled=False,
        tags=dict(tags),
        opts=child(parent),
    )
    return zone.id


def log_alert(
    name: str,
    parent: pulumi.Resource,
    ctx: Context,
    title: str,
    query: pulumi.Input[str],
    *,
    threshold: int = 0,
    severity: int = 1,
    window: str = "PT5M",
    query_time_range: str | None = None,
) -> monitor.ScheduledQueryRule:
    """A scheduled log-query alert that fires when ``query`` returns more than ``threshold`` rows."""
    return monitor.ScheduledQueryRule(
        name,
        resource_group_name=ctx.resource_group_name,
        location=ctx.location,
        display_name=title,
        description=title,
        kind="LogAlert",
        enabled=True,
        severity=severity,
        scopes=[ctx.alerts.workspace_id],
        evaluation_frequency="PT5M",
        window_size=window,
        override_query_time_range=query_time_range,
        auto_mitigate=False,
        criteria=monitor.ScheduledQueryRuleCriteriaArgs(
            all_of=[
                monitor.ConditionArgs(
                    query=query,
                    time_aggregation="Count",
                    operator="GreaterThan",
                    threshold=threshold,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        min_failing_periods_to_alert=1, number_of_evaluation_periods=1
                    ),
                )
            ]
        ),
        actions=monitor.ActionsArgs(action_groups=[ctx.alerts.action_group_id]),
        tags=dict(ctx.tags),
        opts=child(parent),
    )
