"""Offline plan: ``python -m scripts.plan STACK``.

Runs the real Pulumi program (``__main__.py``, unchanged) in-process under Pulumi's mock engine with
the config of ``stacks/Pulumi.STACK.yaml``. Needs no Pulumi CLI, no cloud credentials and no network.
Writes ``build/STACK/plan.json`` (byte-identical for the same config), ``build/STACK/template.json`` (the
planned azure-native resources as an ARM deployment template, for ARM scanners such as checkov; see
``scripts.plan.arm_export``) and prints a summary.

Exit status: 0 planned; 2 invalid configuration, an unusable stack file (not UTF-8, a duplicate key, an alias
bomb, nesting too deep, a value the engine cannot pass), an output folder that cannot be written (nothing is
left half-written), or a resource type the ARM export cannot describe (plan.json is still written, any older
template.json removed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from scripts.common.paths import ROOT
from scripts.common.safewrite import check_folder, write_text
from scripts.plan.arm_export import ExportError, dumps, export
from scripts.plan.engine import PlanError, ProgramRun, project_name, read_stack_config, run_program, stack_config


def plan_document(run: ProgramRun) -> dict[str, Any]:
    """The plan.json document: resources sorted by URN, inputs as the provider receives them."""
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "inputs": r.inputs,
            "dependencies": r.dependencies,
            "protect": r.protect,
        }
        for r in sorted(run.registrations.values(), key=lambda r: r.urn)
    ]
    return {"project": run.project, "stack": run.stack, "resources": resources, "outputs": run.outputs}


def make_plan(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """Run the program for ``stack`` and return the plan document."""
    from components.config import ConfigError

    config, secret_keys = read_stack_config(stack, root)
    try:
        run = run_program(stack, config, secret_keys, project_name(root), root / "__main__.py")
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    return plan_document(run)


def write_plan(document: dict[str, Any], out_dir: Path) -> Path:
    """Write ``plan.json`` in one step (:func:`scripts.common.safewrite.write_text`: never half-written)."""
    return write_text(out_dir / "plan.json", json.dumps(document, indent=2, sort_keys=True) + "\n", what="plan")


def write_template(document: dict[str, Any], out_dir: Path) -> Path:
    """Write ``template.json``, the ARM export of the plan, next to plan.json (in one step)."""
    return write_text(out_dir / "template.json", dumps(export(document)), what="ARM template")


def summary(document: dict[str, Any]) -> str:
    """Resource counts by component and by type."""
    resources = document["resources"]
    by_type = Counter(r["type"] for r in resources)
    parents = {r["urn"]: r for r in resources}
    by_component: Counter[str] = Counter()
    for r in resources:
        parent = parents.get(r["parent"])
        by_component[f"{parent['type']} {parent['name']}" if parent else "(stack)"] += 1
    lines = [f"{document['project']}/{document['stack']}: {len(resources)} resources"]
    lines.append("  by component:")
    lines += [f"    {n:5d}  {k}" for k, n in sorted(by_component.items())]
    lines.append("  by type:")
    lines += [f"    {n:5d}  {k}" for k, n in sorted(by_type.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name: reads stacks/Pulumi.STACK.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: PROJECT_DIR/build)")
    parser.add_argument("--quiet", action="store_true", help="print only the plan path")
    parser.add_argument("--project-dir", type=Path, default=ROOT, help="project folder (default: this repository)")
    args = parser.parse_args(argv)
    out_dir = (args.out or args.project_dir / "build") / args.stack
    try:
        stack_config(args.stack, args.project_dir)  # a broken stack file fails before the output folder is touched
        check_folder(out_dir, ("plan.json", "template.json"), what="plan")  # and an unusable folder before the run
        document = make_plan(args.stack, args.project_dir)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = write_plan(document, out_dir)
    if not args.quiet:
        print(summary(document))
    print(f"wrote {_shown(path)}")
    try:
        template = write_template(document, out_dir)
    except ExportError as exc:
        # plan.json stays for inspection; a template.json of an earlier plan must not pass for this one's
        stale = out_dir / "template.json"
        if stale.is_file() or stale.is_symlink():
            stale.unlink()
        print(f"error: ARM export: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {_shown(template)}")
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
