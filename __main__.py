"""Secure ML platform: load and validate this stack's settings, build the platform, export outputs."""

import pulumi

from components import config
from components.platform import Platform

settings = config.load()
platform = Platform(f"{settings.name_prefix}-{settings.environment}", settings)

pulumi.export("resourceGroupName", platform.resource_group.name)
pulumi.export("vnetId", platform.network.vnet_id)
pulumi.export("logAnalyticsWorkspaceId", platform.monitoring.workspace.id)
pulumi.export("actionGroupId", platform.monitoring.action_group.id)
pulumi.export("keyVaultId", platform.key_vault.vault.id)
pulumi.export("dataAccountId", platform.data.account.id)
pulumi.export("dataContainers", {key: c.name for key, c in platform.data.containers.items()})
pulumi.export("pipelinePrincipals", platform.data.pipeline_principals)
pulumi.export(
    "sparkIdentities",
    {
        name: {step: {"clientId": i.client_id, "resourceId": i.id} for step, i in ws.spark_identities.items()}
        for name, ws in platform.workspaces.items()
        if ws.spark_identities
    },
)
pulumi.export("workspaces", {name: ws.workspace.id for name, ws in platform.workspaces.items()})
pulumi.export("gatewayId", platform.gateway.service.id)
pulumi.export("gatewayPolicy", platform.gateway.policy)
pulumi.export("endpoints", {e.api_name: e.endpoint.id for e in platform.endpoints})
pulumi.export("securityOptOuts", settings.opt_outs)
