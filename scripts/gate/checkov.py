"""checkov in the gate: the plan's ARM template (``--framework arm``) and the repository's secrets
(``--framework secrets``), each run isolated with ``uv tool run``, their output checked before it is trusted, and
their failures added to the :class:`~scripts.gate.evaluate.Report` (ARM: at the stack's enforcement level;
secrets: always mandatory).
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
