"""Offline policy gate: ``python -m scripts.check STACK`` or ``python -m scripts.check --plan PATH/plan.json``.

Runs the MLSEC rule catalog - the very pulumi-policy objects the CrossGuard pack (``policies/mlsec``)
runs at ``pulumi preview`` - over an offline plan, with the stack's enforcement levels
(``policies/enforcement.yaml``) and the reviewed suppressions (``policies/suppressions.yaml``). Prints
the findings grouped by severity and writes ``policy-report.json``, ``policy-report.sarif`` (SARIF
2.1.0) and ``policy-report.junit.xml`` next to the plan.

Exit status: 0 no mandatory violation; 1 mandatory violations; 2 usage error, unreadable plan, a plan
with no resources, or an unusable enforcement or suppression file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.catalog import RULES, RULES_BY_ID, UNSUPPRESSIBLE
from policies.catalog.governance import (
    ENFORCEMENT_FILE,
    SUPPRESSIONS_FILE,
    GovernanceFileError,
    Suppression,
    load_enforcement,
    load_suppressions,
)
from policies.catalog.model import Rule
from policies.catalog.pack import PACK_NAME, build_policies, rule_url
from policies.catalog.values import PLAN_UNKNOWN

ROOT = Path(__file__).resolve().parent.parent
SEVERITIES = ("critical", "high", "medium", "low")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "mlsec-policy-gate"


class GateError(Exception):
    """The gate cannot judge this input (exit status 2)."""


@dataclass
class Finding:
    """One rule finding on one resource (urn '' for the stack as a whole)."""

    rule: str
    severity: str
    level: str
    """mandatory or advisory: the rule's enforcement level in this stack."""
    urn: str
    message: str
    status: str = "violation"
    """violation, accepted (explained by a declared opt-out, advisory only) or suppressed."""
    note: str = ""


