"""Offline policy gate: ``python -m scripts.gate STACK`` or ``python -m scripts.gate --plan PATH/plan.json``.

Runs the MLSEC rule catalog - the very pulumi-policy objects the CrossGuard pack (``policies/mlsec``)
runs at ``pulumi preview`` - over an offline plan, with the stack's enforcement levels
(``policies/enforcement.yaml``) and the reviewed suppressions (``policies/suppressions.yaml``). Prints
the findings grouped by severity and writes ``policy-report.json``, ``policy-report.sarif`` (SARIF
2.1.0) and ``policy-report.junit.xml`` next to the plan.

It also exports the plan as an ARM template (``template.json``, ``scripts.plan.arm_export``) and runs checkov
on it (``--framework arm``) and on the repository (``--framework secrets``), isolated with ``uv tool run``;
checkov's failures join the report at the stack's enforcement level (secrets: always mandatory).

It also checks every alert query (scheduled query rules) with Microsoft's Kusto language library against the
documented schemas of the tables it reads (``scripts.gate.kql_check``, MLSEC-KQL-001); its errors are mandatory.

Exit status: 0 no mandatory violation; 1 mandatory violations; 2 usage error, unreadable plan, a plan
with no resources, an unusable enforcement or suppression file, or a checkov scan that could not run,
saw no resources or could not parse its input, or a KQL analysis that could not run (Node or the library missing,
an analyzer crash or unreadable output).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
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
from policies.catalog.model import ResourceRule, Rule, canonical_type, unknown_type
from policies.catalog.pack import PACK_NAME, build_policies, rule_url
from policies.catalog.values import PLAN_UNKNOWN, ShapeError
from scripts.common.paths import ROOT
from scripts.common.safeload import InputError, read_json
from scripts.gate import kql_check
from scripts.plan.arm_export import ExportError, dumps, export_with_urns, resource_lines

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
    source: str = "mlsec"
    """mlsec (the rule catalog), checkov-arm (the ARM template), checkov-secrets (the repository) or kql (the alert
    queries)."""
    file: str = ""
    """For a secrets finding: the file (relative to the repository) and line."""
    line: int = 0


@dataclass
class Report:
    project: str
    stack: str
    resources: int
    rules: int
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    checkov: list[CheckovScan] = field(default_factory=list)
    """The checkov scans that ran (none with --no-checkov)."""
    checkov_note: str = ""
    """Why checkov did not run, when it did not."""
    kql: kql_check.KqlScan | None = None
    """The KQL analysis of the alert queries (None with --no-kql)."""
    kql_note: str = ""
    """Why the KQL analysis did not run, when it did not."""

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
    """The plan document at ``path``: read with the fail-closed JSON reader (size cap, strict UTF-8, no duplicate
    keys, bounded nesting), then checked for the shape of a plan (:func:`prepare_plan`)."""
    try:
        document = read_json(path, what="plan")
    except InputError as exc:
        raise GateError(str(exc)) from None
    return prepare_plan(document, str(path))


_RESOURCE_STRINGS = ("urn", "type", "name")


def _kind(value: Any) -> str:
    """What a JSON value is, for a message (never the value itself)."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _validate_plan(document: Any, source: str) -> list[dict[str, Any]]:
    """The resources of a plan document; GateError naming the resource and key for anything not shaped like a
    plan: a security gate that cannot read a resource must not pass it."""
    if not isinstance(document, dict):
        raise GateError(f"{source}: not a plan document (expected an object, found {_kind(document)})")
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise GateError(f"{source}: not a plan document (expected a 'resources' list, found {_kind(resources)})")
    if not resources:
        raise GateError(f"{source}: the plan has no resources; a gate that sees nothing cannot pass")
    seen: set[str] = set()
    for i, r in enumerate(resources):
        if not isinstance(r, dict):
            raise GateError(f"{source}: resources[{i}] must be an object (found {_kind(r)})")
        missing = [k for k in (*_RESOURCE_STRINGS, "inputs") if k not in r]
        if missing:
            raise GateError(f"{source}: resources[{i}] lacks {', '.join(missing)}")
        for key in _RESOURCE_STRINGS:
            if not isinstance(r[key], str) or not r[key]:
                found = _kind(r[key])
                raise GateError(f"{source}: resources[{i}] key '{key}' must be a non-empty string (found {found})")
        where = f"{source}: resource {r['urn']} (resources[{i}])"
        if r["urn"] in seen:
            raise GateError(f"{where}: the URN appears twice; the engine registers each URN once")
        seen.add(r["urn"])
        if not isinstance(r["inputs"], dict):
            raise GateError(f"{where}: key 'inputs' must be an object (found {_kind(r['inputs'])})")
        if r.get("parent") is not None and not isinstance(r["parent"], str):
            raise GateError(f"{where}: key 'parent' must be a URN (found {_kind(r['parent'])})")
        dependencies = r.get("dependencies", [])
        if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
            raise GateError(f"{where}: key 'dependencies' must be a list of URNs (found {_kind(dependencies)})")
        if not isinstance(r.get("protect", False), bool):
            raise GateError(f"{where}: key 'protect' must be a boolean (found {_kind(r['protect'])})")
        if unknown_type(r["type"]):
            raise GateError(
                f"{where}: type {r['type']!r} is an azure-native type the gate has no rules for; a resource no rule "
                "examined cannot pass (add the type to scripts/plan/arm_types.py and review the catalog's rules for it)"
            )
    outputs = document.get("outputs", {})
    if not isinstance(outputs, dict):
        raise GateError(f"{source}: key 'outputs' must be an object (found {_kind(outputs)})")
    for key in OBJECT_OUTPUTS:
        if key in outputs and not isinstance(outputs[key], dict):
            raise GateError(f"{source}: stack output '{key}' must be an object (found {_kind(outputs[key])})")
    return resources


