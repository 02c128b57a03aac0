"""The repository's secrets, scanned once per commit: ``python -m scripts.gate.secrets_scan [--root DIR]``.

A committed secret is a property of the commit, not of a stack's plan, so this scan runs once per commit (``make
lint``, which ``make test`` and both pipeline templates run), never in ``make plan``. It runs checkov's secrets
framework over every file of the repository (``--enable-secret-scan-all-files``; installed packages and generated
files skipped: ``scripts.gate.checkov.SECRETS_SKIP_PATHS``) and checks each finding against the ``secrets`` entries
of the exception store (``policies/suppressions.yaml``): matched by check id, file and checkov's hash of the value,
with an owner, a reason and an expiry.

Exit status: 0 every finding reviewed; 1 an unreviewed secret, or an exception that expired or matches no finding;
2 checkov could not run or its output cannot be trusted, or the exception store is unusable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from policies.catalog.governance import SUPPRESSIONS_FILE, GovernanceFileError, SecretAllowance, load_suppressions
from scripts.common.paths import ROOT
from scripts.gate.checkov import CheckovRunner, checks_of, find_uv, run_processes, secrets_command, trusted_report
from scripts.gate.evaluate import GateError


@dataclass(frozen=True)
class SecretFinding:
    """One secret checkov found: where, which check, and the reviewed exception that covers it (if any)."""

    check: str
    name: str
    file: str
    """Relative to the scanned folder."""
    line: int
    reviewed: SecretAllowance | None


@dataclass
class SecretsScan:
    """The outcome of one scan: the findings and the exceptions that are themselves problems."""

    version: str
    findings: list[SecretFinding]
    problems: list[str]

    @property
    def failed(self) -> bool:
        return bool(self.problems) or any(f.reviewed is None for f in self.findings)


def scan(
    root: Path = ROOT,
    *,
    suppressions_file: Path = SUPPRESSIONS_FILE,
    runner: CheckovRunner | None = None,
    today: dt.date | None = None,
) -> SecretsScan:
    """Scan ``root`` for secrets and match every finding against the reviewed exceptions; GateError if it cannot."""
    try:
        store = load_suppressions(suppressions_file, today=today)
    except GovernanceFileError as exc:
        raise GateError(str(exc)) from None
    uv = find_uv(ROOT)
    if uv is None and runner is None:
        raise GateError("checkov runs through uv, which is neither at .tools/bin/uv nor on PATH: run `make env`")
    runs = (runner or run_processes)([secrets_command(uv or "uv", root)])
    if len(runs) != 1:
        raise GateError(f"checkov: expected 1 scan result, got {len(runs)}")
    document = trusted_report(runs[0], "secrets", str(root), require_resources=False)
    summary = document.get("summary", document)
    findings = []
    for check in checks_of(document, "failed_checks"):
        check_id = str(check.get("check_id", ""))
        file = str(check.get("file_path", "")).lstrip("/")
        line = int((check.get("file_line_range") or [0])[0])
        reviewed = store.secret_allowance(check_id, file, str(check.get("resource", "")))
        findings.append(SecretFinding(check_id, str(check.get("check_name", check_id)), file, line, reviewed))
    used = {f.reviewed.index for f in findings if f.reviewed is not None}
    problems = [
        f"{e.label} expired on {e.expires.isoformat()} (owner {e.owner})"
        if e.expires < store.today
        else f"{e.label} matches no finding; remove it"
        for e in store.secrets
        if e.index not in used
    ]
    return SecretsScan(str(summary.get("checkov_version", "")), findings, problems)


def render(result: SecretsScan) -> str:
    """One line per finding and per problem, then the verdict."""
    reviewed = sum(1 for f in result.findings if f.reviewed is not None)
    lines = [f"checkov {result.version} secrets: {len(result.findings)} found, {reviewed} of them reviewed"]
    for f in result.findings:
        state, note = ("reviewed", f" ({f.reviewed.label}, owner {f.reviewed.owner})") if f.reviewed else ("SECRET", "")
        lines.append(f"  {state:<9} {f.check:<14} {f.file}:{f.line}  {f.name}{note}")
    lines += [f"  exception {problem}" for problem in result.problems]
    lines.append("FAIL" if result.failed else "PASS")
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, checkov_runner: CheckovRunner | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.gate.secrets_scan", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="folder to scan (default: this repository)")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS_FILE, help="exception store")
    args = parser.parse_args(argv)
    try:
        result = scan(args.root, suppressions_file=args.suppressions, runner=checkov_runner)
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    return 1 if result.failed else 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
