"""Azure ML workspaces, computes and datastores: private, identity-only, approved egress only."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackRule, StackView, Threat, expect, field_check
from policies.catalog.values import MISSING, UNKNOWN, as_dict, get, show

_WS = (azure.ML_WORKSPACE,)
_COMPUTE = (azure.ML_COMPUTE,)

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


def _dependencies_cmk(stack: StackView) -> Iterator[tuple[str, str]]:
    for ws in stack.of_type(azure.ML_WORKSPACE):
        if get(ws.props, "encryption.status") != "Enabled":
            continue
        for registry in stack.deps(ws, azure.REGISTRY):
            status = get(registry.props, "encryption.status")
            key = get(registry.props, "encryption.keyVaultProperties.keyIdentifier")
            if status is UNKNOWN or key is UNKNOWN:
                continue
            if status != "enabled" or not isinstance(key, str):
                yield (
                    registry.urn,
                    f"registry {registry.name} of CMK workspace {ws.name} is not encrypted with a customer-managed key "
                    f"(encryption.status {show(status)})",
                )
        for account in stack.deps(ws, azure.STORAGE_ACCOUNT):
            source = get(account.props, "encryption.keySource")
            if source is not UNKNOWN and source != "Microsoft.Keyvault":
                yield (
                    account.urn,
                    f"system storage {account.name} of CMK workspace {ws.name} is not encrypted with a "
                    f"customer-managed key (encryption.keySource {show(source)})",
                )


WS_DEPENDENCIES_CMK = StackRule(
    id="MLSEC-MLW-014",
    name="A workspace encrypted with a customer-managed key has its registry and system storage encrypted with one too",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Registered models, run artifacts and job code live in the system storage, and every image with the "
    "scoring code in the registry: revoking the workspace's key leaves them readable unless they are under "
    "customer-managed keys as well.",
    remediation="Keep customerManagedKey on the workspace: the component then gives the registry and the system "
    "storage keys of their own, which the workspace identity may wrap and unwrap.",
    mappings=Mappings(
        azure_policy="Container registries should be encrypted with a customer-managed key; Storage accounts "
        "should use customer-managed key for encryption",
    ),
    check=_dependencies_cmk,
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


_APPROVER = "b556d68e-0be0-4f35-a333-ad7ee1ce17ea"
"""Azure AI Enterprise Network Connection Approver."""
_CRYPTO_SERVICE_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
"""Key Vault Crypto Service Encryption User."""


def _guid(assignment: Res) -> object:
    role = assignment.props.get("roleDefinitionId")
    return UNKNOWN if role is UNKNOWN else azure.role_guid(role)


def _covers(scope: object, target: str) -> bool:
    """Whether a role assignment scope is ``target`` or one of its ancestors."""
    if not isinstance(scope, str):
        return False
    scope, target = scope.lower().rstrip("/"), target.lower()
    return target == scope or target.startswith(scope + "/")


def _grants(stack: StackView, guid: str, principals: set[str]) -> list[Res] | None:
    """Role assignments of ``guid`` (or of an unknown role) to one of the identities ``principals`` (URNs);
    None if one of them has an unknown scope, so that coverage cannot be told yet."""
    found = []
    # The assignments that depend on one of the identities: looked up along dependencies, not by a scan.
    candidates = (
        a for urn in principals if (i := stack.by_urn.get(urn)) for a in stack.dependents(i, azure.ROLE_ASSIGNMENT)
    )
    for assignment in stack.in_order(candidates):
        if _guid(assignment) not in (guid, UNKNOWN):
            continue
        if not {i.urn for i in stack.deps(assignment, azure.IDENTITY)} & principals:
            continue
        if not isinstance(assignment.props.get("scope"), str):
            return None
        found.append(assignment)
    return found


def _private_endpoint_targets(ws: Res) -> dict[str, object]:
    """What the workspace's managed network reaches through private endpoints, by a label for messages."""
    mode = get(ws.props, "managedNetwork.isolationMode")
    if mode not in ("AllowOnlyApprovedOutbound", "AllowInternetOutbound"):
        return {}
    targets: dict[str, object] = {}
    if mode == "AllowOnlyApprovedOutbound":
        # The managed network reaches the workspace's own storage, Key Vault and registry through private
        # endpoints in this mode (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network).
        for key in ("storageAccount", "keyVault", "containerRegistry"):
            targets[key] = get(ws.props, key)
    rules = as_dict(get(ws.props, "managedNetwork.outboundRules"))
    for key in sorted(rules):
        rule = as_dict(rules[key])
        if rule.get("type") == "PrivateEndpoint":
            targets[f"outbound rule {key}"] = get(rule, "destination.serviceResourceId")
    return targets