OBJECT_OUTPUTS = ("securityOptOuts",)
"""Stack outputs the gate reads, which are objects (the declared security opt-outs, by key)."""


def prepare_plan(document: Any, source: str) -> dict[str, Any]:
    """``document`` checked for the shape of a plan, with every resource's type token in the catalog's spelling
    (``policies.catalog.model.canonical_type``): an API-version module or a change of letter case does not take a
    resource out of the rules' reach, here or in the ARM export and the KQL analysis that read the same plan."""
    resources = _validate_plan(document, source)
    return {**document, "resources": [{**r, "type": canonical_type(r["type"])} for r in resources]}


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
    document = prepare_plan(document, source)
    resources = document["resources"]
    stack_name = stack or str(document.get("stack") or "")
    try:
        enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
        suppressions = load_suppressions(
            suppressions_file, unsuppressible=UNSUPPRESSIBLE, known_rules=RULES_BY_ID, stack=stack_name, today=today
        )
    except GovernanceFileError as exc:
        raise GateError(str(exc)) from None
    report = Report(str(document.get("project", "")), stack_name, len(resources), len(rules))
    opt_outs = document.get("outputs", {}).get("securityOptOuts", {})

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
    # One argument object per resource, handed to every resource policy (as the engine hands each resource to
    # the pack), so the pack converts its properties once; only the resources of a rule's types are visited.
    resource_args = [
        (r, ResourceValidationArgs(r["type"], props, r["urn"], r["name"], _options(r), None)) for r, props in prepared
    ]
    for policy in live:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]
        assert isinstance(rule, ResourceRule)
        for resource, args in resource_args:
            if not rule.applies_to(resource["type"]):
                continue

            def report_violation(
                message: str, urn: str | None = None, *, _rule: Rule = rule, _urn: str = resource["urn"]
            ) -> None:
                add(_rule, urn or _urn, message)

            try:
                policy.validate(args, report_violation)
            except ShapeError as exc:
                raise GateError(f"{source}: resource {resource['urn']}: {exc} (rule {rule.id})") from None
            except _UNREADABLE as exc:
                raise GateError(
                    f"{source}: resource {resource['urn']}: rule {rule.id} cannot read its inputs "
                    f"({type(exc).__name__}): a property holds a value of an unexpected kind"
                ) from None
    stack_args = StackValidationArgs(_policy_resources(prepared))
    for policy in live:
        if not isinstance(policy, StackValidationPolicy):
            continue
        rule = RULES_BY_ID[policy.name]

        def report_stack(message: str, urn: str | None = None, *, _rule: Rule = rule) -> None:
            add(_rule, urn or "", message)

        try:
            policy.validate(stack_args, report_stack)
        except ShapeError as exc:
            raise GateError(f"{source}: {_shape_culprit(resources, exc.path)}{exc} (rule {rule.id})") from None
        except _UNREADABLE as exc:
            raise GateError(
                f"{source}: rule {rule.id} cannot read the stack ({type(exc).__name__}): a resource property holds "
                "a value of an unexpected kind"
            ) from None
    report.seconds = time.perf_counter() - started
    return report


