"""Storage accounts and keys the data and workspace components share: a private, Entra-only account, its
recoverable blob service, and customer-managed keys in the platform Key Vault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_azure_native import keyvault, storage

from components import naming
from components.common import BaseContext, child, last_segment


def private_storage_account(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
    tags: Mapping[str, str],
    *,
    encryption: storage.EncryptionArgs | None = None,
    identity: storage.IdentityArgs | None = None,
    immutable_storage_with_versioning: storage.ImmutableStorageAccountArgs | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> storage.StorageAccount:
    """A StorageV2 account reachable only through private endpoints, with Entra ID as the only way in.

    Shared key, local users, SFTP and blob public access are off; public network access is disabled and
    the firewall denies by default (AzureServices bypass only); TLS 1.2 and HTTPS only; infrastructure
    encryption; no cross-tenant replication; copies only within private links; account SAS expire
    after one hour. Hierarchical namespace stays off (blob versioning and version-level immutability
    need it off). Zone-redundant where ``ctx.zone_redundant``.
    """
    return storage.StorageAccount(
        name,
        account_name=naming.storage_account(ctx.subscription_id, name),
        resource_group_name=ctx.resource_group_name,
        location=ctx.location,
        kind="StorageV2",
        sku=storage.SkuArgs(name="Standard_ZRS" if ctx.zone_redundant else "Standard_LRS"),
        access_tier=storage.AccessTier.HOT,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_blob_public_access=False,
        allow_cross_tenant_replication=False,
        allowed_copy_scope="PrivateLink",
        public_network_access="Disabled",
        minimum_tls_version="TLS1_2",
        enable_https_traffic_only=True,
        is_hns_enabled=False,
        is_local_user_enabled=False,
        is_sftp_enabled=False,
        network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY, bypass="AzureServices"),
        encryption=encryption
        or storage.EncryptionArgs(
            key_source="Microsoft.Storage",
            require_infrastructure_encryption=True,
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
            ),
        ),
        identity=identity,
        immutable_storage_with_versioning=immutable_storage_with_versioning,
        sas_policy=storage.SasPolicyArgs(expiration_action="Block", sas_expiration_period="0.01:00:00"),
        tags=dict(tags),
        opts=child(parent, depends_on=list(depends_on)),
    )


def customer_key_encryption(
    key_name: pulumi.Input[str], key_vault_uri: pulumi.Input[str], identity_id: pulumi.Input[str]
) -> storage.EncryptionArgs:
    """Storage encryption with a Key Vault key (blob and file services, infrastructure encryption on),
    reached through a user-assigned identity that holds Key Vault Crypto Service Encryption User on it."""
    return storage.EncryptionArgs(
        key_source="Microsoft.Keyvault",
        require_infrastructure_encryption=True,
        key_vault_properties=storage.KeyVaultPropertiesArgs(key_name=key_name, key_vault_uri=key_vault_uri),
        encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=identity_id),
        services=storage.EncryptionServicesArgs(
            blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
            file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
        ),
    )


def recoverable_blob_service(
    name: str,
    parent: pulumi.Resource,
    ctx: BaseContext,
    account_name: pulumi.Input[str],
    *,
    soft_delete_days: int,
    change_feed_days: int,
    depends_on: Sequence[pulumi.Resource] = (),
    last_access_time_tracking_policy: storage.LastAccessTimeTrackingPolicyArgs | None = None,
) -> storage.BlobServiceProperties:
    """Blob service settings that keep every version, record a change feed and keep deleted blobs and
    containers for ``soft_delete_days`` (no permanent delete); optionally track last access times."""
    return storage.BlobServiceProperties(
        name,
        resource_group_name=ctx.resource_group_name,
        account_name=account_name,
        blob_services_name="default",
        is_versioning_enabled=True,
        change_feed=storage.ChangeFeedArgs(enabled=True, retention_in_days=change_feed_days),
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(
            enabled=True, days=soft_delete_days, allow_permanent_delete=False
        ),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=soft_delete_days),
        last_access_time_tracking_policy=last_access_time_tracking_policy,
        opts=child(parent, depends_on=list(depends_on)),
    )


def encryption_key(
    name: str, parent: pulumi.Resource, ctx: BaseContext, key_vault_id: pulumi.Input[str], tags: Mapping[str, str]
) -> keyvault.Key:
    """A customer-managed RSA 3072 wrapping key in the platform Key Vault (HSM-backed with
    ``ctx.hsm_keys``), rotated 30 days before its two-year expiry. The key name is the resource name,
    so the encrypting service can refer to it."""
    return keyvault.Key(
        name,
        resource_group_name=ctx.resource_group_name,
        vault_name=pulumi.Output.from_input(key_vault_id).apply(last_segment),
        key_name=name,
        properties=keyvault.KeyPropertiesArgs(
            kty="RSA-HSM" if ctx.hsm_keys else "RSA",
            key_size=3072,
            key_ops=["wrapKey", "unwrapKey"],
            rotation_policy=keyvault.RotationPolicyArgs(
                attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time="P2Y"),
                lifetime_actions=[
                    keyvault.LifetimeActionArgs(
                        action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                        trigger=keyvault.TriggerArgs(time_before_expiry="P30D"),
                    )
                ],
            ),
        ),
        tags=dict(tags),
        opts=child(parent),
    )
