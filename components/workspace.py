"""One private Azure ML workspace with its registry, system storage, identities and compute."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, containerregistry, managedidentity, storage
from pulumi_azure_native import machinelearningservices as ml

from components import naming
from components.common import (
    Context,
    PrivateEndpoint,
    RoleAssignmentSpec,
    child,
    customer_key_encryption,
    delete_lock,
    diagnostic_setting,
    encryption_key,
    private_storage_account,
    recoverable_blob_service,
    role_assignments,
)
from components.config import WorkspaceSettings
from components.datastorage import DataStorage

_ENCRYPTION_USER = "Key Vault Crypto Service Encryption User"

DATA_SCIENTIST_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/*/read",
    "Microsoft.MachineLearningServices/workspaces/*/action",
    "Microsoft.MachineLearningServices/workspaces/*/delete",
    "Microsoft.MachineLearningServices/workspaces/*/write",
)
"""Actions of the built-in AzureML Data Scientist role (f6c7c914-8db3-469d-8ca1-694a8f32e121;
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#azureml-data-scientist)."""

DATA_SCIENTIST_NOT_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/delete",
    "Microsoft.MachineLearningServices/workspaces/write",
    "Microsoft.MachineLearningServices/workspaces/computes/*/write",
    "Microsoft.MachineLearningServices/workspaces/computes/*/delete",
    "Microsoft.MachineLearningServices/workspaces/computes/listKeys/action",
    "Microsoft.MachineLearningServices/workspaces/listKeys/action",
    "Microsoft.MachineLearningServices/workspaces/hubs/write",
    "Microsoft.MachineLearningServices/workspaces/hubs/delete",
    "Microsoft.MachineLearningServices/workspaces/featurestores/write",
    "Microsoft.MachineLearningServices/workspaces/featurestores/delete",
)
"""NotActions of the built-in AzureML Data Scientist role (same source)."""

SERVING_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/token/action",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/action",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/regenerateKeys/action",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/delete",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/write",
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/delete",
)
"""Scoring, token, key and change actions on online endpoints, which the built-in role includes through
its wildcards (https://learn.microsoft.com/azure/machine-learning/how-to-authenticate-online-endpoint,
"Assign permissions to the identity"); taken away from data scientists."""

