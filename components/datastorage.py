"""Training-data storage: versioned, immutable, logged, with write access that follows the zones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity, storage

from components.common import (
    Context,
    PrivateEndpoint,
    RoleAssignmentSpec,
    child,
    delete_lock,
    diagnostic_setting,
    role_assignments,
)
from components.storage_account import (
    customer_key_encryption,
    encryption_key,
    private_storage_account,
    recoverable_blob_service,
)
from components.tripwires import GUARDED_ZONES, data_tripwires
from components.zones import READS, WRITES

EXPIRING_ZONES = ("quarantine", "raw")
"""Zones whose data expires after ``rawRetentionDays`` (data minimisation)."""


@dataclass(frozen=True)
class ZoneArgs:
    """One data zone: a classified blob container."""

    container: str
    """Container name."""
    classification: str
    """Classification written into the container metadata."""
    legal_hold: Sequence[str] = ()
    """Legal-hold tags; any tag freezes every blob in the zone."""


@dataclass(frozen=True)
class DataStorageArgs:
    """Inputs of :class:`DataStorage`."""

    ctx: Context
    """Environment context: resource group, tags, diagnostics, alerts, private endpoints, ``lock``."""
    zones: Mapping[str, ZoneArgs]
    """Zone containers by purpose (quarantine, raw, anonymized, curated, models)."""
    soft_delete_retention_days: int
    """Days deleted blobs and containers stay recoverable."""
    change_feed_retention_days: int
    """Days the change feed is kept."""
    raw_retention_days: int
    """Days before raw and quarantine data expire."""
    cool_after_days: int
    """Days after which blobs of the other zones move to the cool tier."""
    cold_after_days: int
    """Days after which blobs of the other zones move to the cold tier."""
    immutability_retention_days: int
    """Version-level WORM retention in days."""
    immutable: bool
    """Version-level immutability on the account and the zone containers (off only for a stack that is torn down)."""
    lock_immutability: bool
    """Lock the account's immutability policy (irreversible)."""
    customer_managed_key: bool
    """Encrypt with a key from the platform Key Vault, through a user-assigned identity."""
    pipeline_principals: Mapping[str, str]
    """Existing principal of a pipeline step by step name; a user-assigned identity is created for each step left
    out."""
    failed_auth_threshold: int
    """Failed authorizations in 15 minutes that raise the tripwire alert."""
    key_vault_id: pulumi.Input[str]
    """Resource ID of the platform Key Vault (customer-managed key)."""
    key_vault_uri: pulumi.Input[str]
    """URI of the platform Key Vault."""
    scratch_containers: Sequence[str] = ()
    """Names of per-workspace scratch containers to create."""


