"""Log Analytics and workspace-based Application Insights for one environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components import naming
from components.common import Context, DiagnosticsTarget, child, diagnostic_setting


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    ctx: Context
    """Environment context: resource group, location, tags."""
    log_retention_days: int
    """Log Analytics retention in days."""
    alert_emails: Sequence[str]
    """Addresses the security action group e-mails (common alert schema)."""


class Monitoring(pulumi.ComponentResource):
    """The environment's Log Analytics workspace (every diagnostic setting points here) and
    workspace-based Application Insights with local (instrumentation-key) auth disabled, and the
    security action group that every alert of the platform notifies."""

    workspace: operationalinsights.Workspace
    app_insights: applicationinsights.Component

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:monitoring:Monitoring", name, None, opts)
        ctx = args.ctx
        self.workspace = operationalinsights.Workspace(
            f"{name}-law",
            workspace_name=naming.log_analytics(f"{name}-law"),
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
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
