"""Issue-level guarantees of the private workspace, asserted on the real dev and prod plans.

Each test pins exact input values, so dropping or flipping a control fails it."""

from __future__ import annotations

import pytest

from components.common import FORBIDDEN_ROLES, ROLE
from components.network import NSG_RULES
from tests.conftest import Plan

T = "azure-native:"
PE_SUBNET = "snet-private-endpoints"
APPROVER = "Azure AI Enterprise Network Connection Approver"


# ----------------------------------------------------------------------------------- network


def test_vnet_and_subnets(dev_plan: Plan):
    assert dev_plan.inputs(T + "network:VirtualNetwork")["addressSpace"] == {"addressPrefixes": ["10.40.0.0/16"]}
    subnets = {s["subnetName"]: s for s in (r["inputs"] for r in dev_plan.of_type(T + "network:Subnet"))}
    assert {k: v["addressPrefix"] for k, v in subnets.items()} == {
        "snet-private-endpoints": "10.40.0.0/24",
        "snet-compute": "10.40.4.0/22",
        "snet-gateway": "10.40.1.0/27",
        "AzureBastionSubnet": "10.40.2.0/26",
    }
    nsg_ids = {r["name"]: r for r in dev_plan.of_type(T + "network:NetworkSecurityGroup")}
    for name, subnet in subnets.items():
        assert subnet["defaultOutboundAccess"] is False, name
        nsg_id = subnet["networkSecurityGroup"]["id"]
        assert "/networkSecurityGroups/" in nsg_id, name
    assert len(nsg_ids) == len(subnets) == 4
    assert subnets[PE_SUBNET]["privateEndpointNetworkPolicies"] == "Enabled"


def _rules(plan: Plan, key: str) -> list[dict]:
    return plan.inputs(T + "network:NetworkSecurityGroup", f"mlsec-dev-net-nsg-{key}")["securityRules"]


def _ports(rule: dict) -> set[str]:
    return set(rule.get("destinationPortRanges") or [rule["destinationPortRange"]])


@pytest.mark.parametrize("key", ["private-endpoints", "compute", "gateway", "bastion"])
def test_no_nsg_admits_ssh_rdp_or_http_from_anywhere(dev_plan: Plan, key: str):
    for rule in _rules(dev_plan, key):
        open_source = rule["sourceAddressPrefix"] in {"*", "Internet", "0.0.0.0/0", "Any"}
        if rule["direction"] == "Inbound" and rule["access"] == "Allow" and open_source:
            assert not _ports(rule) & {"22", "3389", "80", "*"}, rule


@pytest.mark.parametrize("key", ["private-endpoints", "compute", "gateway"])
def test_internet_inbound_is_denied(dev_plan: Plan, key: str):
    deny = [r for r in _rules(dev_plan, key) if r["name"] == "DenyInternetInbound"]
    assert deny == [
        {
            "access": "Deny",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "*",
            "direction": "Inbound",
            "name": "DenyInternetInbound",
            "priority": 4000,
            "protocol": "*",
            "sourceAddressPrefix": "Internet",
            "sourcePortRange": "*",
        }
    ]


def test_gateway_nsg_follows_api_management_requirements(dev_plan: Plan):
    by_name = {r["name"]: r for r in _rules(dev_plan, "gateway")}
    assert (
        by_name["AllowApimManagementInbound"]["sourceAddressPrefix"],
        _ports(by_name["AllowApimManagementInbound"]),
    ) == ("ApiManagement", {"3443"})
    assert (
        by_name["AllowLoadBalancerInbound"]["sourceAddressPrefix"],
        _ports(by_name["AllowLoadBalancerInbound"]),
    ) == ("AzureLoadBalancer", {"6390"})
    assert by_name["AllowStorageOutbound"]["destinationAddressPrefix"] == "Storage"
    assert by_name["AllowSqlOutbound"]["destinationAddressPrefix"] == "Sql"
    assert by_name["AllowKeyVaultOutbound"]["destinationAddressPrefix"] == "AzureKeyVault"
    assert _ports(by_name["AllowMonitorOutbound"]) == {"1886", "443"}


def test_nsg_rule_priorities_are_unique_per_direction():
    for key, rules in NSG_RULES.items():
        seen = [(r.direction, r.priority) for r in rules]
        assert len(seen) == len(set(seen)), key


PRIVATE_ZONES = {
    "privatelink.api.azureml.ms",
    "privatelink.notebooks.azure.net",
    "privatelink.blob.core.windows.net",
    "privatelink.file.core.windows.net",
    "privatelink.dfs.core.windows.net",
    "privatelink.vaultcore.azure.net",
    "privatelink.azurecr.io",
    "azure-api.net",
    # the Azure Monitor Private Link Scope's (tests/components/test_telemetry.py)
    "privatelink.monitor.azure.com",
    "privatelink.oms.opinsights.azure.com",
    "privatelink.ods.opinsights.azure.com",
    "privatelink.agentsvc.azure-automation.net",
}


