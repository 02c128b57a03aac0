"""Generate the rule reference: ``python -m scripts.docs.rules [--check]``.

``docs/RULES.md`` is the index; ``docs/rules/<RULE-ID>.md`` is one page per rule with its synopsis (name,
severity, threat, enforcement per stack from ``policies/enforcement.yaml``), rationale, remediation, examples,
mappings and links. Nothing on a page is written by hand:

- the examples come from the rule's first failing case (``tests/policies/cases``), preferring one that
  changes a shipped plan: the compliant snippet is what that plan (dev or prod, built in-process like
  ``python -m scripts.plan``) sets at the case's path on that resource, the non-compliant one is the case's
  change with the exact findings the test asserts;
- where a stack-file opt-out explains the rule's findings (``Rule.opt_out``), the stack-file snippet is
  validated by ``components.config`` against the dev stack file and must reach ``securityOptOuts`` under
  that key; otherwise the page names the component that makes the resource (from the resource's URN).

``--check`` exits 1 when any page or the index is stale, missing or extra (the test suite runs it).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policies.catalog import RULES
from policies.catalog.governance import SUPPRESSION_AUDIT, Enforcement, load_enforcement
from policies.catalog.model import ResourceRule, Rule
from scripts.common.paths import ROOT
from scripts.common.safeload import read_text
from scripts.common.safewrite import write_text

RULES_MD = ROOT / "docs" / "RULES.md"
PAGES = ROOT / "docs" / "rules"
COMMAND = "python -m scripts.docs.rules"
REASON = "<why, at least 20 characters>"
"""The reason placeholder of an opt-out snippet (``components.config`` requires 20 characters or more)."""


def page_path(rule: Rule) -> Path:
    """Where the rule's page lives."""
    return PAGES / f"{rule.id}.md"


# ---------------------------------------------------------------------------------------------
# Examples from the tested cases
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style; text with line breaks as a literal block; no line folding."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=10**6, allow_unicode=True).rstrip("\n")


def _snippet(example: Example, inputs: dict[str, Any] | None, comments: list[str]) -> list[str]:
    body: dict[str, Any] = {"type": example.type, "name": example.name}
    if inputs is not None:
        body["inputs"] = inputs
    return ["```yaml", *(f"# {c}" for c in comments), _yaml(body), "```"]


def _kind(rule: Rule) -> str:
    if isinstance(rule, ResourceRule):
        types = ", ".join(f"`{t}`" for t in rule.types) if rule.types else "every resource that takes tags"
        return f"resource rule on {types}"
    return "stack rule (across resources)"


def _source(rule: Rule) -> Path | None:
    """The catalog file that defines ``rule``."""
    for path in sorted((ROOT / "policies" / "catalog").rglob("*.py")):
        if f'id="{rule.id}"' in read_text(path, what="rule source"):
            return path
    return None


@dataclass(frozen=True)
class Context:
    """What the pages are made from, besides the catalog."""

    enforcement: Enforcement
    examples: dict[str, Example]
    opt_outs: dict[str, dict[str, Any]]
    changes: dict[str, list[StackChange]]
    components: dict[str, str]


def _examples_section(rule: Rule, context: Context) -> list[str]:
    example = context.examples.get(rule.id)
    lines = ["## Examples", ""]
    if example is None:
        if rule is not SUPPRESSION_AUDIT:
            raise ValueError(f"{rule.id} has no failing case in tests/policies/cases to draw its examples from")
        return [
            *lines,
            "No plan example: this rule judges `policies/suppressions.yaml` against the findings of the other rules; "
            "its cases are in `tests/gate/test_policy_gate.py`.",
        ]
    where = f"`{example.name}` in {example.source}"
    lines += ["### Compliant", "", f"What {where} sets (from case `{example.case}`):", ""]
    if example.compliant is None:
        lines += _snippet(example, None, ["the resource is part of the plan"])
    else:
        lines += _snippet(example, example.compliant, list(example.notes))
    lines += ["", "### Non-compliant", ""]
    if example.compliant is None:
        lines += [f"The case removes `{example.name}` from the plan.", ""]
    else:
        comments = list(example.notes)
        if example.unset:
            comments.append(f"{example.unset} removed")
        lines += [f"The case changes `{example.name}`:", "", *_snippet(example, example.changed, comments), ""]
    lines += ["Findings:", ""]
    lines += [f"- `{name}`: {message}" for name, message in example.findings]
    lines += ["", "### Stack file", ""]
    for change in context.changes.get(rule.id, []):
        shipped = "does not set it" if change.shipped is None else f"sets `{json.dumps(change.shipped)}`"
        lines += [
            f"A stack-file value the settings validation accepts but this rule refuses (case `{change.case}`; "
            f"`stacks/Pulumi.{change.stack}.yaml` {shipped}):",
            "",
            "```yaml",
            _yaml(change.setting),
            "```",
            "",
            "Findings on the plan of that stack file:",
            "",
            *(f"- `{name}`: {message}" for name, message in change.findings),
            "",
        ]
    if rule.opt_out:
        lines += [
            f"The stack-file opt-out `{rule.opt_out}` explains this rule's findings: it reaches the stack output "
            "`securityOptOuts`, and the gate accepts the findings where the rule is advisory.",
            "",
            "```yaml",
            _yaml(context.opt_outs[rule.opt_out]),
            "```",
        ]
    else:
        made_by = context.components.get(example.component or "")
        lines.append(
            f"No stack-file opt-out waives this rule; the resource comes from {made_by} "
            f"(component `{example.component}`)."
            if made_by
            else f"No stack-file opt-out waives this rule, and no component of the blueprint makes `{example.type}`."
        )
    return lines