def _approver(stack: StackView) -> Iterator[tuple[str, str]]:
    for ws in stack.of_type(azure.ML_WORKSPACE):
        kind = get(ws.props, "identity.type")
        if not (isinstance(kind, str) and "UserAssigned" in kind):
            continue
        targets = _private_endpoint_targets(ws)
        identities = {i.urn for i in stack.deps(ws, azure.IDENTITY)}
        if not targets or not identities:
            continue
        grants = _grants(stack, _APPROVER, identities)
        if grants is None:
            continue
        for label, target in targets.items():
            if isinstance(target, str) and not any(_covers(g.props.get("scope"), target) for g in grants):
                yield (
                    ws.urn,
                    f"the workspace identity has no Azure AI Enterprise Network Connection Approver role on the "
                    f"{label} target, so the managed network's private endpoint to it is never approved",
                )


WS_ENDPOINT_APPROVER = StackRule(
    id="MLSEC-MLW-011",
    name="A managed-network workspace's identity may approve the private endpoints its network needs",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="With a user-assigned workspace identity, Azure ML approves the managed network's private endpoints "
    "as that identity; without Azure AI Enterprise Network Connection Approver on each target the outbound rules "
    "stay pending or provisioning fails, and jobs lose their only approved path to the data "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-managed-network).",
    remediation="Grant the workspace identity Azure AI Enterprise Network Connection Approver "
    "(b556d68e-0be0-4f35-a333-ad7ee1ce17ea) on each private-endpoint target: the workspace storage, Key Vault and "
    "registry, and every PrivateEndpoint outbound rule's serviceResourceId.",
    check=_approver,
)


def _vault_of_key(ws: Res) -> object:
    vault = get(ws.props, "encryption.keyVaultProperties.keyVaultArmId")
    key = get(ws.props, "encryption.keyVaultProperties.keyIdentifier")
    if not isinstance(vault, str):
        return vault
    if isinstance(key, str) and "/keys/" in key:
        return f"{vault.rstrip('/')}/keys/{key.split('/keys/', 1)[1].split('/', 1)[0]}"
    return vault


def _cosmos_key_role(stack: StackView) -> Iterator[tuple[str, str]]:
    workload = {i.urn for i in stack.of_type(azure.IDENTITY)}
    for ws in stack.of_type(azure.ML_WORKSPACE):
        if get(ws.props, "encryption.status") != "Enabled":
            continue
        key = _vault_of_key(ws)
        if not isinstance(key, str):
            continue
        external = []  # grants to a principal that is no managed identity of the stack: the Cosmos DB application
        for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
            if _guid(assignment) not in (_CRYPTO_SERVICE_USER, UNKNOWN):
                continue
            if {i.urn for i in stack.deps(assignment, azure.IDENTITY)} & workload:
                continue
            external.append(assignment)
        if any(
            not isinstance(a.props.get("scope"), str) or not isinstance(a.props.get("principalId"), str)
            for a in external
        ):
            continue
        if not any(
            _covers(a.props.get("scope"), key) and a.props.get("principalType") in ("ServicePrincipal", MISSING)
            for a in external
        ):
            yield (
                ws.urn,
                "the workspace is encrypted with a customer-managed key, but no Key Vault Crypto Service Encryption "
                "User grant on that key reaches the Azure Cosmos DB service principal",
            )


WS_CMK_COSMOS = StackRule(
    id="MLSEC-MLW-012",
    name="A workspace's customer-managed key is usable by the Azure Cosmos DB service principal",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="A workspace with a customer-managed key keeps its metadata in Azure Cosmos DB, whose first-party "
    "application (app ID a232010e-820c-4083-83bb-3ace5fc29d0b) must get, wrap and unwrap with the key; without "
    "that grant the workspace cannot be created or loses its metadata "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys).",
    remediation="Set cosmosDbPrincipalId in the stack file to the object ID of the Azure Cosmos DB service "
    "principal of the tenant (az ad sp show --id a232010e-820c-4083-83bb-3ace5fc29d0b --query id -o tsv); the "
    "workspace then grants it Key Vault Crypto Service Encryption User on its key.",
    check=_cosmos_key_role,
)