_UNREADABLE = (TypeError, AttributeError, ValueError, KeyError, IndexError)
"""What a rule raises when a property holds a value of another kind than the provider's schema allows."""


def _shape_culprit(resources: list[dict[str, Any]], path: str) -> str:
    """``resource URN: `` for the first resource whose inputs hold a non-object at ``path`` (a stack rule's
    :class:`ShapeError` does not know its resource)."""
    for r in resources:
        current: Any = r["inputs"]
        for key in path.split("."):
            current = current.get(key) if isinstance(current, dict) else None
        if current is not None and current != PLAN_UNKNOWN and not isinstance(current, dict):
            return f"resource {r['urn']}: "
    return ""


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
# checkov: the ARM template of the plan, and the repository's secrets
# ---------------------------------------------------------------------------------------------

CHECKOV_VERSION = "3.3.30"
"""checkov release the gate runs (isolated: checkov pins packaging<24, pulumi needs packaging>=26)."""

SECRETS_SKIP_PATHS = (
    r"(^|/)(\.venv|\.tools|node_modules|build|\.git|\.mypy_cache|\.ruff_cache|\.pytest_cache|__pycache__)(/|$)"
)
"""Installed packages and generated files: not the repository's own text."""

SECRET_ALLOWLIST: dict[tuple[str, str], str] = {
    ("CKV_SECRET_3", "6afa3951e98fd3a47f29f38483e4a22e41dc8a05"): (
        "Azurite's published development account key (devstoreaccount1): documented by Microsoft, identical on "
        "every machine and accepted only by the local storage emulator"
    ),
}
"""Reviewed secrets findings: (check id, checkov's hash of the detected value) -> reason."""

CHECKOV_HIGH = frozenset(
    {
        "CKV2_AZURE_49",
        "CKV_AZURE_3",
        "CKV_AZURE_9",
        "CKV_AZURE_10",
        "CKV_AZURE_34",
        "CKV_AZURE_35",
        "CKV_AZURE_39",
        "CKV_AZURE_42",
        "CKV_AZURE_44",
        "CKV_AZURE_59",
        "CKV_AZURE_107",
        "CKV_AZURE_109",
        "CKV_AZURE_110",
        "CKV_AZURE_137",
        "CKV_AZURE_138",
        "CKV_AZURE_139",
        "CKV_AZURE_160",
        "CKV_AZURE_173",
        "CKV_AZURE_174",
        "CKV_AZURE_189",
        "CKV_AZURE_243",
    }
)
"""checkov ARM checks reported as high severity: public reachability, authentication, transport security,
deletion protection. Every other ARM check is medium; a secret in the repository is critical."""

CHECKOV_DOCS = "https://www.checkov.io/5.Policy%20Index/arm.html"
SECRETS_DOCS = "https://www.checkov.io/5.Policy%20Index/secrets.html"


@dataclass(frozen=True)
class CheckovRun:
    """What one checkov process returned."""

    returncode: int
    stdout: str
    stderr: str


CheckovRunner = Callable[[list[list[str]]], list[CheckovRun]]
"""Runs the given checkov command lines (concurrently) and returns their results in the same order."""


@dataclass
class CheckovScan:
    """Summary of one checkov scan."""

    framework: str
    target: str
    resources: int
    passed: int
    failed: int
    skipped: int
    version: str


def find_uv(root: Path = ROOT) -> str | None:
    """uv from the project's tool folder (``make env``), else from PATH."""
    local = root / ".tools" / "bin" / "uv"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("uv")


def checkov_commands(uv: str, template: Path, root: Path = ROOT) -> list[list[str]]:
    """The two scans: the ARM template, then the repository's secrets."""
    base = [uv, "tool", "run", "--from", f"checkov=={CHECKOV_VERSION}", "checkov", "--skip-download", "-o", "json"]
    return [
        [*base, "--framework", "arm", "-f", str(template)],
        [
            *base,
            "--framework",
            "secrets",
            "--enable-secret-scan-all-files",
            "-d",
            str(root),
            "--skip-path",
            SECRETS_SKIP_PATHS,
        ],
    ]


