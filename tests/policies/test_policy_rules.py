"""Every rule: a compliant fixture passes, and each failing case changes exactly one field (or removes one
resource) and yields exactly the expected findings."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from policies.catalog import RULES_BY_ID
from tests.policies.policy_cases import DELETE, mutate, serving_plan, violations, with_endpoint_diagnostics

SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"
OWNER_ROLE = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

# (rule, base plan, resource name, input path (None: remove the resource), new value, expected findings)
GATEWAY_ELEMENTS = (
    "validate-jwt",
    "rate-limit-by-key",
    "quota-by-key",
    "validate-content",
    "authentication-managed-identity",
)


def _policy_without(missing: str) -> str:
    """An API policy with every gateway control but ``missing``."""
    inbound = "".join(f"<{e} />" for e in GATEWAY_ELEMENTS if e != missing)
    return (
        f"<policies><inbound><base />{inbound}</inbound><backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>"
    )


CASES: list[tuple[str, str, str, str | None, Any, list[tuple[str, str]]]] = [
    (
        "MLSEC-STG-001",
        "dev",
        "mlsec-dev-dataacct",
        "allowSharedKeyAccess",
        True,
        [("mlsec-dev-dataacct", "allowSharedKeyAccess must be false (found true)")],
    ),
    (
        "MLSEC-STG-001",
        "dev",
        "mlsec-dev-fraudsys",
        "allowSharedKeyAccess",
        DELETE,
        [("mlsec-dev-fraudsys", "allowSharedKeyAccess must be false (found not set)")],
    ),
    (
        "MLSEC-STG-002",
        "dev",
        "mlsec-dev-dataacct",
        "allowBlobPublicAccess",
        True,
        [("mlsec-dev-dataacct", "allowBlobPublicAccess must be false (found true)")],
    ),
    (
        "MLSEC-STG-003",
        "dev",
        "mlsec-dev-dataacct",
        "publicNetworkAccess",
        "Enabled",
        [("mlsec-dev-dataacct", 'publicNetworkAccess must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-STG-004",
        "dev",
        "mlsec-dev-fraudsys",
        "networkRuleSet.defaultAction",
        "Allow",
        [("mlsec-dev-fraudsys", 'networkRuleSet.defaultAction must be "Deny" (found "Allow")')],
    ),
    (
        "MLSEC-STG-005",
        "dev",
        "mlsec-dev-dataacct",
        "minimumTlsVersion",
        "TLS1_0",
        [("mlsec-dev-dataacct", 'minimumTlsVersion must be one of "TLS1_2", "TLS1_3" (found "TLS1_0")')],
    ),
    (
        "MLSEC-STG-006",
        "dev",
        "mlsec-dev-dataacct",
        "enableHttpsTrafficOnly",
        False,
        [("mlsec-dev-dataacct", "enableHttpsTrafficOnly must be true (found false)")],
    ),
    (
        "MLSEC-STG-007",
        "dev",
        "mlsec-dev-dataacct",
        "encryption.requireInfrastructureEncryption",
        False,
        [("mlsec-dev-dataacct", "encryption.requireInfrastructureEncryption must be true (found false)")],
    ),
    (
        "MLSEC-STG-008",
        "dev",
        "mlsec-dev-dataacct",
        "allowCrossTenantReplication",
        True,
        [("mlsec-dev-dataacct", "allowCrossTenantReplication must be false (found true)")],
    ),
    (
        "MLSEC-STG-009",
        "dev",
        "mlsec-dev-dataacct",
        "sasPolicy.expirationAction",
        "Log",
        [("mlsec-dev-dataacct", 'sasPolicy.expirationAction must be "Block" (found "Log")')],
    ),
    (
        "MLSEC-STG-009",
        "dev",
        "mlsec-dev-dataacct",
        "sasPolicy",
        DELETE,
        [
            ("mlsec-dev-dataacct", "sasPolicy.sasExpirationPeriod must be set (found not set)"),
            ("mlsec-dev-dataacct", 'sasPolicy.expirationAction must be "Block" (found not set)'),
        ],
    ),
    (
        "MLSEC-STG-010",
        "dev",
        "mlsec-dev-dataacct",
        "isSftpEnabled",
        True,
        [("mlsec-dev-dataacct", "isSftpEnabled must be false (found true)")],
    ),
    (
        "MLSEC-STG-011",
        "dev",
        "mlsec-dev-dataacct",
        "allowedCopyScope",
        DELETE,
        [("mlsec-dev-dataacct", 'allowedCopyScope must be one of "PrivateLink", "AAD" (found not set)')],
    ),
    (
        "MLSEC-STG-012",
        "dev",
        "mlsec-dev-dataacct",
        "defaultToOAuthAuthentication",
        False,
        [("mlsec-dev-dataacct", "defaultToOAuthAuthentication must be true (found false)")],
    ),
    (
        "MLSEC-STG-013",
        "prod",
        "mlsec-prod-dataacct",
        "encryption.keySource",
        "Microsoft.Storage",
        [("mlsec-prod-dataacct", 'encryption.keySource must be "Microsoft.Keyvault" (found "Microsoft.Storage")')],
    ),
    (
        "MLSEC-STG-020",
        "dev",
        "mlsec-dev-data-blob",
        "isVersioningEnabled",
        False,
        [("mlsec-dev-data-blob", "isVersioningEnabled must be true (found false)")],
    ),
    (
        "MLSEC-STG-021",
        "dev",
        "mlsec-dev-data-blob",
        "changeFeed.enabled",
        False,
        [("mlsec-dev-data-blob", "changeFeed.enabled must be true (found false)")],
    ),
    (
        "MLSEC-STG-022",
        "dev",
        "mlsec-dev-data-blob",
        "deleteRetentionPolicy.allowPermanentDelete",
        True,
        [("mlsec-dev-data-blob", "deleteRetentionPolicy.allowPermanentDelete must be false (found true)")],
    ),
    (
        "MLSEC-STG-022",
        "dev",
        "mlsec-dev-data-blob",
        "deleteRetentionPolicy.days",
        1,
        [("mlsec-dev-data-blob", "deleteRetentionPolicy.days must be at least 7 (found 1)")],
    ),
    (
        "MLSEC-STG-023",
        "dev",
        "mlsec-dev-data-blob",
        "containerDeleteRetentionPolicy.enabled",
        False,
        [("mlsec-dev-data-blob", "containerDeleteRetentionPolicy.enabled must be true (found false)")],
    ),
    (
        "MLSEC-STG-030",
        "dev",
        "mlsec-dev-data-curated",
        "publicAccess",
        "Container",
        [("mlsec-dev-data-curated", 'publicAccess must be "None" (found "Container")')],
    ),
    (
        "MLSEC-STG-040",
        "dev",
        "mlsec-dev-data-blob-diag",
        None,
        None,
        [
            (
                "mlsec-dev-dataacct",
                "storage account mlsec-dev-dataacct has no diagnostic setting on blobServices/default",
            )
        ],
    ),
    (
        "MLSEC-STG-040",
        "dev",
        "mlsec-dev-data-blob-diag",
        "logs.2.enabled",
        False,
        [("mlsec-dev-dataacct", "blob diagnostics of storage account mlsec-dev-dataacct do not log StorageDelete")],
    ),
    (
        "MLSEC-MLW-001",
        "dev",
        "mlsec-dev-fraud-mlw",
        "publicNetworkAccess",
        DELETE,
        [("mlsec-dev-fraud-mlw", 'publicNetworkAccess must be "Disabled" (found not set)')],
    ),
    (
        "MLSEC-MLW-002",
        "dev",
        "mlsec-dev-fraud-mlw",
        "allowPublicAccessWhenBehindVnet",
        True,
        [("mlsec-dev-fraud-mlw", "allowPublicAccessWhenBehindVnet must be false (found true)")],
    ),
    (
        "MLSEC-MLW-003",
        "dev",
        "mlsec-dev-fraud-mlw",
        "managedNetwork.isolationMode",
        "AllowInternetOutbound",
        [
            (
                "mlsec-dev-fraud-mlw",
                'managedNetwork.isolationMode must be "AllowOnlyApprovedOutbound" (found "AllowInternetOutbound")',
            )
        ],
    ),
    (
        "MLSEC-MLW-004",
        "dev",
        "mlsec-dev-fraud-mlw",
        "identity.type",
        "SystemAssigned",
        [("mlsec-dev-fraud-mlw", 'identity.type must be "UserAssigned" (found "SystemAssigned")')],
    ),
    (
        "MLSEC-MLW-004",
        "dev",
        "mlsec-dev-fraud-mlw",
        "primaryUserAssignedIdentity",
        DELETE,
        [("mlsec-dev-fraud-mlw", "primaryUserAssignedIdentity must name the workspace identity (found not set)")],
    ),
    (
        "MLSEC-MLW-005",
        "dev",
        "mlsec-dev-fraud-mlw",
        "systemDatastoresAuthMode",
        "accessKey",
        [("mlsec-dev-fraud-mlw", 'systemDatastoresAuthMode must be "Identity" (found "accessKey")')],
    ),
    (
        "MLSEC-MLW-006",
        "dev",
        "mlsec-dev-fraud-mlw",
        "v1LegacyMode",
        True,
        [("mlsec-dev-fraud-mlw", "v1LegacyMode must be false (found true)")],
    ),
    (
        "MLSEC-MLW-007",
        "dev",
        "mlsec-dev-fraud-mlw",
        "enableDataIsolation",
        False,
        [("mlsec-dev-fraud-mlw", "enableDataIsolation must be true (found false)")],
    ),
    (
        "MLSEC-MLW-008",
        "prod",
        "mlsec-prod-fraud-mlw",
        "encryption",
        DELETE,
        [
            ("mlsec-prod-fraud-mlw", 'encryption.status must be "Enabled" (found not set)'),
            (
                "mlsec-prod-fraud-mlw",
                "encryption.keyVaultProperties.keyIdentifier must name a Key Vault key (found not set)",
            ),
        ],
    ),
    (
        "MLSEC-MLW-009",
        "dev",
        "mlsec-dev-fraud-mlw",
        "managedNetwork.outboundRules.fqdn-pypi-org.destination",
        "*.blob.core.windows.net",
        [
            (
                "mlsec-dev-fraud-mlw",
                "outbound rule fqdn-pypi-org allows the wildcard destination *.blob.core.windows.net",
            )
        ],
    ),
    (
        "MLSEC-MLW-010",
        "dev",
        "mlsec-dev-fraud-ds-curated",
        "properties.credentials.credentialsType",
        "AccountKey",
        [("mlsec-dev-fraud-ds-curated", 'properties.credentials.credentialsType must be "None" (found "AccountKey")')],
    ),
    (
        "MLSEC-MLC-001",
        "dev",
        "mlsec-dev-fraud-cpu-train",
        "properties.disableLocalAuth",
        False,
        [("mlsec-dev-fraud-cpu-train", "properties.disableLocalAuth must be true (found false)")],
    ),
    (
        "MLSEC-MLC-002",
        "dev",
        "mlsec-dev-fraud-cpu-train",
        "properties.properties.enableNodePublicIp",
        True,
        [("mlsec-dev-fraud-cpu-train", "properties.properties.enableNodePublicIp must be false (found true)")],
    ),
    (
        "MLSEC-MLC-003",
        "dev",
        "mlsec-dev-fraud-cpu-train",
        "properties.properties.remoteLoginPortPublicAccess",
        "Enabled",
        [
            (
                "mlsec-dev-fraud-cpu-train",
                'properties.properties.remoteLoginPortPublicAccess must be "Disabled" (found "Enabled")',
            )
        ],
    ),
    (
        "MLSEC-MLC-004",
        "dev",
        "mlsec-dev-fraud-cpu-train",
        "properties.properties.scaleSettings.minNodeCount",
        2,
        [("mlsec-dev-fraud-cpu-train", "properties.properties.scaleSettings.minNodeCount must be 0 (found 2)")],
    ),
    (
        "MLSEC-MLC-005",
        "dev",
        "mlsec-dev-fraud-cpu-train",
        "identity",
        DELETE,
        [("mlsec-dev-fraud-cpu-train", "identity.type must include UserAssigned (found not set)")],
    ),
    (
        "MLSEC-EPT-001",
        "serving",
        "score-ep",
        "properties.authMode",
        "Key",
        [("score-ep", 'properties.authMode must be "AADToken" (found "Key")')],
    ),
    (
        "MLSEC-EPT-002",
        "serving",
        "score-ep",
        "properties.publicNetworkAccess",
        DELETE,
        [("score-ep", 'properties.publicNetworkAccess must be "Disabled" (found not set)')],
    ),
    (
        "MLSEC-EPT-003",
        "serving",
        "score-ep",
        "identity.type",
        "None",
        [("score-ep", 'identity.type must be UserAssigned or SystemAssigned (found "None")')],
    ),
    (
        "MLSEC-APIM-001",
        "serving",
        "gw-apim",
        "virtualNetworkType",
        "External",
        [("gw-apim", 'virtualNetworkType must be "Internal" (found "External")')],
    ),
    (
        "MLSEC-APIM-002",
        "serving",
        "gw-apim",
        "customProperties::Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10",
        "True",
        [
            (
                "gw-apim",
                "customProperties[Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10] "
                'must be "False" (found "True")',
            )
        ],
    ),
    (
        "MLSEC-APIM-003",
        "serving",
        "gw-apim",
        "customProperties",
        {},
        [
            (
                "gw-apim",
                "customProperties[Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168] "
                'must be "False" (found not set)',
            )
        ],
    ),
    (
        "MLSEC-APIM-004",
        "serving",
        "gw-apim",
        "identity",
        DELETE,
        [("gw-apim", "identity.type must be UserAssigned or SystemAssigned (found not set)")],
    ),
    (
        "MLSEC-APIM-010",
        "serving",
        "gw-api-policy",
        "value",
        "<policies><inbound /><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>"
        "</policies>",
        [("gw-api-policy", "<inbound> must contain <base />")],
    ),
    (
        "MLSEC-APIM-010",
        "serving",
        "gw-api-policy",
        "value",
        "<policies><inbound>",
        [("gw-api-policy", "policy is not well-formed XML: no element found: line 1, column 19")],
    ),
    (
        "MLSEC-APIM-011",
        "serving",
        "gw-policy",
        "value",
        "<policies><inbound><rate-limit-by-key /><quota-by-key /></inbound></policies>",
        [("gw-api", "API gw-api has no validate-jwt in its inbound policy (global or API level)")],
    ),
    (
        "MLSEC-APIM-012",
        "serving",
        "gw-policy",
        "value",
        "<policies><inbound><validate-jwt /><quota-by-key /></inbound></policies>",
        [("gw-api", "API gw-api has no rate-limit-by-key in its inbound policy (global or API level)")],
    ),
    (
        "MLSEC-APIM-013",
        "serving",
        "gw-policy",
        None,
        None,
        [("gw-api", "API gw-api has no quota-by-key in its inbound policy (global or API level)")],
    ),
    (
        "MLSEC-APIM-014",
        "serving",
        "gw-policy",
        "value",
        "<policies><inbound><validate-jwt /><rate-limit-by-key /><quota-by-key /><authentication-managed-identity />"
        "</inbound></policies>",
        [("gw-api", "API gw-api has no validate-content in its inbound policy (global or API level)")],
    ),
    (
        "MLSEC-APIM-015",
        "serving",
        "gw-policy",
        "value",
        "<policies><inbound><validate-jwt /><rate-limit-by-key /><quota-by-key /><validate-content /></inbound>"
        "</policies>",
        [("gw-api", "API gw-api has no authentication-managed-identity in its inbound policy (global or API level)")],
    ),
    (
        "MLSEC-APIM-011",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        _policy_without("validate-jwt"),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no validate-jwt in its inbound policy (global or API level)",
            )
        ],
    ),
    (
        "MLSEC-APIM-012",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        _policy_without("rate-limit-by-key"),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no rate-limit-by-key in its inbound policy (global or API level)",
            )
        ],
    ),
    (
        "MLSEC-APIM-013",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        _policy_without("quota-by-key"),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no quota-by-key in its inbound policy (global or API level)",
            )
        ],
    ),
    (
        "MLSEC-APIM-014",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        _policy_without("validate-content"),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no validate-content in its inbound policy (global or API level)",
            )
        ],
    ),
    (
        "MLSEC-APIM-015",
        "dev",
        "mlsec-dev-gw-fraud-score-policy",
        "value",
        _policy_without("authentication-managed-identity"),
        [
            (
                "mlsec-dev-gw-fraud-score-api",
                "API mlsec-dev-gw-fraud-score-api has no authentication-managed-identity in its inbound policy "
                "(global or API level)",
            )
        ],
    ),
    (
        "MLSEC-EPT-001",
        "dev",
        "mlsec-dev-fraud-score-ep",
        "properties.authMode",
        "Key",
        [("mlsec-dev-fraud-score-ep", 'properties.authMode must be "AADToken" (found "Key")')],
    ),
    (
        "MLSEC-EPT-002",
        "dev",
        "mlsec-dev-fraud-score-ep",
        "properties.publicNetworkAccess",
        "Enabled",
        [("mlsec-dev-fraud-score-ep", 'properties.publicNetworkAccess must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-APIM-001",
        "dev",
        "mlsec-dev-gw-apim",
        "virtualNetworkType",
        "External",
        [("mlsec-dev-gw-apim", 'virtualNetworkType must be "Internal" (found "External")')],
    ),
    (
        "MLSEC-KV-001",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.enablePurgeProtection",
        False,
        [("mlsec-dev-kv-kv", "properties.enablePurgeProtection must be true (found false)")],
    ),
    (
        "MLSEC-KV-002",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.softDeleteRetentionInDays",
        3,
        [("mlsec-dev-kv-kv", "properties.softDeleteRetentionInDays must be at least 7 (found 3)")],
    ),
    (
        "MLSEC-KV-002",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.enableSoftDelete",
        False,
        [("mlsec-dev-kv-kv", "properties.enableSoftDelete must be true (found false)")],
    ),
    (
        "MLSEC-KV-003",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.enableRbacAuthorization",
        False,
        [("mlsec-dev-kv-kv", "properties.enableRbacAuthorization must be true (found false)")],
    ),
    (
        "MLSEC-KV-004",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.publicNetworkAccess",
        "Enabled",
        [("mlsec-dev-kv-kv", 'properties.publicNetworkAccess must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-KV-005",
        "dev",
        "mlsec-dev-kv-kv",
        "properties.networkAcls.defaultAction",
        "Allow",
        [("mlsec-dev-kv-kv", 'properties.networkAcls.defaultAction must be "Deny" (found "Allow")')],
    ),
    (
        "MLSEC-KV-006",
        "serving",
        "cmk",
        "properties.rotationPolicy",
        DELETE,
        [("cmk", "properties.rotationPolicy must have a lifetime action of type rotate")],
    ),
    (
        "MLSEC-KV-007",
        "serving",
        "cmk",
        "properties.keySize",
        2048,
        [("cmk", "properties.keySize must be at least 3072 for RSA keys (found 2048)")],
    ),
    (
        "MLSEC-ACR-001",
        "dev",
        "mlsec-dev-fraudacr",
        "adminUserEnabled",
        True,
        [("mlsec-dev-fraudacr", "adminUserEnabled must be false (found true)")],
    ),
    (
        "MLSEC-ACR-002",
        "dev",
        "mlsec-dev-fraudacr",
        "anonymousPullEnabled",
        True,
        [("mlsec-dev-fraudacr", "anonymousPullEnabled must be false (found true)")],
    ),
    (
        "MLSEC-ACR-003",
        "dev",
        "mlsec-dev-fraudacr",
        "publicNetworkAccess",
        "Enabled",
        [("mlsec-dev-fraudacr", 'publicNetworkAccess must be "Disabled" (found "Enabled")')],
    ),
    (
        "MLSEC-ACR-004",
        "dev",
        "mlsec-dev-fraudacr",
        "policies.exportPolicy.status",
        "enabled",
        [("mlsec-dev-fraudacr", 'policies.exportPolicy.status must be "disabled" (found "enabled")')],
    ),
    (
        "MLSEC-ACR-005",
        "dev",
        "mlsec-dev-fraudacr",
        "sku.name",
        "Standard",
        [("mlsec-dev-fraudacr", 'sku.name must be "Premium" (found "Standard")')],
    ),
    (
        "MLSEC-NET-001",
        "dev",
        "mlsec-dev-net-snet-compute",
        "networkSecurityGroup",
        DELETE,
        [("mlsec-dev-net-snet-compute", "subnet snet-compute has no networkSecurityGroup")],
    ),
    (
        "MLSEC-NET-002",
        "dev",
        "mlsec-dev-net-snet-compute",
        "defaultOutboundAccess",
        True,
        [("mlsec-dev-net-snet-compute", "defaultOutboundAccess must be false (found true)")],
    ),
    (
        "MLSEC-NET-003",
        "dev",
        "mlsec-dev-net-nsg-bastion",
        "securityRules.0.destinationPortRange",
        "20-25",
        [
            (
                "mlsec-dev-net-nsg-bastion",
                "NSG mlsec-dev-net-nsg-bastion rule AllowHttpsInbound allows SSH (port 22) from any source",
            )
        ],
    ),
    (
        "MLSEC-NET-003",
        "serving",
        "ssh-from-vnet",
        "sourceAddressPrefix",
        "*",
        [("ssh-from-vnet", "security rule AllowSshFromVnet allows SSH (port 22) from any source")],
    ),
    (
        "MLSEC-NET-010",
        "dev",
        "mlsec-dev-kv-vault-pe",
        None,
        None,
        [("mlsec-dev-kv-kv", "Vault mlsec-dev-kv-kv has no private endpoint for vault")],
    ),
    (
        "MLSEC-NET-010",
        "dev",
        "mlsec-dev-fraud-mlw-pe",
        "privateLinkServiceConnections.0.groupIds",
        ["notebooks"],
        [("mlsec-dev-fraud-mlw", "Workspace mlsec-dev-fraud-mlw has no private endpoint for amlworkspace")],
    ),
    (
        "MLSEC-DATA-001",
        "dev",
        "mlsec-dev-data-raw",
        "metadata.classification",
        DELETE,
        [
            (
                "mlsec-dev-data-raw",
                "container raw must declare metadata.classification as one of public, internal, "
                "confidential, restricted (found not set)",
            )
        ],
    ),
    (
        "MLSEC-DATA-001",
        "dev",
        "mlsec-dev-data-curated",
        "metadata.zone",
        "",
        [("mlsec-dev-data-curated", 'container curated must declare metadata.zone (found "")')],
    ),
    (
        "MLSEC-DATA-002",
        "dev",
        "mlsec-dev-fraud-data-curated-compute",
        "scope",
        f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe/providers/Microsoft.Storage/storageAccounts/"
        "mlsecdevdataacct2a05fbc1/blobServices/default/containers/raw",
        [
            (
                "mlsec-dev-fraud-data-curated-compute",
                "mlsec-dev-fraud-data-curated-compute grants Storage Blob Data Reader "
                "on restricted container raw to workload identity mlsec-dev-fraud-compute-id; "
                "only pipeline identities may access restricted zones",
            )
        ],
    ),
    (
        "MLSEC-DATA-003",
        "dev",
        "mlsec-dev-fraud-ds-curated",
        "properties.containerName",
        "quarantine",
        [
            (
                "mlsec-dev-fraud-ds-curated",
                "datastore mlsec-dev-fraud-ds-curated points at restricted container quarantine",
            )
        ],
    ),
    (
        "MLSEC-DATA-004",
        "prod",
        "mlsec-prod-data-curated",
        "immutableStorageWithVersioning.enabled",
        False,
        [
            (
                "mlsec-prod-data-curated",
                "container curated: immutableStorageWithVersioning.enabled must be true (found false)",
            )
        ],
    ),
    (
        "MLSEC-DATA-004",
        "prod",
        "mlsec-prod-data-anonymized-worm",
        None,
        None,
        [
            (
                "mlsec-prod-data-anonymized",
                "container anonymized has no immutability policy with a retention of at least 1 day",
            )
        ],
    ),
    (
        "MLSEC-DATA-005",
        "dev",
        "mlsec-dev-data-lifecycle",
        "policy.rules.1.enabled",
        False,
        [("mlsec-dev-data-raw", "no enabled lifecycle rule deletes blobs and versions in restricted container raw")],
    ),
    (
        "MLSEC-DATA-005",
        "dev",
        "mlsec-dev-data-lifecycle",
        "policy.rules.0.definition.actions.version",
        DELETE,
        [
            (
                "mlsec-dev-data-quarantine",
                "no enabled lifecycle rule deletes blobs and versions in restricted container quarantine",
            )
        ],
    ),
    (
        "MLSEC-DATA-006",
        "dev",
        "mlsec-dev-fraud-mlw",
        "hbiWorkspace",
        False,
        [("mlsec-dev-fraud-mlw", "hbiWorkspace must be true (found false)")],
    ),
    (
        "MLSEC-DATA-007",
        "prod",
        "mlsec-prod-dataacct",
        "immutableStorageWithVersioning.enabled",
        False,
        [("mlsec-prod-dataacct", "immutableStorageWithVersioning.enabled must be true (found false)")],
    ),
    (
        "MLSEC-IAM-001",
        "dev",
        "mlsec-dev-fraud-ws-ws-identity",
        "roleDefinitionId",
        OWNER_ROLE,
        [("mlsec-dev-fraud-ws-ws-identity", "mlsec-dev-fraud-ws-ws-identity grants Owner")],
    ),
    (
        "MLSEC-IAM-002",
        "dev",
        "mlsec-dev-fraud-data-models-ws",
        "scope",
        f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe/providers/Microsoft.Storage/storageAccounts/mlsecdevdataacct2a05fbc1",
        [
            (
                "mlsec-dev-fraud-data-models-ws",
                "mlsec-dev-fraud-data-models-ws grants Storage Blob Data Reader on the whole training-data account",
            )
        ],
    ),
    (
        "MLSEC-IAM-002",
        "dev",
        "mlsec-dev-fraud-data-models-ws",
        "scope",
        f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe",
        [
            (
                "mlsec-dev-fraud-data-models-ws",
                "mlsec-dev-fraud-data-models-ws grants Storage Blob Data Reader above the "
                f"storage accounts ({SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe)",
            )
        ],
    ),
    (
        "MLSEC-OPS-001",
        "prod",
        "mlsec-prod-kv-lock",
        None,
        None,
        [("mlsec-prod-kv-kv", "Vault mlsec-prod-kv-kv has no CanNotDelete lock")],
    ),
    (
        "MLSEC-OPS-002",
        "dev",
        "mlsec-dev-fraud-acr-diag",
        None,
        None,
        [("mlsec-dev-fraudacr", "Registry mlsec-dev-fraudacr has no diagnostic setting")],
    ),
    (
        "MLSEC-OPS-002",
        "dev",
        "mlsec-dev-mon-law-diag",
        None,
        None,
        [("mlsec-dev-mon-law", "Workspace mlsec-dev-mon-law has no diagnostic setting")],
    ),
    (
        "MLSEC-OPS-003",
        "dev",
        "mlsec-dev-kv-diag",
        "logs.0.enabled",
        False,
        [("mlsec-dev-kv-diag", "category allLogs is disabled")],
    ),
    (
        "MLSEC-OPS-003",
        "dev",
        "mlsec-dev-kv-diag",
        "workspaceId",
        DELETE,
        [("mlsec-dev-kv-diag", "workspaceId must name the Log Analytics workspace (found not set)")],
    ),
    ("MLSEC-OPS-004", "dev", "mlsec-dev-kv-kv", "tags.owner", DELETE, [("mlsec-dev-kv-kv", "tags owner missing")]),
    (
        "MLSEC-OPS-005",
        "dev",
        "mlsec-dev-mon-law",
        "features.disableLocalAuth",
        False,
        [("mlsec-dev-mon-law", "features.disableLocalAuth must be true (found false)")],
    ),
    (
        "MLSEC-OPS-006",
        "dev",
        "mlsec-dev-mon-appi",
        "disableLocalAuth",
        False,
        [("mlsec-dev-mon-appi", "disableLocalAuth must be true (found false)")],
    ),
    (
        "MLSEC-OPS-007",
        "prod",
        "mlsec-prod-mon-law",
        "retentionInDays",
        60,
        [("mlsec-prod-mon-law", "retentionInDays must be at least 90 (found 60)")],
    ),
    (
        "MLSEC-OPS-008",
        "dev",
        "mlsec-dev-data-tripwire-raw",
        "enabled",
        False,
        [("mlsec-dev-data-tripwire-raw", "enabled must be true (found false)")],
    ),
    (
        "MLSEC-OPS-008",
        "dev",
        "mlsec-dev-data-tripwire-raw",
        "actions.actionGroups",
        [],
        [("mlsec-dev-data-tripwire-raw", "actions.actionGroups must name at least one action group")],
    ),
]


# Each rule area may keep its cases in a module of its own (tests/policies/cases_<area>.py, a list named CASES).
for _module in sorted(Path(__file__).parent.glob("cases_*.py")):
    CASES += importlib.import_module(_module.stem).CASES


@pytest.fixture(scope="module")
def bases(dev_plan: Any, prod_plan: Any) -> dict[str, dict[str, Any]]:
    return {
        "dev": with_endpoint_diagnostics(dev_plan.document),
        "prod": with_endpoint_diagnostics(prod_plan.document),
        "serving": serving_plan(),
    }


@pytest.mark.parametrize(("rule", "base"), sorted({(c[0], c[1]) for c in CASES}))
def test_compliant_fixture_passes(rule: str, base: str, bases: dict[str, dict[str, Any]]) -> None:
    assert violations(bases[base], rule) == []


@pytest.mark.parametrize(
    ("rule", "base", "name", "path", "value", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_one_change_fails(
    rule: str,
    base: str,
    name: str,
    path: str | None,
    value: Any,
    expected: list[tuple[str, str]],
    bases: dict[str, dict[str, Any]],
) -> None:
    assert violations(mutate(bases[base], name, path, value), rule) == expected


def test_cases_name_known_rules() -> None:
    assert {c[0] for c in CASES} - set(RULES_BY_ID) == set()
