"""Offline policy gate: ``python -m scripts.gate STACK`` or ``python -m scripts.gate --plan PATH/plan.json``.

Runs the MLSEC rule catalog - the very pulumi-policy objects the CrossGuard pack (``policies/mlsec``)
runs at ``pulumi preview`` - over an offline plan, with the stack's enforcement levels
(``policies/enforcement.yaml``) and the reviewed suppressions (``policies/suppressions.yaml``). Prints
the findings grouped by severity and writes ``policy-report.json``, ``policy-report.sarif`` (SARIF
2.1.0) and ``policy-report.junit.xml`` next to the plan.

It also exports the plan as an ARM template (``template.json``, ``scripts.plan.arm_export``) and runs checkov
on it (``--framework arm``, ``scripts.gate.checkov``), isolated with ``uv tool run``; checkov's failures join the
report at the stack's enforcement level. The gate does the work of one plan only: the repository's secrets are
scanned once per commit, by ``python -m scripts.gate.secrets_scan`` (``make lint``).

It also checks every alert query (scheduled query rules) with Microsoft's Kusto language library against the
documented schemas of the tables it reads (``scripts.gate.kql_check``, MLSEC-KQL-001); its errors are mandatory.

Exit status: 0 no mandatory violation; 1 mandatory violations; 2 usage error, unreadable plan, a plan
with no resources, an unusable enforcement or suppression file, or a checkov scan that could not run,
saw no resources or could not parse its input, or a KQL analysis that could not run (Node or the library missing,
an analyzer crash or unreadable output).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policies.catalog.governance import ENFORCEMENT_FILE, SUPPRESSIONS_FILE
from scripts.common.paths import ROOT
from scripts.gate.checkov import CheckovRunner, scan_with_checkov
from scripts.gate.evaluate import GateError, evaluate, prepare_plan, read_plan
from scripts.gate.kql_check import scan_with_kql
from scripts.gate.reports import write_reports
from scripts.gate.reports.table import render_table


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
        "--no-checkov", action="store_true", help="skip checkov on the ARM template; the report says so"
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
            report.checkov_note = "checkov: not run (--no-checkov): the ARM template was not scanned"
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