def test_private_dns_zones_are_linked_to_the_vnet(dev_plan: Plan):
    zones = {r["inputs"]["privateZoneName"] for r in dev_plan.of_type(T + "privatedns:PrivateZone")}
    assert zones == PRIVATE_ZONES
    links = [r["inputs"] for r in dev_plan.of_type(T + "privatedns:VirtualNetworkLink")]
    assert sorted(link["privateZoneName"] for link in links) == sorted(PRIVATE_ZONES)
    for link in links:
        assert link["virtualNetwork"] == {"id": dev_plan.outputs["vnetId"]}
        assert link["registrationEnabled"] is False


def test_government_cloud_uses_its_own_zone_names(project):
    from scripts.plan import cli as plan

    def gov(values):
        values["cloud"] = "AzureUSGovernment"
        values["location"] = "usgovvirginia"

    doc = Plan(plan.make_plan("gov", project("gov", mutate=gov)))
    zones = {r["inputs"]["privateZoneName"] for r in doc.of_type(T + "privatedns:PrivateZone")}
    assert "privatelink.api.ml.azure.us" in zones and "privatelink.blob.core.usgovcloudapi.net" in zones
    assert not zones & PRIVATE_ZONES


HUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/hub"
HUB_BLOB_ZONE = f"{HUB}/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net"


def test_hub_and_spoke_reuses_existing_vnet_and_hub_zones(project):
    from scripts.plan import cli as plan

    def spoke(values):
        values["network"]["existing"] = {
            "virtualNetworkId": f"{HUB}/providers/Microsoft.Network/virtualNetworks/spoke",
            "privateEndpointsSubnetId": f"{HUB}/providers/Microsoft.Network/virtualNetworks/spoke/subnets/pe",
            "computeSubnetId": f"{HUB}/providers/Microsoft.Network/virtualNetworks/spoke/subnets/compute",
            "gatewaySubnetId": f"{HUB}/providers/Microsoft.Network/virtualNetworks/spoke/subnets/apim",
        }
        values["network"]["hubDnsZoneIds"] = {"privatelink.blob.core.windows.net": HUB_BLOB_ZONE}

    doc = Plan(plan.make_plan("spoke", project("spoke", mutate=spoke)))
    assert doc.of_type(T + "network:VirtualNetwork") == []
    assert doc.of_type(T + "network:Subnet") == []
    zones = {r["inputs"]["privateZoneName"] for r in doc.of_type(T + "privatedns:PrivateZone")}
    assert zones == PRIVATE_ZONES - {"privatelink.blob.core.windows.net"}
    blob = doc.inputs(T + "network:PrivateDnsZoneGroup", "mlsec-dev-fraud-sys-blob-dns")
    assert blob["privateDnsZoneConfigs"] == [
        {
            "name": "blob",
            "privateDnsZoneId": f"{HUB}/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net",
        }
    ]
    pe = doc.inputs(T + "network:PrivateEndpoint", "mlsec-dev-fraud-sys-blob-pe")
    assert pe["subnet"]["id"] == f"{HUB}/providers/Microsoft.Network/virtualNetworks/spoke/subnets/pe"


EXPECTED_ENDPOINTS = {
    # endpoint name: (group id, DNS zone keys)
    "mlsec-dev-kv-vault-pe": ("vault", ["vault"]),
    "mlsec-dev-fraud-acr-pe": ("registry", ["registry"]),
    "mlsec-dev-fraud-sys-blob-pe": ("blob", ["blob"]),
    "mlsec-dev-fraud-sys-file-pe": ("file", ["file"]),
    "mlsec-dev-fraud-mlw-pe": ("amlworkspace", ["amlworkspace", "notebooks"]),
    "mlsec-dev-data-blob-pe": ("blob", ["blob"]),
    "mlsec-dev-tel-ampls-pe": ("azuremonitor", ["monitor", "oms", "ods", "agentsvc", "blob"]),
}


def test_every_private_endpoint_has_group_id_and_dns_zone_group(dev_plan: Plan):
    endpoints = {r["name"]: r for r in dev_plan.of_type(T + "network:PrivateEndpoint")}
    assert set(endpoints) == set(EXPECTED_ENDPOINTS)
    for name, (group, zones) in EXPECTED_ENDPOINTS.items():
        inputs = endpoints[name]["inputs"]
        (connection,) = inputs["privateLinkServiceConnections"]
        assert connection["groupIds"] == [group], name
        assert f"/subnets/{PE_SUBNET}" in inputs["subnet"]["id"]
        zone_group = dev_plan.inputs(T + "network:PrivateDnsZoneGroup", name.removesuffix("-pe") + "-dns")
        assert [c["name"] for c in zone_group["privateDnsZoneConfigs"]] == zones
        assert all(
            "/privateDnsZones/privatelink." in c["privateDnsZoneId"] for c in zone_group["privateDnsZoneConfigs"]
        )


