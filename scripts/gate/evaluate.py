"""The gate's judgement of one plan: reading and validating the plan, running the rule catalog over it, and the
findings (:class:`Finding`) and :class:`Report` every other part of the gate adds to and writes.

Runs the MLSEC rule catalog - the very pulumi-policy objects the CrossGuard pack (``policies/mlsec``) runs at
``pulumi preview`` - over an offline plan, with the stack's enforcement levels (``policies/enforcement.yaml``) and
the reviewed suppressions (``policies/suppressions.yaml``). This is what rule tests import: no command line, no
scanner, no report format.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.catalog import RULES, RULES_BY_ID, UNSUPPRESSIBLE
from policies.catalog.governance import (
    ENFORCEMENT_FILE,
    SUPPRESSIONS_FILE,
    GovernanceFileError,
    Suppression,
    load_enforcement,
    load_suppressions,
)
from policies.catalog.model import ResourceRule, Rule, canonical_type, unknown_type
from policies.catalog.pack import build_policies
from policies.catalog.values import PLAN_UNKNOWN, ShapeError
from scripts.common.safeload import InputError, read_json

if TYPE_CHECKING:
    from scripts.gate.checkov import CheckovScan
    from scripts.gate.kql_check import KqlScan


class GateError(Exception):
    """The gate cannot judge this input (exit status 2)."""


@dataclass
class Finding:
    """One rule finding on one resource (urn '' for the stack as a whole)."""

    rule: str
    severity: str
    level: str
    """mandatory or advisory: the rule's enforcement level in this stack."""
    urn: str
    message: str
    status: str = "violation"
    """violation, accepted (explained by a declared opt-out, advisory only) or suppressed."""
    note: str = ""
    source: str = "mlsec"
    """mlsec (the rule catalog), checkov-arm (the ARM template) or kql (the alert queries)."""
    file: str = ""
    """For a finding located in a file rather than on a resource: the file (relative to the repository) and line."""
    line: int = 0


