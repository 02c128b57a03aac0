"""A managed online endpoint: Entra-token auth, no public access, its own identity, declared deployments."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity, monitor

from components import naming
from components.common import Context, RoleAssignmentSpec, child, diagnostic_setting, role_assignments
from components.config import DeploymentSettings, EndpointSettings
from components.datastorage import DataStorage
from components.workspace import Workspace


@dataclass(frozen=True)
class EndpointArgs:
    """Inputs of :class:`Endpoint`."""

    ctx: Context
    """Environment context: resource group, location, tags."""
    settings: EndpointSettings
    """This endpoint's entry in the stack config."""
    workspace: Workspace
    """The workspace that owns the endpoint (its registry holds the images)."""
    data: DataStorage
    """Training-data storage: the endpoint identity reads the models zone."""
    latency_threshold_ms: int
    """Average latency over 15 minutes that raises an alert."""
    error_threshold: int
    """5xx answers per minute, averaged over 15 minutes, that raise an alert."""


class Endpoint(pulumi.ComponentResource):
    """An online endpoint nobody reaches except the gateway.

    Creates a user-assigned identity holding only AcrPull on the workspace registry and Storage Blob
    Data Reader on the models zone; the endpoint (AADToken auth, public network access disabled,
    traffic and mirror split from config); one deployment per config entry (egress public network
    access disabled, data collection of inputs and outputs, liveness and readiness probes); and metric
    alerts on latency and server errors.
    """

    endpoint: ml.OnlineEndpoint
    identity: managedidentity.UserAssignedIdentity
    deployments: list[ml.OnlineDeployment]

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:ml:Endpoint", name, None, opts)
        ctx, cfg, ws = args.ctx, args.settings, args.workspace
        self.settings = cfg
        rg = ctx.resource_group_name
        tags = dict(ws.tags)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_group_name=rg, location=ctx.location, tags=tags, opts=child(self)
        )
        grants = [
            *role_assignments(
                f"{name}-acr", self, ctx, ws.registry.id, [RoleAssignmentSpec("AcrPull", self.identity.principal_id)]
            ),
            *role_assignments(
                f"{name}-models",
                self,
                ctx,
                args.data.container_id("models"),
                [RoleAssignmentSpec("Storage Blob Data Reader", self.identity.principal_id)],
            ),
        ]
        live = {d.name: d.traffic for d in cfg.deployments if not d.mirror}
        mirrored = {d.name: d.mirror for d in cfg.deployments if d.mirror}
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-ep",
            resource_group_name=rg,
            workspace_name=ws.workspace.name,
            endpoint_name=naming.online_endpoint(ctx.subscription_id, name),
            location=ctx.location,
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[self.identity.id]),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode="AADToken",
                public_network_access="Disabled",
                description=f"{cfg.name}: reached only through the API gateway",
                traffic=live,
                mirror_traffic=mirrored or None,
            ),
            tags=tags,
            opts=child(self, depends_on=grants),
        )
        self.deployments = [self._deployment(name, ctx, ws, d, tags) for d in cfg.deployments]
        self.scoring_base_uri: pulumi.Output[str] = self.endpoint.properties.apply(
            lambda p: str(p.scoring_uri).removesuffix("/score")
        )
        if ctx.diagnostic_settings is not None:
            # traffic, console and event logs of the endpoint, and its metrics
            diagnostic_setting(f"{name}-diag", self, self.endpoint.id, ctx.diagnostic_settings)
        self._alerts(name, ctx, args)
        self.register_outputs({"endpointId": self.endpoint.id, "identityPrincipalId": self.identity.principal_id})

    def _deployment(
        self,
        name: str,
        ctx: Context,
        ws: Workspace,
        cfg: DeploymentSettings,
        tags: dict[str, str],
    ) -> ml.OnlineDeployment:
        scale: ml.DefaultScaleSettingsArgs | ml.TargetUtilizationScaleSettingsArgs
        if cfg.max_instances is None:
            scale = ml.DefaultScaleSettingsArgs(scale_type="Default")
        else:
            scale = ml.TargetUtilizationScaleSettingsArgs(
                scale_type="TargetUtilization",
                min_instances=cfg.instance_count,
                max_instances=cfg.max_instances,
                target_utilization_percentage=70,
                polling_interval="PT1M",
            )
        probe = ml.ProbeSettingsArgs(
            initial_delay="PT30S", period="PT10S", timeout="PT2S", failure_threshold=3, success_threshold=1
        )
        return ml.OnlineDeployment(
            f"{name}-{cfg.name}",
            resource_group_name=ctx.resource_group_name,
            workspace_name=ws.workspace.name,
            endpoint_name=self.endpoint.name,
            deployment_name=cfg.name,
            location=ctx.location,
            sku=ml.SkuArgs(name="Default", capacity=cfg.instance_count),
            properties=ml.ManagedOnlineDeploymentArgs(
                endpoint_compute_type="Managed",
                model=cfg.model,
                instance_type=cfg.instance_type,
                egress_public_network_access="Disabled",
                app_insights_enabled=True,
                scale_settings=scale,
                liveness_probe=probe,
                readiness_probe=probe,
                # Every input and output is kept for forensics and drift or evasion analysis. They land
                # in the workspace's default datastore: writing them to the models zone would add a
                # second writer there and blind its single-writer tripwire.
                data_collector=ml.DataCollectorArgs(
                    collections={
                        kind: ml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=1.0)
                        for kind in ("model_inputs", "model_outputs")
                    },
                    request_logging=ml.RequestLoggingArgs(capture_headers=["x-caller-id"]),
                ),
                description=f"{cfg.name}: {cfg.model}" + (f", shadow ({cfg.mirror}% mirrored)" if cfg.mirror else ""),
            ),
            tags=tags,
            opts=child(self),
        )

    def _alerts(self, name: str, ctx: Context, args: EndpointArgs) -> None:
        checks = [
            ("latency", "RequestLatency", "Average", args.latency_threshold_ms, None, "Average latency too high"),
            (
                "errors",
                "RequestsPerMinute",
                "Average",
                args.error_threshold,
                monitor.MetricDimensionArgs(name="statusCodeClass", operator="Include", values=["5xx"]),
                "Server errors from the endpoint",
            ),
        ]
        if ctx.alerts is None:
            raise ValueError(f"{name}: no alert target in context")
        for suffix, metric, aggregation, threshold, dimension, title in checks:
            monitor.MetricAlert(
                f"{name}-{suffix}",
                resource_group_name=ctx.resource_group_name,
                location="global",
                description=f"{args.settings.name}: {title}",
                enabled=True,
                severity=2,
                scopes=[self.endpoint.id],
                evaluation_frequency="PT5M",
                window_size="PT15M",
                auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name=metric,
                            metric_name=metric,
                            metric_namespace="Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                            operator="GreaterThan",
                            threshold=threshold,
                            time_aggregation=aggregation,
                            dimensions=[dimension] if dimension else None,
                        )
                    ],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=ctx.alerts.action_group_id)],
                tags=dict(ctx.tags),
                opts=child(self),
            )