# -------------------------------------------------------------------------------- monitoring


def test_log_analytics_retention_per_environment(dev_plan: Plan, prod_plan: Plan):
    assert dev_plan.inputs(T + "operationalinsights:Workspace")["retentionInDays"] == 30
    assert prod_plan.inputs(T + "operationalinsights:Workspace")["retentionInDays"] == 365
    assert dev_plan.inputs(T + "operationalinsights:Workspace")["features"]["disableLocalAuth"] is True


def test_application_insights_is_workspace_based_without_local_auth(dev_plan: Plan):
    appi = dev_plan.inputs(T + "applicationinsights:Component")
    assert appi["disableLocalAuth"] is True
    assert appi["ingestionMode"] == "LogAnalytics"
    assert appi["workspaceResourceId"] == dev_plan.outputs["logAnalyticsWorkspaceId"]


def test_security_action_group_mails_the_configured_addresses(prod_plan: Plan):
    group = prod_plan.inputs(T + "monitor:ActionGroup")
    assert group["enabled"] is True
    assert group["location"] == "global"
    assert [(r["emailAddress"], r["useCommonAlertSchema"]) for r in group["emailReceivers"]] == [
        ("secops@contoso.com", True),
        ("ml-oncall@contoso.com", True),
    ]


DIAGNOSABLE = [
    "network:VirtualNetwork",
    "network:NetworkSecurityGroup",
    "keyvault:Vault",
    "containerregistry:Registry",
    "storage:StorageAccount",
    "machinelearningservices:Workspace",
    "operationalinsights:Workspace",
    "applicationinsights:Component",
]


STORAGE_METRICS = [{"category": "Capacity", "enabled": True}, {"category": "Transaction", "enabled": True}]
"""Diagnostic metric categories of storage accounts and their services (supported-metrics pages)."""


@pytest.mark.parametrize("token", DIAGNOSABLE)
def test_every_resource_with_diagnostics_sends_them_to_log_analytics(dev_plan: Plan, token: str):
    settings = {r["inputs"]["resourceUri"]: r["inputs"] for r in dev_plan.of_type(T + "monitor:DiagnosticSetting")}
    law = dev_plan.outputs["logAnalyticsWorkspaceId"]
    for resource in dev_plan.of_type(T + token):
        if resource in dev_plan.made_by("secure-ml:data:DataStorage", T + token):
            continue  # the data account names its categories (tests/components/test_datastorage.py)
        rid = _id_of(dev_plan, resource)
        assert rid in settings, resource["name"]
        assert settings[rid]["workspaceId"] == law
        if token == "network:NetworkSecurityGroup":
            assert "metrics" not in settings[rid]  # NSGs have no metrics
        elif token == "storage:StorageAccount":
            assert settings[rid]["metrics"] == STORAGE_METRICS  # Azure rejects AllMetrics on storage
        else:
            assert settings[rid]["metrics"] == [{"category": "AllMetrics", "enabled": True}]
        if token != "storage:StorageAccount":
            assert settings[rid]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
        else:
            assert "logs" not in settings[rid]  # storage accounts have no logs; their services do
            for service in ("blobServices", "fileServices"):
                service_setting = settings[f"{rid}/{service}/default"]
                assert service_setting["logs"] == [
                    {"category": c, "enabled": True} for c in ("StorageDelete", "StorageRead", "StorageWrite")
                ]
                assert service_setting["metrics"] == STORAGE_METRICS


def _id_of(plan: Plan, resource: dict) -> str:
    """The resource ID other resources use for it (taken from a diagnostic setting or PE that points at it)."""
    from scripts.plan.arm_types import arm_id
    from scripts.plan.engine import FAKE_CLIENT_CONFIG

    return arm_id(resource["type"], resource["name"], resource["inputs"], FAKE_CLIENT_CONFIG["subscriptionId"])


# --------------------------------------------------------------------------------- Key Vault


def test_key_vault_is_private_rbac_and_purge_protected(dev_plan: Plan):
    vault = dev_plan.inputs(T + "keyvault:Vault")
    # explicit, with keyVault.generation in its hash (a rebuild takes a new name beside a soft-deleted vault)
    assert vault["vaultName"] == "mlsec-dev-kv-kv-009df4"
    assert vault["properties"] == {
        "enablePurgeProtection": True,
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny"},
        "publicNetworkAccess": "Disabled",
        "sku": {"family": "A", "name": "standard"},
        "softDeleteRetentionInDays": 90,
        "tenantId": "33333333-3333-4333-8333-333333333333",
    }


