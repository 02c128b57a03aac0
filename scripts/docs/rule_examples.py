"""Examples for the rule pages, drawn from tested data (see :mod:`scripts.docs.rules`).

- :func:`examples`: per rule, the compliant resource from a shipped plan and the change of the rule's first failing
  case (``tests/policies/cases``), with the exact findings the test asserts;
- :func:`opt_out_snippets`: per opt-out key, the stack-file setting that :mod:`components.config` turns into
  that ``securityOptOuts`` entry, proven by validating it into the dev stack file;
- :func:`stack_changes`: per rule, its stack-file cases (``STACK_CASES``), with what the shipped stack file sets;
- :func:`component_files`: which file under components/ defines each component type.

The cases are test data, imported by name rather than as part of the product.
"""

from __future__ import annotations

import copy
import importlib
import re
from dataclasses import dataclass
from typing import Any

from policies.catalog import RULES
from scripts.common.paths import ROOT
from scripts.common.safeload import read_text

REASON = "<why, at least 20 characters>"
"""The reason placeholder of an opt-out snippet (``components.config`` requires 20 characters or more)."""


@dataclass(frozen=True)
class Example:
    """A compliant resource and the one change a tested case makes to it."""

    case: str
    """Name of the case (its test id)."""
    source: str
    """Which compliant plan the resource comes from."""
    type: str
    name: str
    compliant: dict[str, Any] | None
    """The inputs on the case's path as the plan sets them (None when the case removes the resource)."""
    changed: dict[str, Any] | None
    """The same inputs after the change (None when the case removes the resource)."""
    unset: str | None
    """The input the change removes, if it removes one."""
    notes: tuple[str, ...]
    findings: tuple[tuple[str, str], ...]
    component: str | None
    """The component type that makes the resource, from its URN."""


def _test_data() -> tuple[tuple[Any, ...], tuple[Any, ...], Any]:
    """The tested cases, stack-file cases and their helpers (imported by name: test data, not the product)."""
    cases = importlib.import_module("tests.policies.cases")
    helpers = importlib.import_module("tests.policies.policy_cases")
    return tuple(cases.CASES), tuple(cases.STACK_CASES), helpers


def _keys(path: str) -> list[str | int]:
    """The keys of a case path, as ``tests.policies.policy_cases.mutate`` reads it."""
    parts = path.split("::") if "::" in path else path.split(".")
    return [int(p) if p.isdigit() else p for p in parts]


