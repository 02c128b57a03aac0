"""Azure facts the rules share: type tokens, component types, built-in role GUIDs, zones."""

from __future__ import annotations

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
CONTAINER_WORM = "azure-native:storage:BlobContainerImmutabilityPolicy"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
ML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
ML_COMPUTE = "azure-native:machinelearningservices:Compute"
ML_DATASTORE = "azure-native:machinelearningservices:Datastore"
ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ENDPOINT_TRAFFIC = "pulumi-python:dynamic/endpoint:Traffic"
"""The step that writes an online endpoint's traffic split after its deployments (components/endpoint_traffic.py)."""
AUTOSCALE_SETTING = "azure-native:monitor:AutoscaleSetting"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
REGISTRY = "azure-native:containerregistry:Registry"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
APIM = "azure-native:apimanagement:ApiManagementService"
APIM_API = "azure-native:apimanagement:Api"
APIM_GLOBAL_POLICY = "azure-native:apimanagement:Policy"
APIM_API_POLICY = "azure-native:apimanagement:ApiPolicy"
APIM_SCOPED_POLICIES = (
    APIM_API_POLICY,
    "azure-native:apimanagement:ApiOperationPolicy",
    "azure-native:apimanagement:ProductPolicy",
    "azure-native:apimanagement:WorkspaceApiPolicy",
    "azure-native:apimanagement:WorkspaceApiOperationPolicy",
    "azure-native:apimanagement:WorkspaceProductPolicy",
    "azure-native:apimanagement:WorkspacePolicy",
)
"""API Management policies below the service level: each must inherit the enclosing scope's policy."""
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
LOCK = "azure-native:authorization:ManagementLockByScope"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION_DIAGNOSTIC_SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"

DATA_STORAGE_COMPONENT = "secure-ml:data:DataStorage"
"""Component that owns the training-data account, its zones and the pipeline identities."""
GATEWAY_COMPONENT = "secure-ml:gateway:Gateway"
"""Component of the API gateway, whose identity is the only one that may score endpoints."""
WORKLOAD_COMPONENTS = ("secure-ml:ml:Workspace", "secure-ml:ml:Endpoint")
"""Components whose identities serve workspaces, compute and endpoints."""

FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
"""Built-in roles no identity of the platform may hold."""

ROLE_NAMES = {
    **FORBIDDEN_ROLES,
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "b556d68e-0be0-4f35-a333-ad7ee1ce17ea": "Azure AI Enterprise Network Connection Approver",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User",
}
"""Names of the built-in roles that messages mention."""

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
"""Data classifications, lowest first."""
RESTRICTED_ZONES = ("raw", "quarantine")
"""Zones that may hold personal data before anonymization."""
IMMUTABLE_ZONES = ("anonymized", "curated")
"""Zones whose versions must be write-once."""
REQUIRED_TAGS = ("environment", "team", "owner", "cost-center", "data-classification")
"""Tags every resource that takes tags must carry."""

PRIVATE_LINK_GROUPS = {
    STORAGE_ACCOUNT: "blob",
    KEY_VAULT: "vault",
    REGISTRY: "registry",
    ML_WORKSPACE: "amlworkspace",
}
"""The private-endpoint sub-resource each service must be reached through."""

DIAGNOSED_TYPES = (
    STORAGE_ACCOUNT,
    KEY_VAULT,
    REGISTRY,
    ML_WORKSPACE,
    ONLINE_ENDPOINT,
    NSG,
    VNET,
    LOG_ANALYTICS,
    APP_INSIGHTS,
    APIM,
)
"""Resource types that have diagnostic settings; each must send them to Log Analytics."""


def role_guid(role_definition_id: object) -> str:
    """The GUID at the end of a role definition ID ('' if unknown)."""
    return role_definition_id.rsplit("/", 1)[-1].lower() if isinstance(role_definition_id, str) else ""


def role_name(role_definition_id: object) -> str:
    guid = role_guid(role_definition_id)
    return ROLE_NAMES.get(guid, guid or "an unknown role")
