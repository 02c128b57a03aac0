"""Generate docs/RULES.md from the catalog: ``python -m policies.catalog.docs`` (``--check`` to verify)."""

from __future__ import annotations

import argparse
import sys

from policies.catalog import RULES
from policies.catalog.governance import load_enforcement
from policies.catalog.model import ResourceRule, Rule
from scripts.common.paths import ROOT
from scripts.common.safeload import read_text
from scripts.common.safewrite import write_text

RULES_MD = ROOT / "docs" / "RULES.md"


def _kind(rule: Rule) -> str:
    if isinstance(rule, ResourceRule):
        types = ", ".join(f"`{t}`" for t in rule.types) if rule.types else "every resource that takes tags"
        return f"resource rule on {types}"
    return "stack rule (across resources)"


def render() -> str:
    """The whole RULES.md text."""
    enforcement = load_enforcement(known_rules=[r.id for r in RULES])
    lines = [
        "# Policy rules",
        "",
        "Generated from `policies/catalog` by `python -m policies.catalog.docs`; do not edit by hand.",
        "`docs/policy-gate.md` explains how the rules run, enforcement and suppressions.",
        "",
        "| id | severity | threat | rule | dev | prod |",
        "|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        anchor = rule.id.lower()
        lines.append(
            f"| [{rule.id}](#{anchor}) | {rule.severity.value} | {rule.threat.value} | {rule.name} | "
            f"{enforcement.level(rule.id, 'dev').value} | {enforcement.level(rule.id, 'prod').value} |"
        )
    for rule in RULES:
        lines += ["", f"## {rule.id}", "", f"**{rule.name}**", ""]
        lines.append(f"- Severity: {rule.severity.value}; threat: {rule.threat.value}; {_kind(rule)}")
        lines.append(f"- Suppressible: {'yes' if rule.suppressible else 'no'}")
        if rule.opt_out:
            lines.append(f"- Stack opt-out that explains its findings: `{rule.opt_out}`")
        if rule.id in enforcement.reasons:
            lines.append(f"- Enforcement override: {enforcement.reasons[rule.id]}")
        lines += ["", f"Rationale: {rule.rationale}", "", f"Remediation: {rule.remediation}", ""]
        mappings = [
            ("Azure Policy", rule.mappings.azure_policy),
            ("checkov", rule.mappings.checkov),
            ("PSRule for Azure", rule.mappings.psrule),
        ]
        lines.append("Mappings: " + "; ".join(f"{label}: {value or '-'}" for label, value in mappings))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.catalog.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/RULES.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = not RULES_MD.is_file() or read_text(RULES_MD, what="rule reference") != text
        print("docs/RULES.md is stale: run python -m policies.catalog.docs" if stale else "docs/RULES.md is current")
        return 1 if stale else 0
    write_text(RULES_MD, text, what="rule reference")
    print(f"wrote {RULES_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
