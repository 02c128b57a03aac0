"""``policy-report.junit.xml``: JUnit XML for Azure DevOps (one test case per rule; mandatory violations are
failures), built with :mod:`xml.etree.ElementTree`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from policies.catalog import RULES
from policies.catalog.pack import PACK_NAME
from scripts.gate import kql_check
from scripts.gate.checkov import checkov_line
from scripts.gate.evaluate import Finding, Report
from scripts.gate.reports.common import TOOL, checkov_rules, short, where


def report_junit(report: Report) -> str:
    """JUnit XML for Azure DevOps: one test case per rule; mandatory violations are failures."""
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    failures = sum(1 for r in RULES if any(f in report.mandatory for f in by_rule.get(r.id, [])))
    checkov_failures = len({f.rule for f in report.mandatory if f.source.startswith("checkov")})
    checkov_tests = len(checkov_rules(report)) + 1 if report.checkov else 0
    kql_failures = 1 if any(f.source == "kql" for f in report.mandatory) else 0
    suites = ET.Element(
        "testsuites",
        name=TOOL,
        tests=str(len(RULES) + checkov_tests + (1 if report.kql else 0)),
        failures=str(failures + checkov_failures + kql_failures),
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"{PACK_NAME} {report.stack}",
        tests=str(len(RULES)),
        failures=str(failures),
        errors="0",
    )
    for rule in RULES:
        case = ET.SubElement(
            suite, "testcase", classname=f"{PACK_NAME}.{rule.area.lower()}", name=f"{rule.id} {rule.name}"
        )
        found = by_rule.get(rule.id, [])
        failing = [f for f in found if f in report.mandatory]
        if failing:
            failure = ET.SubElement(case, "failure", message=failing[0].message, type=rule.severity.value)
            failure.text = "\n".join(f"{short(f.urn)}: {f.message}" for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"[{f.status if f.status != 'violation' else f.level}] {short(f.urn)}: {f.message}" for f in others
            )
    _junit_checkov(suites, report)
    _junit_kql(suites, report)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _junit_checkov(suites: ET.Element, report: Report) -> None:
    """A second suite for checkov: one case per check with findings (failing on mandatory violations)."""
    if not report.checkov:
        return
    checks = checkov_rules(report)
    failing_checks = [c for c in checks if any(f.rule == c for f in report.mandatory)]
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"checkov {report.stack}",
        tests=str(len(checks) + 1),
        failures=str(len(failing_checks)),
        errors="0",
    )
    scans = ET.SubElement(suite, "testcase", classname="checkov", name="checkov scans")
    ET.SubElement(scans, "system-out").text = checkov_line(report)
    for check_id, (name, source, _) in checks.items():
        case = ET.SubElement(suite, "testcase", classname=f"checkov.{source.split('-')[1]}", name=f"{check_id} {name}")
        found = [f for f in report.findings if f.rule == check_id]
        failing = [f for f in found if f in report.mandatory]
        if failing:
            failure = ET.SubElement(case, "failure", message=failing[0].message, type=failing[0].severity)
            failure.text = "\n".join(f"{where(f)}: {f.message}" for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"[{f.status if f.status != 'violation' else f.level}] {where(f)}: {f.message}"
                + (f" ({f.note})" if f.note else "")
                for f in others
            )


def _junit_kql(suites: ET.Element, report: Report) -> None:
    """A third suite for the alert queries: one case, failing on any query error."""
    if not report.kql:
        return
    found = [f for f in report.findings if f.source == "kql"]
    failing = [f for f in found if f in report.mandatory]
    suite = ET.SubElement(
        suites, "testsuite", name=f"kql {report.stack}", tests="1", failures=str(1 if failing else 0), errors="0"
    )
    case = ET.SubElement(suite, "testcase", classname="kql", name=f"{kql_check.RULE_ID} {kql_check.RULE_NAME}")
    if failing:
        failure = ET.SubElement(case, "failure", message=failing[0].message, type=kql_check.RULE_SEVERITY)
        failure.text = "\n".join(f"{where(f)}: {f.message}" for f in failing)
    others = [f for f in found if f not in failing]
    ET.SubElement(case, "system-out").text = "\n".join(
        [kql_check.kql_line(report.kql, report.kql_note)] + [f"[{f.level}] {where(f)}: {f.message}" for f in others]
    )
