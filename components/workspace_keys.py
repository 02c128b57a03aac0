"""Customer-managed keys of one workspace: its own (which Azure Cosmos DB must also use) and those of its
registry and system storage, with the roles that let each service wrap and unwrap them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerregistry, managedidentity, storage
from pulumi_azure_native import machinelearningservices as ml

from components.common import BaseContext, RoleAssignmentSpec, role_assignments
from components.storage_account import customer_key_encryption, encryption_key

_ENCRYPTION_USER = "Key Vault Crypto Service Encryption User"


@dataclass(frozen=True)
class CustomerManagedKeyArgs:
    """Encrypt a workspace, its registry and its system storage with keys of the platform Key Vault."""

    cosmos_db_principal_id: str
    """Object ID of this tenant's Azure Cosmos DB first-party service principal: the workspace keeps its metadata
    in Cosmos DB, which gets wrap/unwrap on the workspace's key (config ``cosmosDbPrincipalId``)."""


@dataclass(frozen=True)
class DependencyEncryption:
    """How the registry and the system storage are encrypted (all None: Microsoft-managed keys)."""

    registry_identity: containerregistry.IdentityPropertiesArgs | None = None
    """Identity through which the registry reaches its key."""
    registry_encryption: containerregistry.EncryptionPropertyArgs | None = None
    """The registry's key."""
    storage_identity: storage.IdentityArgs | None = None
    """Identity through which the system storage reaches its key."""
    storage_encryption: storage.EncryptionArgs | None = None
    """The system storage's key."""
    key_roles: Sequence[pulumi.Resource] = ()
    """Role assignments both need before they are created."""


def dependency_encryption(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
    key_vault_id: pulumi.Input[str],
    identity: managedidentity.UserAssignedIdentity,
    tags: Mapping[str, str],
) -> DependencyEncryption:
    """Keys of the registry and the system storage, which ``identity`` (the workspace's) may wrap and unwrap."""
    # The registry and the system storage (models, run artifacts, job code) are encrypted with keys of their
    # own, which the workspace identity may wrap and unwrap. Both need the key role before they are created:
    # encryption is set at creation and cannot be added later
    # (https://learn.microsoft.com/azure/container-registry/tutorial-enable-customer-managed-keys,
    # https://learn.microsoft.com/azure/storage/common/customer-managed-keys-configure-new-account).
    key_roles: list[pulumi.Resource] = []
    acr_key = encryption_key(f"{name}-acr-cmk", parent, ctx, key_vault_id, tags)
    sys_key = encryption_key(f"{name}-sys-cmk", parent, ctx, key_vault_id, tags)
    for label, key in (("acr", acr_key), ("sys", sys_key)):
        key_roles += role_assignments(
            f"{name}-id-{label}-cmk",
            parent,
            ctx,
            key.id,
            [RoleAssignmentSpec(_ENCRYPTION_USER, identity.principal_id, name="ws")],
        )
    registry_identity = containerregistry.IdentityPropertiesArgs(
        type=containerregistry.ResourceIdentityType.USER_ASSIGNED,
        user_assigned_identities=identity.id.apply(lambda uid: {uid: containerregistry.UserIdentityPropertiesArgs()}),
    )
    registry_encryption = containerregistry.EncryptionPropertyArgs(
        status="enabled",
        # the versionless key URI: the registry follows the key's rotation
        key_vault_properties=containerregistry.KeyVaultPropertiesArgs(
            key_identifier=acr_key.key_uri, identity=identity.client_id
        ),
    )
    sys_identity = storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[identity.id])
    sys_encryption = customer_key_encryption(
        sys_key.name, sys_key.key_uri.apply(lambda uri: uri.split("/keys/")[0]), identity.id
    )
    return DependencyEncryption(
        registry_identity=registry_identity,
        registry_encryption=registry_encryption,
        storage_identity=sys_identity,
        storage_encryption=sys_encryption,
        key_roles=key_roles,
    )


def workspace_encryption(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
    key_vault_id: pulumi.Input[str],
    identity: managedidentity.UserAssignedIdentity,
    cosmos_db_principal_id: str,
    tags: Mapping[str, str],
) -> tuple[ml.EncryptionPropertyArgs, list[pulumi.Resource]]:
    """The workspace's own key, through ``identity``, and the role Azure Cosmos DB needs on it (returned with
    the encryption settings, to be granted before the workspace)."""
    key = encryption_key(f"{name}-cmk", parent, ctx, key_vault_id, tags)
    # The workspace keeps its metadata in Azure Cosmos DB, whose first-party application must get, wrap
    # and unwrap the key (Key Vault Crypto Service Encryption User on an RBAC vault), granted on this key
    # only. https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys
    cosmos_key_role: list[pulumi.Resource] = list(
        role_assignments(
            f"{name}-cmk-cosmos",
            parent,
            ctx,
            key.id,
            [RoleAssignmentSpec(_ENCRYPTION_USER, cosmos_db_principal_id, name="cosmosdb")],
        )
    )
    encryption = ml.EncryptionPropertyArgs(
        status="Enabled",
        identity=ml.IdentityForCmkArgs(user_assigned_identity=identity.id),
        key_vault_properties=ml.KeyVaultPropertiesArgs(
            key_vault_arm_id=key_vault_id, key_identifier=key.key_uri_with_version
        ),
    )
    return encryption, cosmos_key_role