def run_processes(commands: list[list[str]], timeout: float = 900.0) -> list[CheckovRun]:
    """Run the commands side by side (checkov spends most of its time starting up)."""
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
        for command in commands
    ]
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise GateError(f"checkov did not finish within {timeout:.0f} s") from None
        results.append(CheckovRun(process.returncode, out, err))
    return results


def _checkov_report(run: CheckovRun, framework: str, target: str, *, require_resources: bool) -> dict[str, Any]:
    """checkov's JSON report of one scan; GateError if the scan cannot be trusted."""
    what = f"checkov --framework {framework} on {target}"
    if run.returncode not in (0, 1):
        detail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise GateError(f"{what} failed with exit status {run.returncode}: {detail}")
    try:
        document = json.loads(run.stdout) if run.stdout.strip() else None
    except json.JSONDecodeError:
        raise GateError(f"{what} printed no JSON report") from None
    if isinstance(document, list):
        document = next((d for d in document if isinstance(d, dict) and d.get("check_type") == framework), None)
    if not isinstance(document, dict) or not document:
        raise GateError(f"{what} returned an empty result")
    summary = document.get("summary", document)
    if not isinstance(summary, dict) or "resource_count" not in summary:
        raise GateError(f"{what} returned no summary")
    if summary.get("parsing_errors"):
        raise GateError(f"{what}: {summary['parsing_errors']} parsing error(s); the scan saw nothing it can vouch for")
    if require_resources and not summary.get("resource_count"):
        raise GateError(f"{what} found 0 resources; a scan that sees nothing cannot pass")
    return document


def _scan(document: dict[str, Any], framework: str, target: str) -> CheckovScan:
    summary = document.get("summary", document)
    return CheckovScan(
        framework,
        target,
        int(summary.get("resource_count", 0)),
        int(summary.get("passed", 0)),
        int(summary.get("failed", 0)),
        int(summary.get("skipped", 0)),
        str(summary.get("checkov_version", "")),
    )


