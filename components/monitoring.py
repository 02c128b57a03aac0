"""Log Analytics and workspace-based Application Insights for one environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components import naming
from components.common import AlertTarget, BaseContext, DiagnosticsTarget, child, diagnostic_setting


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    ctx: BaseContext
    """Environment context: resource group, location, tags (monitoring exists before diagnostics and alerts)."""
    log_retention_days: int
    """Log Analytics retention in days."""
    alert_emails: Sequence[str]
    """Addresses the security action group e-mails (common alert schema)."""
    private_link: bool = True
    """Block ingestion and queries from public networks on both (they are then reached through the
    environment's Azure Monitor Private Link Scope, :mod:`components.telemetry`)."""
    app_insights_public_ingestion: bool = False
    """Let Application Insights accept ingestion from public networks (online deployments' telemetry from the
    workspace's managed network, which has no private endpoint to Azure Monitor)."""


class Monitoring(pulumi.ComponentResource):
    """The environment's Log Analytics workspace (every diagnostic setting points here) and
    workspace-based Application Insights with local (instrumentation-key) auth disabled, and the
    security action group that every alert of the platform notifies."""

    workspace: operationalinsights.Workspace
    app_insights: applicationinsights.Component

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:monitoring:Monitoring", name, None, opts)
        ctx = args.ctx
        # "Log Analytics workspaces should block log ingestion and querying from public networks" and
        # "Application Insights components should block log ingestion and querying from public networks"
        # (Azure Policy built-ins): only networks connected to the private link scope ingest and query.
        # Set at creation, before the scope exists: nothing sends telemetry yet, and diagnostic settings are
        # not governed by these flags (https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-design).
        # Queries through Azure Resource Manager (some portal blades, Logic Apps) need public query access
        # and stop working; operators query from inside the VNet (docs/operations.md).
        private = "Disabled" if args.private_link else "Enabled"
        appi_ingestion = "Enabled" if args.app_insights_public_ingestion else private
        self.workspace = operationalinsights.Workspace(
            f"{name}-law",
            workspace_name=naming.log_analytics(f"{name}-law"),
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
            public_network_access_for_ingestion=private,
            public_network_access_for_query=private,
            tags=dict(ctx.tags),
            opts=child(self),
        )
        self.app_insights = applicationinsights.Component(
            f"{name}-appi",
            resource_name_=naming.app_insights(f"{name}-appi"),
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            kind="web",
            application_type="web",
            workspace_resource_id=self.workspace.id,
            ingestion_mode="LogAnalytics",
            disable_local_auth=True,
            # The provider sends Enabled for both when they are left out.
            public_network_access_for_ingestion=appi_ingestion,
            public_network_access_for_query=private,
            retention_in_days=args.log_retention_days,
            tags=dict(ctx.tags),
            opts=child(self),
        )
        self.action_group = monitor.ActionGroup(
            f"{name}-ag",
            resource_group_name=ctx.resource_group_name,
            location="global",
            group_short_name="mlsec-sec",
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{i}", email_address=address, use_common_alert_schema=True
                )
                for i, address in enumerate(args.alert_emails)
            ],
            tags=dict(ctx.tags),
            opts=child(self),
        )
        self.diagnostic_settings = DiagnosticsTarget(workspace_id=self.workspace.id)
        diagnostic_setting(
            f"{name}-law-diag",
            self,
            self.workspace.id,
            self.diagnostic_settings,
            target_type="Microsoft.OperationalInsights/workspaces",
        )
        diagnostic_setting(
            f"{name}-appi-diag",
            self,
            self.app_insights.id,
            self.diagnostic_settings,
            target_type="Microsoft.Insights/components",
        )
        self.register_outputs(
            {
                "logAnalyticsWorkspaceId": self.workspace.id,
                "applicationInsightsId": self.app_insights.id,
                "actionGroupId": self.action_group.id,
            }
        )

    def alert_target(self) -> AlertTarget:
        """Where the platform's alerts look and whom they notify."""
        return AlertTarget(workspace_id=self.workspace.id, action_group_id=self.action_group.id)