def test_key_vault_audit_events_reach_log_analytics(dev_plan: Plan):
    diag = dev_plan.inputs(T + "monitor:DiagnosticSetting", "mlsec-dev-kv-diag")
    assert diag["resourceUri"] == dev_plan.outputs["keyVaultId"]
    assert {"categoryGroup": "allLogs", "enabled": True} in diag["logs"]  # allLogs includes AuditEvent


def test_purge_protection_opt_out_leaves_the_property_unset(project):
    from scripts.plan import cli as plan

    def opt_out(values):
        values["keyVault"] = {
            "purgeProtection": {"enabled": False, "reason": "throw-away sandbox vault, purged weekly"}
        }

    doc = Plan(plan.make_plan("sandbox", project("sandbox", mutate=opt_out)))
    assert "enablePurgeProtection" not in doc.inputs(T + "keyvault:Vault")["properties"]
    assert doc.outputs["securityOptOuts"]["keyVault.purgeProtection"] == "throw-away sandbox vault, purged weekly"


# ------------------------------------------------------------------------------- workspace


def test_container_registry_is_premium_private_and_keyless(dev_plan: Plan):
    acr = dev_plan.inputs(T + "containerregistry:Registry")
    assert acr["sku"] == {"name": "Premium"}
    assert acr["adminUserEnabled"] is False
    assert acr["anonymousPullEnabled"] is False
    assert acr["publicNetworkAccess"] == "Disabled"
    assert acr["networkRuleSet"] == {"defaultAction": "Deny"}
    assert acr["policies"]["exportPolicy"] == {"status": "disabled"}
    assert acr["zoneRedundancy"] == "Disabled"


def test_system_storage_is_identity_only_and_private(dev_plan: Plan):
    sa = dev_plan.inputs(T + "storage:StorageAccount", "mlsec-dev-fraudsys")
    expected = {
        "allowedCopyScope": "PrivateLink",
        "isLocalUserEnabled": False,
        "isSftpEnabled": False,
        "allowSharedKeyAccess": False,
        "defaultToOAuthAuthentication": True,
        "allowBlobPublicAccess": False,
        "allowCrossTenantReplication": False,
        "publicNetworkAccess": "Disabled",
        "minimumTlsVersion": "TLS1_2",
        "enableHttpsTrafficOnly": True,
        "isHnsEnabled": False,
        "kind": "StorageV2",
        "networkRuleSet": {"bypass": "AzureServices", "defaultAction": "Deny"},
        "sku": {"name": "Standard_LRS"},
    }
    assert {k: sa[k] for k in expected} == expected
    assert sa["encryption"]["requireInfrastructureEncryption"] is True
    assert sa["sasPolicy"] == {"expirationAction": "Block", "sasExpirationPeriod": "0.01:00:00"}


def test_ml_workspace_has_no_public_surface(dev_plan: Plan):
    ws = dev_plan.inputs(T + "machinelearningservices:Workspace")
    assert ws["publicNetworkAccess"] == "Disabled"
    assert ws["allowPublicAccessWhenBehindVnet"] is False
    assert ws["hbiWorkspace"] is True
    assert ws["systemDatastoresAuthMode"] == "Identity"  # REST enum value (workspaceRP.json, 2025-12-01)
    assert ws["imageBuildCompute"] == "cpu-train"  # private registry: the first cluster builds images
    assert ws["v1LegacyMode"] is False
    assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert ws["managedNetwork"]["firewallSku"] == "Basic"
    data_account = dev_plan.outputs["dataAccountId"]
    assert ws["managedNetwork"]["outboundRules"] == {
        "data-storage-blob": {
            "category": "UserDefined",
            "destination": {"serviceResourceId": data_account, "sparkEnabled": False, "subresourceTarget": "blob"},
            "type": "PrivateEndpoint",
        },
        "fqdn-pypi-org": {"category": "UserDefined", "destination": "pypi.org", "type": "FQDN"},
        "fqdn-files-pythonhosted-org": {
            "category": "UserDefined",
            "destination": "files.pythonhosted.org",
            "type": "FQDN",
        },
    }


def test_ml_workspace_uses_its_user_assigned_identity(dev_plan: Plan):
    ws = dev_plan.inputs(T + "machinelearningservices:Workspace")
    identity = ws["identity"]
    assert identity["type"] == "UserAssigned"
    (uami,) = identity["userAssignedIdentities"]
    assert "/userAssignedIdentities/mlsec-dev-fraud-id" in uami
    assert ws["primaryUserAssignedIdentity"] == uami
    assert "encryption" not in ws


def test_workspace_resources_carry_their_own_workspace_and_classification(prod_plan: Plan):
    churn = prod_plan.inputs(T + "machinelearningservices:Workspace", "mlsec-prod-churn-mlw")["tags"]
    assert (churn["workspace"], churn["data-classification"]) == ("churn", "restricted")
    fraud = prod_plan.inputs(T + "storage:StorageAccount", "mlsec-prod-fraudsys")["tags"]
    assert (fraud["workspace"], fraud["data-classification"]) == ("fraud", "confidential")
    assert prod_plan.inputs(T + "keyvault:Vault")["tags"]["data-classification"] == "restricted"


