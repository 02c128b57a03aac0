"""A managed online endpoint: Entra-token auth, no public access, its own identity, declared deployments."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity, monitor

from components import naming
from components.common import Context, RoleAssignmentSpec, child, diagnostic_setting, role_assignments
from components.datastorage import DataStorage
from components.endpoint_traffic import ARM_BY_STORAGE_SUFFIX, EndpointTraffic
from components.workspace import Workspace


@dataclass(frozen=True)
class DeploymentArgs:
    """One deployment of an online endpoint."""

    name: str
    """Deployment name."""
    model: str
    """Registered model it serves (``azureml:<name>:<version>``)."""
    instance_type: str
    """VM size of its instances."""
    instance_count: int = 1
    """Instances it starts with (and scales in to)."""
    max_instances: int | None = None
    """Instances it scales out to on CPU utilization; None: no autoscale."""
    traffic: int = 100
    """Percentage of live traffic it takes."""
    mirror: int = 0
    """Percentage of live traffic mirrored to it (a shadow deployment takes no live traffic)."""


@dataclass(frozen=True)
class EndpointArgs:
    """Inputs of :class:`Endpoint`."""

    ctx: Context
    """Environment context: resource group, location, tags, diagnostics and alert targets."""
    name: str
    """The endpoint's name in the stack: its API's ID and path on the gateway."""
    deployments: Sequence[DeploymentArgs]
    """Its deployments, created in this order."""
    workspace: Workspace
    """The workspace that owns the endpoint (its registry holds the images)."""
    data: DataStorage
    """Training-data storage: the endpoint identity reads the models zone."""
    latency_threshold_ms: int
    """Average latency over 15 minutes that raises an alert."""
    error_threshold: int
    """5xx answers per minute, averaged over 15 minutes, that raise an alert."""
    app_insights: bool = False
    """Send deployment telemetry to Application Insights: only when it accepts public ingestion, which the
    workspace's managed network needs (monitoring.appInsightsPublicIngestion)."""


