"""One private Azure ML workspace with its registry, system storage, identities and compute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import containerregistry, managedidentity, storage
from pulumi_azure_native import machinelearningservices as ml

from components import naming, workspace_access, workspace_keys
from components.common import (
    Context,
    PrivateEndpoint,
    RoleAssignmentSpec,
    child,
    delete_lock,
    diagnostic_setting,
    role_assignments,
)
from components.datastorage import DataStorage
from components.storage_account import (
    private_storage_account,
    recoverable_blob_service,
)
from components.workspace_keys import CustomerManagedKeyArgs


@dataclass(frozen=True)
class ComputeClusterArgs:
    """An Azure ML compute cluster: no public IP, no local auth, scales to zero."""

    name: str
    """Cluster name in the workspace."""
    vm_size: str
    """VM size of its nodes."""
    max_nodes: int
    """Most nodes it scales out to."""
    idle_seconds_before_scale_down: int
    """Idle seconds before a node is released."""


@dataclass(frozen=True)
class WorkspaceArgs:
    """Inputs of :class:`Workspace`."""

    ctx: Context
    """Environment context: resource group, location, tags, diagnostics and private-link targets."""
    name: str
    """The workspace's short name: its tag, friendly name and scratch container (``scratch-<name>``)."""
    data_scientist_group_id: str
    """Object ID of the Entra group of its data scientists."""
    key_vault_id: pulumi.Input[str]
    """Resource ID of the environment's Key Vault (workspace secrets, optional CMK)."""
    application_insights_id: pulumi.Input[str]
    """Resource ID of the environment's Application Insights."""
    data_classification: str = "confidential"
    """Highest classification of the data it holds (its data-classification tag)."""
    customer_managed_key: CustomerManagedKeyArgs | None = None
    """Encrypt the workspace, its registry and system storage with keys of the platform Key Vault; None:
    Microsoft-managed keys."""
    outbound_fqdns: Sequence[str] = ()
    """FQDNs the managed network may reach besides the platform's own private endpoints."""
    spark_pipeline_steps: Sequence[str] = ()
    """Pipeline steps whose identities are attached for serverless Spark jobs (empty: Spark off); each must be
    a platform-created identity of ``data``."""
    compute_clusters: Sequence[ComputeClusterArgs] = ()
    """Compute clusters to create."""
    image_build_compute: str | None = None
    """Compute cluster that builds environment images (the registry is private)."""
    scratch: bool = False
    """Give it a read-write scratch container on the training-data account."""
    data: DataStorage | None = None
    """The platform's training-data storage: the managed network reaches it through a private
    endpoint; the workspace reads curated and models, writes only its own scratch container, and
    registers identity-based datastores for exactly those."""
    role_assignments: Sequence[RoleAssignmentSpec] = field(default_factory=tuple)
    """Extra roles granted on the workspace."""
    soft_delete_retention_days: int = 7
    """Days deleted blobs and containers of the system storage stay recoverable
    (``dataStorage.softDeleteRetentionDays``)."""
    change_feed_retention_days: int = 30
    """Days the system storage's change feed is kept (``dataStorage.changeFeedRetentionDays``)."""


