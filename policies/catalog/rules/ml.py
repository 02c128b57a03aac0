"""Azure ML workspaces, computes and datastores: private, identity-only, approved egress only.

This module holds the rules on the workspace and datastore resources themselves and the area's ``RULES`` in
catalog order; the workspace's needs from other resources are in :mod:`policies.catalog.rules.ml_dependencies`,
the computes in :mod:`policies.catalog.rules.ml_compute`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, Threat, expect, field_check
from policies.catalog.rules.ml_compute import (
    COMPUTE_IDENTITY,
    COMPUTE_IDLE,
    COMPUTE_LOCAL_AUTH,
    COMPUTE_NO_PUBLIC_IP,
    COMPUTE_SSH,
)
from policies.catalog.rules.ml_dependencies import (
    WS_CMK_COSMOS,
    WS_DEPENDENCIES_CMK,
    WS_ENDPOINT_APPROVER,
    WS_IMAGE_BUILD,
)
from policies.catalog.values import UNKNOWN, as_dict, get, show

_WS = (azure.ML_WORKSPACE,)

WS_PUBLIC = ResourceRule(
    id="MLSEC-MLW-001",
    name="ML workspaces explicitly disable public network access",
    severity=Severity.CRITICAL,
    threat=Threat.STEALING,
    rationale="A public workspace exposes models, data references and job submission to the Internet. The "
    "property must be set: left out, Azure's default may be Enabled.",
    remediation="Set publicNetworkAccess to Disabled and reach the workspace through its amlworkspace private "
    "endpoint.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning Workspaces should disable public network access",
        checkov="CKV2_AZURE_49",
        psrule="Azure.ML.PublicAccess",
    ),
    suppressible=False,
    types=_WS,
    check=field_check("publicNetworkAccess", "Disabled"),
)

WS_BEHIND_VNET = ResourceRule(
    id="MLSEC-MLW-002",
    name="ML workspaces allow no public access when behind a virtual network",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="allowPublicAccessWhenBehindVnet reopens the public endpoint of a private workspace.",
    remediation="Set allowPublicAccessWhenBehindVnet to false (or leave it unset).",
    types=_WS,
    check=field_check("allowPublicAccessWhenBehindVnet", False, absent_ok=True),
)

WS_MANAGED_NETWORK = ResourceRule(
    id="MLSEC-MLW-003",
    name="ML workspace managed networks allow only approved outbound traffic",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Jobs run arbitrary code; with unrestricted egress a job can send data or model weights anywhere.",
    remediation="Set managedNetwork.isolationMode to AllowOnlyApprovedOutbound and list the needed destinations as "
    "outbound rules.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning workspaces should use a managed virtual network "
        "with approved outbound only"
    ),
    types=_WS,
    check=field_check("managedNetwork.isolationMode", "AllowOnlyApprovedOutbound"),
)


def _user_assigned_identity(res: Res) -> Iterator[str]:
    yield from expect(res.props, "identity.type", ["UserAssigned"])
    primary = get(res.props, "primaryUserAssignedIdentity")
    if primary is not UNKNOWN and not isinstance(primary, str):
        yield f"primaryUserAssignedIdentity must name the workspace identity (found {show(primary)})"


WS_IDENTITY = ResourceRule(
    id="MLSEC-MLW-004",
    name="ML workspaces use a user-assigned primary identity",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A user-assigned identity is created, granted and reviewed before the workspace exists, so its roles "
    "are exactly the ones declared; a system identity gets its grants after the fact.",
    remediation="Set identity.type to UserAssigned and primaryUserAssignedIdentity to that identity.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning workspaces should use user-assigned managed identity",
        psrule="Azure.ML.UserManagedIdentity",
    ),
    types=_WS,
    check=_user_assigned_identity,
)

WS_DATASTORE_AUTH = ResourceRule(
    id="MLSEC-MLW-005",
    name="ML workspace system datastores use identity-based access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Credential-based system datastores store the storage account key in the workspace Key Vault. The "
    "REST API's SystemDatastoresAuthMode enum is AccessKey, Identity, UserDelegationSAS "
    "(azure-rest-api-specs specification/machinelearningservices/resource-manager/"
    "Microsoft.MachineLearningServices/stable/2025-12-01/workspaceRP.json); the rule accepts that exact spelling "
    "only, since the spec does not declare the enum case-insensitive.",
    remediation="Set systemDatastoresAuthMode to Identity.",
    types=_WS,
    check=field_check("systemDatastoresAuthMode", "Identity"),
)

WS_V1_LEGACY = ResourceRule(
    id="MLSEC-MLW-006",
    name="ML workspaces run without v1 legacy mode",
    severity=Severity.LOW,
    threat=Threat.STEALING,
    rationale="v1 legacy mode turns off the v2 network and identity controls the platform relies on.",
    remediation="Set v1LegacyMode to false (or leave it unset).",
    types=_WS,
    check=field_check("v1LegacyMode", False, absent_ok=True),
)

WS_DATA_ISOLATION = ResourceRule(
    id="MLSEC-MLW-007",
    name="ML workspaces isolate their data from other workspaces",
    severity=Severity.MEDIUM,
    threat=Threat.PRIVACY,
    rationale="Data isolation keeps a workspace's data out of shared registries and other workspaces' jobs.",
    remediation="Set enableDataIsolation to true (only possible when the workspace is created).",
    types=_WS,
    check=field_check("enableDataIsolation", True),
)


def _ws_cmk(res: Res) -> Iterator[str]:
    if res.tag("environment") != "prod":
        return
    yield from expect(res.props, "encryption.status", ["Enabled"])
    key = get(res.props, "encryption.keyVaultProperties.keyIdentifier")
    if key is not UNKNOWN and not isinstance(key, str):
        yield f"encryption.keyVaultProperties.keyIdentifier must name a Key Vault key (found {show(key)})"


WS_CMK = ResourceRule(
    id="MLSEC-MLW-008",
    name="Production ML workspaces are encrypted with a customer-managed key",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A customer-managed key puts the workspace's metadata, job history and cached data under a key the "
    "organisation can revoke.",
    remediation="Set customerManagedKey on the workspace in the stack file (encryption.status Enabled with a Key "
    "Vault key).",
    mappings=Mappings(azure_policy="Azure Machine Learning workspaces should be encrypted with a customer-managed key"),
    types=_WS,
    check=_ws_cmk,
)


def _no_wildcard_fqdn(res: Res) -> Iterator[str]:
    rules = as_dict(get(res.props, "managedNetwork.outboundRules"))
    for key in sorted(rules):
        rule = as_dict(rules[key])
        destination = rule.get("destination")
        if rule.get("type") == "FQDN" and isinstance(destination, str) and "*" in destination:
            yield f"outbound rule {key} allows the wildcard destination {destination}"


WS_NO_WILDCARD_EGRESS = ResourceRule(
    id="MLSEC-MLW-009",
    name="ML workspace outbound FQDN rules name exact hosts, no wildcards",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A wildcard such as *.blob.core.windows.net lets a job upload to any storage account in the world.",
    remediation="Replace the wildcard with the exact host names the jobs need (workspaces[].outboundFqdns).",
    types=_WS,
    check=_no_wildcard_fqdn,
)


def _datastore_identity(res: Res) -> Iterator[str]:
    yield from expect(res.props, "properties.credentials.credentialsType", ["None"])


DATASTORE_IDENTITY = ResourceRule(
    id="MLSEC-MLW-010",
    name="ML datastores store no credentials",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A datastore with an account key or SAS hands that secret to every job and user of the workspace.",
    remediation="Set properties.credentials.credentialsType to None so that access uses the workspace or user "
    "identity.",
    types=(azure.ML_DATASTORE,),
    check=_datastore_identity,
)

RULES = (
    WS_PUBLIC,
    WS_BEHIND_VNET,
    WS_MANAGED_NETWORK,
    WS_IDENTITY,
    WS_DATASTORE_AUTH,
    WS_V1_LEGACY,
    WS_DATA_ISOLATION,
    WS_CMK,
    WS_NO_WILDCARD_EGRESS,
    WS_ENDPOINT_APPROVER,
    WS_CMK_COSMOS,
    WS_IMAGE_BUILD,
    WS_DEPENDENCIES_CMK,
    DATASTORE_IDENTITY,
    COMPUTE_LOCAL_AUTH,
    COMPUTE_NO_PUBLIC_IP,
    COMPUTE_SSH,
    COMPUTE_IDLE,
    COMPUTE_IDENTITY,
)