def test_customer_managed_key_identity_may_use_the_key(prod_plan: Plan):
    cmk_role = [
        r["inputs"]
        for r in prod_plan.made_by("secure-ml:ml:Workspace", T + "authorization:RoleAssignment")
        if r["inputs"]["roleDefinitionId"].endswith(ROLE["Key Vault Crypto Service Encryption User"])
    ]
    cosmos = "3c1a7e52-6b0d-4f8e-9a21-5d4c8b7f0e13"  # cosmosDbPrincipalId in stacks/Pulumi.prod.yaml
    identities = [r for r in cmk_role if r["principalId"] != cosmos]
    # per CMK workspace: on the vault (the workspace key), and on the registry's and system storage's own keys
    assert sorted(r["scope"].removeprefix(prod_plan.outputs["keyVaultId"]) for r in identities) == sorted(
        f"{part}"
        for ws in ("churn", "fraud")
        for part in ("", f"/keys/mlsec-prod-{ws}-acr-cmk", f"/keys/mlsec-prod-{ws}-sys-cmk")
    )
    # The Azure Cosmos DB first-party principal wraps and unwraps with each workspace key, on that key only.
    assert sorted((r["scope"], r["principalType"]) for r in cmk_role if r["principalId"] == cosmos) == [
        (f"{prod_plan.outputs['keyVaultId']}/keys/mlsec-prod-{ws}-cmk", "ServicePrincipal") for ws in ("churn", "fraud")
    ]
    # granted before the workspace is created, which needs it
    cosmos_grant = prod_plan.one(T + "authorization:RoleAssignment", "mlsec-prod-fraud-cmk-cosmos-cosmosdb")["urn"]
    assert (
        cosmos_grant in prod_plan.one(T + "machinelearningservices:Workspace", "mlsec-prod-fraud-mlw")["dependencies"]
    )


def test_customer_managed_key_in_prod(prod_plan: Plan):
    ws = prod_plan.inputs(T + "machinelearningservices:Workspace", "mlsec-prod-fraud-mlw")
    assert ws["encryption"]["status"] == "Enabled"
    assert ws["encryption"]["identity"] == {"userAssignedIdentity": ws["primaryUserAssignedIdentity"]}
    assert ws["encryption"]["keyVaultProperties"]["keyVaultArmId"] == prod_plan.outputs["keyVaultId"]
    vault_name = prod_plan.outputs["keyVaultId"].rsplit("/", 1)[-1]
    assert ws["encryption"]["keyVaultProperties"]["keyIdentifier"].startswith(
        f"https://{vault_name}.vault.azure.net/keys/mlsec-prod-fraud-cmk"
    )
    key = prod_plan.inputs(T + "keyvault:Key", "mlsec-prod-fraud-cmk")
    assert key["properties"]["kty"] == "RSA-HSM" and key["properties"]["keySize"] == 3072  # premium vault in prod


def test_compute_clusters_scale_to_zero_without_public_ip_or_local_auth(dev_plan: Plan):
    compute = dev_plan.inputs(T + "machinelearningservices:Compute")
    assert compute["computeName"] == "cpu-train"
    props = compute["properties"]
    assert props["computeType"] == "AmlCompute"
    assert props["disableLocalAuth"] is True
    assert props["properties"]["enableNodePublicIp"] is False
    assert props["properties"]["remoteLoginPortPublicAccess"] == "Disabled"
    assert props["properties"]["scaleSettings"] == {
        "minNodeCount": 0,
        "maxNodeCount": 2,
        "nodeIdleTimeBeforeScaleDown": "PT600S",
    }
    assert compute["identity"]["type"] == "UserAssigned"
    assert "/userAssignedIdentities/mlsec-dev-fraud-compute-id" in compute["identity"]["userAssignedIdentities"][0]


def _roles(plan: Plan, component: str) -> list[tuple[str, str, str]]:
    """(role name, scope, principal) of the role assignments made by components of one type."""
    names = {guid: name for name, guid in ROLE.items()}
    out = []
    for r in plan.made_by(component, T + "authorization:RoleAssignment"):
        i = r["inputs"]
        out.append(
            (names.get(i["roleDefinitionId"].rsplit("/", 1)[-1], i["roleDefinitionId"]), i["scope"], i["principalId"])
        )
    return out


def test_no_identity_gets_owner_contributor_or_user_access_administrator(dev_plan: Plan, prod_plan: Plan):
    for plan in (dev_plan, prod_plan):
        for r in plan.role_assignments():
            assert r["roleDefinitionId"].rsplit("/", 1)[-1] not in FORBIDDEN_ROLES