class DataStorage(pulumi.ComponentResource):
    """The training-data account.

    Every write is versioned and version-level WORM keeps each version for the retention period;
    soft delete and the change feed make deletes and changes recoverable and visible; blob reads,
    writes and deletes are logged; each zone is a classified container that only its pipeline
    identity may write, with tripwire alerts on any other write, any delete or immutability change,
    and bursts of failed authorizations.
    """

    account: storage.StorageAccount
    containers: dict[str, storage.BlobContainer]
    """Zone containers by purpose (and scratch containers by name)."""
    writers: dict[str, pulumi.Output[str]]
    """Principal ID of the writer of each zone, by zone purpose."""
    pipeline_principals: dict[str, pulumi.Output[str]]
    """Principal ID of each pipeline identity."""
    pipeline_identities: dict[str, managedidentity.UserAssignedIdentity]
    """The user-assigned identity of each pipeline step the platform creates (not configured principals)."""

    def __init__(self, name: str, args: DataStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:data:DataStorage", name, None, opts)
        ctx, cfg = args.ctx, args
        self._ctx = ctx
        # Version-level immutability, unless the stack turns it off to be torn down (config validation refuses
        # that in prod). An account or container enabled for it cannot be deleted until it is empty, and no
        # version under retention can be deleted, locked or not ("Deletion" and "Scenarios" in
        # https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies).
        self._immutable = cfg.immutable
        tags = {**ctx.tags, "data-classification": "restricted"}
        rg = ctx.resource_group_name

        encryption = identity = None
        key_ready: Sequence[pulumi.Resource] = ()
        if cfg.customer_managed_key:
            cmk_identity = managedidentity.UserAssignedIdentity(
                f"{name}-cmk-id", resource_group_name=rg, location=ctx.location, tags=tags, opts=child(self)
            )
            key = encryption_key(f"{name}-cmk", self, ctx, args.key_vault_id, tags)
            key_ready = role_assignments(
                f"{name}-cmk-rbac",
                self,
                ctx,
                args.key_vault_id,
                [
                    RoleAssignmentSpec(
                        "Key Vault Crypto Service Encryption User", cmk_identity.principal_id, name="data"
                    )
                ],
            )
            identity = storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[cmk_identity.id])
            encryption = customer_key_encryption(key.name, args.key_vault_uri, cmk_identity.id)

        self.account = private_storage_account(
            f"{name}acct",
            self,
            ctx,
            tags,
            encryption=encryption,
            identity=identity,
            immutable_storage_with_versioning=storage.ImmutableStorageAccountArgs(
                enabled=True,
                immutability_policy=storage.AccountImmutabilityPolicyPropertiesArgs(
                    immutability_period_since_creation_in_days=cfg.immutability_retention_days,
                    state="Locked" if cfg.lock_immutability else "Unlocked",
                    allow_protected_append_writes=False,
                ),
            )
            if self._immutable
            else storage.ImmutableStorageAccountArgs(enabled=False),
            depends_on=key_ready,  # the identity must hold its key role before encryption starts
        )
        blob_service = recoverable_blob_service(
            f"{name}-blob",
            self,
            ctx,
            self.account.name,
            soft_delete_days=cfg.soft_delete_retention_days,
            change_feed_days=cfg.change_feed_retention_days,
            last_access_time_tracking_policy=storage.LastAccessTimeTrackingPolicyArgs(
                enable=True, name="AccessTimeTracking", tracking_granularity_in_days=1, blob_type=["blockBlob"]
            ),
        )

        self.containers = {}
        for purpose, zone in cfg.zones.items():
            self.containers[purpose] = self._container(
                f"{name}-{purpose}",
                zone.container,
                {"classification": zone.classification, "zone": purpose},
                blob_service,
            )
            if self._immutable:
                storage.BlobContainerImmutabilityPolicy(
                    f"{name}-{purpose}-worm",
                    resource_group_name=rg,
                    account_name=self.account.name,
                    container_name=self.containers[purpose].name,
                    immutability_policy_name="default",
                    immutability_period_since_creation_in_days=cfg.immutability_retention_days,
                    allow_protected_append_writes=False,
                    opts=child(self),
                )
            if zone.legal_hold:
                storage.BlobContainerLegalHold(
                    f"{name}-{purpose}-hold",
                    resource_group_name=rg,
                    account_name=self.account.name,
                    container_name=self.containers[purpose].name,
                    tags=list(zone.legal_hold),
                    allow_protected_append_writes_all=False,
                    opts=child(self),
                )
        for container in args.scratch_containers:
            self.containers[container] = self._container(
                f"{name}-{container}", container, {"classification": "confidential", "zone": "scratch"}, blob_service
            )

        self._lifecycle(name, args)

        # Pipeline identities: one per step, each writing exactly one zone.
        self.pipeline_principals = {}
        self.pipeline_identities = {}
        for step in WRITES:
            existing = cfg.pipeline_principals.get(step)
            if existing is not None:
                self.pipeline_principals[step] = pulumi.Output.from_input(existing)
            else:
                uami = managedidentity.UserAssignedIdentity(
                    f"{name}-{step}-id", resource_group_name=rg, location=ctx.location, tags=tags, opts=child(self)
                )
                self.pipeline_principals[step] = uami.principal_id
                self.pipeline_identities[step] = uami
        for step, zone_key in WRITES.items():
            self.grant(f"{name}-{step}-writes", self.pipeline_principals[step], zone_key, write=True)
        for step, zone_key in READS.items():
            self.grant(f"{name}-{step}-reads", self.pipeline_principals[step], zone_key, write=False)
        self.writers = {zone_key: self.pipeline_principals[step] for step, zone_key in WRITES.items()}

        PrivateEndpoint(
            f"{name}-blob", ctx=ctx, resource_id=self.account.id, group_id="blob", dns_zones=["blob"], opts=child(self)
        )
        diag = ctx.diagnostic_settings
        diagnostic_setting(
            f"{name}-diag",
            self,
            self.account.id,
            diag,
            target_type="Microsoft.Storage/storageAccounts",
            metric_categories=["Transaction"],
        )
        diagnostic_setting(
            f"{name}-blob-diag",
            self,
            pulumi.Output.concat(self.account.id, "/blobServices/default"),
            diag,
            target_type="Microsoft.Storage/storageAccounts/blobServices",
            log_categories=["StorageRead", "StorageWrite", "StorageDelete"],
            metric_categories=["Transaction"],
        )
        data_tripwires(
            name,
            self,
            ctx,
            self.account.name,
            {purpose: args.zones[purpose].container for purpose in GUARDED_ZONES},
            self.writers,
            args.failed_auth_threshold,
        )
        if ctx.lock:
            delete_lock(name, self, self.account.id, "Training data: versioned, immutable, access-logged")
        self.register_outputs(
            {
                "accountId": self.account.id,
                "containers": {k: c.name for k, c in self.containers.items()},
                "pipelinePrincipals": self.pipeline_principals,
            }
        )

    def container_id(self, key: str) -> pulumi.Output[str]:
        """ARM ID of a container (a zone by purpose, or a scratch container by name): a role scope."""
        return pulumi.Output.concat(self.account.id, "/blobServices/default/containers/", self.containers[key].name)

    def grant(self, name: str, principal_id: pulumi.Input[str], key: str, *, write: bool) -> None:
        """Storage Blob Data Reader or Contributor for ``principal_id`` on one container only."""
        role = "Storage Blob Data Contributor" if write else "Storage Blob Data Reader"
        role_assignments(
            name,
            self,
            self._ctx,
            self.container_id(key),
            [RoleAssignmentSpec(role, principal_id, name=key)],
        )

    # ------------------------------------------------------------------------------------------

    def _container(
        self, name: str, container: str, metadata: Mapping[str, str], after: pulumi.Resource
    ) -> storage.BlobContainer:
        return storage.BlobContainer(
            name,
            resource_group_name=self._ctx.resource_group_name,
            account_name=self.account.name,
            container_name=container,
            public_access=storage.PublicAccess.NONE,
            metadata=dict(metadata),
            immutable_storage_with_versioning=storage.ImmutableStorageWithVersioningArgs(enabled=True)
            if self._immutable
            else None,
            opts=child(self, depends_on=[after]),
        )

    def _lifecycle(self, name: str, cfg: DataStorageArgs) -> None:
        rules = []
        for purpose, zone in cfg.zones.items():
            prefix = storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{zone.container}/"])
            if purpose in EXPIRING_ZONES:
                actions = storage.ManagementPolicyActionArgs(
                    base_blob=storage.ManagementPolicyBaseBlobArgs(
                        delete=storage.DateAfterModificationArgs(
                            days_after_modification_greater_than=cfg.raw_retention_days
                        )
                    ),
                    version=storage.ManagementPolicyVersionArgs(
                        delete=storage.DateAfterCreationArgs(days_after_creation_greater_than=cfg.raw_retention_days)
                    ),
                )
                rule_name = f"expire-{purpose}"
            else:
                actions = storage.ManagementPolicyActionArgs(
                    base_blob=storage.ManagementPolicyBaseBlobArgs(
                        tier_to_cool=storage.DateAfterModificationArgs(
                            days_after_modification_greater_than=cfg.cool_after_days
                        ),
                        tier_to_cold=storage.DateAfterModificationArgs(
                            days_after_modification_greater_than=cfg.cold_after_days
                        ),
                    ),
                    version=storage.ManagementPolicyVersionArgs(
                        tier_to_cool=storage.DateAfterCreationArgs(
                            days_after_creation_greater_than=cfg.cool_after_days
                        ),
                        tier_to_cold=storage.DateAfterCreationArgs(
                            days_after_creation_greater_than=cfg.cold_after_days
                        ),
                    ),
                )
                rule_name = f"tier-{purpose}"
            rules.append(
                storage.ManagementPolicyRuleArgs(
                    name=rule_name,
                    enabled=True,
                    type="Lifecycle",
                    definition=storage.ManagementPolicyDefinitionArgs(actions=actions, filters=prefix),
                )
            )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            resource_group_name=self._ctx.resource_group_name,
            account_name=self.account.name,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(rules=rules),
            opts=child(self),
        )