def _prune(inputs: dict[str, Any], keys: list[str | int], notes: list[str]) -> dict[str, Any]:
    """``inputs`` cut down to the branch along ``keys`` (a list keeps only the element on the path)."""
    node: Any = inputs
    out: dict[str, Any] = {}
    into: Any = out
    shown: list[str] = []
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, dict):
            if key not in node:
                break
            value = node[key]
            into[key] = copy.deepcopy(value) if last else ([] if isinstance(value, list) else {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            value = node[key]
            if len(node) > 1:
                notes.append(f"{'.'.join(shown)} shows only its element {key} of {len(node)}")
            into.append(copy.deepcopy(value) if last else ([] if isinstance(value, list) else {}))
        else:
            break
        into = into[key] if isinstance(into, dict) else into[-1]
        node = value
        shown.append(str(key))
    return out


def _component(urn: str) -> str | None:
    chain = urn.split("::")[2].split("$")[:-1]
    return chain[-1] if chain else None


def _example(case: Any, document: dict[str, Any], source: str, helpers: Any, makers: dict[str, str]) -> Example:
    resource = helpers.resource(document, case.resource)
    notes: list[str] = []
    compliant = changed = None
    unset = None
    if case.path is not None:
        keys = _keys(case.path)
        compliant = _prune(resource["inputs"], keys, notes)
        after = helpers.resource(helpers.mutate(document, case.resource, case.path, case.value), case.resource)
        changed = _prune(after["inputs"], keys, [])
        if case.value is helpers.DELETE:
            unset = case.path
    return Example(
        case=case.name,
        source=source,
        type=resource["type"],
        name=resource["name"],
        compliant=compliant,
        changed=changed,
        unset=unset,
        notes=tuple(dict.fromkeys(notes)),
        findings=tuple(case.expected),
        component=_component(resource["urn"]) or makers.get(resource["type"]),
    )


def examples(plans: dict[str, dict[str, Any]]) -> dict[str, Example]:
    """Rule id -> the example of its first case (one on a shipped plan where the rule has one)."""
    cases, _, helpers = _test_data()
    makers: dict[str, str] = {}  # resource type -> the component that makes it in a shipped plan
    for document in plans.values():
        for resource in document["resources"]:
            component = _component(resource["urn"])
            if component:
                makers.setdefault(resource["type"], component)
    found: dict[str, Example] = {}
    for rule in RULES:
        own = [c for c in cases if c.rule == rule.id]
        shipped = [c for c in own if c.base in plans]
        if shipped:
            case = shipped[0]
            found[rule.id] = _example(case, plans[case.base], f"the shipped {case.base} plan", helpers, makers)
        elif own:
            source = "the hand-built serving stack of the tests (`tests/policies/policy_cases.py`)"
            found[rule.id] = _example(own[0], helpers.serving_plan(), source, helpers, makers)
    return found


# ---------------------------------------------------------------------------------------------
# Stack-file opt-outs, checked by the settings validation
# ---------------------------------------------------------------------------------------------


def _nested(key: str, value: Any) -> dict[str, Any]:
    parts = key.split(".")
    out: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        out = {part: out}
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        merged[key] = _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def opt_out_snippets(keys: set[str], stack: str = "dev") -> dict[str, dict[str, Any]]:
    """Opt-out key -> the stack-file config that declares it, proven by validating it into ``stack``'s file.

    A security control is turned off with ``enabled: false``, a switch on with ``enabled: true``; the snippet is
    the form for which :attr:`components.config.Settings.opt_outs` names the key.
    """
    from components.config import PROJECT, ConfigError, validate
    from scripts.plan.engine import stack_config

    prefix = f"{PROJECT}:"
    values = {k[len(prefix) :]: v for k, v in stack_config(stack, ROOT).items() if str(k).startswith(prefix)}
    found: dict[str, dict[str, Any]] = {}
    for key in sorted(keys):
        for enabled in (False, True):
            setting = _nested(key, {"enabled": enabled, "reason": REASON})
            try:
                settings = validate(_merge(values, setting), stack)
            except ConfigError:
                continue  # not a control or switch, or refused in this form
            if key in settings.opt_outs:
                top, rest = next(iter(setting.items()))
                found[key] = {"config": {f"{prefix}{top}": rest}}
                break
        else:
            raise ValueError(f"opt-out {key}: no stack-file setting of it reaches securityOptOuts")
    return found


@dataclass(frozen=True)
class StackChange:
    """A tested stack-file change that makes the gate report a rule's findings."""

    case: str
    stack: str
    setting: dict[str, Any]
    """The changed key as stack-file config."""
    shipped: Any
    """What the shipped stack file sets there (None: not set)."""
    findings: tuple[tuple[str, str], ...]


def stack_changes() -> dict[str, list[StackChange]]:
    """Rule id -> its stack-file cases (``STACK_CASES`` in ``tests/policies/cases``), with the shipped values."""
    from components.config import PROJECT
    from scripts.plan.engine import stack_config

    _, cases, _ = _test_data()
    found: dict[str, list[StackChange]] = {}
    for case in cases:
        top, *rest = case.key.split(".")
        shipped: Any = stack_config(case.stack, ROOT).get(f"{PROJECT}:{top}")
        for part in rest:
            shipped = shipped.get(part) if isinstance(shipped, dict) else None
        setting = {f"{PROJECT}:{top}": _nested(".".join(rest), case.value) if rest else case.value}
        found.setdefault(case.rule, []).append(
            StackChange(case.name, case.stack, {"config": setting}, shipped, tuple(case.expected))
        )
    return found


def component_files() -> dict[str, str]:
    """Component type token -> the file under components/ that defines it."""
    made = re.compile(r'super\(\)\.__init__\(\s*"([^"]+)"')
    return {
        token: f"components/{path.name}"
        for path in sorted((ROOT / "components").glob("*.py"))
        for token in made.findall(read_text(path, what="component source"))
    }