def test_data_scientists_get_their_own_workspace_only(prod_plan: Plan):
    groups = [
        r
        for r in prod_plan.role_assignments()
        if r["principalType"] == "Group" and "/providers/Microsoft.MachineLearningServices/workspaces/" in r["scope"]
    ]
    workspaces = {r["name"]: r for r in prod_plan.of_type(T + "machinelearningservices:Workspace")}
    assert len(groups) == 2
    definitions = {r["name"]: r["inputs"] for r in prod_plan.of_type(T + "authorization:RoleDefinition")}
    for g in groups:
        guid = g["roleDefinitionId"].rsplit("/", 1)[-1]
        assert guid not in ROLE.values()  # never the built-in AzureML Data Scientist
        assert [d["roleName"] for d in definitions.values() if d["roleDefinitionId"] == guid] in (
            ["mlsec-prod-fraud data scientist (no serving)"],
            ["mlsec-prod-churn data scientist (no serving)"],
        )
        assert "/providers/Microsoft.MachineLearningServices/workspaces/" in g["scope"]
    by_principal = {g["principalId"]: g["scope"] for g in groups}
    assert "/workspaces/mlsec-prod-fraud-mlw" in by_principal["6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"]
    assert "/workspaces/mlsec-prod-churn-mlw" in by_principal["0b8e2f43-77c1-4c2e-a1f9-3d5e8c9b2a10"]
    assert set(workspaces) == {"mlsec-prod-fraud-mlw", "mlsec-prod-churn-mlw"}


def test_data_scientists_reach_their_workspace_storage_as_themselves(prod_plan: Plan):
    """Shared keys are off: studio and notebooks use the user's identity on the workspace storage, which needs
    the blob and file data roles there (how-to-disable-local-auth-storage), and nothing on other storage."""
    names = {guid: name for name, guid in ROLE.items()}
    found = sorted(
        (r["principalId"], names[r["roleDefinitionId"].rsplit("/", 1)[-1]], r["scope"].rsplit("/", 1)[-1])
        for r in prod_plan.role_assignments()
        if r["principalType"] == "Group" and "/storageAccounts/" in r["scope"]
    )
    fraud, churn = "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01", "0b8e2f43-77c1-4c2e-a1f9-3d5e8c9b2a10"
    fraud_sys = prod_plan.inputs(T + "storage:StorageAccount", "mlsec-prod-fraudsys")
    churn_sys = prod_plan.inputs(T + "storage:StorageAccount", "mlsec-prod-churnsys")
    assert fraud_sys["allowSharedKeyAccess"] is False and churn_sys["allowSharedKeyAccess"] is False
    assert [(p, role) for p, role, _ in found] == sorted(
        [
            (fraud, "Storage Blob Data Contributor"),
            (fraud, "Storage File Data Privileged Contributor"),
            (churn, "Storage Blob Data Contributor"),
            (churn, "Storage File Data Privileged Contributor"),
        ]
    )
    for principal, _, account_name in found:
        team = "fraud" if principal == fraud else "churn"
        assert account_name.startswith(f"mlsecprod{team}sy"), account_name