def _checks(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    results = document.get("results") or {}
    found = results.get(kind) if isinstance(results, dict) else None
    return [c for c in found or [] if isinstance(c, dict)]


def checkov_severity(check_id: str) -> str:
    if check_id.startswith("CKV_SECRET"):
        return "critical"
    return "high" if check_id in CHECKOV_HIGH else "medium"


def scan_with_checkov(
    report: Report,
    document: dict[str, Any],
    out_dir: Path,
    *,
    enforcement_file: Path = ENFORCEMENT_FILE,
    runner: CheckovRunner | None = None,
    root: Path = ROOT,
) -> Path:
    """Export the plan to ``out_dir/template.json``, run checkov on it and on the repository, add the findings.

    ARM findings take the stack's enforcement level; secrets are mandatory in every stack. A template failure
    suppressed in the template metadata, or a secret in ``SECRET_ALLOWLIST``, is a ``suppressed`` finding.
    """
    try:
        template, urns = export_with_urns(document)
    except ExportError as exc:
        raise GateError(f"ARM export: {exc}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "template.json"
    path.write_text(dumps(template))
    uv = find_uv(root)
    if uv is None and runner is None:
        raise GateError(
            "checkov runs through uv, which is neither at .tools/bin/uv nor on PATH: run `make env`, "
            "or pass --no-checkov to check without it (the report then says checkov did not run)"
        )
    runs = (runner or run_processes)(checkov_commands(uv or "uv", path, root))
    if len(runs) != 2:
        raise GateError(f"checkov: expected 2 scan results, got {len(runs)}")
    arm = _checkov_report(runs[0], "arm", path.name, require_resources=True)
    secrets = _checkov_report(runs[1], "secrets", "the repository", require_resources=False)
    report.checkov = [_scan(arm, "arm", path.name), _scan(secrets, "secrets", ".")]
    enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
    by_start = {start: urn for (start, _), urn in zip(resource_lines(template), urns, strict=True)}

    def urn_of(check: dict[str, Any]) -> str:
        lines = check.get("file_line_range") or [0]
        return by_start.get(lines[0], str(check.get("resource", "")))

    for kind, status in (("failed_checks", "violation"), ("skipped_checks", "suppressed")):
        for check in _checks(arm, kind):
            check_id = str(check.get("check_id", ""))
            note = ""
            if status == "suppressed":
                result = check.get("check_result")
                comment = result.get("suppress_comment") if isinstance(result, dict) else None
                note = f"template metadata: {str(comment or check.get('suppress_comment') or '').strip()}"
            report.findings.append(
                Finding(
                    check_id,
                    checkov_severity(check_id),
                    enforcement.level(check_id, report.stack).value,
                    urn_of(check),
                    f"{check.get('check_name', check_id)} [{check.get('resource', '')}]",
                    status=status,
                    note=note,
                    source="checkov-arm",
                )
            )
    for check in _checks(secrets, "failed_checks"):
        check_id = str(check.get("check_id", ""))
        file = str(check.get("file_path", "")).lstrip("/")
        line = int((check.get("file_line_range") or [0])[0])
        reason = SECRET_ALLOWLIST.get((check_id, str(check.get("resource", ""))))
        report.findings.append(
            Finding(
                check_id,
                "critical",
                "mandatory",
                "",
                f"{check.get('check_name', check_id)} in {file}:{line}",
                status="suppressed" if reason else "violation",
                note=f"reviewed secret: {reason}" if reason else "",
                source="checkov-secrets",
                file=file,
                line=line,
            )
        )
    return path


def scan_with_kql(report: Report, document: dict[str, Any], *, command: list[str] | None = None) -> None:
    """Check every alert query with the Kusto language library (``scripts.gate.kql_check``) and add the findings."""
    try:
        found, report.kql = kql_check.check_queries(document, command=command)
    except kql_check.KqlError as exc:
        raise GateError(f"KQL analysis: {exc}") from None
    report.findings.extend(
        Finding(kql_check.RULE_ID, kql_check.RULE_SEVERITY, f.level, f.urn, f.message, source="kql") for f in found
    )


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def _short(urn: str) -> str:
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[-1]}" if len(parts) >= 4 else urn


def _where(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}" if finding.file else _short(finding.urn)


def checkov_line(report: Report) -> str:
    """One line on the checkov scans: what they saw, or why they did not run."""
    if not report.checkov:
        return report.checkov_note or "checkov: not run"
    reviewed = sum(1 for f in report.findings if f.source == "checkov-secrets" and f.status == "suppressed")
    parts = [
        f"{s.framework} {s.target}: {s.resources} resources, {s.passed} passed, {s.failed} failed, {s.skipped} skipped"
        if s.framework == "arm"
        else f"{s.framework}: {s.failed} found, {reviewed} of them reviewed"
        for s in report.checkov
    ]
    return f"checkov {report.checkov[0].version}: " + "; ".join(parts)


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
            lines.append(f"  {state:<10} {f.rule:<15} {_where(f)}")
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
            for rule_id, (name, source, level) in _checkov_rules(report).items()
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


def _checkov_rules(report: Report) -> dict[str, tuple[str, str, str]]:
    """checkov check id -> (check name, source, level) for every checkov check with a finding, sorted by id."""
    found: dict[str, tuple[str, str, str]] = {}
    for f in report.findings:
        if f.source.startswith("checkov") and f.rule not in found:
            name = f.message.rsplit(" [", 1)[0] if f.source == "checkov-arm" else f.message.rsplit(" in ", 1)[0]
            found[f.rule] = (name, f.source, f.level)
    return dict(sorted(found.items()))


def _sarif_level(finding: Finding) -> str:
    if finding.status != "violation":
        return "note"
    return "error" if finding.level == "mandatory" else "warning"


_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def report_sarif(report: Report, artifact: str) -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one result per finding, located at the stack file (a secret: at its
    file). Two runs: the gate's catalog, then checkov (template and secrets) when it ran."""
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
    checkov_rules = [
        {
            "id": rule_id,
            "name": rule_id.replace("_", ""),
            "shortDescription": {"text": name},
            "fullDescription": {"text": f"checkov {source.split('-')[1]} check {rule_id}: {name}"},
            "help": {"text": f"See the checkov policy index for {rule_id}."},
            "helpUri": SECRETS_DOCS if source == "checkov-secrets" else CHECKOV_DOCS,
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "checkov", source.split("-")[1]],
                "security-severity": _SECURITY_SEVERITY[checkov_severity(rule_id)],
                "precision": "high",
            },
        }
        for rule_id, (name, source, _) in _checkov_rules(report).items()
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
                checkov_rules,
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
    """One SARIF run: the catalog's findings (the gate) or checkov's (template and secrets)."""
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
            "message": {"text": f"{f.message} [{_where(f)}]"},
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