def _image_builds(stack: StackView) -> Iterator[tuple[str, str]]:
    for ws in stack.of_type(azure.ML_WORKSPACE):
        private = [r for r in stack.deps(ws, azure.REGISTRY) if r.props.get("publicNetworkAccess") == "Disabled"]
        if not private:
            continue
        builder = get(ws.props, "imageBuildCompute")
        if builder is UNKNOWN:
            continue
        if not isinstance(builder, str) or not builder:
            yield (
                ws.urn,
                f"registry {private[0].name} has public network access disabled and cannot build images; "
                f"imageBuildCompute must name a compute cluster (found {show(builder)})",
            )
            continue
        names = [c.props.get("computeName") for c in stack.dependents(ws, azure.ML_COMPUTE)]
        if UNKNOWN not in names and builder not in names:
            yield ws.urn, f"imageBuildCompute names {builder}, which is no compute of this workspace"


WS_IMAGE_BUILD = StackRule(
    id="MLSEC-MLW-013",
    name="A workspace with a private registry builds images on its own compute",
    severity=Severity.MEDIUM,
    threat=Threat.AVAILABILITY,
    rationale="A container registry behind a virtual network cannot build Docker images itself; without "
    "imageBuildCompute every environment image build fails "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-managed-network, Configure image builds).",
    remediation="Set imageBuildCompute on the workspace to one of its compute clusters "
    "(workspaces[].imageBuildCompute; default: the first compute cluster).",
    check=_image_builds,
)


def _compute_kind(res: Res) -> object:
    return get(res.props, "properties.computeType")


COMPUTE_LOCAL_AUTH = ResourceRule(
    id="MLSEC-MLC-001",
    name="ML computes have local authentication disabled",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Local authentication (keys, SSH) reaches compute without Entra ID and without audit.",
    remediation="Set properties.disableLocalAuth to true.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning Computes should have local authentication methods disabled",
        psrule="Azure.ML.DisableLocalAuth",
    ),
    types=_COMPUTE,
    check=field_check("properties.disableLocalAuth", True),
)


def _no_public_ip(res: Res) -> Iterator[str]:
    if _compute_kind(res) in ("AmlCompute", "ComputeInstance"):
        yield from expect(res.props, "properties.properties.enableNodePublicIp", [False])


COMPUTE_NO_PUBLIC_IP = ResourceRule(
    id="MLSEC-MLC-002",
    name="ML compute nodes have no public IP address",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A public IP makes every node reachable from the Internet and gives jobs a direct way out.",
    remediation="Set properties.properties.enableNodePublicIp to false.",
    mappings=Mappings(psrule="Azure.ML.ComputeVnet"),
    types=_COMPUTE,
    check=_no_public_ip,
)


def _ssh_closed(res: Res) -> Iterator[str]:
    if _compute_kind(res) == "AmlCompute":
        yield from expect(res.props, "properties.properties.remoteLoginPortPublicAccess", ["Disabled"])


COMPUTE_SSH = ResourceRule(
    id="MLSEC-MLC-003",
    name="ML compute clusters keep the SSH port closed",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="An open SSH port on training nodes is a way in to the data and models mounted there.",
    remediation="Set properties.properties.remoteLoginPortPublicAccess to Disabled.",
    types=_COMPUTE,
    check=_ssh_closed,
)


def _scale_to_zero(res: Res) -> Iterator[str]:
    if _compute_kind(res) != "AmlCompute":
        return
    found = get(res.props, "properties.properties.scaleSettings.minNodeCount")
    if found is not UNKNOWN and found not in (0, MISSING):
        yield f"properties.properties.scaleSettings.minNodeCount must be 0 (found {show(found)})"


COMPUTE_IDLE = ResourceRule(
    id="MLSEC-MLC-004",
    name="ML compute clusters scale to zero when idle",
    severity=Severity.LOW,
    threat=Threat.AVAILABILITY,
    rationale="Idle nodes cost money and stay a standing target; clusters should exist only while jobs run.",
    remediation="Set scaleSettings.minNodeCount to 0 with an idle scale-down time.",
    mappings=Mappings(psrule="Azure.ML.ComputeIdleShutdown"),
    types=_COMPUTE,
    check=_scale_to_zero,
)


def _compute_identity(res: Res) -> Iterator[str]:
    kind = get(res.props, "identity.type")
    if kind is not UNKNOWN and not (isinstance(kind, str) and "UserAssigned" in kind):
        yield f"identity.type must include UserAssigned (found {show(kind)})"


COMPUTE_IDENTITY = ResourceRule(
    id="MLSEC-MLC-005",
    name="ML computes run as a user-assigned identity",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Jobs should run as a dedicated, smaller identity than the workspace's, with roles declared up front.",
    remediation="Give the compute identity {type: UserAssigned, userAssignedIdentities: [<compute identity>]}.",
    types=_COMPUTE,
    check=_compute_identity,
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
