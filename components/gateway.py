"""API Management in front of every model endpoint: authenticated, rate-limited, logged, stoppable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import apimanagement as apim
from pulumi_azure_native import authorization, privatedns

from components import naming
from components.common import (
    Context,
    RoleAssignmentSpec,
    child,
    diagnostic_setting,
    last_segment,
    role_assignments,
)
from components.endpoint import Endpoint
from components.gateway_alerts import GatewayAlertArgs, gateway_alerts
from components.gateway_policy import (
    CALLER_HEADER,
    SCORE_CONTENT_TYPE,
    SCORE_REQUEST_TYPE,
    SCORE_SCHEMA_CONTENT_TYPE,
    SCORE_SCHEMA_ID,
    PolicySettings,
    render,
    score_request_components,
)

SCORE_ACTION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"
"""The only permission the gateway holds on an endpoint."""

TLS_SETTINGS = {
    # frontend (clients -> gateway) and backend (gateway -> endpoint): TLS 1.2 or newer only
    **{
        f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}Protocols.{proto}": "False"
        for side in ("", "Backend.")
        for proto in ("Ssl30", "Tls10", "Tls11")
    },
    **{
        f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.{cipher}": "False"
        for cipher in (
            "TripleDes168",
            "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA256",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        )
    },
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Protocols.Server.Http2": "True",
}
"""API Management custom properties: SSL 3, TLS 1.0/1.1, 3DES and the CBC/RSA-key-exchange ciphers off."""

HOST_LABELS = {
    "gateway": "",
    "portal": ".portal",
    "developer": ".developer",
    "management": ".management",
    "scm": ".scm",
}
"""Default host names of an API Management service, relative to the cloud's API Management domain.

In internal VNet mode nothing resolves them; each needs an A record for the service's private address
(learn.microsoft.com/azure/api-management/api-management-using-with-internal-vnet, "DNS configuration").
"""


@dataclass(frozen=True)
class GatewayArgs:
    """Inputs of :class:`Gateway`."""

    ctx: Context
    """Environment context: resource group, tags, diagnostics and alert targets."""
    sku: str
    """API Management tier (Developer or Premium)."""
    capacity: int
    """Scale units."""
    zones: Sequence[str] | None
    """Availability zones the units are pinned to; None: no zone pinning."""
    publisher_name: str
    """Publisher name of the service."""
    publisher_email: str
    """Publisher e-mail of the service."""
    policy: PolicySettings
    """Inputs of the policy every model API carries: token rules, limits, body size, kill switch."""
    alerts: GatewayAlertArgs
    """Thresholds of the gateway's alerts."""
    subnet_id: pulumi.Input[str]
    """Gateway subnet (internal VNet mode)."""
    application_insights_id: pulumi.Input[str]
    """Application Insights that receives request telemetry (through the gateway's managed identity)."""
    application_insights_connection_string: pulumi.Input[str]
    """Connection string of that Application Insights."""
    endpoints: Sequence[Endpoint]
    """Model endpoints to publish, one API each."""
    name_prefix: str
    """Environment name prefix (names the custom role)."""
    dns_zone_id: pulumi.Input[str]
    """Private DNS zone of the cloud's API Management domain (azure-api.net), linked to the VNet; the
    gateway writes its host names there. A plain string is a hub zone from network.hubDnsZoneIds."""