def test_workspace_identity_roles_are_exactly_the_documented_ones(dev_plan: Plan):
    roles = _roles(dev_plan, "secure-ml:ml:Workspace")
    scopes = {
        "curated": "/containers/curated",
        "models": "/containers/models",
        "scratch": "/containers/scratch-fraud",
        "data": "/storageAccounts/mlsecdevdataacct",
        "sys": "/storageAccounts/mlsecdevfraudsys",
        "sys-blob-pe": "/privateEndpoints/mlsec-dev-fraud-sys-blob-pe",
        "sys-file-pe": "/privateEndpoints/mlsec-dev-fraud-sys-file-pe",
        "acr": "/registries/mlsecdevfraudacr",
        "kv": "/vaults/mlsec-dev-kv-kv",
        "appi": "/components/mlsec-dev-mon-appi",
        "ws": "/workspaces/mlsec-dev-fraud-mlw",
    }

    def where(scope: str) -> str:
        return next(k for k, v in scopes.items() if v in scope)

    found = sorted(
        ("data scientist (no serving)" if "/roleDefinitions/" in name else name, where(scope))
        for name, scope, _ in roles
    )
    assert found == sorted(
        [
            ("Storage Blob Data Contributor", "sys"),
            ("Storage File Data Privileged Contributor", "sys"),
            ("Storage Blob Data Contributor", "sys"),  # compute identity: job outputs
            ("AcrPush", "acr"),
            ("AcrPull", "acr"),  # compute identity
            ("Key Vault Secrets Officer", "kv"),
            ("Monitoring Metrics Publisher", "appi"),
            ("Azure AI Administrator", "ws"),
            ("data scientist (no serving)", "ws"),  # the data-scientist group (custom role)
            ("Storage Blob Data Reader", "curated"),  # workspace identity
            ("Storage Blob Data Reader", "curated"),  # compute identity
            ("Storage Blob Data Reader", "models"),  # workspace identity
            ("Storage Blob Data Contributor", "scratch"),  # workspace identity
            ("Storage Blob Data Contributor", "scratch"),  # compute identity
            # Managed network: the workspace identity approves the private endpoints to each target.
            ("Azure AI Enterprise Network Connection Approver", "sys"),
            ("Azure AI Enterprise Network Connection Approver", "acr"),
            ("Azure AI Enterprise Network Connection Approver", "kv"),
            ("Azure AI Enterprise Network Connection Approver", "data"),
            # Control plane of the dependencies (Azure AI Administrator instead of the documented Contributor).
            ("Azure AI Administrator", "sys"),
            ("Azure AI Administrator", "acr"),
            ("Azure AI Administrator", "kv"),
            ("Azure AI Administrator", "appi"),
            # Studio: the workspace identity reads the storage private endpoints.
            ("Reader", "sys-blob-pe"),
            ("Reader", "sys-file-pe"),
            # Data scientists: notebooks and studio on the workspace storage with their own identity.
            ("Storage Blob Data Contributor", "sys"),
            ("Storage File Data Privileged Contributor", "sys"),
        ]
    )
    by_name = {r["name"]: r for r in dev_plan.made_by("secure-ml:ml:Workspace", T + "authorization:RoleAssignment")}
    identity = dev_plan.one(T + "managedidentity:UserAssignedIdentity", "mlsec-dev-fraud-id")["urn"]
    approvers = [n for n, r in by_name.items() if r["inputs"]["roleDefinitionId"].endswith(ROLE[APPROVER])]
    assert len(approvers) == 4
    for n in approvers:  # to the workspace identity, before the workspace is created
        assert identity in by_name[n]["dependencies"], n
        ws = dev_plan.one(T + "machinelearningservices:Workspace", "mlsec-dev-fraud-mlw")
        assert by_name[n]["urn"] in ws["dependencies"], n
    for n in ("mlsec-dev-fraud-sys-users-ds-blob", "mlsec-dev-fraud-sys-users-ds-file"):
        assert by_name[n]["inputs"]["principalId"] == "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"
        assert by_name[n]["inputs"]["principalType"] == "Group"


# ------------------------------------------------------------------------------ prod, tags


def test_prod_locks_key_vault_and_storage(prod_plan: Plan, dev_plan: Plan):
    locks = [r["inputs"] for r in prod_plan.of_type(T + "authorization:ManagementLockByScope")]
    assert all(lock["level"] == "CanNotDelete" for lock in locks)
    scopes = sorted(lock["scope"].split("/providers/")[1].split("/")[1] for lock in locks)
    assert scopes == ["storageAccounts", "storageAccounts", "storageAccounts", "vaults"]  # 2 system + data
    assert dev_plan.of_type(T + "authorization:ManagementLockByScope") == []


def test_prod_is_zone_redundant(prod_plan: Plan):
    for r in prod_plan.of_type(T + "storage:StorageAccount"):
        assert r["inputs"]["sku"] == {"name": "Standard_ZRS"}
    for r in prod_plan.of_type(T + "containerregistry:Registry"):
        assert r["inputs"]["zoneRedundancy"] == "Enabled"


REQUIRED_TAGS = {"environment", "team", "owner", "cost-center", "data-classification"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_resource_carries_the_required_tags(request, stack: str):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    import importlib

    checked = 0
    for r in plan.resources:
        if not r["type"].startswith(T):
            continue
        module, cls = r["type"].split(":")[1:]
        args = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), f"{cls}Args")
        if "tags" not in args.__init__.__code__.co_varnames:
            continue
        checked += 1
        tags = r["inputs"].get("tags", {})
        assert set(tags) >= REQUIRED_TAGS, r["urn"]
        assert tags["environment"] == stack
    assert checked > 30


