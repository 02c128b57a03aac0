"""Serverless Spark over the data zones: private paths only, and no one borrowing a pipeline identity.

A workspace runs serverless Spark jobs over the training data when its managed network has a private-endpoint
outbound rule flagged ``sparkEnabled`` or when it attaches user-assigned identities besides its primary one
(serverless Spark runs as "a user-assigned managed identity attached to the workspace",
https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-configuration, "Ensuring resource
access for Spark jobs"). Spark reaches storage only through private-endpoint rules flagged ``sparkEnabled``
("Configure for serverless Spark jobs", https://learn.microsoft.com/azure/machine-learning/how-to-managed-network;
``PrivateEndpointDestination.sparkEnabled`` in azure-rest-api-specs specification/machinelearningservices/
resource-manager/Microsoft.MachineLearningServices/stable/2025-12-01/workspaceRP.json), and ``abfss://`` paths
go to the account's ``dfs`` endpoint (https://learn.microsoft.com/azure/storage/blobs/data-lake-storage-introduction-abfs-uri).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.rules import serving_access
from policies.catalog.values import UNKNOWN, as_dict, as_list, get, show

JOB_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/jobs/write",
    "Microsoft.MachineLearningServices/workspaces/schedules/write",
)
"""Creating jobs and the schedules that create them
(https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning)."""

SPARK_SUBRESOURCES = ("blob", "dfs")
_SUFFIXES = ("core.windows.net", "core.usgovcloudapi.net", "core.chinacloudapi.cn")
_SERVICES = ("blob", "dfs", "file", "queue", "table", "web")


def _data_accounts(stack: StackView) -> set[str]:
    """Lowercased names of the training-data accounts (their containers name them)."""
    return {
        str(c.props["accountName"]).lower()
        for c in stack.of_type(azure.BLOB_CONTAINER)
        if c.within(azure.DATA_STORAGE_COMPONENT) and isinstance(c.props.get("accountName"), str)
    }


def _account_of(resource_id: object) -> str | None:
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.rstrip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "storageaccounts" in lowered:
        at = lowered.index("storageaccounts")
        return lowered[at + 1] if at + 1 < len(parts) else None
    return None


def _rules(ws: Res) -> dict[str, dict[str, object]]:
    return {key: as_dict(rule) for key, rule in as_dict(get(ws.props, "managedNetwork.outboundRules")).items()}


def _attached(ws: Res) -> list[object]:
    """User-assigned identities attached besides the primary one (UNKNOWN entries while not yet known)."""
    primary = get(ws.props, "primaryUserAssignedIdentity")
    found = as_list(get(ws.props, "identity.userAssignedIdentities"))
    if isinstance(get(ws.props, "identity.userAssignedIdentities"), dict):
        found = list(as_dict(get(ws.props, "identity.userAssignedIdentities")))
    return [i for i in found if i is UNKNOWN or (isinstance(i, str) and i != primary)]


def _runs_spark(ws: Res) -> bool:
    flagged = any(
        rule.get("type") == "PrivateEndpoint" and get(rule, "destination.sparkEnabled") is True
        for rule in _rules(ws).values()
    )
    return flagged or bool(_attached(ws))


def _reaches_account(destination: str, accounts: set[str]) -> bool:
    host = destination.lower().strip()
    return any(
        fnmatch.fnmatchcase(f"{account}.{service}.{suffix}", host)
        for account in accounts
        for service in _SERVICES
        for suffix in _SUFFIXES
    )


def _private_paths(stack: StackView) -> Iterator[tuple[str, str]]:
    accounts = _data_accounts(stack)
    for ws in stack.of_type(azure.ML_WORKSPACE):
        if not _runs_spark(ws):
            continue
        mode = get(ws.props, "managedNetwork.isolationMode")
        if mode is not UNKNOWN and mode != "AllowOnlyApprovedOutbound":
            yield (
                ws.urn,
                f"the workspace runs serverless Spark jobs over the training data, so its managed network must "
                f"allow only approved outbound (managedNetwork.isolationMode is {show(mode)})",
            )
        spark_subresources: set[str] = set()
        for key in sorted(_rules(ws)):
            rule = _rules(ws)[key]
            kind = rule.get("type")
            if kind == "FQDN":
                destination = rule.get("destination")
                if isinstance(destination, str) and _reaches_account(destination, accounts):
                    yield (
                        ws.urn,
                        f"outbound rule {key} reaches the training-data account by name ({destination}) around its "
                        "private endpoints; Spark must reach it only through private blob and dfs endpoint rules",
                    )
            elif kind == "ServiceTag":
                tag = as_dict(rule.get("destination")).get("serviceTag")
                if isinstance(tag, str) and tag.split(".")[0].lower() == "storage":
                    yield (
                        ws.urn,
                        f"outbound rule {key} opens the {tag} service tag, which reaches every storage account "
                        "including the training data; Spark must reach it only through private blob and dfs "
                        "endpoint rules",
                    )
            elif kind == "PrivateEndpoint":
                account = _account_of(get(rule, "destination.serviceResourceId"))
                if account is None or account not in accounts:
                    continue
                target = get(rule, "destination.subresourceTarget")
                if target is UNKNOWN:
                    continue
                if target not in SPARK_SUBRESOURCES:
                    yield (
                        ws.urn,
                        f"outbound rule {key} reaches the training-data account's {show(target)} endpoint; Spark "
                        "reaches it only through private blob and dfs endpoint rules",
                    )
                elif get(rule, "destination.sparkEnabled") is True:
                    spark_subresources.add(str(target))
        missing = [s for s in SPARK_SUBRESOURCES if s not in spark_subresources]
        if accounts and missing:
            yield (
                ws.urn,
                f"the workspace runs serverless Spark jobs over the training data but has no private endpoint "
                f"rule to the account's {' and '.join(missing)} endpoint with sparkEnabled true, so its jobs "
                "cannot reach the zones privately",
            )


def _primary(stack: StackView, ws: Res) -> set[str]:
    """URNs of the workspace's own identity: identities it depends on, created next to it."""
    return {i.urn for i in stack.deps(ws, azure.IDENTITY) if i.parent == ws.parent}


