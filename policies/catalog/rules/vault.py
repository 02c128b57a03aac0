"""Key Vault and container registries."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, Threat, expect, field_check
from policies.catalog.values import UNKNOWN, as_list, get, show

_KV = (azure.KEY_VAULT,)
_ACR = (azure.REGISTRY,)

KV_PURGE = ResourceRule(
    id="MLSEC-KV-001",
    name="Key Vaults have purge protection",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="Without purge protection a deleted vault or key can be purged at once, destroying every "
    "customer-managed key and with it the data encrypted under it.",
    remediation="Set properties.enablePurgeProtection to true (it cannot be turned off again).",
    mappings=Mappings(
        azure_policy="Key vaults should have deletion protection enabled",
        checkov="CKV_AZURE_110",
        psrule="Azure.KeyVault.PurgeProtect",
    ),
    opt_out="keyVault.purgeProtection",
    types=_KV,
    check=field_check("properties.enablePurgeProtection", True),
)


def _kv_soft_delete(res: Res) -> Iterator[str]:
    yield from expect(res.props, "properties.enableSoftDelete", [True], absent_ok=True)
    days = get(res.props, "properties.softDeleteRetentionInDays")
    if isinstance(days, int) and days < 7:
        yield f"properties.softDeleteRetentionInDays must be at least 7 (found {show(days)})"


KV_SOFT_DELETE = ResourceRule(
    id="MLSEC-KV-002",
    name="Key Vaults keep deleted objects recoverable (soft delete, at least 7 days)",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="Soft delete makes a deleted key or secret recoverable during the retention period.",
    remediation="Leave properties.enableSoftDelete unset or true and softDeleteRetentionInDays at 7-90.",
    mappings=Mappings(
        azure_policy="Key vaults should have soft delete enabled",
        checkov="CKV_AZURE_42",
        psrule="Azure.KeyVault.SoftDelete",
    ),
    types=_KV,
    check=_kv_soft_delete,
)

KV_RBAC = ResourceRule(
    id="MLSEC-KV-003",
    name="Key Vaults use Azure RBAC, not access policies",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Access policies grant vault-wide rights that bypass role reviews and PIM; RBAC grants are scoped, "
    "reviewable and logged.",
    remediation="Set properties.enableRbacAuthorization to true and grant Key Vault roles.",
    mappings=Mappings(azure_policy="Azure Key Vault should use RBAC permission model", psrule="Azure.KeyVault.RBAC"),
    types=_KV,
    check=field_check("properties.enableRbacAuthorization", True),
)

KV_PUBLIC = ResourceRule(
    id="MLSEC-KV-004",
    name="Key Vaults disable public network access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Keys and secrets must be reachable only through the private endpoint.",
    remediation="Set properties.publicNetworkAccess to Disabled.",
    mappings=Mappings(azure_policy="Azure Key Vault should disable public network access", checkov="CKV_AZURE_189"),
    types=_KV,
    check=field_check("properties.publicNetworkAccess", "Disabled"),
)

KV_FIREWALL = ResourceRule(
    id="MLSEC-KV-005",
    name="Key Vault firewalls deny by default",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A default-Allow firewall admits every network as soon as public access is turned on.",
    remediation="Set properties.networkAcls.defaultAction to Deny.",
    mappings=Mappings(
        azure_policy="Azure Key Vault should have firewall enabled",
        checkov="CKV_AZURE_109",
        psrule="Azure.KeyVault.Firewall",
    ),
    types=_KV,
    check=field_check("properties.networkAcls.defaultAction", "Deny"),
)


def _rotation(res: Res) -> Iterator[str]:
    actions = get(res.props, "properties.rotationPolicy.lifetimeActions")
    if actions is UNKNOWN:
        return
    kinds = [a.get("action", {}).get("type") for a in as_list(actions) if isinstance(a, dict)]
    if not any(isinstance(k, str) and k.lower() == "rotate" for k in kinds) and UNKNOWN not in kinds:
        yield "properties.rotationPolicy must have a lifetime action of type rotate"


KV_KEY_ROTATION = ResourceRule(
    id="MLSEC-KV-006",
    name="Key Vault keys rotate automatically",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A key that never rotates keeps every past and future encryption exposed to one leak.",
    remediation="Give the key properties.rotationPolicy with a rotate lifetime action and an expiryTime.",
    mappings=Mappings(
        azure_policy="Keys should have a rotation policy ensuring that their rotation is scheduled within the "
        "specified "
        "number of days after creation"
    ),
    types=(azure.KEY_VAULT_KEY,),
    check=_rotation,
)


def _key_size(res: Res) -> Iterator[str]:
    kty = get(res.props, "properties.kty")
    size = get(res.props, "properties.keySize")
    if kty in ("RSA", "RSA-HSM") and size is not UNKNOWN and not (isinstance(size, int) and size >= 3072):
        yield f"properties.keySize must be at least 3072 for RSA keys (found {show(size)})"


KV_KEY_SIZE = ResourceRule(
    id="MLSEC-KV-007",
    name="RSA keys are at least 3072 bits",
    severity=Severity.LOW,
    threat=Threat.STEALING,
    rationale="3072-bit RSA keeps customer-managed keys strong beyond 2030 (NIST SP 800-57).",
    remediation="Set properties.keySize to 3072 or 4096.",
    mappings=Mappings(azure_policy="Keys using RSA cryptography should have a specified minimum key size"),
    types=(azure.KEY_VAULT_KEY,),
    check=_key_size,
)

ACR_ADMIN = ResourceRule(
    id="MLSEC-ACR-001",
    name="Container registries have the admin user disabled",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="The admin user is a shared password with push and pull rights on every image.",
    remediation="Set adminUserEnabled to false; use AcrPull/AcrPush role assignments.",
    mappings=Mappings(
        azure_policy="Container registries should have local admin account disabled",
        checkov="CKV_AZURE_137",
        psrule="Azure.ACR.AdminUser",
    ),
    types=_ACR,
    check=field_check("adminUserEnabled", False),
)

ACR_ANONYMOUS = ResourceRule(
    id="MLSEC-ACR-002",
    name="Container registries refuse anonymous pulls",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Anonymous pull lets anyone who reaches the registry download training and scoring images, with any "
    "model baked into them.",
    remediation="Set anonymousPullEnabled to false.",
    mappings=Mappings(
        azure_policy="Container registries should have anonymous authentication disabled",
        checkov="CKV_AZURE_138",
        psrule="Azure.ACR.AnonymousAccess",
    ),
    types=_ACR,
    check=field_check("anonymousPullEnabled", False, absent_ok=True),
)

ACR_PUBLIC = ResourceRule(
    id="MLSEC-ACR-003",
    name="Container registries disable public network access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Images must be pulled and pushed only through the private endpoint.",
    remediation="Set publicNetworkAccess to Disabled.",
    mappings=Mappings(
        azure_policy="Public network access should be disabled for Container registries",
        checkov="CKV_AZURE_139",
        psrule="Azure.ACR.Firewall",
    ),
    types=_ACR,
    check=field_check("publicNetworkAccess", "Disabled"),
)

ACR_EXPORT = ResourceRule(
    id="MLSEC-ACR-004",
    name="Container registries forbid exporting images",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Export (import into another registry, pipelines) copies images out past the network rules.",
    remediation="Set policies.exportPolicy.status to disabled (needs publicNetworkAccess Disabled).",
    mappings=Mappings(
        azure_policy="Container registries should have exports disabled", psrule="Azure.ACR.ExportPolicy"
    ),
    types=_ACR,
    check=field_check("policies.exportPolicy.status", "disabled"),
)

ACR_PREMIUM = ResourceRule(
    id="MLSEC-ACR-005",
    name="Container registries use the Premium tier",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Only Premium supports private endpoints, network rules and disabled export.",
    remediation="Set sku.name to Premium.",
    types=_ACR,
    check=field_check("sku.name", "Premium"),
)

ACR_ARM_AUDIENCE = ResourceRule(
    id="MLSEC-ACR-006",
    name="Container registries accept only tokens issued for the registry, not ARM-audience tokens",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="With ARM-audience authentication on, any Entra token for Azure Resource Manager - such as the one "
    "every Azure CLI login holds - can be exchanged for registry access; with it off, a client needs a token "
    "issued for the registry itself, which narrows who can pull images and the models baked into them "
    "(https://learn.microsoft.com/azure/container-registry/container-registry-disable-authentication-as-arm).",
    remediation="Set policies.azureADAuthenticationAsArmPolicy.status to disabled.",
    mappings=Mappings(
        azure_policy="Container registries should have ARM audience token authentication disabled",
    ),
    types=_ACR,
    check=field_check("policies.azureADAuthenticationAsArmPolicy.status", "disabled"),
)

RULES = (
    KV_PURGE,
    KV_SOFT_DELETE,
    KV_RBAC,
    KV_PUBLIC,
    KV_FIREWALL,
    KV_KEY_ROTATION,
    KV_KEY_SIZE,
    ACR_ADMIN,
    ACR_ANONYMOUS,
    ACR_PUBLIC,
    ACR_EXPORT,
    ACR_PREMIUM,
    ACR_ARM_AUDIENCE,
)
