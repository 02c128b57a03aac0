"""What the report writers share: the gate's tool name, how a finding's place is shown, and the checkov checks
that have findings."""

from __future__ import annotations

from scripts.gate.evaluate import Finding, Report

TOOL = "mlsec-policy-gate"


def short(urn: str) -> str:
    """A URN as ``PARENT-TYPE::NAME`` (``(stack)`` for the stack as a whole)."""
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[-1]}" if len(parts) >= 4 else urn


def where(finding: Finding) -> str:
    """Where a finding is: its file and line (a secret), else its resource."""
    return f"{finding.file}:{finding.line}" if finding.file else short(finding.urn)


def checkov_rules(report: Report) -> dict[str, tuple[str, str, str]]:
    """checkov check id -> (check name, source, level) for every checkov check with a finding, sorted by id."""
    found: dict[str, tuple[str, str, str]] = {}
    for f in report.findings:
        if f.source.startswith("checkov") and f.rule not in found:
            name = f.message.rsplit(" [", 1)[0]
            found[f.rule] = (name, f.source, f.level)
    return dict(sorted(found.items()))