def _reaches_workspace(scope: str, ws: Res) -> bool:
    parts = scope.rstrip("/").lower().split("/")
    joined = "/".join(parts)
    if joined == "" or "/providers/microsoft.management/managementgroups/" in joined:
        return True
    if len(parts) == 3 and parts[1] == "subscriptions":
        return True
    if len(parts) == 5 and parts[3] == "resourcegroups":
        return parts[4] == str(ws.props.get("resourceGroupName", "")).lower()
    name = str(ws.props.get("workspaceName", "")).lower()
    return joined.endswith(f"/providers/microsoft.machinelearningservices/workspaces/{name}")


def _job_submitters(stack: StackView) -> Iterator[tuple[str, str]]:
    spark = [ws for ws in stack.of_type(azure.ML_WORKSPACE) if _attached(ws)]
    for ws in spark:
        own = _primary(stack, ws)
        attached = len(_attached(ws))
        for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
            scope = assignment.props.get("scope")
            if isinstance(scope, str):
                if not _reaches_workspace(scope, ws):
                    continue
            elif ws not in stack.deps(assignment, azure.ML_WORKSPACE):
                continue
            if any(i.urn in own for i in stack.deps(assignment, azure.IDENTITY)):
                continue
            definition = serving_access._definition(stack, assignment)
            if definition is None:
                continue
            kind = assignment.props.get("principalType")
            who = assignment.props.get("principalId")
            principal = (
                f"{kind if isinstance(kind, str) else 'principal'} {who if isinstance(who, str) else '(unknown)'}"
            )
            identities = f"{attached} attached identit{'y' if attached == 1 else 'ies'}"
            if isinstance(definition, str):
                yield (
                    assignment.urn,
                    f"{definition} lets {principal} act on workspace {ws.name}, whose jobs can run as "
                    f"{identities}; the gate cannot tell whether it submits jobs",
                )
                continue
            allowed = [
                action
                for action in JOB_ACTIONS
                if any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in definition.actions)
                and not any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in definition.not_actions)
            ]
            if allowed:
                kinds = ", ".join(a.rsplit("/", 2)[-2] for a in allowed)
                yield (
                    assignment.urn,
                    f"{definition.name} lets {principal} submit jobs ({kinds}) "
                    f"in workspace {ws.name}, whose serverless Spark jobs can run as {identities}: the submitter "
                    "would read and write the zones as that identity",
                )


SPARK_PRIVATE_PATHS = StackRule(
    id="MLSEC-SPK-001",
    name="Serverless Spark reaches the training data only through private blob and dfs endpoints",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Spark jobs read and write the zones from the workspace's managed network. An FQDN or Storage "
    "service-tag rule, another storage endpoint, or an internet-open managed network gives them (and whatever "
    "code they run) a way to the data, or the data a way out, that no private endpoint governs; without "
    "sparkEnabled blob and dfs rules the jobs cannot reach abfss:// paths privately at all "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-managed-network, Configure for serverless Spark "
    "jobs; https://learn.microsoft.com/azure/storage/blobs/data-lake-storage-introduction-abfs-uri).",
    remediation="Keep managedNetwork.isolationMode AllowOnlyApprovedOutbound, reach the training-data account "
    "only through the private endpoint rules data-storage-blob and data-storage-dfs with sparkEnabled true "
    "(workspaces[].spark.pipelineSteps sets them), and remove FQDN or Storage service-tag rules to it.",
    check=_private_paths,
)

SPARK_NO_BORROWED_IDENTITY = StackRule(
    id="MLSEC-SPK-002",
    name="Only the pipeline submits jobs in a workspace whose Spark jobs run as a pipeline identity",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Serverless Spark runs as a user-assigned identity attached to the workspace, and whoever may "
    "create jobs (or schedules that create them) chooses it "
    "(https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-configuration). A person "
    "holding jobs/write there reads the zone the pipeline identity reads (raw personal data, for anonymization) "
    "and writes the zone only that identity may write, which breaks the zones' write rules and their tripwires "
    "(https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning).",
    remediation="Let workspaces[].spark.pipelineSteps remove jobs/write and schedules/write from the workspace's "
    "data-scientist role (the component does), and grant no other role with those actions at the workspace, "
    "its resource group or subscription; submit Spark jobs from the pipeline.",
    suppressible=False,
    check=_job_submitters,
)

RULES = (SPARK_PRIVATE_PATHS, SPARK_NO_BORROWED_IDENTITY)