@dataclass
class Report:
    project: str
    stack: str
    resources: int
    rules: int
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    checkov: list[CheckovScan] = field(default_factory=list)
    """The checkov scans that ran (none with --no-checkov)."""
    checkov_note: str = ""
    """Why checkov did not run, when it did not."""
    kql: KqlScan | None = None
    """The KQL analysis of the alert queries (None with --no-kql)."""
    kql_note: str = ""
    """Why the KQL analysis did not run, when it did not."""

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "violation" and f.level == "mandatory"]

    def counts(self) -> dict[str, int]:
        counted = Counter(f"{f.level} {f.status}" if f.status == "violation" else f.status for f in self.findings)
        return {
            "mandatory": counted["mandatory violation"],
            "advisory": counted["advisory violation"],
            "accepted": counted["accepted"],
            "suppressed": counted["suppressed"],
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0


def _engine_props(value: Any) -> Any:
    """Plan inputs as CrossGuard hands them to a policy: unknowns as the engine's sentinel, in its proxies."""
    if isinstance(value, dict):
        return {k: _engine_props(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_props(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == PLAN_UNKNOWN else value


def _options(resource: dict[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        bool(resource.get("protect")), [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.get("parent") or None
    )


def read_plan(path: Path) -> dict[str, Any]:
    """The plan document at ``path``: read with the fail-closed JSON reader (size cap, strict UTF-8, no duplicate
    keys, bounded nesting), then checked for the shape of a plan (:func:`prepare_plan`)."""
    try:
        document = read_json(path, what="plan")
    except InputError as exc:
        raise GateError(str(exc)) from None
    return prepare_plan(document, str(path))


_RESOURCE_STRINGS = ("urn", "type", "name")


def _kind(value: Any) -> str:
    """What a JSON value is, for a message (never the value itself)."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _validate_plan(document: Any, source: str) -> list[dict[str, Any]]:
    """The resources of a plan document; GateError naming the resource and key for anything not shaped like a
    plan: a security gate that cannot read a resource must not pass it."""
    if not isinstance(document, dict):
        raise GateError(f"{source}: not a plan document (expected an object, found {_kind(document)})")
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise GateError(f"{source}: not a plan document (expected a 'resources' list, found {_kind(resources)})")
    if not resources:
        raise GateError(f"{source}: the plan has no resources; a gate that sees nothing cannot pass")
    seen: set[str] = set()
    for i, r in enumerate(resources):
        if not isinstance(r, dict):
            raise GateError(f"{source}: resources[{i}] must be an object (found {_kind(r)})")
        missing = [k for k in (*_RESOURCE_STRINGS, "inputs") if k not in r]
        if missing:
            raise GateError(f"{source}: resources[{i}] lacks {', '.join(missing)}")
        for key in _RESOURCE_STRINGS:
            if not isinstance(r[key], str) or not r[key]:
                found = _kind(r[key])
                raise GateError(f"{source}: resources[{i}] key '{key}' must be a non-empty string (found {found})")
        where = f"{source}: resource {r['urn']} (resources[{i}])"
        if r["urn"] in seen:
            raise GateError(f"{where}: the URN appears twice; the engine registers each URN once")
        seen.add(r["urn"])
        if not isinstance(r["inputs"], dict):
            raise GateError(f"{where}: key 'inputs' must be an object (found {_kind(r['inputs'])})")
        if r.get("parent") is not None and not isinstance(r["parent"], str):
            raise GateError(f"{where}: key 'parent' must be a URN (found {_kind(r['parent'])})")
        dependencies = r.get("dependencies", [])
        if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
            raise GateError(f"{where}: key 'dependencies' must be a list of URNs (found {_kind(dependencies)})")
        if not isinstance(r.get("protect", False), bool):
            raise GateError(f"{where}: key 'protect' must be a boolean (found {_kind(r['protect'])})")
        if unknown_type(r["type"]):
            raise GateError(
                f"{where}: type {r['type']!r} is an azure-native type the gate has no rules for; a resource no rule "
                "examined cannot pass (add the type to scripts/plan/arm_types.py and review the catalog's rules for it)"
            )
    outputs = document.get("outputs", {})
    if not isinstance(outputs, dict):
        raise GateError(f"{source}: key 'outputs' must be an object (found {_kind(outputs)})")
    for key in OBJECT_OUTPUTS:
        if key in outputs and not isinstance(outputs[key], dict):
            raise GateError(f"{source}: stack output '{key}' must be an object (found {_kind(outputs[key])})")
    return resources


OBJECT_OUTPUTS = ("securityOptOuts",)
"""Stack outputs the gate reads, which are objects (the declared security opt-outs, by key)."""


def prepare_plan(document: Any, source: str) -> dict[str, Any]:
    """``document`` checked for the shape of a plan, with every resource's type token in the catalog's spelling
    (``policies.catalog.model.canonical_type``): an API-version module or a change of letter case does not take a
    resource out of the rules' reach, here or in the ARM export and the KQL analysis that read the same plan."""
    resources = _validate_plan(document, source)
    return {**document, "resources": [{**r, "type": canonical_type(r["type"])} for r in resources]}


def evaluate(
    document: dict[str, Any],
    *,
    source: str = "plan",
    enforcement_file: Path = ENFORCEMENT_FILE,
    suppressions_file: Path = SUPPRESSIONS_FILE,
    today: dt.date | None = None,
    stack: str | None = None,
    rules: Sequence[Rule] = RULES,
) -> Report:
    """Run every rule over ``document`` (a plan.json document) and return the findings.

    ``stack`` overrides the plan's stack name for enforcement and suppressions; ``rules`` narrows the run.
    """
    started = time.perf_counter()
    document = prepare_plan(document, source)
    resources = document["resources"]
    stack_name = stack or str(document.get("stack") or "")
    try:
        enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
        suppressions = load_suppressions(
            suppressions_file, unsuppressible=UNSUPPRESSIBLE, known_rules=RULES_BY_ID, stack=stack_name, today=today
        )
    except GovernanceFileError as exc:
        raise GateError(str(exc)) from None
    report = Report(str(document.get("project", "")), stack_name, len(resources), len(rules))
    opt_outs = document.get("outputs", {}).get("securityOptOuts", {})

    def level_of(rule: Rule) -> str:
        return enforcement.level(rule.id, stack_name).value

    def add(rule: Rule, urn: str, message: str) -> None:
        finding = Finding(rule.id, rule.severity.value, level_of(rule), urn, message)
        if rule.opt_out and rule.opt_out in opt_outs:
            reason = opt_outs[rule.opt_out]
            if finding.level == "advisory":
                finding.status, finding.note = "accepted", f"opt-out {rule.opt_out}: {reason}"
            else:
                finding.note = f"opt-out {rule.opt_out} is declared, but the rule is mandatory in this stack"
        report.findings.append(finding)

    def suppressed(rule: Rule, urn: str, message: str, entry: Suppression) -> None:
        note = f"{entry.label}, owner {entry.owner}, expires {entry.expires.isoformat()}: {entry.reason}"
        report.findings.append(
            Finding(rule.id, rule.severity.value, level_of(rule), urn, message, status="suppressed", note=note)
        )

    policies = build_policies(stack_name, enforcement, suppressions, suppressed, rules)
    live = [p for p in policies if p.enforcement_level != EnforcementLevel.DISABLED]
    prepared = [(r, unknown_checking_proxy(_engine_props(r["inputs"]))) for r in resources]
    # One argument object per resource, handed to every resource policy (as the engine hands each resource to
    # the pack), so the pack converts its properties once; only the resources of a rule's types are visited.
    resource_args = [
        (r, ResourceValidationArgs(r["type"], props, r["urn"], r["name"], _options(r), None)) for r, props in prepared
    ]
    for policy in live:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]
        assert isinstance(rule, ResourceRule)
        for resource, args in resource_args:
            if not rule.applies_to(resource["type"]):
                continue

            def report_violation(
                message: str, urn: str | None = None, *, _rule: Rule = rule, _urn: str = resource["urn"]
            ) -> None:
                add(_rule, urn or _urn, message)

            try:
                policy.validate(args, report_violation)
            except ShapeError as exc:
                raise GateError(f"{source}: resource {resource['urn']}: {exc} (rule {rule.id})") from None
            except _UNREADABLE as exc:
                raise GateError(
                    f"{source}: resource {resource['urn']}: rule {rule.id} cannot read its inputs "
                    f"({type(exc).__name__}): a property holds a value of an unexpected kind"
                ) from None
    stack_args = StackValidationArgs(_policy_resources(prepared))
    for policy in live:
        if not isinstance(policy, StackValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]

        def report_stack(message: str, urn: str | None = None, *, _rule: Rule = rule) -> None:
            add(_rule, urn or "", message)

        try:
            policy.validate(stack_args, report_stack)
        except ShapeError as exc:
            raise GateError(f"{source}: {_shape_culprit(resources, exc.path)}{exc} (rule {rule.id})") from None
        except _UNREADABLE as exc:
            raise GateError(
                f"{source}: rule {rule.id} cannot read the stack ({type(exc).__name__}): a resource property holds "
                "a value of an unexpected kind"
            ) from None
    report.seconds = time.perf_counter() - started
    return report


_UNREADABLE = (TypeError, AttributeError, ValueError, KeyError, IndexError)
"""What a rule raises when a property holds a value of another kind than the provider's schema allows."""


def _shape_culprit(resources: list[dict[str, Any]], path: str) -> str:
    """``resource URN: `` for the first resource whose inputs hold a non-object at ``path`` (a stack rule's
    :class:`ShapeError` does not know its resource)."""
    for r in resources:
        current: Any = r["inputs"]
        for key in path.split("."):
            current = current.get(key) if isinstance(current, dict) else None
        if current is not None and current != PLAN_UNKNOWN and not isinstance(current, dict):
            return f"resource {r['urn']}: "
    return ""


def _policy_resources(prepared: list[tuple[dict[str, Any], Any]]) -> list[PolicyResource]:
    """The stack as CrossGuard's AnalyzeStack builds it: parents and dependencies as resource objects."""
    built = {
        r["urn"]: PolicyResource(r["type"], props, r["urn"], r["name"], _options(r), None, None, [], {})
        for r, props in prepared
    }
    for r, _ in prepared:
        resource = built[r["urn"]]
        resource.parent = built.get(r.get("parent") or "")
        resource.dependencies = [built[d] for d in r.get("dependencies", []) if d in built]
    return list(built.values())