@dataclass
class Report:
    project: str
    stack: str
    resources: int
    rules: int
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "violation" and f.level == "mandatory"]

    def counts(self) -> dict[str, int]:
        counted = Counter(f"{f.level} {f.status}" if f.status == "violation" else f.status for f in self.findings)
        return {
            "mandatory": counted["mandatory violation"],
            "advisory": counted["advisory violation"],
            "accepted": counted["accepted"],
            "suppressed": counted["suppressed"],
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0


# ---------------------------------------------------------------------------------------------
# Running the policies over a plan
# ---------------------------------------------------------------------------------------------


def _engine_props(value: Any) -> Any:
    """Plan inputs as CrossGuard hands them to a policy: unknowns as the engine's sentinel, in its proxies."""
    if isinstance(value, dict):
        return {k: _engine_props(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_props(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == PLAN_UNKNOWN else value


def _options(resource: dict[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        bool(resource.get("protect")), [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.get("parent") or None
    )


def read_plan(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise GateError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise GateError(f"{path}: not a JSON plan: {exc}") from None
    return document if isinstance(document, dict) else {}


def _validate_plan(document: dict[str, Any], source: str) -> list[dict[str, Any]]:
    resources = document.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise GateError(f"{source}: not a plan document (expected a 'resources' list)")
    if not resources:
        raise GateError(f"{source}: the plan has no resources; a gate that sees nothing cannot pass")
    for i, r in enumerate(resources):
        missing = [k for k in ("urn", "type", "name", "inputs") if k not in r]
        if missing:
            raise GateError(f"{source}: resources[{i}] lacks {', '.join(missing)}")
    return resources


def evaluate(
    document: dict[str, Any],
    *,
    source: str = "plan",
    enforcement_file: Path = ENFORCEMENT_FILE,
    suppressions_file: Path = SUPPRESSIONS_FILE,
    today: dt.date | None = None,
    stack: str | None = None,
    rules: Sequence[Rule] = RULES,
) -> Report:
    """Run every rule over ``document`` (a plan.json document) and return the findings.

    ``stack`` overrides the plan's stack name for enforcement and suppressions; ``rules`` narrows the run.
    """
    started = time.perf_counter()
    resources = _validate_plan(document, source)
    stack_name = stack or str(document.get("stack") or "")
    try:
        enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
        suppressions = load_suppressions(
            suppressions_file, unsuppressible=UNSUPPRESSIBLE, known_rules=RULES_BY_ID, stack=stack_name, today=today
        )
    except GovernanceFileError as exc:
        raise GateError(str(exc)) from None
    report = Report(str(document.get("project", "")), stack_name, len(resources), len(rules))
    opt_outs = document.get("outputs", {}).get("securityOptOuts") or {}
    opt_outs = opt_outs if isinstance(opt_outs, dict) else {}

    def level_of(rule: Rule) -> str:
        return enforcement.level(rule.id, stack_name).value

    def add(rule: Rule, urn: str, message: str) -> None:
        finding = Finding(rule.id, rule.severity.value, level_of(rule), urn, message)
        if rule.opt_out and rule.opt_out in opt_outs:
            reason = opt_outs[rule.opt_out]
            if finding.level == "advisory":
                finding.status, finding.note = "accepted", f"opt-out {rule.opt_out}: {reason}"
            else:
                finding.note = f"opt-out {rule.opt_out} is declared, but the rule is mandatory in this stack"
        report.findings.append(finding)

    def suppressed(rule: Rule, urn: str, message: str, entry: Suppression) -> None:
        note = f"{entry.label}, owner {entry.owner}, expires {entry.expires.isoformat()}: {entry.reason}"
        report.findings.append(
            Finding(rule.id, rule.severity.value, level_of(rule), urn, message, status="suppressed", note=note)
        )

    policies = build_policies(stack_name, enforcement, suppressions, suppressed, rules)
    live = [p for p in policies if p.enforcement_level != EnforcementLevel.DISABLED]
    prepared = [(r, unknown_checking_proxy(_engine_props(r["inputs"]))) for r in resources]
    for policy in live:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]
        for resource, props in prepared:
            args = ResourceValidationArgs(
                resource["type"], props, resource["urn"], resource["name"], _options(resource), None
            )

            def report_violation(
                message: str, urn: str | None = None, *, _rule: Rule = rule, _urn: str = resource["urn"]
            ) -> None:
                add(_rule, urn or _urn, message)

            policy.validate(args, report_violation)
    policy_resources = _policy_resources(prepared)
    for policy in live:
        if not isinstance(policy, StackValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]

        def report_stack(message: str, urn: str | None = None, *, _rule: Rule = rule) -> None:
            add(_rule, urn or "", message)

        policy.validate(StackValidationArgs(policy_resources), report_stack)
    report.seconds = time.perf_counter() - started
    return report


def _policy_resources(prepared: list[tuple[dict[str, Any], Any]]) -> list[PolicyResource]:
    """The stack as CrossGuard's AnalyzeStack builds it: parents and dependencies as resource objects."""
    built = {
        r["urn"]: PolicyResource(r["type"], props, r["urn"], r["name"], _options(r), None, None, [], {})
        for r, props in prepared
    }
    for r, _ in prepared:
        resource = built[r["urn"]]
        resource.parent = built.get(r.get("parent") or "")
        resource.dependencies = [built[d] for d in r.get("dependencies", []) if d in built]
    return list(built.values())


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def _short(urn: str) -> str:
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[-1]}" if len(parts) >= 4 else urn


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
            lines.append(f"  {state:<10} {f.rule:<15} {_short(f.urn)}")
            lines.append(f"  {'':<10} {'':<15} {f.message}")
            if f.note:
                lines.append(f"  {'':<10} {'':<15} ({f.note})")
    counts = report.counts()
    lines.append(
        f"\n{counts['mandatory']} mandatory violations, {counts['advisory']} advisory, {counts['accepted']} accepted "
        f"(declared opt-outs), {counts['suppressed']} suppressed"
    )
    lines.append("FAIL" if report.exit_code else "PASS")
    return "\n".join(lines)


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
        ],
        "findings": [asdict(f) for f in report.findings],
    }


def _sarif_level(finding: Finding) -> str:
    if finding.status != "violation":
        return "note"
    return "error" if finding.level == "mandatory" else "warning"


_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def report_sarif(report: Report, artifact: str) -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one result per finding, located at the stack file."""
    index = {r.id: i for i, r in enumerate(RULES)}
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
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _sarif_level(f),
            "message": {"text": f"{f.message} [{_short(f.urn)}]"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.urn or report.stack, "kind": "resource"}],
                }
            ],
            "partialFingerprints": {"mlsecFinding/v1": f"{f.rule}|{f.urn}|{f.message}"},
        }
        if f.status == "suppressed":
            result["suppressions"] = [{"kind": "external", "justification": f.note}]
        elif f.status == "accepted":
            result["suppressions"] = [{"kind": "inSource", "justification": f.note}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "version": "1.0.0",
                        "informationUri": "docs/policy-gate.md",
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"{PACK_NAME}/{report.stack}/"},
                "results": results,
            }
        ],
    }


def report_junit(report: Report) -> str:
    """JUnit XML for Azure DevOps: one test case per rule; mandatory violations are failures."""
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    failures = sum(1 for r in RULES if any(f in report.mandatory for f in by_rule.get(r.id, [])))
    suites = ET.Element("testsuites", name=TOOL, tests=str(len(RULES)), failures=str(failures))
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
            failure.text = "\n".join(f"{_short(f.urn)}: {f.message}" for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"[{f.status if f.status != 'violation' else f.level}] {_short(f.urn)}: {f.message}" for f in others
            )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_reports(report: Report, out_dir: Path, artifact: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "policy-report.json", out_dir / "policy-report.sarif", out_dir / "policy-report.junit.xml"]
    paths[0].write_text(json.dumps(report_json(report), indent=2) + "\n")
    paths[1].write_text(json.dumps(report_sarif(report, artifact), indent=2) + "\n")
    paths[2].write_text(report_junit(report))
    return paths


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.check", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", help="stack name: plans stacks/Pulumi.STACK.yaml, then checks it")
    parser.add_argument("--plan", type=Path, help="check an existing plan.json instead of planning")
    parser.add_argument("--out", type=Path, help="report folder (default: build/STACK, or the plan's folder)")
    parser.add_argument("--enforcement", type=Path, default=ENFORCEMENT_FILE, help="enforcement file")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS_FILE, help="suppression file")
    args = parser.parse_args(argv)
    if (args.stack is None) == (args.plan is None):
        parser.print_usage(sys.stderr)
        print("error: give either STACK or --plan PATH", file=sys.stderr)
        return 2
    try:
        if args.plan is not None:
            document, source, out = read_plan(args.plan), str(args.plan), args.out or args.plan.parent
        else:
            from scripts.offline import PlanError
            from scripts.plan import make_plan, write_plan

            try:
                document = make_plan(args.stack)
            except PlanError as exc:
                raise GateError(str(exc)) from None
            out = args.out or ROOT / "build" / args.stack
            source = str(write_plan(document, ROOT / "build" / args.stack))
        report = evaluate(
            document, source=source, enforcement_file=args.enforcement, suppressions_file=args.suppressions
        )
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stack_file = ROOT / "stacks" / f"Pulumi.{report.stack}.yaml"
    artifact = stack_file.relative_to(ROOT).as_posix() if stack_file.is_file() else Path(source).name
    print(render_table(report))
    for path in write_reports(report, out, artifact):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
