"""Azure clouds the blueprint supports: their regions and private-link DNS suffixes.

Region names are the ARM `name` values (`az account list-locations --query "[].name"`). The
private-link zone names follow "Azure Private Endpoint private DNS zone values" for each cloud; the
API Management domains (azure-api.net, azure-api.us, azure-api.cn) follow the Azure Government and
Azure China developer guides.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cloud:
    """Names that differ between the Azure clouds."""

    regions: frozenset[str]
    """Region names accepted by Azure Resource Manager in this cloud."""
    private_dns_zones: dict[str, str]
    """Private-link service key -> private DNS zone name."""
    ml_scoring_suffix: str
    """DNS suffix of managed online endpoint scoring URIs."""
    storage_suffix: str
    """Storage endpoint suffix (blob endpoints are https://<account>.blob.<suffix>)."""
    login_host: str
    """Microsoft Entra authority host."""
    apim_dns_zone: str
    """Domain of API Management default host names; an internal-mode gateway needs it as a private zone."""
    monitor_zones: dict[str, str] = field(default_factory=dict)
    """Azure Monitor private-link zones other than blob, by key (see the note above CLOUDS); empty where
    Microsoft lists none for the cloud. The scope's private endpoint also registers in the blob zone."""


_PUBLIC_REGIONS = frozenset(
    [
        "australiacentral",
        "australiacentral2",
        "australiaeast",
        "australiasoutheast",
        "austriaeast",
        "belgiumcentral",
        "brazilsouth",
        "brazilsoutheast",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "chilecentral",
        "denmarkeast",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "francesouth",
        "germanynorth",
        "germanywestcentral",
        "indonesiacentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "jioindiacentral",
        "jioindiawest",
        "koreacentral",
        "koreasouth",
        "malaysiawest",
        "mexicocentral",
        "newzealandnorth",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "norwaywest",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southafricawest",
        "southcentralus",
        "southindia",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "swedensouth",
        "switzerlandnorth",
        "switzerlandwest",
        "uaecentral",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westindia",
        "westus",
        "westus2",
        "westus3",
    ]
)

_GOV_REGIONS = frozenset(
    [
        "usgovarizona",
        "usgovtexas",
        "usgovvirginia",
        "usdodcentral",
        "usdodeast",
    ]
)

_CHINA_REGIONS = frozenset(
    [
        "chinaeast",
        "chinaeast2",
        "chinaeast3",
        "chinanorth",
        "chinanorth2",
        "chinanorth3",
    ]
)

# Azure Monitor zones: the zones of an Azure Monitor private endpoint (group azuremonitor), as "Azure Private Endpoint
# private DNS zone values" lists them (https://learn.microsoft.com/azure/private-link/private-endpoint-dns):
# monitor (global endpoints: Application Insights ingestion, the query API, live metrics), oms and ods (Log
# Analytics workspace-specific endpoints), agentsvc (agent service) and blob (agents' solution packs). Azure
# Government also lists privatelink.adx.monitor.azure.us, used only by Azure Data Explorer queries over Azure
# Monitor, which the platform does not make; a private DNS zone group holds at most five zones. Microsoft lists
# no Azure Monitor zones for Azure China, so that cloud has none and needs monitoring.privateLink off.

CLOUDS: dict[str, Cloud] = {
    "AzurePublicCloud": Cloud(
        regions=_PUBLIC_REGIONS,
        private_dns_zones={
            "amlworkspace": "privatelink.api.azureml.ms",
            "notebooks": "privatelink.notebooks.azure.net",
            "blob": "privatelink.blob.core.windows.net",
            "file": "privatelink.file.core.windows.net",
            "dfs": "privatelink.dfs.core.windows.net",
            "vault": "privatelink.vaultcore.azure.net",
            "registry": "privatelink.azurecr.io",
        },
        ml_scoring_suffix="inference.ml.azure.com",
        storage_suffix="core.windows.net",
        login_host="login.microsoftonline.com",
        apim_dns_zone="azure-api.net",
        monitor_zones={
            "monitor": "privatelink.monitor.azure.com",
            "oms": "privatelink.oms.opinsights.azure.com",
            "ods": "privatelink.ods.opinsights.azure.com",
            "agentsvc": "privatelink.agentsvc.azure-automation.net",
        },
    ),
    "AzureUSGovernment": Cloud(
        regions=_GOV_REGIONS,
        private_dns_zones={
            "amlworkspace": "privatelink.api.ml.azure.us",
            "notebooks": "privatelink.notebooks.usgovcloudapi.net",
            "blob": "privatelink.blob.core.usgovcloudapi.net",
            "file": "privatelink.file.core.usgovcloudapi.net",
            "dfs": "privatelink.dfs.core.usgovcloudapi.net",
            "vault": "privatelink.vaultcore.usgovcloudapi.net",
            "registry": "privatelink.azurecr.us",
        },
        ml_scoring_suffix="inference.ml.azure.us",
        storage_suffix="core.usgovcloudapi.net",
        login_host="login.microsoftonline.us",
        apim_dns_zone="azure-api.us",
        monitor_zones={
            "monitor": "privatelink.monitor.azure.us",
            "oms": "privatelink.oms.opinsights.azure.us",
            "ods": "privatelink.ods.opinsights.azure.us",
            "agentsvc": "privatelink.agentsvc.azure-automation.us",
        },
    ),
    "AzureChinaCloud": Cloud(
        regions=_CHINA_REGIONS,
        private_dns_zones={
            "amlworkspace": "privatelink.api.ml.azure.cn",
            "notebooks": "privatelink.notebooks.chinacloudapi.cn",
            "blob": "privatelink.blob.core.chinacloudapi.cn",
            "file": "privatelink.file.core.chinacloudapi.cn",
            "dfs": "privatelink.dfs.core.chinacloudapi.cn",
            "vault": "privatelink.vaultcore.azure.cn",
            "registry": "privatelink.azurecr.cn",
        },
        ml_scoring_suffix="inference.ml.azure.cn",
        storage_suffix="core.chinacloudapi.cn",
        login_host="login.chinacloudapi.cn",
        apim_dns_zone="azure-api.cn",
    ),
}