def test_data_scientists_hold_the_built_in_role_minus_every_serving_action(dev_plan: Plan):
    from components.workspace_access import DATA_SCIENTIST_ACTIONS, DATA_SCIENTIST_NOT_ACTIONS, SERVING_ACTIONS

    role = dev_plan.inputs(T + "authorization:RoleDefinition", "mlsec-dev-fraud-ds-role")
    group = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/"
    assert role["roleName"] == "mlsec-dev-fraud data scientist (no serving)"
    assert role["roleType"] == "CustomRole"
    assert role["scope"].startswith(group) and role["assignableScopes"] == [role["scope"]]
    assert role["permissions"] == [
        {"actions": list(DATA_SCIENTIST_ACTIONS), "notActions": [*DATA_SCIENTIST_NOT_ACTIONS, *SERVING_ACTIONS]}
    ]
    ml = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/"
    assert {a.removeprefix(ml) for a in SERVING_ACTIONS} == {
        "score/action",
        "token/action",
        "listKeys/action",
        "regenerateKeys/action",
        "write",
        "delete",
        "deployments/write",
        "deployments/delete",
    }
    grant = dev_plan.inputs(T + "authorization:RoleAssignment", "mlsec-dev-fraud-ws-data-scientists")
    assert grant["principalId"] == "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"
    assert grant["principalType"] == "Group"
    assert grant["roleDefinitionId"].endswith("/roleDefinitions/" + role["roleDefinitionId"])
    workspace = dev_plan.one(T + "machinelearningservices:Workspace")
    assert (
        workspace["urn"]
        in dev_plan.one(T + "authorization:RoleAssignment", "mlsec-dev-fraud-ws-data-scientists")["dependencies"]
    )
    assert grant["scope"].split("/providers/")[-1].startswith("Microsoft.MachineLearningServices/workspaces/")
    assert "/" not in grant["scope"].split("/workspaces/")[-1]


def test_registries_refuse_arm_audience_tokens(dev_plan: Plan, prod_plan: Plan):
    for plan in (dev_plan, prod_plan):
        for registry in plan.of_type(T + "containerregistry:Registry"):
            assert registry["inputs"]["policies"]["azureADAuthenticationAsArmPolicy"] == {"status": "disabled"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_system_storage_keeps_versions_and_deleted_blobs(stack: str, request: pytest.FixtureRequest):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    days = {"dev": (7, 30), "prod": (30, 365)}[stack]
    services = [r for r in plan.of_type(T + "storage:BlobServiceProperties") if r["name"].endswith("-sys-blob")]
    assert len(services) == {"dev": 1, "prod": 2}[stack]
    accounts = {r["urn"] for r in plan.of_type(T + "storage:StorageAccount") if r["name"].endswith("sys")}
    for service in services:
        inputs = service["inputs"]
        assert inputs["blobServicesName"] == "default"
        assert inputs["isVersioningEnabled"] is True
        assert inputs["changeFeed"] == {"enabled": True, "retentionInDays": days[1]}
        assert inputs["deleteRetentionPolicy"] == {"allowPermanentDelete": False, "days": days[0], "enabled": True}
        assert inputs["containerDeleteRetentionPolicy"] == {"days": days[0], "enabled": True}
        assert set(service["dependencies"]) & accounts


def test_cmk_workspaces_encrypt_registry_and_system_storage_with_their_own_keys(prod_plan: Plan, dev_plan: Plan):
    keys = {r["name"]: r for r in prod_plan.of_type(T + "keyvault:Key")}
    identities = {r["name"]: r for r in prod_plan.of_type(T + "managedidentity:UserAssignedIdentity")}
    for ws in ("fraud", "churn"):
        registry = prod_plan.one(T + "containerregistry:Registry", f"mlsec-prod-{ws}acr")
        account = prod_plan.one(T + "storage:StorageAccount", f"mlsec-prod-{ws}sys")
        identity = identities[f"mlsec-prod-{ws}-id"]
        acr_key, sys_key = keys[f"mlsec-prod-{ws}-acr-cmk"], keys[f"mlsec-prod-{ws}-sys-cmk"]
        enc = registry["inputs"]["encryption"]
        assert enc["status"] == "enabled"
        assert enc["keyVaultProperties"]["keyIdentifier"].endswith(f"/keys/{acr_key['inputs']['keyName']}")
        assert registry["inputs"]["identity"]["type"] == "UserAssigned"
        assert identity["urn"] in registry["dependencies"] and acr_key["urn"] in registry["dependencies"]
        sys_enc = account["inputs"]["encryption"]
        assert sys_enc["keySource"] == "Microsoft.Keyvault"
        assert sys_enc["requireInfrastructureEncryption"] is True
        assert sys_enc["keyVaultProperties"]["keyName"] == sys_key["inputs"]["keyName"]
        assert (
            sys_enc["encryptionIdentity"]["encryptionUserAssignedIdentity"]
            == account["inputs"]["identity"]["userAssignedIdentities"][0]
        )
        # the identity may wrap and unwrap each key before the registry and the account are created
        grants = [
            r
            for r in prod_plan.of_type(T + "authorization:RoleAssignment")
            if r["name"] in (f"mlsec-prod-{ws}-id-acr-cmk-ws", f"mlsec-prod-{ws}-id-sys-cmk-ws")
        ]
        assert len(grants) == 2
        for grant in grants:
            assert grant["inputs"]["roleDefinitionId"].endswith(ROLE["Key Vault Crypto Service Encryption User"])
            assert "/keys/" in grant["inputs"]["scope"]
            assert grant["urn"] in registry["dependencies"] and grant["urn"] in account["dependencies"]
    for registry in dev_plan.of_type(T + "containerregistry:Registry"):
        assert "encryption" not in registry["inputs"]
