"""``policy-report.json``: the summary, every rule with its level in the stack, every finding, and the scans."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from policies.catalog import RULES, RULES_BY_ID
from policies.catalog.governance import ENFORCEMENT_FILE, load_enforcement
from scripts.gate import kql_check
from scripts.gate.checkov import checkov_line, checkov_severity
from scripts.gate.evaluate import Report
from scripts.gate.reports.common import TOOL, checkov_rules


def report_json(report: Report, enforcement_file: Path = ENFORCEMENT_FILE) -> dict[str, Any]:
    enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
    return {
        "tool": TOOL,
        "project": report.project,
        "stack": report.stack,
        "resources": report.resources,
        "summary": {**report.counts(), "exitCode": report.exit_code},
        "rules": [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.value,
                "threat": r.threat.value,
                "level": enforcement.level(r.id, report.stack).value,
                "suppressible": r.suppressible,
            }
            for r in RULES
        ]
        + [
            {
                "id": rule_id,
                "name": name,
                "severity": checkov_severity(rule_id),
                "source": source,
                "level": level,
            }
            for rule_id, (name, source, level) in checkov_rules(report).items()
        ]
        + (
            [
                {
                    "id": kql_check.RULE_ID,
                    "name": kql_check.RULE_NAME,
                    "severity": kql_check.RULE_SEVERITY,
                    "source": "kql",
                    "level": "mandatory",
                }
            ]
            if report.kql
            else []
        ),
        "findings": [asdict(f) for f in report.findings],
        "checkov": {"scans": [asdict(s) for s in report.checkov], "note": checkov_line(report)},
        "kql": {
            "scan": asdict(report.kql) if report.kql else None,
            "note": kql_check.kql_line(report.kql, report.kql_note),
        },
    }


def json_text(report: Report) -> str:
    """``policy-report.json`` as written: two-space indent, final newline."""
    return json.dumps(report_json(report), indent=2) + "\n"
