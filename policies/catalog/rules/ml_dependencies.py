"""Azure ML workspaces and what they need from the resources around them: the roles that let the managed
network's private endpoints be approved and the Azure Cosmos DB service use the customer-managed key, a compute
that builds images for a private registry, and customer-managed keys on the registry and system storage.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, StackRule, StackView, Threat
from policies.catalog.values import MISSING, UNKNOWN, as_dict, get, show


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
