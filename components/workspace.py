"""One private Azure ML workspace with its registry, system storage, identities and compute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import containerregistry, managedidentity, storage
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.common import (
    Context,
    PrivateEndpoint,
    RoleAssignmentSpec,
    child,
    delete_lock,
    diagnostic_setting,
    encryption_key,
    private_storage_account,
    role_assignments,
)
from components.config import WorkspaceSettings
from components.datastorage import DataStorage


@dataclass(frozen=True)
class WorkspaceArgs:
    """Inputs of :class:`Workspace`."""

    ctx: Context
    """Environment context: resource group, location, tags, diagnostics and private-link targets."""
    settings: WorkspaceSettings
    """This workspace's entry in the stack config."""
    key_vault_id: pulumi.Input[str]
    """Resource ID of the environment's Key Vault (workspace secrets, optional CMK)."""
    application_insights_id: pulumi.Input[str]
    """Resource ID of the environment's Application Insights."""
    data: DataStorage | None = None
    """The platform's training-data storage: the managed network reaches it through a private
    endpoint; the workspace reads curated and models, writes only its own scratch container, and
    registers identity-based datastores for exactly those."""
    role_assignments: Sequence[RoleAssignmentSpec] = field(default_factory=tuple)
    """Extra roles granted on the workspace."""


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
        ctx, ws = args.ctx, args.settings
        if ctx.diagnostic_settings is None or ctx.private_endpoints is None:
            raise ValueError(f"{name}: a workspace needs diagnostics and private endpoints in its context")
        diag = ctx.diagnostic_settings
        tags = {**ctx.tags, "workspace": ws.name, "data-classification": ws.data_classification}
        self.tags = tags
        rg, location = ctx.resource_group_name, ctx.location

        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_group_name=rg, location=location, tags=tags, opts=child(self)
        )
        self.compute_identity = managedidentity.UserAssignedIdentity(
            f"{name}-compute-id", resource_group_name=rg, location=location, tags=tags, opts=child(self)
        )

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
            ),
            tags=tags,
            opts=child(self),
        )
        PrivateEndpoint(
            f"{name}-acr",
            ctx=ctx,
            resource_id=self.registry.id,
            group_id="registry",
            dns_zones=["registry"],
            opts=child(self),
        )
        diagnostic_setting(f"{name}-acr-diag", self, self.registry.id, diag)

        # System storage: workspace artifacts, logs, notebooks. Entra ID only, private endpoints only.
        self.storage_account = private_storage_account(f"{name}sys", self, ctx, tags)
        for sub in ("blob", "file"):
            PrivateEndpoint(
                f"{name}-sys-{sub}",
                ctx=ctx,
                resource_id=self.storage_account.id,
                group_id=sub,
                dns_zones=[sub],
                opts=child(self),
            )
        diagnostic_setting(f"{name}-sys-diag", self, self.storage_account.id, diag, logs=False)
        for service in ("blobServices", "fileServices"):
            diagnostic_setting(
                f"{name}-sys-{service[:4]}-diag",
                self,
                pulumi.Output.concat(self.storage_account.id, f"/{service}/default"),
                diag,
            )
        if ctx.lock:
            delete_lock(f"{name}-sys", self, self.storage_account.id, "Workspace artifacts and run history")

        encryption = None
        if ws.customer_managed_key:
            key = encryption_key(f"{name}-cmk", self, ctx, args.key_vault_id, tags)
            encryption = ml.EncryptionPropertyArgs(
                status="Enabled",
                identity=ml.IdentityForCmkArgs(user_assigned_identity=self.identity.id),
                key_vault_properties=ml.KeyVaultPropertiesArgs(
                    key_vault_arm_id=args.key_vault_id, key_identifier=key.key_uri_with_version
                ),
            )

        # Roles the workspace identity needs (Azure ML: workspace with a user-assigned identity),
        # granted before the workspace is created so that creation can use them.
        identity_roles = [
            *role_assignments(
                f"{name}-id-sys",
                self,
                ctx,
                self.storage_account.id,
                [
                    RoleAssignmentSpec("Storage Blob Data Contributor", self.identity.principal_id, name="ws-blob"),
                    RoleAssignmentSpec(
                        "Storage File Data Privileged Contributor", self.identity.principal_id, name="ws-file"
                    ),
                    RoleAssignmentSpec(
                        "Storage Blob Data Contributor", self.compute_identity.principal_id, name="compute-blob"
                    ),
                ],
            ),
            *role_assignments(
                f"{name}-id-acr",
                self,
                ctx,
                self.registry.id,
                [
                    RoleAssignmentSpec("AcrPush", self.identity.principal_id, name="ws"),
                    RoleAssignmentSpec("AcrPull", self.compute_identity.principal_id, name="compute"),
                ],
            ),
            *role_assignments(
                f"{name}-id-kv",
                self,
                ctx,
                args.key_vault_id,
                [
                    RoleAssignmentSpec("Key Vault Secrets Officer", self.identity.principal_id, name="ws-secrets"),
                    *(
                        [
                            RoleAssignmentSpec(
                                "Key Vault Crypto Service Encryption User", self.identity.principal_id, name="ws-cmk"
                            )
                        ]
                        if ws.customer_managed_key
                        else []
                    ),
                ],
            ),
            *role_assignments(
                f"{name}-id-appi",
                self,
                ctx,
                args.application_insights_id,
                [RoleAssignmentSpec("Monitoring Metrics Publisher", self.identity.principal_id, name="ws")],
            ),
        ]

        outbound: dict[str, ml.FqdnOutboundRuleArgs | ml.PrivateEndpointOutboundRuleArgs] = {}
        if args.data is not None:
            outbound["data-storage-blob"] = ml.PrivateEndpointOutboundRuleArgs(
                type="PrivateEndpoint",
                category="UserDefined",
                destination=ml.PrivateEndpointDestinationArgs(
                    service_resource_id=args.data.account.id, subresource_target="blob", spark_enabled=False
                ),
            )
        for fqdn in ws.outbound_fqdns:
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
            friendly_name=f"{ws.name} ({ctx.tags.get('environment', '')})",
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned",
                user_assigned_identities=[self.identity.id],
            ),
            primary_user_assigned_identity=self.identity.id,
            public_network_access="Disabled",
            allow_public_access_when_behind_vnet=False,
            hbi_workspace=True,
            system_datastores_auth_mode="identity",
            v1_legacy_mode=False,
            enable_data_isolation=True,
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
        diagnostic_setting(f"{name}-mlw-diag", self, self.workspace.id, diag)

        role_assignments(
            f"{name}-ws",
            self,
            ctx,
            self.workspace.id,
            [
                RoleAssignmentSpec("Azure AI Administrator", self.identity.principal_id, name="ws-identity"),
                RoleAssignmentSpec(
                    "AzureML Data Scientist", ws.data_scientist_group_id, "Group", name="data-scientists"
                ),
                *args.role_assignments,
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
            for cluster in ws.compute_clusters
        ]

        if args.data is not None:
            self._data_access(name, ctx, ws, args.data)

        self.register_outputs(
            {
                "workspaceId": self.workspace.id,
                "identityPrincipalId": self.identity.principal_id,
                "computeIdentityPrincipalId": self.compute_identity.principal_id,
                "registryId": self.registry.id,
                "storageAccountId": self.storage_account.id,
            }
        )

    def _data_access(self, name: str, ctx: Context, ws: WorkspaceSettings, data: DataStorage) -> None:
        """Container-scoped roles and identity-based datastores on the training-data account.

        The workspace identity reads curated (training data) and models (released artifacts); the
        compute identity reads curated; both write only this workspace's scratch container. Nothing
        here ever touches raw or quarantine.
        """
        reads = {
            "curated": [("ws", self.identity), ("compute", self.compute_identity)],
            "models": [("ws", self.identity)],
        }
        grants: dict[str, tuple[str, list[tuple[str, managedidentity.UserAssignedIdentity]]]] = {
            key: ("Storage Blob Data Reader", who) for key, who in reads.items()
        }
        scratch = f"scratch-{ws.name}"
        if ws.scratch:
            grants[scratch] = (
                "Storage Blob Data Contributor",
                [("ws", self.identity), ("compute", self.compute_identity)],
            )
        for key, (role, who) in grants.items():
            role_assignments(
                f"{name}-data-{key}",
                self,
                ctx,
                data.container_id(key),
                [RoleAssignmentSpec(role, identity.principal_id, name=label) for label, identity in who],
            )
            ml.Datastore(
                f"{name}-ds-{key}",
                resource_group_name=ctx.resource_group_name,
                workspace_name=self.workspace.name,
                name=key.replace("-", "_"),
                properties=ml.AzureBlobDatastoreArgs(
                    datastore_type="AzureBlob",
                    account_name=data.account.name,
                    container_name=data.containers[key].name,
                    endpoint=ctx.storage_suffix,
                    protocol="https",
                    resource_group=ctx.resource_group_name,
                    subscription_id=ctx.subscription_id,
                    credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                    service_data_access_auth_identity="WorkspaceUserAssignedIdentity",
                    description=f"{key}: identity-based, {'read-write' if key == scratch else 'read-only'}",
                ),
                opts=child(self),
            )