def report_junit(report: Report) -> str:
    """JUnit XML for Azure DevOps: one test case per rule; mandatory violations are failures."""
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    failures = sum(1 for r in RULES if any(f in report.mandatory for f in by_rule.get(r.id, [])))
    checkov_failures = len({f.rule for f in report.mandatory if f.source.startswith("checkov")})
    checkov_tests = len(_checkov_rules(report)) + 1 if report.checkov else 0
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
            failure.text = "\n".join(f"{_short(f.urn)}: {f.message}" for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"[{f.status if f.status != 'violation' else f.level}] {_short(f.urn)}: {f.message}" for f in others
            )
    _junit_checkov(suites, report)
    _junit_kql(suites, report)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _junit_checkov(suites: ET.Element, report: Report) -> None:
    """A second suite for checkov: one case per check with findings (failing on mandatory violations)."""
    if not report.checkov:
        return
    checks = _checkov_rules(report)
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
            failure.text = "\n".join(f"{_where(f)}: {f.message}" for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"[{f.status if f.status != 'violation' else f.level}] {_where(f)}: {f.message}"
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
        failure.text = "\n".join(f"{_where(f)}: {f.message}" for f in failing)
    others = [f for f in found if f not in failing]
    ET.SubElement(case, "system-out").text = "\n".join(
        [kql_check.kql_line(report.kql, report.kql_note)] + [f"[{f.level}] {_where(f)}: {f.message}" for f in others]
    )


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


def main(
    argv: list[str] | None = None, *, checkov_runner: CheckovRunner | None = None, kql_command: list[str] | None = None
) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.gate", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", help="stack name: plans stacks/Pulumi.STACK.yaml, then checks it")
    parser.add_argument("--plan", type=Path, help="check an existing plan.json instead of planning")
    parser.add_argument("--out", type=Path, help="report folder (default: build/STACK, or the plan's folder)")
    parser.add_argument("--enforcement", type=Path, default=ENFORCEMENT_FILE, help="enforcement file")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS_FILE, help="suppression file")
    parser.add_argument(
        "--no-checkov", action="store_true", help="skip the checkov scans (ARM template, secrets); the report says so"
    )
    parser.add_argument(
        "--no-kql", action="store_true", help="skip the analysis of the alert queries (Node); the report says so"
    )
    args = parser.parse_args(argv)
    if (args.stack is None) == (args.plan is None):
        parser.print_usage(sys.stderr)
        print("error: give either STACK or --plan PATH", file=sys.stderr)
        return 2
    try:
        if args.plan is not None:
            document, source, out = read_plan(args.plan), str(args.plan), args.out or args.plan.parent
        else:
            from scripts.plan.cli import make_plan, write_plan
            from scripts.plan.engine import PlanError

            try:
                document = make_plan(args.stack)
            except PlanError as exc:
                raise GateError(str(exc)) from None
            document = prepare_plan(document, f"plan of stack {args.stack}")
            out = args.out or ROOT / "build" / args.stack
            source = str(write_plan(document, ROOT / "build" / args.stack))
        report = evaluate(
            document, source=source, enforcement_file=args.enforcement, suppressions_file=args.suppressions
        )
        if args.no_kql:
            report.kql_note = "kql: not run (--no-kql): the alert queries were not analyzed"
        else:
            scan_with_kql(report, document, command=kql_command)
        if args.no_checkov:
            report.checkov_note = "checkov: not run (--no-checkov): the ARM template and the secrets were not scanned"
        else:
            scan_with_checkov(report, document, out, enforcement_file=args.enforcement, runner=checkov_runner)
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stack_file = ROOT / "stacks" / f"Pulumi.{report.stack}.yaml"
    artifact = stack_file.relative_to(ROOT).as_posix() if stack_file.is_file() else Path(source).name
    print(render_table(report))
    for path in write_reports(report, out, artifact):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return report.exit_code
