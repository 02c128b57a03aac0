"""``policy-report.sarif``: SARIF 2.1.0 for GitHub code scanning, one run per tool (the catalog, checkov, the KQL
check), built as the plain JSON structure the SARIF 2.1.0 schema describes."""

from __future__ import annotations

import json
from typing import Any

from policies.catalog import RULES
from policies.catalog.pack import PACK_NAME, rule_url
from scripts.gate import kql_check
from scripts.gate.checkov import CHECKOV_DOCS, checkov_severity
from scripts.gate.evaluate import Finding, Report
from scripts.gate.reports.common import TOOL, checkov_rules, where

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _sarif_level(finding: Finding) -> str:
    if finding.status != "violation":
        return "note"
    return "error" if finding.level == "mandatory" else "warning"


_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def report_sarif(report: Report, artifact: str) -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one result per finding, located at the stack file (a secret: at its
    file). Runs: the gate's catalog, then checkov (the template) and the KQL check when they ran."""
    rules = [
        {
            "id": r.id,
            "name": "".join(w.capitalize() for w in r.name.split()[:8] if w.isalnum()) or r.id,
            "shortDescription": {"text": r.name},
            "fullDescription": {"text": r.rationale},
            "help": {"text": r.remediation, "markdown": f"**Remediation:** {r.remediation}"},
            "helpUri": rule_url(r),
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", r.threat.value, r.area.lower()],
                "security-severity": _SECURITY_SEVERITY[r.severity.value],
                "precision": "very-high",
            },
        }
        for r in RULES
    ]
    checkov_entries = [
        {
            "id": rule_id,
            "name": rule_id.replace("_", ""),
            "shortDescription": {"text": name},
            "fullDescription": {"text": f"checkov {source.split('-')[1]} check {rule_id}: {name}"},
            "help": {"text": f"See the checkov policy index for {rule_id}."},
            "helpUri": CHECKOV_DOCS,
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "checkov", source.split("-")[1]],
                "security-severity": _SECURITY_SEVERITY[checkov_severity(rule_id)],
                "precision": "high",
            },
        }
        for rule_id, (name, source, _) in checkov_rules(report).items()
    ]
    runs = [
        _sarif_run(
            TOOL,
            "1.0.0",
            "docs/policy-gate.md",
            rules,
            [f for f in report.findings if f.source == "mlsec"],
            f"{PACK_NAME}/{report.stack}/",
            report,
            artifact,
        )
    ]
    if report.checkov:
        runs.append(
            _sarif_run(
                "checkov",
                report.checkov[0].version,
                "https://www.checkov.io",
                checkov_entries,
                [f for f in report.findings if f.source.startswith("checkov")],
                f"{PACK_NAME}-checkov/{report.stack}/",
                report,
                artifact,
            )
        )
    if report.kql:
        kql_rule = {
            "id": kql_check.RULE_ID,
            "name": "AlertQueriesBindToDocumentedSchemas",
            "shortDescription": {"text": kql_check.RULE_NAME},
            "fullDescription": {"text": kql_check.RULE_RATIONALE},
            "help": {"text": kql_check.RULE_REMEDIATION, "markdown": f"**Remediation:** {kql_check.RULE_REMEDIATION}"},
            "helpUri": kql_check.RULE_DOCS,
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "detection", "kql"],
                "security-severity": _SECURITY_SEVERITY[kql_check.RULE_SEVERITY],
                "precision": "very-high",
            },
        }
        runs.append(
            _sarif_run(
                "mlsec-kql",
                report.kql.library.rsplit(" ", 1)[-1],
                "docs/policy-gate.md",
                [kql_rule],
                [f for f in report.findings if f.source == "kql"],
                f"{PACK_NAME}-kql/{report.stack}/",
                report,
                artifact,
            )
        )
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def _sarif_run(
    name: str,
    version: str,
    information: str,
    rules: list[dict[str, Any]],
    findings: list[Finding],
    automation: str,
    report: Report,
    artifact: str,
) -> dict[str, Any]:
    """One SARIF run: the catalog's findings (the gate), checkov's (the template) or the KQL check's."""
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f in findings:
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": f.file or artifact, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": f.line or 1},
            }
        }
        if not f.file:
            location["logicalLocations"] = [{"fullyQualifiedName": f.urn or report.stack, "kind": "resource"}]
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _sarif_level(f),
            "message": {"text": f"{f.message} [{where(f)}]"},
            "locations": [location],
            "partialFingerprints": {"mlsecFinding/v1": f"{f.rule}|{f.urn or f.file}|{f.message}"},
        }
        if f.status == "suppressed" and f.source == "checkov-arm":
            result["suppressions"] = [{"kind": "inSource", "justification": f.note}]
        elif f.status == "suppressed":
            result["suppressions"] = [{"kind": "external", "justification": f.note}]
        elif f.status == "accepted":
            result["suppressions"] = [{"kind": "inSource", "justification": f.note}]
        results.append(result)
    return {
        "tool": {"driver": {"name": name, "version": version, "informationUri": information, "rules": rules}},
        "automationDetails": {"id": automation},
        "results": results,
    }


def sarif_text(report: Report, artifact: str) -> str:
    """``policy-report.sarif`` as written: two-space indent, final newline."""
    return json.dumps(report_sarif(report, artifact), indent=2) + "\n"
