"""Rules that read the plan itself for what the stack-file validator checks in the config.

A fork can change the code that renders a gateway policy or grants roles without touching the stack file,
so the validator never sees it. These rules check the rendered result: the per-caller limits inside every
gateway policy, and the writers of every data zone, at any scope that reaches it.
"""

from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, StackRule, StackView, Threat
from policies.catalog.values import as_list, get

# ---------------------------------------------------------------------------------------------
# Per-caller limits inside every rendered gateway policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one caller may do per environment (mirrors components.config.ENVIRONMENT_LIMITS)."""

    max_rate_limit_calls_per_minute: int
    max_quota_calls_per_day: int


ENVIRONMENT_LIMITS: dict[str, Limits] = {
    "dev": Limits(600, 100_000),
    "test": Limits(1_200, 500_000),
    "prod": Limits(6_000, 5_000_000),
}
"""Per-caller maxima by environment; a test keeps them equal to the stack-file validator's."""

MAX_RATE_LIMIT_PERIOD = 300
"""Longest rate-limit renewal period the validator accepts (seconds)."""
MIN_QUOTA_PERIOD = 3600
"""Shortest quota renewal period the validator accepts (seconds)."""

_RATE_LIMITS = ("rate-limit-by-key", "rate-limit")
_QUOTAS = ("quota-by-key", "quota")
_POLICY_TYPES = (azure.APIM_GLOBAL_POLICY, *azure.APIM_SCOPED_POLICIES)


def _environment(stack: StackView) -> str:
    """The stack's environment from its tags; the strictest (dev) when it is missing or ambiguous."""
    found = {r.tag("environment") for r in stack.resources}
    known = {e for e in found if isinstance(e, str) and e in ENVIRONMENT_LIMITS}
    return known.pop() if len(known) == 1 else "dev"


def _number(element: ET.Element, attribute: str) -> int | None:
    text = element.get(attribute)
    return int(text) if text is not None and text.strip().isdigit() else None


def _count(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.2f}"


def _limit_problems(element: ET.Element, env: str, limits: Limits) -> Iterator[str]:
    calls, period = _number(element, "calls"), _number(element, "renewal-period")
    tag = element.tag
    if calls is None or not period:
        yield f"<{tag}> has no literal calls and renewal-period, so its limit cannot be verified"
        return
    if tag in _RATE_LIMITS:
        per_minute = calls * 60 / period
        if period > MAX_RATE_LIMIT_PERIOD:
            yield f"<{tag}> renewal-period {period} s exceeds {MAX_RATE_LIMIT_PERIOD} s"
        if per_minute > limits.max_rate_limit_calls_per_minute:
            yield (
                f"<{tag}> allows {_count(per_minute)} calls per minute per caller; {env} allows at most "
                f"{limits.max_rate_limit_calls_per_minute}"
            )
    else:
        per_day = calls * 86400 / period
        if period < MIN_QUOTA_PERIOD:
            yield f"<{tag}> renewal-period {period} s is shorter than {MIN_QUOTA_PERIOD} s"
        if per_day > limits.max_quota_calls_per_day:
            yield (
                f"<{tag}> allows {_count(per_day)} calls per day per caller; {env} allows at most "
                f"{limits.max_quota_calls_per_day}"
            )


def _policy_limits(stack: StackView) -> Iterator[tuple[str, str]]:
    env = _environment(stack)
    limits = ENVIRONMENT_LIMITS[env]
    for policy in stack.of_type(*_POLICY_TYPES):
        text = policy.props.get("value")
        if not isinstance(text, str):
            continue  # unknown at preview, or a linked policy document
        try:
            root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
        except ET.ParseError:
            continue  # MLSEC-APIM-010 reports a policy that is not XML
        for element in root.iter():
            if element.tag in _RATE_LIMITS or element.tag in _QUOTAS:
                for problem in _limit_problems(element, env, limits):
                    yield policy.urn, f"{policy.name}: {problem}"


POLICY_LIMITS = StackRule(
    id="MLSEC-APIM-030",
    name="Every per-caller rate limit and quota in a gateway policy stays within the environment's maximum",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="The stack-file validator caps gateway.rateLimit and gateway.quota per environment, but a changed "
    "policy template can render any number: a per-caller limit raised a hundredfold makes model extraction a "
    "hundred times cheaper while the stack file still looks right. The gate reads the rendered policy.",
    remediation="Render rate-limit-by-key and quota-by-key from gateway.rateLimit and gateway.quota (literal calls "
    "and renewal-period), within the environment's maxima in components/config/settings.py ENVIRONMENT_LIMITS.",
    check=_policy_limits,
)

# ---------------------------------------------------------------------------------------------
# One writer per data zone, at any scope that reaches it
# ---------------------------------------------------------------------------------------------