def render_page(rule: Rule, context: Context) -> str:
    """One rule's page."""
    enforcement = context.enforcement
    stacks = sorted(enforcement.stacks)
    source = _source(rule)
    lines = [
        f"# {rule.id}: {rule.name}",
        "",
        f"<!-- Generated by `{COMMAND}` from policies/catalog; do not edit by hand. -->",
        "",
        "[All rules](../RULES.md)",
        "",
        "## Synopsis",
        "",
        f"- Rule: {rule.name}",
        f"- Severity: {rule.severity.value}",
        f"- Threat: {rule.threat.value}",
        f"- Kind: {_kind(rule)}",
        f"- Suppressible: {'yes' if rule.suppressible else 'no'}",
    ]
    if rule.opt_out:
        lines.append(f"- Stack opt-out that explains its findings: `{rule.opt_out}`")
    lines += ["", "| stack | enforcement |", "|---|---|"]
    lines += [f"| {stack} | {enforcement.level(rule.id, stack).value} |" for stack in stacks]
    lines.append(f"| any other stack | {enforcement.level(rule.id, None).value} |")
    if rule.id in enforcement.reasons:
        lines += ["", f"Enforcement override: {enforcement.reasons[rule.id]}"]
    lines += ["", "## Rationale", "", rule.rationale, "", "## Remediation", "", rule.remediation, ""]
    lines += _examples_section(rule, context)
    mappings = [
        ("Azure Policy", rule.mappings.azure_policy),
        ("checkov", rule.mappings.checkov),
        ("PSRule for Azure", rule.mappings.psrule),
    ]
    lines += ["", "## Mappings", ""]
    lines += [f"- {label}: {value or '-'}" for label, value in mappings]
    lines += ["", "## Links", ""]
    if source:
        shown = source.relative_to(ROOT).as_posix()
        lines.append(f"- Rule source: [{shown}](../../{shown})")
        cases = ROOT / "tests" / "policies" / "cases" / source.name
        if source.parent.name == "rules" and cases.is_file():
            shown = cases.relative_to(ROOT).as_posix()
            lines.append(f"- Failing cases: [{shown}](../../{shown})")
    lines += [
        "- Enforcement: [policies/enforcement.yaml](../../policies/enforcement.yaml)",
        "- How the gate runs: [policy-gate.md](../policy-gate.md)",
    ]
    return "\n".join(lines) + "\n"


def render_index(enforcement: Enforcement) -> str:
    """The whole RULES.md text: one row per rule, linked to its page."""
    lines = [
        "# Policy rules",
        "",
        f"Generated from `policies/catalog` by `{COMMAND}`; do not edit by hand.",
        "Each rule has a page in [rules/](rules/) with its rationale, remediation and examples;",
        "`docs/policy-gate.md` explains how the rules run, enforcement and suppressions.",
        "",
        "| id | severity | threat | rule | dev | prod |",
        "|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        lines.append(
            f"| [{rule.id}](rules/{rule.id}.md) | {rule.severity.value} | {rule.threat.value} | {rule.name} | "
            f"{enforcement.level(rule.id, 'dev').value} | {enforcement.level(rule.id, 'prod').value} |"
        )
    return "\n".join(lines) + "\n"


def render(plans: dict[str, dict[str, Any]] | None = None) -> dict[Path, str]:
    """Every generated file and its text. ``plans`` (stack -> plan document) are built when not given."""
    if plans is None:
        from scripts.plan.cli import make_plan

        plans = {stack: make_plan(stack) for stack in ("dev", "prod")}
    context = Context(
        enforcement=load_enforcement(known_rules=[r.id for r in RULES]),
        examples=examples(plans),
        opt_outs=opt_out_snippets({r.opt_out for r in RULES if r.opt_out}),
        changes=stack_changes(),
        components=component_files(),
    )
    files = {RULES_MD: render_index(context.enforcement)}
    for rule in RULES:
        files[page_path(rule)] = render_page(rule, context)
    return files


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def stale(files: dict[Path, str], pages: Path = PAGES) -> list[str]:
    """Generated files that are missing or differ, and files in ``pages`` that no rule generates."""
    problems = [
        f"{_shown(path)} is {'stale' if path.is_file() else 'missing'}"
        for path, text in files.items()
        if not path.is_file() or read_text(path, what="rule reference") != text
    ]
    extra = sorted(p for p in pages.iterdir() if p not in files) if pages.is_dir() else []
    return problems + [f"{_shown(p)} belongs to no rule" for p in extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if docs/RULES.md or a page of docs/rules/ is stale"
    )
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        problems = stale(files)
        for problem in problems:
            print(f"{problem}: run {COMMAND}")
        if not problems:
            print(f"docs/RULES.md and docs/rules/ ({len(files) - 1} pages) are current")
        return 1 if problems else 0
    for path, text in files.items():
        write_text(path, text, what="rule reference")
    extra = sorted(p for p in PAGES.iterdir() if p not in files)
    for path in extra:  # a page of a rule that no longer exists
        path.unlink()
    print(
        f"wrote docs/RULES.md and {len(files) - 1} pages in docs/rules/" + (f", removed {len(extra)}" if extra else "")
    )
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
