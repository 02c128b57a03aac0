"""Identity and data zones: least privilege, classified containers, restricted zones, WORM, expiry.

Pipeline identities are the user-assigned identities the DataStorage component creates; workload
identities are those created by a Workspace or Endpoint component or used by a workspace, compute or
online endpoint. Role assignments, datastores and policies are linked to containers, accounts and
identities through the engine's dependency graph, and through scopes and names where those are known.
A value that is unknown at preview (an identity's principal ID, a new account's resource ID) is never
flagged on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, ResourceRule, StackRule, StackView, Threat, expect
from policies.catalog.values import UNKNOWN, as_dict, as_list, get, show

_SCOPE = re.compile(r"/storageAccounts/([^/]+)(?:/blobServices/[^/]+/containers/([^/]+))?", re.IGNORECASE)
_DATA_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
}
"""Storage Blob Data Contributor, Reader and Owner."""
_ACCOUNT_LEVEL_ROLES = {"b556d68e-0be0-4f35-a333-ad7ee1ce17ea"}
"""Azure AI Enterprise Network Connection Approver: approves private endpoint connections, which exist only on
the account itself, and carries no data actions
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning)."""


def _zone(container: Res) -> object:
    return get(container.props, "metadata.zone")


def _is_restricted(container: Res) -> bool:
    return _zone(container) in azure.RESTRICTED_ZONES or get(container.props, "metadata.classification") == "restricted"


def _key(container: Res) -> tuple[object, object]:
    return container.props.get("accountName"), container.props.get("containerName")


def _data_containers(stack: StackView) -> list[Res]:
    return [c for c in stack.of_type(azure.BLOB_CONTAINER) if c.within(azure.DATA_STORAGE_COMPONENT)]


def _data_account_names(stack: StackView) -> set[str]:
    return {str(c.props["accountName"]) for c in _data_containers(stack) if isinstance(c.props.get("accountName"), str)}


def _targets(stack: StackView, res: Res, account: object, container: object) -> list[Res]:
    """The data containers ``res`` (a role assignment or datastore) points at, by name or by dependency."""
    containers = _data_containers(stack)
    if isinstance(account, str) and isinstance(container, str):
        return [c for c in containers if _key(c) == (account, container)]
    return [c for c in stack.deps(res, azure.BLOB_CONTAINER) if c in containers]


def _assignment_targets(stack: StackView, assignment: Res) -> list[Res]:
    scope = assignment.props.get("scope")
    if isinstance(scope, str):
        match = _SCOPE.search(scope)
        if match is None or match.group(2) is None:
            return []
        return _targets(stack, assignment, match.group(1), match.group(2))
    return _targets(stack, assignment, UNKNOWN, UNKNOWN)


def _workload_identities(stack: StackView) -> set[str]:
    found = {i.urn for i in stack.of_type(azure.IDENTITY) if any(i.within(c) for c in azure.WORKLOAD_COMPONENTS)}
    for user in stack.of_type(azure.ML_WORKSPACE, azure.ML_COMPUTE, azure.ONLINE_ENDPOINT, azure.ONLINE_DEPLOYMENT):
        # A pipeline identity attached to a workspace for serverless Spark stays a pipeline identity: the
        # unsuppressible MLSEC-SPK-002 fails a plan where anyone but the pipeline may submit jobs there.
        spark = user.type == azure.ML_WORKSPACE
        found |= {
            i.urn for i in stack.deps(user, azure.IDENTITY) if not (spark and i.within(azure.DATA_STORAGE_COMPONENT))
        }
    return found


def _principal(stack: StackView, assignment: Res, workload: set[str]) -> tuple[str, bool]:
    """Who an assignment is for, and whether that principal is a pipeline identity."""
    identities = stack.deps(assignment, azure.IDENTITY)
    if identities:
        for identity in identities:
            if identity.urn in workload:
                return f"workload identity {identity.name}", False
            if not identity.within(azure.DATA_STORAGE_COMPONENT):
                return f"identity {identity.name}", False
        return identities[0].name, True
    kind = assignment.props.get("principalType")
    principal = f"{show(kind)} principal {assignment.props.get('principalId')}"
    # An existing pipeline principal from config: a service principal granted by the DataStorage component.
    return principal, kind in ("ServicePrincipal", UNKNOWN) and assignment.within(azure.DATA_STORAGE_COMPONENT)


def _restricted_access(stack: StackView) -> Iterator[tuple[str, str]]:
    workload = _workload_identities(stack)
    for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
        restricted = [c for c in _assignment_targets(stack, assignment) if _is_restricted(c)]
        if not restricted:
            continue
        who, pipeline = _principal(stack, assignment, workload)
        if not pipeline:
            role = azure.role_name(assignment.props.get("roleDefinitionId"))
            for container in restricted:
                yield (
                    assignment.urn,
                    f"{assignment.name} grants {role} on restricted container {container.props.get('containerName')} "
                    f"to {who}; only pipeline identities may access restricted zones",
                )


RESTRICTED_ACCESS = StackRule(
    id="MLSEC-DATA-002",
    name="Restricted zones (raw, quarantine) are reachable only by their pipeline identities",
    severity=Severity.CRITICAL,
    threat=Threat.PRIVACY,
    rationale="Raw and quarantine may hold personal data before anonymization. A workspace, compute or endpoint "
    "identity with a role there lets any job, notebook or scoring request read it, and lets a model memorise it.",
    remediation="Remove the role assignment; give the workload access to the anonymized or curated zone instead.",
    suppressible=False,
    check=_restricted_access,
)


def _datastores(stack: StackView) -> Iterator[tuple[str, str]]:
    for store in stack.of_type(azure.ML_DATASTORE):
        account = get(store.props, "properties.accountName")
        container = get(store.props, "properties.containerName")
        for target in _targets(stack, store, account, container):
            if _is_restricted(target):
                yield (
                    store.urn,
                    f"datastore {store.name} points at restricted container {target.props.get('containerName')}",
                )


NO_RESTRICTED_DATASTORE = StackRule(
    id="MLSEC-DATA-003",
    name="No ML datastore points at a restricted zone",
    severity=Severity.CRITICAL,
    threat=Threat.PRIVACY,
    rationale="A datastore makes a container browsable and mountable by every user and job of the workspace.",
    remediation="Remove the datastore; register the anonymized or curated container instead.",
    suppressible=False,
    check=_datastores,
)


def _classified(res: Res) -> Iterator[str]:
    if not res.within(azure.DATA_STORAGE_COMPONENT):
        return
    classification = get(res.props, "metadata.classification")
    if classification is not UNKNOWN and classification not in azure.CLASSIFICATIONS:
        yield (
            f"container {res.props.get('containerName', res.name)} must declare metadata.classification as one of "
            f"{', '.join(azure.CLASSIFICATIONS)} (found {show(classification)})"
        )
    zone = get(res.props, "metadata.zone")
    if zone is not UNKNOWN and not (isinstance(zone, str) and zone):
        yield f"container {res.props.get('containerName', res.name)} must declare metadata.zone (found {show(zone)})"


CLASSIFIED = ResourceRule(
    id="MLSEC-DATA-001",
    name="Every data container declares its classification and zone",
    severity=Severity.MEDIUM,
    threat=Threat.PRIVACY,
    rationale="Access rules, retention and tripwires all follow the classification; an unclassified container "
    "escapes them.",
    remediation="Set metadata.classification (public, internal, confidential, restricted) and metadata.zone.",
    types=(azure.BLOB_CONTAINER,),
    check=_classified,
)


def _worm(stack: StackView) -> Iterator[tuple[str, str]]:
    for container in _data_containers(stack):
        if _zone(container) not in azure.IMMUTABLE_ZONES:
            continue
        name = container.props.get("containerName")
        for message in expect(container.props, "immutableStorageWithVersioning.enabled", [True]):
            yield container.urn, f"container {name}: {message}"
        policies = stack.dependents(container, azure.CONTAINER_WORM)
        days = [p.props.get("immutabilityPeriodSinceCreationInDays") for p in policies]
        if UNKNOWN in days:
            continue
        if not any(isinstance(d, int) and d >= 1 for d in days):
            yield container.urn, f"container {name} has no immutability policy with a retention of at least 1 day"


IMMUTABLE_ZONES = StackRule(
    id="MLSEC-DATA-004",
    name="The anonymized and curated zones are write-once (version-level immutability with a retention)",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Training reads these zones. Under version-level WORM no identity, not even a compromised pipeline, "
    "can change or delete a version during retention, so poisoning needs a new, logged write.",
    remediation="Set immutableStorageWithVersioning.enabled on the container and give it a "
    "BlobContainerImmutabilityPolicy with immutabilityPeriodSinceCreationInDays >= 1. A stack that is torn down "
    "(dev) turns it off with dataStorage.immutability {enabled: false, reason: ...}; prod refuses that.",
    opt_out="dataStorage.immutability",
    check=_worm,
)


def _expires(rule: dict[str, object], prefix: str) -> bool:
    if rule.get("enabled") is False:
        return False
    definition = as_dict(rule.get("definition"))
    if prefix not in as_list(get(definition, "filters.prefixMatch")):
        return False
    deletes = (get(definition, "actions.baseBlob.delete"), get(definition, "actions.version.delete"))
    return all(isinstance(d, dict) for d in deletes)


def _lifecycle(stack: StackView) -> Iterator[tuple[str, str]]:
    policies = stack.of_type(azure.MANAGEMENT_POLICY)
    for container in _data_containers(stack):
        if not _is_restricted(container):
            continue
        account, name = _key(container)
        rules: list[object] = []
        for policy in policies:
            if policy.props.get("accountName") not in (account, UNKNOWN):
                continue
            found = get(policy.props, "policy.rules")
            if found is UNKNOWN:
                rules = [UNKNOWN]
                break
            rules += as_list(found)
        if UNKNOWN in rules:
            continue
        if not any(isinstance(r, dict) and _expires(r, f"{name}/") for r in rules):
            yield container.urn, f"no enabled lifecycle rule deletes blobs and versions in restricted container {name}"


RAW_EXPIRES = StackRule(
    id="MLSEC-DATA-005",
    name="Restricted zones expire: a lifecycle rule deletes their blobs and versions",
    severity=Severity.HIGH,
    threat=Threat.PRIVACY,
    rationale="Data minimisation: raw and quarantine data may be personal and must not outlive its purpose.",
    remediation="Add an enabled ManagementPolicy rule with prefixMatch <container>/ and baseBlob.delete and "
    "version.delete actions (dataStorage.rawRetentionDays).",
    check=_lifecycle,
)


def _hbi(res: Res) -> Iterator[str]:
    if res.tag("data-classification") in ("confidential", "restricted"):
        yield from expect(res.props, "hbiWorkspace", [True])


HBI = ResourceRule(
    id="MLSEC-DATA-006",
    name="ML workspaces that handle confidential or restricted data are high business impact (HBI)",
    severity=Severity.MEDIUM,
    threat=Threat.PRIVACY,
    rationale="HBI mode encrypts the compute's local scratch disk, limits the diagnostic data Microsoft collects and "
    "keeps data in the customer's subscription.",
    remediation="Set hbiWorkspace to true (only possible when the workspace is created).",
    types=(azure.ML_WORKSPACE,),
    check=_hbi,
)


def _account_worm(res: Res) -> Iterator[str]:
    if res.within(azure.DATA_STORAGE_COMPONENT):
        yield from expect(res.props, "immutableStorageWithVersioning.enabled", [True])


ACCOUNT_WORM = ResourceRule(
    id="MLSEC-DATA-007",
    name="The training-data account supports version-level immutability",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Version-level WORM can only be enabled when the account is created; without it no zone can be "
    "made write-once later.",
    remediation="Set immutableStorageWithVersioning.enabled to true on the training-data account. A stack that is "
    "torn down (dev) turns it off with dataStorage.immutability {enabled: false, reason: ...}; prod refuses that.",
    opt_out="dataStorage.immutability",
    types=(azure.STORAGE_ACCOUNT,),
    check=_account_worm,
)


def _forbidden_role(res: Res) -> Iterator[str]:
    guid = azure.role_guid(res.props.get("roleDefinitionId"))
    if guid in azure.FORBIDDEN_ROLES:
        yield f"{res.name} grants {azure.FORBIDDEN_ROLES[guid]}"


NO_BROAD_ROLES = ResourceRule(
    id="MLSEC-IAM-001",
    name="No role assignment grants Owner, Contributor or User Access Administrator",
    severity=Severity.CRITICAL,
    threat=Threat.STEALING,
    rationale="These roles can read keys, change network rules and grant themselves any data role: one compromised "
    "identity would own the platform.",
    remediation="Grant the narrow built-in role the workload needs (AzureML Data Scientist, Storage Blob Data "
    "Reader, AcrPull, Azure AI Administrator).",
    suppressible=False,
    types=(azure.ROLE_ASSIGNMENT,),
    check=_forbidden_role,
)


def _container_scoped(stack: StackView) -> Iterator[tuple[str, str]]:
    data_accounts = _data_account_names(stack)
    data_account_resources = [a for a in stack.of_type(azure.STORAGE_ACCOUNT) if a.within(azure.DATA_STORAGE_COMPONENT)]
    for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
        scope = assignment.props.get("scope")
        role_guid = azure.role_guid(assignment.props.get("roleDefinitionId"))
        role = azure.role_name(assignment.props.get("roleDefinitionId"))
        if role_guid in _ACCOUNT_LEVEL_ROLES:
            continue
        if isinstance(scope, str):
            match = _SCOPE.search(scope)
            if match is None and role_guid in _DATA_ROLES and data_accounts:
                yield assignment.urn, f"{assignment.name} grants {role} above the storage accounts ({scope})"
            elif match is not None and match.group(1) in data_accounts and match.group(2) is None:
                yield assignment.urn, f"{assignment.name} grants {role} on the whole training-data account"
        elif scope is UNKNOWN:
            on_account = [a for a in stack.deps(assignment, azure.STORAGE_ACCOUNT) if a in data_account_resources]
            if on_account and not stack.deps(assignment, azure.BLOB_CONTAINER):
                yield assignment.urn, f"{assignment.name} grants {role} on the whole training-data account"


CONTAINER_SCOPED = StackRule(
    id="MLSEC-IAM-002",
    name="Roles on the training-data account are granted per container, never account-wide or above",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="An account-wide (or resource group / subscription) data role reaches every zone, raw included; "
    "container scope keeps each identity to the zones its step needs.",
    remediation="Scope the role assignment to <account>/blobServices/default/containers/<zone>.",
    check=_container_scoped,
)

RULES = (
    CLASSIFIED,
    RESTRICTED_ACCESS,
    NO_RESTRICTED_DATASTORE,
    IMMUTABLE_ZONES,
    RAW_EXPIRES,
    HBI,
    ACCOUNT_WORM,
    NO_BROAD_ROLES,
    CONTAINER_SCOPED,
)