ZONE_PURPOSES = ("quarantine", "raw", "anonymized", "curated", "models")
"""Zone purposes of the training-data account (metadata ``zone`` of its containers)."""

BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
"""The data action that writes a blob."""

WRITER_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}
"""Built-in roles whose data actions include blob writes."""


def _custom_writer_roles(stack: StackView) -> dict[str, Res]:
    """Custom role definitions of the plan that can write blobs, by the URN of their definition."""
    found = {}
    for definition in stack.of_type(azure.ROLE_DEFINITION):
        for permission in as_list(definition.props.get("permissions")):
            if not isinstance(permission, dict):
                continue
            allowed = [a for a in as_list(permission.get("dataActions")) if isinstance(a, str)]
            denied = [a for a in as_list(permission.get("notDataActions")) if isinstance(a, str)]
            if any(fnmatch.fnmatch(BLOB_WRITE.lower(), a.lower()) for a in allowed) and not any(
                fnmatch.fnmatch(BLOB_WRITE.lower(), d.lower()) for d in denied
            ):
                found[definition.urn] = definition
    return found


def _reaches(scope: str, container: Res) -> bool:
    """Whether a role assigned at ``scope`` applies to ``container`` (the plan has one subscription)."""
    scope = scope.rstrip("/").lower()
    account = str(container.props.get("accountName", "")).lower()
    name = str(container.props.get("containerName", "")).lower()
    group = str(container.props.get("resourceGroupName", "")).lower()
    parts = scope.split("/")
    if "/providers/microsoft.management/managementgroups/" in scope or scope == "":
        return True
    if len(parts) == 3 and parts[1] == "subscriptions":
        return True
    if len(parts) == 5 and parts[3] == "resourcegroups":
        return parts[4] == group
    if f"/storageaccounts/{account}" not in scope:
        return False
    tail = scope.split(f"/storageaccounts/{account}", 1)[1]
    return tail in ("", "/blobservices/default", f"/blobservices/default/containers/{name}")


def _is_writer(stack: StackView, assignment: Res, custom: dict[str, Res]) -> bool:
    if azure.role_guid(assignment.props.get("roleDefinitionId")) in WRITER_ROLES:
        return True
    return any(d.urn in custom for d in stack.deps(assignment, azure.ROLE_DEFINITION))


def _writer_key(stack: StackView, assignment: Res) -> str | None:
    """The principal an assignment is for: its principal ID, else (at preview) the identity it depends on."""
    principal = assignment.props.get("principalId")
    if isinstance(principal, str) and principal:
        return principal
    identities = stack.deps(assignment, azure.IDENTITY)
    return identities[0].urn if identities else None


def _single_writer(stack: StackView) -> Iterator[tuple[str, str]]:
    containers = [
        c
        for c in stack.of_type(azure.BLOB_CONTAINER)
        if c.within(azure.DATA_STORAGE_COMPONENT) and get(c.props, "metadata.zone") in ZONE_PURPOSES
    ]
    custom = _custom_writer_roles(stack)
    writers: dict[str, dict[str, str]] = {c.urn: {} for c in containers}
    undecided: set[str] = set()
    for assignment in stack.of_type(azure.ROLE_ASSIGNMENT):
        if not _is_writer(stack, assignment, custom):
            continue
        scope = assignment.props.get("scope")
        if isinstance(scope, str):
            reached = [c for c in containers if _reaches(scope, c)]
        else:  # unknown at preview: the containers it depends on, else it could be any
            reached = [c for c in stack.deps(assignment, azure.BLOB_CONTAINER) if c.urn in writers]
            if not reached:
                undecided |= set(writers)
        key = _writer_key(stack, assignment)
        for container in reached:
            if key is None:
                undecided.add(container.urn)
            else:
                writers[container.urn][key] = assignment.name
    for container in containers:
        found = writers[container.urn]
        zone = get(container.props, "metadata.zone")
        if len(found) > 1:
            by = ", ".join(sorted(found.values()))
            yield container.urn, f"zone {zone} has {len(found)} writing principals (role assignments {by})"
        elif not found and container.urn not in undecided:
            yield container.urn, f"zone {zone} has no writing principal"


SINGLE_WRITER = StackRule(
    id="MLSEC-DATA-020",
    name="Every data zone has exactly one writing principal, at any scope that reaches it",
    severity=Severity.HIGH,
    threat=Threat.POISONING,
    rationale="Each zone's tripwire alert fires on writes by anyone but its one writer; a second principal with "
    "write access - granted on the container, the account, the resource group or the subscription - can poison "
    "the zone while the tripwire names it the writer, or is simply never watched.",
    remediation="Grant Storage Blob Data Contributor on a zone container only to that zone's pipeline identity "
    "(components/zones.py WRITES); give every other principal a reader role, or a container of its own.",
    suppressible=False,
    check=_single_writer,
)

RULES = (POLICY_LIMITS, SINGLE_WRITER)
