"""The environment's Key Vault: RBAC, purge protection, private endpoint only, audit logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import keyvault

from components import naming
from components.common import (
    Context,
    PrivateEndpoint,
    RoleAssignmentSpec,
    child,
    delete_lock,
    diagnostic_setting,
    role_assignments,
)


@dataclass(frozen=True)
class KeyVaultArgs:
    """Inputs of :class:`KeyVault`."""

    ctx: Context
    """Environment context; ``ctx.lock`` adds a CanNotDelete lock, ``ctx.diagnostic_settings`` the audit logs."""
    sku: str = "standard"
    """standard or premium (HSM-backed keys)."""
    soft_delete_retention_days: int = 90
    """Days a deleted vault, key or secret stays recoverable."""
    purge_protection: bool = True
    """Refuse purges before the retention ends (cannot be turned off once on)."""
    role_assignments: Sequence[RoleAssignmentSpec] = field(default_factory=tuple)
    """Roles granted on the vault."""
    generation: int = 1
    """Part of the vault name's hash; a new value gives a new name (to rebuild beside a soft-deleted vault)."""


class KeyVault(pulumi.ComponentResource):
    """A Key Vault reachable only through its private endpoint.

    The vault name is explicit and valid (components/naming.py); ``generation`` is part of its hash, so
    an environment rebuilt after a destroy takes a new name instead of colliding with its own
    soft-deleted, purge-protected vault (docs/operations.md).
    """

    vault: keyvault.Vault

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:keyvault:KeyVault", name, None, opts)
        ctx = args.ctx
        self.vault = keyvault.Vault(
            f"{name}-kv",
            vault_name=naming.key_vault(ctx.subscription_id, f"{name}-kv", args.generation),
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=ctx.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(args.sku)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                enable_purge_protection=True if args.purge_protection else None,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            ),
            tags=dict(ctx.tags),
            opts=child(self),
        )
        PrivateEndpoint(
            f"{name}-vault", ctx=ctx, resource_id=self.vault.id, group_id="vault", dns_zones=["vault"], opts=child(self)
        )
        diagnostic_setting(
            f"{name}-diag", self, self.vault.id, ctx.diagnostic_settings, target_type="Microsoft.KeyVault/vaults"
        )
        role_assignments(f"{name}-rbac", self, ctx, self.vault.id, args.role_assignments)
        if ctx.lock:
            delete_lock(name, self, self.vault.id, "Key Vault holds the platform's encryption keys")
        self.register_outputs({"vaultId": self.vault.id})
