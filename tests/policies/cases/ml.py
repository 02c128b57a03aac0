"""Failing cases of the workspace and compute rules (policies/catalog/rules/ml.py, MLSEC-MLW-*, MLSEC-MLC-*):
isolation, identity, encryption, private-endpoint approval, the customer-managed key's Cosmos DB grant and
image builds."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

_APPROVER_MISSING = (
    "the workspace identity has no Azure AI Enterprise Network Connection Approver role on the {} target, so the "
    "managed network's private endpoint to it is never approved"
)

_SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"

_READER = f"{_SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"

_NO_COSMOS = (
    "the workspace is encrypted with a customer-managed key, but no Key Vault Crypto Service Encryption User grant "
    "on that key reaches the Azure Cosmos DB service principal"
)

CMK = "is not encrypted with a customer-managed key"

CASES: tuple[Case, ...] = (
    Case(
        name="workspace-public-network-unset",
        rule="MLSEC-MLW-001",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="publicNetworkAccess",
        value=DELETE,
        expected=(("mlsec-dev-fraud-mlw", 'publicNetworkAccess must be "Disabled" (found not set)'),),
    ),
    Case(
        name="workspace-public-behind-vnet",
        rule="MLSEC-MLW-002",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="allowPublicAccessWhenBehindVnet",
        value=True,
        expected=(("mlsec-dev-fraud-mlw", "allowPublicAccessWhenBehindVnet must be false (found true)"),),
    ),
    Case(
        name="workspace-internet-outbound",
        rule="MLSEC-MLW-003",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="managedNetwork.isolationMode",
        value="AllowInternetOutbound",
        expected=(
            (
                "mlsec-dev-fraud-mlw",
                'managedNetwork.isolationMode must be "AllowOnlyApprovedOutbound" (found "AllowInternetOutbound")',
            ),
        ),
    ),
    Case(
        name="workspace-system-assigned-identity",
        rule="MLSEC-MLW-004",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="identity.type",
        value="SystemAssigned",
        expected=(("mlsec-dev-fraud-mlw", 'identity.type must be "UserAssigned" (found "SystemAssigned")'),),
    ),
    Case(
        name="workspace-primary-identity-unset",
        rule="MLSEC-MLW-004",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="primaryUserAssignedIdentity",
        value=DELETE,
        expected=(
            ("mlsec-dev-fraud-mlw", "primaryUserAssignedIdentity must name the workspace identity (found not set)"),
        ),
    ),
    Case(
        name="workspace-datastores-use-access-key",
        rule="MLSEC-MLW-005",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="systemDatastoresAuthMode",
        value="accessKey",
        expected=(("mlsec-dev-fraud-mlw", 'systemDatastoresAuthMode must be "Identity" (found "accessKey")'),),
    ),
    Case(
        name="workspace-datastores-auth-mode-lowercase",
        rule="MLSEC-MLW-005",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="systemDatastoresAuthMode",
        value="identity",
        expected=(("mlsec-dev-fraud-mlw", 'systemDatastoresAuthMode must be "Identity" (found "identity")'),),
    ),
    Case(
        name="workspace-v1-legacy-mode",
        rule="MLSEC-MLW-006",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="v1LegacyMode",
        value=True,
        expected=(("mlsec-dev-fraud-mlw", "v1LegacyMode must be false (found true)"),),
    ),
    Case(
        name="workspace-data-isolation-off",
        rule="MLSEC-MLW-007",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="enableDataIsolation",
        value=False,
        expected=(("mlsec-dev-fraud-mlw", "enableDataIsolation must be true (found false)"),),
    ),
    Case(
        name="prod-workspace-encryption-removed",
        rule="MLSEC-MLW-008",
        base="prod",
        resource="mlsec-prod-fraud-mlw",
        path="encryption",
        value=DELETE,
        expected=(
            ("mlsec-prod-fraud-mlw", 'encryption.status must be "Enabled" (found not set)'),
            (
                "mlsec-prod-fraud-mlw",
                "encryption.keyVaultProperties.keyIdentifier must name a Key Vault key (found not set)",
            ),
        ),
    ),
    Case(
        name="workspace-outbound-wildcard-destination",
        rule="MLSEC-MLW-009",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="managedNetwork.outboundRules.fqdn-pypi-org.destination",
        value="*.blob.core.windows.net",
        expected=(
            (
                "mlsec-dev-fraud-mlw",
                "outbound rule fqdn-pypi-org allows the wildcard destination *.blob.core.windows.net",
            ),
        ),
    ),
    Case(
        name="workspace-key-vault-approver-removed",
        rule="MLSEC-MLW-011",
        base="dev",
        resource="mlsec-dev-fraud-id-kv-pe-approver",
        path=None,
        value=None,
        expected=(("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("keyVault")),),
    ),
    Case(
        name="workspace-data-approver-removed",
        rule="MLSEC-MLW-011",
        base="dev",
        resource="mlsec-dev-fraud-id-data-pe-approver",
        path=None,
        value=None,
        expected=(("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("outbound rule data-storage-blob")),),
    ),
    Case(
        name="workspace-registry-approver-is-reader",
        rule="MLSEC-MLW-011",
        base="dev",
        resource="mlsec-dev-fraud-id-acr-pe-approver",
        path="roleDefinitionId",
        value=_READER,
        expected=(("mlsec-dev-fraud-mlw", _APPROVER_MISSING.format("containerRegistry")),),
    ),
    Case(
        name="prod-system-storage-approver-removed",
        rule="MLSEC-MLW-011",
        base="prod",
        resource="mlsec-prod-churn-id-sys-pe-approver",
        path=None,
        value=None,
        expected=(("mlsec-prod-churn-mlw", _APPROVER_MISSING.format("storageAccount")),),
    ),
    Case(
        name="prod-cosmos-key-grant-removed",
        rule="MLSEC-MLW-012",
        base="prod",
        resource="mlsec-prod-fraud-cmk-cosmos-cosmosdb",
        path=None,
        value=None,
        expected=(("mlsec-prod-fraud-mlw", _NO_COSMOS),),
    ),
    Case(
        name="prod-cosmos-key-grant-is-reader",
        rule="MLSEC-MLW-012",
        base="prod",
        resource="mlsec-prod-churn-cmk-cosmos-cosmosdb",
        path="roleDefinitionId",
        value=_READER,
        expected=(("mlsec-prod-churn-mlw", _NO_COSMOS),),
    ),
    Case(
        name="workspace-image-build-compute-unset",
        rule="MLSEC-MLW-013",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="imageBuildCompute",
        value=DELETE,
        expected=(
            (
                "mlsec-dev-fraud-mlw",
                "registry mlsec-dev-fraudacr has public network access disabled and cannot build images; "
                "imageBuildCompute must name a compute cluster (found not set)",
            ),
        ),
    ),
    Case(
        name="workspace-image-build-on-unknown-compute",
        rule="MLSEC-MLW-013",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="imageBuildCompute",
        value="gpu-train",
        expected=(("mlsec-dev-fraud-mlw", "imageBuildCompute names gpu-train, which is no compute of this workspace"),),
    ),
    Case(
        name="prod-registry-without-cmk",
        rule="MLSEC-MLW-014",
        base="prod",
        resource="mlsec-prod-fraudacr",
        path="encryption",
        value=DELETE,
        expected=(
            (
                "mlsec-prod-fraudacr",
                f"registry mlsec-prod-fraudacr of CMK workspace mlsec-prod-fraud-mlw {CMK} (encryption.status not set)",
            ),
        ),
    ),
    Case(
        name="prod-system-storage-microsoft-managed-key",
        rule="MLSEC-MLW-014",
        base="prod",
        resource="mlsec-prod-churnsys",
        path="encryption.keySource",
        value="Microsoft.Storage",
        expected=(
            (
                "mlsec-prod-churnsys",
                f"system storage mlsec-prod-churnsys of CMK workspace mlsec-prod-churn-mlw {CMK} "
                '(encryption.keySource "Microsoft.Storage")',
            ),
        ),
    ),
    Case(
        name="datastore-uses-account-key",
        rule="MLSEC-MLW-010",
        base="dev",
        resource="mlsec-dev-fraud-ds-curated",
        path="properties.credentials.credentialsType",
        value="AccountKey",
        expected=(
            (
                "mlsec-dev-fraud-ds-curated",
                'properties.credentials.credentialsType must be "None" (found "AccountKey")',
            ),
        ),
    ),
    Case(
        name="compute-local-auth-enabled",
        rule="MLSEC-MLC-001",
        base="dev",
        resource="mlsec-dev-fraud-cpu-train",
        path="properties.disableLocalAuth",
        value=False,
        expected=(("mlsec-dev-fraud-cpu-train", "properties.disableLocalAuth must be true (found false)"),),
    ),
    Case(
        name="compute-node-public-ip",
        rule="MLSEC-MLC-002",
        base="dev",
        resource="mlsec-dev-fraud-cpu-train",
        path="properties.properties.enableNodePublicIp",
        value=True,
        expected=(
            ("mlsec-dev-fraud-cpu-train", "properties.properties.enableNodePublicIp must be false (found true)"),
        ),
    ),
    Case(
        name="compute-ssh-port-public",
        rule="MLSEC-MLC-003",
        base="dev",
        resource="mlsec-dev-fraud-cpu-train",
        path="properties.properties.remoteLoginPortPublicAccess",
        value="Enabled",
        expected=(
            (
                "mlsec-dev-fraud-cpu-train",
                'properties.properties.remoteLoginPortPublicAccess must be "Disabled" (found "Enabled")',
            ),
        ),
    ),
    Case(
        name="compute-keeps-two-idle-nodes",
        rule="MLSEC-MLC-004",
        base="dev",
        resource="mlsec-dev-fraud-cpu-train",
        path="properties.properties.scaleSettings.minNodeCount",
        value=2,
        expected=(
            ("mlsec-dev-fraud-cpu-train", "properties.properties.scaleSettings.minNodeCount must be 0 (found 2)"),
        ),
    ),
    Case(
        name="compute-identity-removed",
        rule="MLSEC-MLC-005",
        base="dev",
        resource="mlsec-dev-fraud-cpu-train",
        path="identity",
        value=DELETE,
        expected=(("mlsec-dev-fraud-cpu-train", "identity.type must include UserAssigned (found not set)"),),
    ),
)