class Gateway(pulumi.ComponentResource):
    """One API Management service per environment.

    Internal VNet mode with TLS 1.2+ both ways and weak ciphers off; a system-assigned identity that
    holds only a custom "score" role on each endpoint; request telemetry with the caller's identity to
    Application Insights and gateway logs to Log Analytics; one API per endpoint (POST /score) whose
    policy is generated from config (components/gateway_policy.py); alerts on per-caller volume (the
    model-stealing signal), 429 and error surges and, optionally, callers with no call in the previous two
    days; A records for its host names in the private azure-api.net zone.
    """

    service: apim.ApiManagementService
    policy: str
    """The policy XML every model API carries."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:gateway:Gateway", name, None, opts)
        ctx = args.ctx
        rg = ctx.resource_group_name
        # Units pinned to zones must divide evenly across them; config validation enforces it (MLSEC-APIM-020).
        zones = args.zones
        self.service = apim.ApiManagementService(
            f"{name}-apim",
            service_name=naming.api_management(ctx.subscription_id, f"{name}-apim"),
            resource_group_name=rg,
            location=ctx.location,
            sku=apim.ApiManagementServiceSkuPropertiesArgs(name=args.sku, capacity=args.capacity),
            zones=list(zones) if zones else None,
            publisher_name=args.publisher_name,
            publisher_email=args.publisher_email,
            identity=apim.ApiManagementServiceIdentityArgs(type="SystemAssigned"),
            virtual_network_type="Internal",
            virtual_network_configuration=apim.VirtualNetworkConfigurationArgs(subnet_resource_id=args.subnet_id),
            # Internal mode has no public gateway endpoint; Azure accepts "Disabled" only together with a
            # private endpoint, which internal mode does not support.
            public_network_access="Enabled",
            custom_properties=dict(TLS_SETTINGS),
            developer_portal_status="Disabled",
            legacy_portal_status="Disabled",
            tags=dict(ctx.tags),
            opts=child(self),
        )
        principal = self.service.identity.apply(lambda i: i.principal_id if i else "")
        telemetry_roles = role_assignments(
            f"{name}-appi",
            self,
            ctx,
            args.application_insights_id,
            [RoleAssignmentSpec("Monitoring Metrics Publisher", principal, name="gateway")],
        )
        logger = apim.Logger(
            f"{name}-logger",
            resource_group_name=rg,
            service_name=self.service.name,
            logger_id="appinsights",
            logger_type="applicationInsights",
            resource_id=args.application_insights_id,
            credentials=pulumi.Output.secret(
                pulumi.Output.from_input(args.application_insights_connection_string).apply(  # type: ignore[arg-type]
                    _identity_credentials
                )
            ),
            description="Request telemetry through the gateway's managed identity",
            opts=child(self, depends_on=telemetry_roles),
        )
        # The caller is logged from the backend request, whose x-caller-id the policy overrides with the
        # validated token's identity; the frontend request's headers are whatever the client sent and are not
        # logged (BackendRequestHeaders vs RequestHeaders in ApiManagementGatewayLogs).
        frontend = apim.PipelineDiagnosticSettingsArgs(
            request=apim.HttpMessageDiagnosticArgs(body=apim.BodyDiagnosticSettingsArgs(bytes=0)),
            response=apim.HttpMessageDiagnosticArgs(body=apim.BodyDiagnosticSettingsArgs(bytes=0)),
        )
        backend = apim.PipelineDiagnosticSettingsArgs(
            request=apim.HttpMessageDiagnosticArgs(
                headers=[CALLER_HEADER], body=apim.BodyDiagnosticSettingsArgs(bytes=0)
            ),
            response=apim.HttpMessageDiagnosticArgs(body=apim.BodyDiagnosticSettingsArgs(bytes=0)),
        )
        for diag_id, logger_id in (
            ("applicationinsights", logger.id),
            ("azuremonitor", pulumi.Output.concat(self.service.id, "/loggers/azuremonitor")),
        ):
            apim.Diagnostic(
                f"{name}-{diag_id}",
                resource_group_name=rg,
                service_name=self.service.name,
                diagnostic_id=diag_id,
                logger_id=logger_id,
                always_log="allErrors",
                log_client_ip=True,
                verbosity="information",
                sampling=apim.SamplingSettingsArgs(sampling_type="fixed", percentage=100),
                frontend=frontend,
                backend=backend,
                opts=child(self),
            )
        diagnostic_setting(
            f"{name}-diag",
            self,
            self.service.id,
            ctx.diagnostic_settings,
            target_type="Microsoft.ApiManagement/service",
        )

        scorer = authorization.RoleDefinition(
            f"{name}-scorer-role",
            scope=pulumi.Output.concat("/subscriptions/", ctx.subscription_id, "/resourceGroups/", rg),
            role_definition_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"secure-ml/{args.name_prefix}/{name}/scorer")),
            role_name=f"{name} model scorer",
            description="Score online endpoints, nothing else (the API gateway's role)",
            role_type="CustomRole",
            permissions=[authorization.PermissionArgs(actions=[SCORE_ACTION])],
            assignable_scopes=[pulumi.Output.concat("/subscriptions/", ctx.subscription_id, "/resourceGroups/", rg)],
            opts=child(self),
        )

        self.policy = render(args.policy)
        for endpoint in args.endpoints:
            ep_name = endpoint.api_name
            authorization.RoleAssignment(
                f"{name}-{ep_name}-score",
                scope=endpoint.endpoint.id,
                role_definition_id=scorer.id,
                principal_id=principal,
                principal_type="ServicePrincipal",
                description=f"API gateway may score {ep_name}",
                opts=child(self),
            )
            api = apim.Api(
                f"{name}-{ep_name}-api",
                resource_group_name=rg,
                service_name=self.service.name,
                api_id=ep_name,
                display_name=f"Model {ep_name}",
                path=f"models/{ep_name}",
                protocols=["https"],
                api_type="http",
                subscription_required=False,
                service_url=endpoint.scoring_base_uri,
                opts=child(self),
            )
            # validate-content checks application/json bodies against the operation's request definition;
            # without one every call would get 400 (learn.microsoft.com/azure/api-management/
            # validate-content-policy, "Schemas for content validation" and "Validation errors").
            schema = apim.ApiSchema(
                f"{name}-{ep_name}-schema",
                resource_group_name=rg,
                service_name=self.service.name,
                api_id=api.name,
                schema_id=SCORE_SCHEMA_ID,
                content_type=SCORE_SCHEMA_CONTENT_TYPE,
                components=score_request_components(ep_name, args.policy.max_request_bytes),
                opts=child(self),
            )
            apim.ApiOperation(
                f"{name}-{ep_name}-score-op",
                resource_group_name=rg,
                service_name=self.service.name,
                api_id=api.name,
                operation_id="score",
                display_name="Score",
                method="POST",
                url_template="/score",
                request=apim.RequestContractArgs(
                    description="Scoring input",
                    representations=[
                        apim.RepresentationContractArgs(
                            content_type=SCORE_CONTENT_TYPE, schema_id=schema.name, type_name=SCORE_REQUEST_TYPE
                        )
                    ],
                ),
                opts=child(self),
            )
            apim.ApiPolicy(
                f"{name}-{ep_name}-policy",
                resource_group_name=rg,
                service_name=self.service.name,
                api_id=api.name,
                policy_id="policy",
                format="xml",
                value=self.policy,
                opts=child(self),
            )

        self._dns(name, args.dns_zone_id)
        gateway_alerts(name, self, ctx, self.service.id, args.alerts)
        self.register_outputs({"serviceId": self.service.id, "policySuspended": args.policy.suspended})

    def _dns(self, name: str, zone_id: pulumi.Input[str]) -> None:
        """A records for the service's default host names, pointing at its private address."""
        zone = pulumi.Output.from_input(zone_id)
        address = self.service.private_ip_addresses.apply(_private_address)
        for endpoint, label in HOST_LABELS.items():
            privatedns.PrivateRecordSet(
                f"{name}-dns-{endpoint}",
                resource_group_name=zone.apply(_resource_group),
                private_zone_name=zone.apply(last_segment),
                record_type="A",
                relative_record_set_name=pulumi.Output.concat(self.service.name, label),
                ttl=300,
                a_records=[privatedns.ARecordArgs(ipv4_address=address)],
                opts=child(self),
            )


def _private_address(addresses: Sequence[str] | None) -> str:
    """The service's private virtual IP (internal VNet mode always has one)."""
    if not addresses:
        raise ValueError("API Management in internal VNet mode reported no private IP address")
    return addresses[0]


def _resource_group(resource_id: str) -> str:
    """The resource group segment of an ARM resource ID."""
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" not in lowered:
        raise ValueError(f"not a resource-group-scoped resource ID: {resource_id}")
    return parts[lowered.index("resourcegroups") + 1]


def _identity_credentials(connection_string: str) -> dict[str, str]:
    """Logger credentials that send telemetry with the gateway's managed identity, not the ikey."""
    return {"connectionString": connection_string, "identityClientId": "SystemAssigned"}
