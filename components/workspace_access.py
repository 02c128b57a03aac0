"""Who may do what around one workspace: the roles of its identities, the data scientists' custom role
(the built-in one without serving), and its identities' access to the data zones with their datastores."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pulumi_azure_native import machinelearningservices as ml

from components.common import Context, PrivateEndpoint, RoleAssignmentSpec, child, role_assignments
from components.datastorage import DataStorage

if TYPE_CHECKING:
    from components.workspace import WorkspaceArgs

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


def identity_roles(
    name: str,
    parent: pulumi.Resource,
    args: WorkspaceArgs,
    identity: managedidentity.UserAssignedIdentity,
    compute_identity: managedidentity.UserAssignedIdentity,
    registry_id: pulumi.Input[str],
    storage_id: pulumi.Input[str],
    sys_endpoints: Mapping[str, PrivateEndpoint],
    key_roles: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """The roles the workspace and compute identities need before the workspace is created (``key_roles``,
    granted already, are listed with them)."""
    ctx = args.ctx
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
        "sys": storage_id,
        "acr": registry_id,
        "kv": args.key_vault_id,
    }
    if args.data is not None:
        pe_targets["data"] = args.data.account.id
    return [
        *(
            assignment
            for key, target in pe_targets.items()
            for assignment in role_assignments(
                f"{name}-id-{key}-pe",
                parent,
                ctx,
                target,
                [RoleAssignmentSpec(approver, identity.principal_id, name="approver")],
            )
        ),
        *(
            assignment
            for key, target in {
                "sys": storage_id,
                "acr": registry_id,
                "kv": args.key_vault_id,
                "appi": args.application_insights_id,
            }.items()
            for assignment in role_assignments(
                f"{name}-id-{key}-admin",
                parent,
                ctx,
                target,
                [RoleAssignmentSpec("Azure AI Administrator", identity.principal_id, name="ws")],
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
                parent,
                ctx,
                endpoint.endpoint.id,
                [RoleAssignmentSpec("Reader", identity.principal_id, name="ws")],
            )
        ),
        *key_roles,
        *role_assignments(
            f"{name}-id-sys",
            parent,
            ctx,
            storage_id,
            [
                RoleAssignmentSpec("Storage Blob Data Contributor", identity.principal_id, name="ws-blob"),
                RoleAssignmentSpec("Storage File Data Privileged Contributor", identity.principal_id, name="ws-file"),
                RoleAssignmentSpec("Storage Blob Data Contributor", compute_identity.principal_id, name="compute-blob"),
            ],
        ),
        *role_assignments(
            f"{name}-id-acr",
            parent,
            ctx,
            registry_id,
            [
                RoleAssignmentSpec("AcrPush", identity.principal_id, name="ws"),
                RoleAssignmentSpec("AcrPull", compute_identity.principal_id, name="compute"),
            ],
        ),
        *role_assignments(
            f"{name}-id-kv",
            parent,
            ctx,
            args.key_vault_id,
            [
                RoleAssignmentSpec("Key Vault Secrets Officer", identity.principal_id, name="ws-secrets"),
                *(
                    [
                        RoleAssignmentSpec(
                            "Key Vault Crypto Service Encryption User", identity.principal_id, name="ws-cmk"
                        )
                    ]
                    if args.customer_managed_key is not None
                    else []
                ),
            ],
        ),
        *role_assignments(
            f"{name}-id-appi",
            parent,
            ctx,
            args.application_insights_id,
            [RoleAssignmentSpec("Monitoring Metrics Publisher", identity.principal_id, name="ws")],
        ),
    ]


def data_scientists(
    name: str,
    parent: pulumi.Resource,
    ctx: Context,
    workspace_id: pulumi.Input[str],
    ws_name: str,
    group_id: str,
    *,
    jobs: bool = True,
) -> authorization.RoleDefinition:
    """The data-scientist group's role on this workspace: AzureML Data Scientist without serving.

    The built-in role's ``workspaces/*/action`` and ``*/write`` include scoring an online endpoint,
    fetching its tokens and keys, and changing it (auth mode, public access, the served model): a
    member could reach the model around the gateway's limits, logs and kill switch. Serving changes
    come from the stack file; the gateway alone scores. Without ``jobs`` (a workspace whose Spark jobs
    run as pipeline identities) the group submits no jobs either (:data:`JOB_ACTIONS`).
    """
    group = pulumi.Output.concat("/subscriptions/", ctx.subscription_id, "/resourceGroups/", ctx.resource_group_name)
    role = authorization.RoleDefinition(
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
        opts=child(parent),
    )
    authorization.RoleAssignment(
        f"{name}-ws-data-scientists",
        scope=workspace_id,
        role_definition_id=role.id,
        principal_id=group_id,
        principal_type="Group",
        description=f"{ws_name} data scientists: the workspace without serving (secure ML platform)",
        opts=child(parent),
    )
    return role


def data_access(
    name: str,
    parent: pulumi.Resource,
    args: WorkspaceArgs,
    workspace_name: pulumi.Input[str],
    identity: managedidentity.UserAssignedIdentity,
    compute_identity: managedidentity.UserAssignedIdentity,
    data: DataStorage,
) -> None:
    """Container-scoped roles and identity-based datastores on the training-data account.

    The workspace identity reads curated (training data) and models (released artifacts); the
    compute identity reads curated; both write only this workspace's scratch container. Nothing
    here ever touches raw or quarantine.
    """
    ctx = args.ctx
    reads = {
        "curated": [("ws", identity), ("compute", compute_identity)],
        "models": [("ws", identity)],
    }
    grants: dict[str, tuple[str, list[tuple[str, managedidentity.UserAssignedIdentity]]]] = {
        key: ("Storage Blob Data Reader", who) for key, who in reads.items()
    }
    scratch = f"scratch-{args.name}"
    if args.scratch:
        grants[scratch] = (
            "Storage Blob Data Contributor",
            [("ws", identity), ("compute", compute_identity)],
        )
    for key, (role, who) in grants.items():
        role_assignments(
            f"{name}-data-{key}",
            parent,
            ctx,
            data.container_id(key),
            [RoleAssignmentSpec(role, who_id.principal_id, name=label) for label, who_id in who],
        )
        ml.Datastore(
            f"{name}-ds-{key}",
            resource_group_name=ctx.resource_group_name,
            workspace_name=workspace_name,
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
            opts=child(parent),
        )
