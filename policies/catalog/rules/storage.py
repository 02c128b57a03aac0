"""Storage accounts, blob services and containers: identity-only, private, encrypted, recoverable."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackRule, StackView, Threat, expect, field_check
from policies.catalog.values import UNKNOWN, as_list, get, show

_ACCOUNT = (azure.STORAGE_ACCOUNT,)
_BLOB = (azure.BLOB_SERVICE,)

SHARED_KEY = ResourceRule(
    id="MLSEC-STG-001",
    name="Storage accounts refuse shared-key (account key) authorization",
    severity=Severity.CRITICAL,
    threat=Threat.STEALING,
    rationale="An account key grants full data access to whoever holds it, from anywhere, with no identity in "
    "the logs. With shared key off, every request carries an Entra ID token that RBAC and the logs attribute.",
    remediation="Set allowSharedKeyAccess to false; give workloads a managed identity and a data role instead.",
    mappings=Mappings(
        azure_policy="Storage accounts should prevent shared key access", psrule="Azure.Storage.LocalAuth"
    ),
    suppressible=False,
    types=_ACCOUNT,
    check=field_check("allowSharedKeyAccess", False),
)

BLOB_PUBLIC = ResourceRule(
    id="MLSEC-STG-002",
    name="Storage accounts disallow anonymous blob access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="With blob public access allowed, one container set to Blob or Container access publishes its data "
    "to the Internet without authentication.",
    remediation="Set allowBlobPublicAccess to false.",
    mappings=Mappings(
        azure_policy="Storage account public access should be disallowed", psrule="Azure.Storage.BlobPublicAccess"
    ),
    types=_ACCOUNT,
    check=field_check("allowBlobPublicAccess", False),
)

PUBLIC_NETWORK = ResourceRule(
    id="MLSEC-STG-003",
    name="Storage accounts disable public network access",
    severity=Severity.CRITICAL,
    threat=Threat.STEALING,
    rationale="Training data and model artifacts must not be reachable from the Internet; private endpoints are "
    "the only way in.",
    remediation="Set publicNetworkAccess to Disabled and reach the account through a private endpoint.",
    mappings=Mappings(azure_policy="Storage accounts should disable public network access", checkov="CKV_AZURE_59"),
    suppressible=False,
    types=_ACCOUNT,
    check=field_check("publicNetworkAccess", "Disabled"),
)

FIREWALL = ResourceRule(
    id="MLSEC-STG-004",
    name="Storage account firewalls deny by default",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A default-Allow firewall admits every network the moment public access is turned on again.",
    remediation="Set networkRuleSet.defaultAction to Deny (bypass AzureServices only where a trusted service "
    "needs it).",
    mappings=Mappings(
        azure_policy="Storage accounts should restrict network access",
        checkov="CKV_AZURE_35",
        psrule="Azure.Storage.Firewall",
    ),
    types=_ACCOUNT,
    check=field_check("networkRuleSet.defaultAction", "Deny"),
)

MIN_TLS = ResourceRule(
    id="MLSEC-STG-005",
    name="Storage accounts require TLS 1.2 or later",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="TLS 1.0 and 1.1 have known weaknesses; a client downgraded to them exposes tokens and data in transit.",
    remediation="Set minimumTlsVersion to TLS1_2.",
    mappings=Mappings(
        azure_policy="Storage accounts should have the specified minimum TLS version",
        checkov="CKV_AZURE_44",
        psrule="Azure.Storage.MinTLS",
    ),
    types=_ACCOUNT,
    check=field_check("minimumTlsVersion", "TLS1_2", "TLS1_3"),
)

HTTPS_ONLY = ResourceRule(
    id="MLSEC-STG-006",
    name="Storage accounts accept HTTPS only",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Plain HTTP carries bearer tokens and data unencrypted.",
    remediation="Set enableHttpsTrafficOnly to true.",
    mappings=Mappings(
        azure_policy="Secure transfer to storage accounts should be enabled",
        checkov="CKV_AZURE_3",
        psrule="Azure.Storage.SecureTransfer",
    ),
    types=_ACCOUNT,
    check=field_check("enableHttpsTrafficOnly", True),
)

INFRA_ENCRYPTION = ResourceRule(
    id="MLSEC-STG-007",
    name="Storage accounts use infrastructure (double) encryption",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A second, independent encryption layer keeps data protected if one algorithm or key is compromised.",
    remediation="Set encryption.requireInfrastructureEncryption to true (only possible when the account is created).",
    mappings=Mappings(azure_policy="Storage accounts should have infrastructure encryption"),
    types=_ACCOUNT,
    check=field_check("encryption.requireInfrastructureEncryption", True),
)

CROSS_TENANT = ResourceRule(
    id="MLSEC-STG-008",
    name="Storage accounts forbid cross-tenant object replication",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Object replication to an account in another tenant copies every new blob out of the organisation.",
    remediation="Set allowCrossTenantReplication to false.",
    mappings=Mappings(azure_policy="Storage accounts should prevent cross tenant object replication"),
    types=_ACCOUNT,
    check=field_check("allowCrossTenantReplication", False),
)


def _sas_policy(res: Res) -> Iterator[str]:
    period = get(res.props, "sasPolicy.sasExpirationPeriod")
    if period is not UNKNOWN and not isinstance(period, str):
        yield f"sasPolicy.sasExpirationPeriod must be set (found {show(period)})"
    yield from expect(res.props, "sasPolicy.expirationAction", ["Block"])


SAS_POLICY = ResourceRule(
    id="MLSEC-STG-009",
    name="Storage accounts block SAS tokens that outlive the SAS expiration policy",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A long-lived SAS is a bearer credential that outlives the person or job it was issued to.",
    remediation="Set sasPolicy.sasExpirationPeriod (for example 0.01:00:00) and sasPolicy.expirationAction to Block.",
    mappings=Mappings(azure_policy="Storage accounts should have shared access signature (SAS) policies configured"),
    types=_ACCOUNT,
    check=_sas_policy,
)


def _local_users(res: Res) -> Iterator[str]:
    yield from expect(res.props, "isLocalUserEnabled", [False])
    yield from expect(res.props, "isSftpEnabled", [False], absent_ok=True)


LOCAL_USERS = ResourceRule(
    id="MLSEC-STG-010",
    name="Storage accounts have no local users and no SFTP endpoint",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Local users authenticate with passwords or SSH keys outside Entra ID, bypassing RBAC and "
    "conditional access.",
    remediation="Set isLocalUserEnabled and isSftpEnabled to false.",
    types=_ACCOUNT,
    check=_local_users,
)

COPY_SCOPE = ResourceRule(
    id="MLSEC-STG-011",
    name="Storage accounts allow copies only from private-link or same-tenant sources",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="An unrestricted copy scope lets a compromised identity copy data to or from any account.",
    remediation="Set allowedCopyScope to PrivateLink (or AAD).",
    types=_ACCOUNT,
    check=field_check("allowedCopyScope", "PrivateLink", "AAD"),
)

OAUTH_DEFAULT = ResourceRule(
    id="MLSEC-STG-012",
    name="Storage accounts default to Entra ID authorization in the portal",
    severity=Severity.LOW,
    threat=Threat.STEALING,
    rationale="Portal and tooling otherwise fall back to account keys where shared key is still allowed.",
    remediation="Set defaultToOAuthAuthentication to true.",
    types=_ACCOUNT,
    check=field_check("defaultToOAuthAuthentication", True),
)


def _cmk_in_prod(res: Res) -> Iterator[str]:
    if res.tag("environment") == "prod" and res.within(azure.DATA_STORAGE_COMPONENT):
        yield from expect(res.props, "encryption.keySource", ["Microsoft.Keyvault"])


CMK = ResourceRule(
    id="MLSEC-STG-013",
    name="The production training-data account is encrypted with a customer-managed key",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="The training-data account holds the restricted zones; a customer-managed key lets the organisation "
    "revoke access to all of it by disabling one key.",
    remediation="Enable dataStorage.customerManagedKey: encryption.keySource Microsoft.Keyvault with a key in the "
    "platform Key Vault.",
    mappings=Mappings(azure_policy="Storage accounts should use customer-managed key for encryption"),
    types=_ACCOUNT,
    check=_cmk_in_prod,
)

VERSIONING = ResourceRule(
    id="MLSEC-STG-020",
    name="Blob services keep a version of every write",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Without versions a poisoned overwrite destroys the clean data; with them every earlier state is kept.",
    remediation="Set isVersioningEnabled to true on the blob service.",
    types=_BLOB,
    check=field_check("isVersioningEnabled", True),
)

CHANGE_FEED = ResourceRule(
    id="MLSEC-STG-021",
    name="Blob services record a change feed",
    severity=Severity.MEDIUM,
    threat=Threat.POISONING,
    rationale="The change feed is the ordered record of every create, update and delete, needed to find what a "
    "poisoning attempt touched.",
    remediation="Set changeFeed.enabled to true with a retentionInDays.",
    types=_BLOB,
    check=field_check("changeFeed.enabled", True),
)


def _soft_delete(res: Res) -> Iterator[str]:
    yield from expect(res.props, "deleteRetentionPolicy.enabled", [True])
    days = get(res.props, "deleteRetentionPolicy.days")
    if days is not UNKNOWN and not (isinstance(days, int) and days >= 7):
        yield f"deleteRetentionPolicy.days must be at least 7 (found {show(days)})"
    yield from expect(res.props, "deleteRetentionPolicy.allowPermanentDelete", [False], absent_ok=True)


BLOB_SOFT_DELETE = ResourceRule(
    id="MLSEC-STG-022",
    name="Blob services keep deleted blobs for at least 7 days, without permanent delete",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="Soft delete turns a malicious or mistaken delete into a recoverable one; permanent delete would "
    "let an attacker skip the retention.",
    remediation="Set deleteRetentionPolicy {enabled: true, days: >= 7, allowPermanentDelete: false}.",
    mappings=Mappings(
        azure_policy="Configure blob soft delete for storage accounts", psrule="Azure.Storage.SoftDelete"
    ),
    types=_BLOB,
    check=_soft_delete,
)


def _container_soft_delete(res: Res) -> Iterator[str]:
    yield from expect(res.props, "containerDeleteRetentionPolicy.enabled", [True])
    days = get(res.props, "containerDeleteRetentionPolicy.days")
    if days is not UNKNOWN and not (isinstance(days, int) and days >= 7):
        yield f"containerDeleteRetentionPolicy.days must be at least 7 (found {show(days)})"


CONTAINER_SOFT_DELETE = ResourceRule(
    id="MLSEC-STG-023",
    name="Blob services keep deleted containers for at least 7 days",
    severity=Severity.MEDIUM,
    threat=Threat.AVAILABILITY,
    rationale="Deleting a whole container removes every blob at once; container soft delete makes it recoverable.",
    remediation="Set containerDeleteRetentionPolicy {enabled: true, days: >= 7}.",
    mappings=Mappings(psrule="Azure.Storage.ContainerSoftDelete"),
    types=_BLOB,
    check=_container_soft_delete,
)

CONTAINER_PRIVATE = ResourceRule(
    id="MLSEC-STG-030",
    name="Blob containers allow no anonymous access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A container with Blob or Container access serves its data to anyone who knows the URL.",
    remediation="Set publicAccess to None (or leave it unset).",
    mappings=Mappings(checkov="CKV_AZURE_34", psrule="Azure.Storage.BlobAccessType"),
    types=(azure.BLOB_CONTAINER,),
    check=field_check("publicAccess", "None", absent_ok=True),
)

_ACCESS_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")


def _logged_categories(setting: Res) -> set[str]:
    found: set[str] = set()
    for entry in as_list(setting.props.get("logs")):
        if not isinstance(entry, dict) or entry.get("enabled") is False:
            continue
        if entry.get("categoryGroup") == "allLogs":
            found.update(_ACCESS_CATEGORIES)
        elif isinstance(entry.get("category"), str):
            found.add(entry["category"])
    return found


def _blob_access_logs(stack: StackView) -> Iterator[tuple[str, str]]:
    for account in stack.of_type(azure.STORAGE_ACCOUNT):
        settings = [
            s
            for s in stack.dependents(account, azure.DIAGNOSTIC_SETTING)
            if s.props.get("resourceUri") is UNKNOWN
            or str(s.props.get("resourceUri", "")).endswith("/blobServices/default")
        ]
        if not settings:
            yield account.urn, f"storage account {account.name} has no diagnostic setting on blobServices/default"
            continue
        logged = set().union(*(_logged_categories(s) for s in settings))
        missing = [c for c in _ACCESS_CATEGORIES if c not in logged]
        if missing:
            yield account.urn, f"blob diagnostics of storage account {account.name} do not log {', '.join(missing)}"


BLOB_ACCESS_LOGS = StackRule(
    id="MLSEC-STG-040",
    name="Every storage account logs blob reads, writes and deletes",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="StorageRead, StorageWrite and StorageDelete logs are the only record of who read or changed which "
    "blob; without them theft and poisoning leave no trace and the tripwire alerts have nothing to query.",
    remediation="Add a diagnostic setting on <account>/blobServices/default with StorageRead, StorageWrite and "
    "StorageDelete (or the allLogs group) to the Log Analytics workspace.",
    mappings=Mappings(azure_policy="Configure diagnostic settings for Blob Services to Log Analytics workspace"),
    check=_blob_access_logs,
)


def _blob_protection(stack: StackView) -> Iterator[tuple[str, str]]:
    for account in stack.of_type(azure.STORAGE_ACCOUNT):
        services = stack.dependents(account, azure.BLOB_SERVICE)
        if not services:
            yield account.urn, f"StorageAccount {account.name} has no blob service settings (versioning, soft delete)"


BLOB_PROTECTION = StackRule(
    id="MLSEC-STG-024",
    name="Every storage account has blob service settings, so versioning and soft delete are never left at defaults",
    severity=Severity.MEDIUM,
    threat=Threat.POISONING,
    rationale="Versioning and soft delete are off unless a blob service resource turns them on; the workspace "
    "system storage holds registered models, run artifacts and job code, whose silent overwrite poisons what "
    "gets deployed. STG-020 to STG-023 check the settings; this rule makes sure they exist for every account.",
    remediation="Create a BlobServiceProperties resource for the account with isVersioningEnabled, a change feed, "
    "and blob and container delete retention (components/workspace.py does so for system storage).",
    mappings=Mappings(
        azure_policy="Storage accounts should have blob versioning enabled; Azure Storage should have soft delete "
        "enabled for blobs",
        psrule="Azure.Storage.SoftDelete",
    ),
    check=_blob_protection,
)

RULES = (
    SHARED_KEY,
    BLOB_PUBLIC,
    PUBLIC_NETWORK,
    FIREWALL,
    MIN_TLS,
    HTTPS_ONLY,
    INFRA_ENCRYPTION,
    CROSS_TENANT,
    SAS_POLICY,
    LOCAL_USERS,
    COPY_SCOPE,
    OAUTH_DEFAULT,
    CMK,
    VERSIONING,
    CHANGE_FEED,
    BLOB_SOFT_DELETE,
    CONTAINER_SOFT_DELETE,
    BLOB_PROTECTION,
    CONTAINER_PRIVATE,
    BLOB_ACCESS_LOGS,
)
