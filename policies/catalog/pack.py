"""Turn the catalog into pulumi-policy objects: the ones ``pulumi preview --policy-pack`` runs and the
offline gate calls. Suppressions are applied inside the validate functions, so both runners honour
the same file the same way."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.catalog import RULES
from policies.catalog.governance import Enforcement, Suppression, Suppressions
from policies.catalog.model import Res, ResourceRule, Rule, StackRule, StackView
from policies.catalog.values import plain

PACK_NAME = "mlsec"
RULES_DOCS = "docs/rules"

OnSuppressed = Callable[[Rule, str, str, Suppression], None]
"""Called with (rule, urn, message, suppression) for a finding a suppression silenced."""


def rule_url(rule: Rule) -> str:
    """Where the rule is documented (relative to the repository root)."""
    return f"{RULES_DOCS}/{rule.id}.md"


_CONVERTED: weakref.WeakKeyDictionary[ResourceValidationArgs, Res] = weakref.WeakKeyDictionary()
"""Resources already converted, by their argument object (an entry lives as long as that object): every resource
policy handed the same object converts it once."""


def res_from_args(args: ResourceValidationArgs) -> Res:
    res = _CONVERTED.get(args)
    if res is None:
        parent = getattr(args.opts, "parent", None)
        res = _CONVERTED[args] = Res(args.resource_type, args.urn, args.name, plain(args.props), parent or None)
    return res


def res_from_policy_resource(resource: PolicyResource) -> Res:
    return Res(
        resource.resource_type,
        resource.urn,
        resource.name,
        plain(resource.props),
        resource.parent.urn if resource.parent is not None else None,
        tuple(d.urn for d in resource.dependencies),
    )


def _report(
    rule: Rule,
    urn: str,
    message: str,
    report_violation: ReportViolation,
    suppressions: Suppressions | None,
    on_suppressed: OnSuppressed | None,
) -> None:
    hit = suppressions.match(rule.id, urn) if suppressions is not None else None
    if hit is None:
        report_violation(message, urn or None)
    elif on_suppressed is not None:
        on_suppressed(rule, urn, message, hit)


def _resource_validation(
    rule: ResourceRule, suppressions: Suppressions | None, on_suppressed: OnSuppressed | None
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        for message in rule.run(res_from_args(args)):
            _report(rule, args.urn, message, report_violation, suppressions, on_suppressed)

    return validate


_VIEWS: weakref.WeakKeyDictionary[StackValidationArgs, dict[int, StackView]] = weakref.WeakKeyDictionary()
"""Stack views built, by the argument object they were built from (an entry lives as long as that object): every
stack policy handed the same object converts and indexes the stack once instead of once per rule."""


def stack_view(args: StackValidationArgs, suppressions: Suppressions | None) -> StackView:
    """The :class:`StackView` of ``args.resources`` with ``suppressions``, built once per argument object."""
    views = _VIEWS.setdefault(args, {})
    view = views.get(id(suppressions))
    if view is None or view.suppressions is not suppressions:
        view = views[id(suppressions)] = StackView([res_from_policy_resource(r) for r in args.resources], suppressions)
    return view


def _stack_validation(
    rule: StackRule, suppressions: Suppressions | None, on_suppressed: OnSuppressed | None
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        view = stack_view(args, suppressions)
        for urn, message in rule.run(view):
            _report(rule, urn, message, report_violation, suppressions, on_suppressed)

    return validate


def _metadata(rule: Rule, enforcement: Enforcement, stack: str | None) -> dict[str, Any]:
    tags = [rule.area.lower(), f"threat:{rule.threat.value}"]
    if not rule.suppressible:
        tags.append("unsuppressible")
    return {
        "name": rule.id,
        "description": rule.name,
        "display_name": f"{rule.id} {rule.name}",
        "enforcement_level": enforcement.level(rule.id, stack),
        "severity": rule.severity,
        "framework": PolicyComplianceFramework(
            name="secure-ml threat model", version="1", reference=rule.threat.value, specification=rule.rationale
        ),
        "tags": tags,
        "remediation_steps": rule.remediation,
        "url": rule_url(rule),
    }


def build_policies(
    stack: str | None,
    enforcement: Enforcement,
    suppressions: Suppressions | None,
    on_suppressed: OnSuppressed | None = None,
    rules: Sequence[Rule] = RULES,
) -> list[Policy]:
    """One pulumi-policy object per rule, with the stack's enforcement levels and the suppressions applied."""
    policies: list[Policy] = []
    for rule in rules:
        meta = _metadata(rule, enforcement, stack)
        if isinstance(rule, ResourceRule):
            policies.append(
                ResourceValidationPolicy(validate=_resource_validation(rule, suppressions, on_suppressed), **meta)
            )
        elif isinstance(rule, StackRule):
            policies.append(
                StackValidationPolicy(validate=_stack_validation(rule, suppressions, on_suppressed), **meta)
            )
    return policies


def pack_level(enforcement: Enforcement, stack: str | None) -> EnforcementLevel:
    """The pack-wide default level for ``stack``."""
    return enforcement.stacks.get(stack, enforcement.default) if stack is not None else enforcement.default
