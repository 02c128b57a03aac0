"""checkov, run isolated with ``uv tool run`` and its output checked before it is trusted: the gate's scan of the
plan's ARM template (``--framework arm``; failures join the :class:`~scripts.gate.evaluate.Report` at the stack's
enforcement level), and the command line of the repository's secrets scan (``--framework secrets``), which
:mod:`scripts.gate.secrets_scan` runs once per commit rather than once per plan.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.catalog import RULES_BY_ID
from policies.catalog.governance import ENFORCEMENT_FILE, load_enforcement
from scripts.common.paths import ROOT
from scripts.gate.evaluate import Finding, GateError, Report
from scripts.plan.arm_export import ExportError, dumps, export_with_urns, resource_lines

CHECKOV_VERSION = "3.3.30"
"""checkov release the gate runs (isolated: checkov pins packaging<24, pulumi needs packaging>=26)."""

SECRETS_SKIP_PATHS = (
    r"(^|/)(\.venv|\.tools|node_modules|build|\.git|\.mypy_cache|\.ruff_cache|\.pytest_cache|__pycache__)(/|$)"
    r"|(^|/)docs/rules/"
)
"""Installed packages and generated files: not the repository's own text. docs/rules/ is generated from the rule
catalog, the tested cases and the dev/prod plans of the scanned code (a test fails when a page differs from its
generation); its quoted gateway policies trip the keyword detector (``header-name="Authorization"``)."""

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
deletion protection. Every other ARM check is medium."""

CHECKOV_DOCS = "https://www.checkov.io/5.Policy%20Index/arm.html"


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


def _checkov(uv: str) -> list[str]:
    """checkov at the pinned release, isolated from the project's environment, reporting JSON."""
    return [uv, "tool", "run", "--from", f"checkov=={CHECKOV_VERSION}", "checkov", "--skip-download", "-o", "json"]


def arm_command(uv: str, template: Path) -> list[str]:
    """The scan of one plan's ARM template."""
    return [*_checkov(uv), "--framework", "arm", "-f", str(template)]


def secrets_command(uv: str, root: Path = ROOT) -> list[str]:
    """The scan of the repository's files for secrets."""
    scan = ["--framework", "secrets", "--enable-secret-scan-all-files", "-d", str(root)]
    return [*_checkov(uv), *scan, "--skip-path", SECRETS_SKIP_PATHS]


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


def trusted_report(run: CheckovRun, framework: str, target: str, *, require_resources: bool) -> dict[str, Any]:
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


def checks_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    results = document.get("results") or {}
    found = results.get(kind) if isinstance(results, dict) else None
    return [c for c in found or [] if isinstance(c, dict)]


def checkov_severity(check_id: str) -> str:
    """high for the checks of ``CHECKOV_HIGH``, medium for every other ARM check."""
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
    """Export the plan to ``out_dir/template.json``, run checkov on it and add the findings.

    Findings take the stack's enforcement level; a failure the template's metadata excepts (a ``checkov`` entry of
    the exception store) is a ``suppressed`` finding.
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
    runs = (runner or run_processes)([arm_command(uv or "uv", path)])
    if len(runs) != 1:
        raise GateError(f"checkov: expected 1 scan result, got {len(runs)}")
    arm = trusted_report(runs[0], "arm", path.name, require_resources=True)
    report.checkov = [_scan(arm, "arm", path.name)]
    enforcement = load_enforcement(enforcement_file, known_rules=RULES_BY_ID)
    by_start = {start: urn for (start, _), urn in zip(resource_lines(template), urns, strict=True)}

    def urn_of(check: dict[str, Any]) -> str:
        lines = check.get("file_line_range") or [0]
        return by_start.get(lines[0], str(check.get("resource", "")))

    for kind, status in (("failed_checks", "violation"), ("skipped_checks", "suppressed")):
        for check in checks_of(arm, kind):
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
    return path


def checkov_line(report: Report) -> str:
    """One line on the checkov scans: what they saw, or why they did not run."""
    if not report.checkov:
        return report.checkov_note or "checkov: not run"
    parts = [
        f"{s.framework} {s.target}: {s.resources} resources, {s.passed} passed, {s.failed} failed, {s.skipped} skipped"
        for s in report.checkov
    ]
    return f"checkov {report.checkov[0].version}: " + "; ".join(parts)
