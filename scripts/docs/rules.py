"""Generate the rule reference: ``python -m scripts.docs.rules [--check]``.

``docs/RULES.md`` is the index; ``docs/rules/<RULE-ID>.md`` is one page per rule with its synopsis (name,
severity, threat, enforcement per stack from ``policies/enforcement.yaml``), rationale, remediation, examples,
mappings and links. Nothing on a page is written by hand (:mod:`scripts.docs.rule_examples` derives the examples):

- the compliant and non-compliant snippets come from the rule's first failing case (``tests/policies/cases``),
  preferring one that changes a shipped plan: what that plan (dev or prod, built in-process like
  ``python -m scripts.plan``) sets at the case's path on that resource, and the case's change with the exact
  findings the test asserts;
- the stack-file snippets are the rule's stack-file cases (values the settings validation accepts but the rule
  refuses, planned by the tests) and, where a stack-file opt-out explains the rule's findings (``Rule.opt_out``),
  the setting that ``components.config`` turns into that ``securityOptOuts`` entry; a rule with no opt-out names
  the component that makes the resource (from the resource's URN).

``--check`` exits 1 when any page or the index is stale, missing or extra (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policies.catalog import RULES
from policies.catalog.governance import KNOWN_TYPES_ONLY, SUPPRESSION_AUDIT, Enforcement, load_enforcement
from policies.catalog.model import ResourceRule, Rule
from scripts.common.paths import ROOT
from scripts.common.safeload import read_text
from scripts.common.safewrite import write_text
from scripts.docs.rule_examples import (
    Example,
    StackChange,
    component_files,
    examples,
    opt_out_snippets,
    stack_changes,
)

RULES_MD = ROOT / "docs" / "RULES.md"
PAGES = ROOT / "docs" / "rules"
COMMAND = "python -m scripts.docs.rules"


def page_path(rule: Rule) -> Path:
    """Where the rule's page lives."""
    return PAGES / f"{rule.id}.md"


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
        if rule is SUPPRESSION_AUDIT:
            return [
                *lines,
                "No plan example: this rule judges `policies/suppressions.yaml` against the findings of the other "
                "rules; its cases are in `tests/gate/test_policy_gate.py`.",
            ]
        if rule is KNOWN_TYPES_ONLY:
            return [
                *lines,
                "No plan example: the offline gate refuses a plan with a type it does not know before any rule runs "
                "(exit 2), so this rule fires only under `pulumi preview`; its cases are in "
                "`tests/gate/test_policy_gate.py`.",
            ]
        raise ValueError(f"{rule.id} has no failing case in tests/policies/cases to draw its examples from")
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