class Endpoint(pulumi.ComponentResource):
    """An online endpoint nobody reaches except the gateway.

    Creates a user-assigned identity with the roles Microsoft documents for a user-assigned endpoint
    identity (a user-assigned identity gets none automatically): AcrPull on the workspace registry,
    Storage Blob Data Reader and (for the data collector) Storage Blob Data Contributor on the
    workspace's default storage account, AzureML Metrics Writer on the workspace, and Storage Blob
    Data Reader on the models zone. Then, in this order: the endpoint (AADToken auth, public network
    access disabled, no traffic); one deployment per config entry (Default scale type, data collection
    of inputs and outputs, liveness and readiness probes) with an autoscale setting where maxInstances
    is set; and the traffic step (:class:`EndpointTraffic`) that writes the live and mirror split once
    every deployment exists. Metric alerts on latency and server errors.
    """

    endpoint: ml.OnlineEndpoint
    identity: managedidentity.UserAssignedIdentity
    deployments: list[ml.OnlineDeployment]
    autoscale: list[monitor.AutoscaleSetting]
    traffic: EndpointTraffic
    api_name: str
    """The endpoint's name in the stack (its API on the gateway)."""

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:ml:Endpoint", name, None, opts)
        ctx, cfg, ws = args.ctx, args, args.workspace
        self.api_name = args.name
        self._app_insights = args.app_insights
        rg = ctx.resource_group_name
        tags = dict(ws.tags)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_group_name=rg, location=ctx.location, tags=tags, opts=child(self)
        )
        principal = self.identity.principal_id
        # A user-assigned endpoint identity gets no automatic role; these are the ones Azure ML assigns a
        # system-assigned one (https://learn.microsoft.com/azure/machine-learning/concept-endpoints-online-auth,
        # "Automatic role assignment for endpoint identity"), each at its resource.
        grants = [
            *role_assignments(f"{name}-acr", self, ctx, ws.registry.id, [RoleAssignmentSpec("AcrPull", principal)]),
            *role_assignments(
                f"{name}-wsstore",
                self,
                ctx,
                ws.storage_account.id,
                [
                    # model download from the workspace's default datastore
                    RoleAssignmentSpec("Storage Blob Data Reader", principal),
                    # the data collector writes to workspaceblobstore (modelDataCollector/...), a container Azure ML
                    # names at workspace creation, so the account is the narrowest scope known before it exists
                    # (https://learn.microsoft.com/azure/machine-learning/how-to-collect-production-data: "Assign the
                    # Storage Blob Data Contributor role to this identity" on the destination)
                    RoleAssignmentSpec("Storage Blob Data Contributor", principal),
                ],
            ),
            *role_assignments(
                f"{name}-ws", self, ctx, ws.workspace.id, [RoleAssignmentSpec("AzureML Metrics Writer", principal)]
            ),
            *role_assignments(
                f"{name}-models",
                self,
                ctx,
                args.data.container_id("models"),
                [RoleAssignmentSpec("Storage Blob Data Reader", principal)],
            ),
        ]
        # No traffic at creation: Azure ML refuses a split naming deployments that do not exist yet. The
        # traffic step below writes it after every deployment.
        endpoint_properties = {
            "authMode": "AADToken",
            "publicNetworkAccess": "Disabled",
            "description": f"{cfg.name}: reached only through the API gateway",
        }
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-ep",
            resource_group_name=rg,
            workspace_name=ws.workspace.name,
            endpoint_name=naming.online_endpoint(ctx.subscription_id, name),
            location=ctx.location,
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[self.identity.id]),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=endpoint_properties["authMode"],
                public_network_access=endpoint_properties["publicNetworkAccess"],
                description=endpoint_properties["description"],
            ),
            tags=tags,
            opts=child(self, depends_on=grants),
        )
        # The provider updates the endpoint with a PUT of its declared body, which carries no traffic; the step's
        # inputs carry the body's fingerprint so the split is written again after any endpoint update.
        endpoint_revision = pulumi.Output.json_dumps(
            {"properties": endpoint_properties, "tags": tags, "identity": self.identity.id}
        ).apply(lambda text: hashlib.sha256(text.encode()).hexdigest()[:16])
        self.deployments = [self._deployment(name, ctx, ws, d, tags) for d in cfg.deployments]
        self.autoscale = [
            self._autoscale(name, ctx, d, deployment, tags)
            for d, deployment in zip(cfg.deployments, self.deployments, strict=True)
            if d.max_instances is not None
        ]
        self.traffic = EndpointTraffic(
            f"{name}-traffic",
            arm=ARM_BY_STORAGE_SUFFIX[ctx.storage_suffix],
            endpoint_id=self.endpoint.id,
            endpoint_revision=endpoint_revision,
            traffic={d.name: d.traffic for d in cfg.deployments if not d.mirror},
            mirror_traffic={d.name: d.mirror for d in cfg.deployments if d.mirror},
            deployments={
                d.name: {"id": deployment.id, "model": d.model}
                for d, deployment in zip(cfg.deployments, self.deployments, strict=True)
            },
            opts=child(self, depends_on=[self.endpoint, *self.deployments]),
        )
        self.scoring_base_uri: pulumi.Output[str] = self.endpoint.properties.apply(
            lambda p: str(p.scoring_uri).removesuffix("/score")
        )
        # traffic, console and event logs of the endpoint, and its metrics
        diagnostic_setting(
            f"{name}-diag",
            self,
            self.endpoint.id,
            ctx.diagnostic_settings,
            target_type="Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        )
        self._alerts(name, ctx, args)
        self.register_outputs({"endpointId": self.endpoint.id, "identityPrincipalId": self.identity.principal_id})

    def _deployment(
        self,
        name: str,
        ctx: Context,
        ws: Workspace,
        cfg: DeploymentArgs,
        tags: dict[str, str],
    ) -> ml.OnlineDeployment:
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
                # egressPublicNetworkAccess is left out: with a workspace managed virtual network it no longer
                # applies and Microsoft says to avoid setting it; outbound traffic follows the workspace's
                # AllowOnlyApprovedOutbound rules (MLSEC-EPT-010;
                # https://learn.microsoft.com/azure/machine-learning/concept-secure-online-endpoint). The
                # provider still sends its default (Enabled), which Azure ignores in a managed network.
                # The workspace's managed network reaches Azure Monitor only through the AzureMonitor service
                # tag: private endpoints from it to Azure Monitor are not among those Microsoft supports
                # (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#private-endpoints).
                # With Application Insights closed to public ingestion the telemetry would be refused, so it is
                # sent only when monitoring.appInsightsPublicIngestion opens it; the endpoint's request, console
                # and event logs reach Log Analytics through its diagnostic setting either way.
                app_insights_enabled=self._app_insights,
                # Managed deployments support only the Default scale type; scaling out is an Azure Monitor
                # autoscale setting (https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints).
                scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
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

    def _autoscale(
        self,
        name: str,
        ctx: Context,
        cfg: DeploymentArgs,
        deployment: ml.OnlineDeployment,
        tags: dict[str, str],
    ) -> monitor.AutoscaleSetting:
        """Scale the deployment between instanceCount and maxInstances on its CPU utilization.

        Metric and rules as in https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints
        (CpuUtilizationPercentage of Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments:
        out above 70 %, in below 25 %, averaged over 5 minutes).
        """

        def rule(
            direction: monitor.ScaleDirection, operator: monitor.ComparisonOperationType, threshold: int, cooldown: str
        ) -> monitor.ScaleRuleArgs:
            return monitor.ScaleRuleArgs(
                metric_trigger=monitor.MetricTriggerArgs(
                    metric_name="CpuUtilizationPercentage",
                    metric_namespace="Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
                    metric_resource_uri=deployment.id,
                    operator=operator,
                    statistic=monitor.MetricStatisticType.AVERAGE,
                    threshold=threshold,
                    time_aggregation=monitor.TimeAggregationType.AVERAGE,
                    time_grain="PT1M",
                    time_window="PT5M",
                ),
                scale_action=monitor.ScaleActionArgs(
                    direction=direction, type=monitor.ScaleType.CHANGE_COUNT, value="1", cooldown=cooldown
                ),
            )

        instances = str(cfg.instance_count)
        return monitor.AutoscaleSetting(
            f"{name}-{cfg.name}-autoscale",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            enabled=True,
            target_resource_uri=deployment.id,
            profiles=[
                monitor.AutoscaleProfileArgs(
                    name="cpu",
                    capacity=monitor.ScaleCapacityArgs(
                        minimum=instances, maximum=str(cfg.max_instances), default=instances
                    ),
                    rules=[
                        rule(monitor.ScaleDirection.INCREASE, monitor.ComparisonOperationType.GREATER_THAN, 70, "PT5M"),
                        rule(monitor.ScaleDirection.DECREASE, monitor.ComparisonOperationType.LESS_THAN, 25, "PT10M"),
                    ],
                )
            ],
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
        for suffix, metric, aggregation, threshold, dimension, title in checks:
            monitor.MetricAlert(
                f"{name}-{suffix}",
                resource_group_name=ctx.resource_group_name,
                location="global",
                description=f"{args.name}: {title}",
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