class Workspace(pulumi.ComponentResource):
    """An Azure ML workspace with no public surface.

    Creates: a user-assigned identity for the workspace and one for its compute; a Premium container
    registry and a system storage account, both private-endpoint only with local auth off; the
    workspace itself (public access disabled, managed network allowing only approved outbound, HBI,
    identity-based system datastores, v1 mode off, optional customer-managed key); its private
    endpoint with both DNS zones; compute clusters that scale to zero with no public IP and no local
    auth; diagnostics on everything; the least roles each identity needs.
    """

    workspace: ml.Workspace
    identity: managedidentity.UserAssignedIdentity
    compute_identity: managedidentity.UserAssignedIdentity
    registry: containerregistry.Registry
    storage_account: storage.StorageAccount

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:ml:Workspace", name, None, opts)
        ctx = args.ctx
        diag = ctx.diagnostic_settings
        tags = {**ctx.tags, "workspace": args.name, "data-classification": args.data_classification}
        self.tags = tags
        rg, location = ctx.resource_group_name, ctx.location

        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_group_name=rg, location=location, tags=tags, opts=child(self)
        )
        self.compute_identity = managedidentity.UserAssignedIdentity(
            f"{name}-compute-id", resource_group_name=rg, location=location, tags=tags, opts=child(self)
        )

        keys = (
            workspace_keys.dependency_encryption(name, self, ctx, args.key_vault_id, self.identity, tags)
            if args.customer_managed_key is not None
            else workspace_keys.DependencyEncryption()
        )
        registry_identity, registry_encryption = keys.registry_identity, keys.registry_encryption
        sys_identity, sys_encryption, key_ready = keys.storage_identity, keys.storage_encryption, keys.key_roles

        # Container registry: images for training and inference.
        self.registry = containerregistry.Registry(
            f"{name}acr",
            registry_name=naming.container_registry(ctx.subscription_id, f"{name}acr"),
            resource_group_name=rg,
            location=location,
            sku=containerregistry.SkuArgs(name="Premium"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Disabled",
            network_rule_bypass_options="AzureServices",
            network_rule_set=containerregistry.NetworkRuleSetArgs(default_action=containerregistry.DefaultAction.DENY),
            data_endpoint_enabled=False,
            zone_redundancy="Enabled" if ctx.zone_redundant else "Disabled",
            policies=containerregistry.PoliciesArgs(
                export_policy=containerregistry.ExportPolicyArgs(status="disabled"),
                retention_policy=containerregistry.RetentionPolicyArgs(days=30, status="enabled"),
                # Only tokens for the registry's own audience: an ARM-audience token (any Azure CLI login)
                # could otherwise pull images. https://learn.microsoft.com/azure/container-registry/
                # container-registry-disable-authentication-as-arm
                azure_ad_authentication_as_arm_policy=containerregistry.AzureADAuthenticationAsArmPolicyArgs(
                    status="disabled"
                ),
            ),
            identity=registry_identity,
            encryption=registry_encryption,
            tags=tags,
            opts=child(self, depends_on=key_ready),
        )
        PrivateEndpoint(
            f"{name}-acr",
            ctx=ctx,
            resource_id=self.registry.id,
            group_id="registry",
            dns_zones=["registry"],
            opts=child(self),
        )
        diagnostic_setting(
            f"{name}-acr-diag", self, self.registry.id, diag, target_type="Microsoft.ContainerRegistry/registries"
        )

        # System storage: workspace artifacts, logs, notebooks. Entra ID only, private endpoints only.
        self.storage_account = private_storage_account(
            f"{name}sys", self, ctx, tags, encryption=sys_encryption, identity=sys_identity, depends_on=key_ready
        )
        # Models and run artifacts live here: every overwrite keeps a version, deletes are recoverable.
        recoverable_blob_service(
            f"{name}-sys-blob",
            self,
            ctx,
            self.storage_account.name,
            soft_delete_days=args.soft_delete_retention_days,
            change_feed_days=args.change_feed_retention_days,
        )
        sys_endpoints = {
            sub: PrivateEndpoint(
                f"{name}-sys-{sub}",
                ctx=ctx,
                resource_id=self.storage_account.id,
                group_id=sub,
                dns_zones=[sub],
                opts=child(self),
            )
            for sub in ("blob", "file")
        }
        # Storage metrics are Capacity and Transaction (Azure rejects AllMetrics); the account has no logs.
        diagnostic_setting(
            f"{name}-sys-diag", self, self.storage_account.id, diag, target_type="Microsoft.Storage/storageAccounts"
        )
        for service in ("blobServices", "fileServices"):
            diagnostic_setting(
                f"{name}-sys-{service[:4]}-diag",
                self,
                pulumi.Output.concat(self.storage_account.id, f"/{service}/default"),
                diag,
                target_type=f"Microsoft.Storage/storageAccounts/{service}",
            )
        if ctx.lock:
            delete_lock(f"{name}-sys", self, self.storage_account.id, "Workspace artifacts and run history")

        encryption = None
        cosmos_key_role: list[pulumi.Resource] = []
        if args.customer_managed_key is not None:
            encryption, cosmos_key_role = workspace_keys.workspace_encryption(
                name,
                self,
                ctx,
                args.key_vault_id,
                self.identity,
                args.customer_managed_key.cosmos_db_principal_id,
                tags,
            )

        identity_roles = [
            *workspace_access.identity_roles(
                name,
                self,
                args,
                self.identity,
                self.compute_identity,
                self.registry.id,
                self.storage_account.id,
                sys_endpoints,
                cosmos_key_role,
            )
        ]

        # Serverless Spark jobs run as a user-assigned identity attached to the workspace ("Ensuring resource
        # access for Spark jobs", https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-
        # configuration): the identities of the pipeline steps listed in spark.pipelineSteps. Their zone roles
        # stay those DataStorage grants (each writes its own zone only); nothing is granted here.
        self.spark_identities: dict[str, managedidentity.UserAssignedIdentity] = {}
        if args.data is not None:
            self.spark_identities = {step: args.data.pipeline_identities[step] for step in args.spark_pipeline_steps}
        spark = bool(self.spark_identities)
        outbound: dict[str, ml.FqdnOutboundRuleArgs | ml.PrivateEndpointOutboundRuleArgs] = {}
        if args.data is not None:
            # Spark reaches storage only through private endpoint rules flagged sparkEnabled, and reads abfss://
            # paths through the account's dfs endpoint ("Configure for serverless Spark jobs",
            # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network; PrivateEndpointDestination
            # .sparkEnabled in azure-rest-api-specs specification/machinelearningservices/resource-manager/
            # Microsoft.MachineLearningServices/stable/2025-12-01/workspaceRP.json).
            for sub in ("blob", "dfs") if spark else ("blob",):
                outbound[f"data-storage-{sub}"] = ml.PrivateEndpointOutboundRuleArgs(
                    type="PrivateEndpoint",
                    category="UserDefined",
                    destination=ml.PrivateEndpointDestinationArgs(
                        service_resource_id=args.data.account.id, subresource_target=sub, spark_enabled=spark
                    ),
                )
        for fqdn in args.outbound_fqdns:
            outbound[f"fqdn-{fqdn.replace('*', 'star').replace('.', '-')}"] = ml.FqdnOutboundRuleArgs(
                type="FQDN", category="UserDefined", destination=fqdn
            )

        self.workspace = ml.Workspace(
            f"{name}-mlw",
            workspace_name=naming.ml_workspace(f"{name}-mlw"),
            resource_group_name=rg,
            location=location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            friendly_name=f"{args.name} ({ctx.tags.get('environment', '')})",
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned",
                user_assigned_identities=[self.identity.id, *(i.id for i in self.spark_identities.values())],
            ),
            primary_user_assigned_identity=self.identity.id,
            public_network_access="Disabled",
            allow_public_access_when_behind_vnet=False,
            hbi_workspace=True,
            # Enum SystemDatastoresAuthMode (AccessKey, Identity, UserDelegationSAS): azure-rest-api-specs
            # specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/
            # 2025-12-01/workspaceRP.json
            system_datastores_auth_mode="Identity",
            v1_legacy_mode=False,
            enable_data_isolation=True,
            # The registry is private, so it cannot build environment images itself: a compute cluster of the
            # workspace builds them ("Configure image builds",
            # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network).
            image_build_compute=args.image_build_compute,
            managed_network=ml.ManagedNetworkSettingsArgs(
                isolation_mode="AllowOnlyApprovedOutbound",
                # FQDN rules run through a managed Azure Firewall: Basic is enough for dev.
                firewall_sku="Standard" if ctx.prod else "Basic",
                outbound_rules=outbound or None,
            ),
            provision_network_now=True,
            key_vault=args.key_vault_id,
            storage_account=self.storage_account.id,
            container_registry=self.registry.id,
            application_insights=args.application_insights_id,
            encryption=encryption,
            tags=tags,
            opts=child(self, depends_on=identity_roles),
        )
        PrivateEndpoint(
            f"{name}-mlw",
            ctx=ctx,
            resource_id=self.workspace.id,
            group_id="amlworkspace",
            dns_zones=["amlworkspace", "notebooks"],
            opts=child(self),
        )
        diagnostic_setting(
            f"{name}-mlw-diag",
            self,
            self.workspace.id,
            diag,
            target_type="Microsoft.MachineLearningServices/workspaces",
        )

        role_assignments(
            f"{name}-ws",
            self,
            ctx,
            self.workspace.id,
            [
                RoleAssignmentSpec("Azure AI Administrator", self.identity.principal_id, name="ws-identity"),
                *args.role_assignments,
            ],
        )
        self.data_scientist_role = workspace_access.data_scientists(
            name, self, ctx, self.workspace.id, args.name, args.data_scientist_group_id, jobs=not self.spark_identities
        )
        # With shared keys off, studio and notebooks reach the workspace storage as the signed-in user: its users
        # need the blob and file data roles there.
        # https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage
        role_assignments(
            f"{name}-sys-users",
            self,
            ctx,
            self.storage_account.id,
            [
                RoleAssignmentSpec(
                    "Storage Blob Data Contributor", args.data_scientist_group_id, "Group", name="ds-blob"
                ),
                RoleAssignmentSpec(
                    "Storage File Data Privileged Contributor", args.data_scientist_group_id, "Group", name="ds-file"
                ),
            ],
        )

        self.computes = [
            ml.Compute(
                f"{name}-{cluster.name}",
                resource_group_name=rg,
                workspace_name=self.workspace.name,
                compute_name=cluster.name,
                location=location,
                identity=ml.ManagedServiceIdentityArgs(
                    type="UserAssigned", user_assigned_identities=[self.compute_identity.id]
                ),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    disable_local_auth=True,
                    description=f"{cluster.name}: scales to zero, no public IP",
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=cluster.vm_size,
                        vm_priority="Dedicated",
                        os_type="Linux",
                        enable_node_public_ip=False,
                        remote_login_port_public_access="Disabled",
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=0,
                            max_node_count=cluster.max_nodes,
                            node_idle_time_before_scale_down=f"PT{cluster.idle_seconds_before_scale_down}S",
                        ),
                    ),
                ),
                tags=tags,
                opts=child(self),
            )
            for cluster in args.compute_clusters
        ]

        if args.data is not None:
            workspace_access.data_access(
                name, self, args, self.workspace.name, self.identity, self.compute_identity, args.data
            )

        self.register_outputs(
            {
                "workspaceId": self.workspace.id,
                "identityPrincipalId": self.identity.principal_id,
                "computeIdentityPrincipalId": self.compute_identity.principal_id,
                "registryId": self.registry.id,
                "storageAccountId": self.storage_account.id,
            }
        )
