"""The table the gate prints: the findings grouped by severity, then one line per scan and the verdict."""

from __future__ import annotations

from scripts.gate import kql_check
from scripts.gate.checkov import checkov_line
from scripts.gate.evaluate import Report
from scripts.gate.reports.common import where

SEVERITIES = ("critical", "high", "medium", "low")


def render_table(report: Report) -> str:
    """The findings grouped by severity, mandatory violations first."""
    lines = [f"{report.project}/{report.stack}: {report.resources} resources, {report.rules} rules"]
    order = {"violation": 0, "accepted": 1, "suppressed": 2}
    for severity in SEVERITIES:
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        lines.append(f"\n{severity.upper()} ({len(group)})")
        group.sort(key=lambda f: (f.level != "mandatory", order[f.status], f.rule, f.urn))
        for f in group:
            state = f.status if f.status != "violation" else f.level
            lines.append(f"  {state:<10} {f.rule:<15} {where(f)}")
            lines.append(f"  {'':<10} {'':<15} {f.message}")
            if f.note:
                lines.append(f"  {'':<10} {'':<15} ({f.note})")
    counts = report.counts()
    lines.append(f"\n{checkov_line(report)}")
    lines.append(kql_check.kql_line(report.kql, report.kql_note))
    lines.append(
        f"{counts['mandatory']} mandatory violations, {counts['advisory']} advisory, {counts['accepted']} accepted "
        f"(declared opt-outs), {counts['suppressed']} suppressed"
    )
    lines.append("FAIL" if report.exit_code else "PASS")
    return "\n".join(lines)