JOB_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/jobs/write",
    "Microsoft.MachineLearningServices/workspaces/schedules/write",
)
"""Creating jobs and the schedules that create them
(https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning). A serverless
Spark job runs as a user-assigned identity attached to the workspace, chosen by whoever submits it
(https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-configuration, "Ensuring resource
access for Spark jobs"): in a workspace that attaches pipeline identities, data scientists may not submit jobs,
or they could read and write the zones as those identities."""


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
    soft_delete_retention_days: int = 7
    """Days deleted blobs and containers of the system storage stay recoverable
    (``dataStorage.softDeleteRetentionDays``)."""
    change_feed_retention_days: int = 30
    """Days the system storage's change feed is kept (``dataStorage.changeFeedRetentionDays``)."""
    cosmos_db_principal_id: str | None = None
    """Object ID of this tenant's Azure Cosmos DB first-party service principal; with a customer-managed key it
    gets wrap/unwrap on the workspace's key (config ``cosmosDbPrincipalId``)."""


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

        # With a customer-managed key, the registry and the system storage (models, run artifacts, job code)
        # are encrypted with keys of their own, which the workspace identity may wrap and unwrap. Both need
        # the key role before they are created: encryption is set at creation and cannot be added later
        # (https://learn.microsoft.com/azure/container-registry/tutorial-enable-customer-managed-keys,
        # https://learn.microsoft.com/azure/storage/common/customer-managed-keys-configure-new-account).
        registry_encryption = registry_identity = sys_encryption = sys_identity = None
        key_ready: list[pulumi.Resource] = []
        if ws.customer_managed_key:
            acr_key = encryption_key(f"{name}-acr-cmk", self, ctx, args.key_vault_id, tags)
            sys_key = encryption_key(f"{name}-sys-cmk", self, ctx, args.key_vault_id, tags)
            for label, key in (("acr", acr_key), ("sys", sys_key)):
                key_ready += role_assignments(
                    f"{name}-id-{label}-cmk",
                    self,
                    ctx,
                    key.id,
                    [RoleAssignmentSpec(_ENCRYPTION_USER, self.identity.principal_id, name="ws")],
                )
            registry_identity = containerregistry.IdentityPropertiesArgs(
                type=containerregistry.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=self.identity.id.apply(
                    lambda uid: {uid: containerregistry.UserIdentityPropertiesArgs()}
                ),
            )
            registry_encryption = containerregistry.EncryptionPropertyArgs(
                status="enabled",
                # the versionless key URI: the registry follows the key's rotation
                key_vault_properties=containerregistry.KeyVaultPropertiesArgs(
                    key_identifier=acr_key.key_uri, identity=self.identity.client_id
                ),
            )
            sys_identity = storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[self.identity.id])
            sys_encryption = customer_key_encryption(
                sys_key.name, sys_key.key_uri.apply(lambda uri: uri.split("/keys/")[0]), self.identity.id
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
        if ws.customer_managed_key:
            if not args.cosmos_db_principal_id:
                raise ValueError(f"{name}: a customer-managed key needs the Azure Cosmos DB service principal")
            key = encryption_key(f"{name}-cmk", self, ctx, args.key_vault_id, tags)
            # The workspace keeps its metadata in Azure Cosmos DB, whose first-party application must get, wrap
            # and unwrap the key (Key Vault Crypto Service Encryption User on an RBAC vault), granted on this key
            # only. https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys
            cosmos_key_role = list(
                role_assignments(
                    f"{name}-cmk-cosmos",
                    self,
                    ctx,
                    key.id,
                    [
                        RoleAssignmentSpec(
                            "Key Vault Crypto Service Encryption User", args.cosmos_db_principal_id, name="cosmosdb"
                        )
                    ],
                )
            )
            encryption = ml.EncryptionPropertyArgs(
                status="Enabled",
                identity=ml.IdentityForCmkArgs(user_assigned_identity=self.identity.id),
                key_vault_properties=ml.KeyVaultPropertiesArgs(
                    key_vault_arm_id=args.key_vault_id, key_identifier=key.key_uri_with_version
                ),
            )

        # Roles the workspace identity needs, granted before the workspace is created so that creation can use
        # them. https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication
        # (user-assigned managed identity) asks for Contributor on the workspace, its storage, registry, Key Vault
        # and Application Insights; the platform never grants Contributor, so the identity gets the narrower
        # built-in Azure AI Administrator (control plane of Azure AI and its dependencies) on each, plus the data
        # roles. https://learn.microsoft.com/azure/machine-learning/how-to-managed-network: a workspace with a
        # user-assigned identity needs Azure AI Enterprise Network Connection Approver to approve the managed
        # network's private endpoints, granted here on each resource those endpoints reach.
        approver = "Azure AI Enterprise Network Connection Approver"
        pe_targets: dict[str, pulumi.Input[str]] = {
            "sys": self.storage_account.id,
            "acr": self.registry.id,
            "kv": args.key_vault_id,
        }
        if args.data is not None:
            pe_targets["data"] = args.data.account.id
        identity_roles = [
            *(
                assignment
                for key, target in pe_targets.items()
                for assignment in role_assignments(
                    f"{name}-id-{key}-pe",
                    self,
                    ctx,
                    target,
                    [RoleAssignmentSpec(approver, self.identity.principal_id, name="approver")],
                )
            ),
            *(
                assignment
                for key, target in {
                    "sys": self.storage_account.id,
                    "acr": self.registry.id,
                    "kv": args.key_vault_id,
                    "appi": args.application_insights_id,
                }.items()
                for assignment in role_assignments(
                    f"{name}-id-{key}-admin",
                    self,
                    ctx,
                    target,
                    [RoleAssignmentSpec("Azure AI Administrator", self.identity.principal_id, name="ws")],
                )
            ),
            # Studio reads the workspace storage through its private endpoints: the workspace identity needs
            # Reader on each (blob and file).
            # https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network
            *(
                assignment
                for sub, endpoint in sys_endpoints.items()
                for assignment in role_assignments(
                    f"{name}-id-sys-{sub}-pe",
                    self,
                    ctx,
                    endpoint.endpoint.id,
                    [RoleAssignmentSpec("Reader", self.identity.principal_id, name="ws")],
                )
            ),
            *cosmos_key_role,
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

        # Serverless Spark jobs run as a user-assigned identity attached to the workspace ("Ensuring resource
        # access for Spark jobs", https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-
        # configuration): the identities of the pipeline steps listed in spark.pipelineSteps. Their zone roles
        # stay those DataStorage grants (each writes its own zone only); nothing is granted here.
        self.spark_identities: dict[str, managedidentity.UserAssignedIdentity] = {}
        if args.data is not None:
            self.spark_identities = {step: args.data.pipeline_identities[step] for step in ws.spark.pipeline_steps}
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
            image_build_compute=ws.image_builder,
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
        self._data_scientists(name, ctx, ws, jobs=not self.spark_identities)
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
                    "Storage Blob Data Contributor", ws.data_scientist_group_id, "Group", name="ds-blob"
                ),
                RoleAssignmentSpec(
                    "Storage File Data Privileged Contributor", ws.data_scientist_group_id, "Group", name="ds-file"
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

    def _data_scientists(self, name: str, ctx: Context, ws: WorkspaceSettings, *, jobs: bool) -> None:
        """The data-scientist group's role on this workspace: AzureML Data Scientist without serving.

        The built-in role's ``workspaces/*/action`` and ``*/write`` include scoring an online endpoint,
        fetching its tokens and keys, and changing it (auth mode, public access, the served model): a
        member could reach the model around the gateway's limits, logs and kill switch. Serving changes
        come from the stack file; the gateway alone scores. Without ``jobs`` (a workspace whose Spark jobs
        run as pipeline identities) the group submits no jobs either (:data:`JOB_ACTIONS`).
        """
        group = pulumi.Output.concat(
            "/subscriptions/", ctx.subscription_id, "/resourceGroups/", ctx.resource_group_name
        )
        self.data_scientist_role = authorization.RoleDefinition(
            f"{name}-ds-role",
            scope=group,
            role_definition_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"secure-ml/{ctx.subscription_id}/{name}/ds")),
            role_name=f"{name} data scientist (no serving)",
            description="AzureML Data Scientist without scoring, tokens, keys or changes of online endpoints"
            + ("" if jobs else ", nor jobs (Spark jobs here run as pipeline identities)"),
            role_type="CustomRole",
            permissions=[
                authorization.PermissionArgs(
                    actions=list(DATA_SCIENTIST_ACTIONS),
                    not_actions=[*DATA_SCIENTIST_NOT_ACTIONS, *SERVING_ACTIONS, *(() if jobs else JOB_ACTIONS)],
                )
            ],
            assignable_scopes=[group],
            opts=child(self),
        )
        authorization.RoleAssignment(
            f"{name}-ws-data-scientists",
            scope=self.workspace.id,
            role_definition_id=self.data_scientist_role.id,
            principal_id=ws.data_scientist_group_id,
            principal_type="Group",
            description=f"{ws.name} data scientists: the workspace without serving (secure ML platform)",
            opts=child(self),
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
