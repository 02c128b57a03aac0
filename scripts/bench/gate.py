"""Policy-gate speed: ``python -m scripts.bench.gate [--resources 1000,10000,100000] [--profile]``.

Builds large plans from the dev plan the way large stacks grow - more workspaces: the resources of the dev
stack's workspace and endpoint components are copied under new logical names (their links to the shared
network, monitoring, key vault and data resources kept) until the plan holds the asked number of resources.
Then it times the rule catalog alone over each plan (``scripts.gate.evaluate.evaluate``: no checkov, no KQL, no report
files) and prints wall time and resources per second. ``--profile`` prints the hottest functions of the
largest run (cProfile). Not part of the test run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from scripts.gate.evaluate import evaluate

GROWING_COMPONENTS = ("secure-ml:ml:Workspace", "secure-ml:ml:Endpoint")
"""Components a larger stack has more of: each workspace with its endpoints."""


def dev_plan() -> dict[str, Any]:
    """The dev stack's plan (planned offline, in this process)."""
    from scripts.plan.cli import make_plan

    plan: dict[str, Any] = make_plan("dev")
    return plan


def _grows(resource: dict[str, Any]) -> bool:
    chain = resource["urn"].split("::")[2].split("$")
    return any(component in chain for component in GROWING_COMPONENTS)


NAME_INPUTS = ("workspaceName", "endpointName")
"""Inputs naming a copied workspace or endpoint: each copy gets names of its own, as a new team would."""


def _rename(value: Any, old: dict[str, str], names: list[str], suffix: str) -> Any:
    """``value`` with every copied URN replaced by its copy's URN, and every workspace or endpoint name (also
    inside resource IDs and scopes) by its copy's name."""
    if isinstance(value, str):
        if value in old:
            return old[value]
        for name in names:
            value = value.replace(name, name + suffix)
        return value
    if isinstance(value, list):
        return [_rename(v, old, names, suffix) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, old, names, suffix) for k, v in value.items()}
    return value


def grow(plan: dict[str, Any], size: int) -> dict[str, Any]:
    """A plan of ``size`` resources: ``plan`` plus copies of its workspace resources (the last copy cut short)."""
    base = plan["resources"]
    growing = [r for r in base if _grows(r)]
    if not growing:
        raise SystemExit("the plan has no workspace resources to copy")
    names = sorted(
        {r["inputs"][k] for r in growing for k in NAME_INPUTS if isinstance(r["inputs"].get(k), str)},
        key=len,
        reverse=True,
    )
    resources = list(base)
    copy_no = 0
    while len(resources) < size:
        copy_no += 1
        suffix = f"-x{copy_no:05d}"
        renamed = {r["urn"]: r["urn"] + suffix for r in growing}
        for r in growing:
            if len(resources) >= size:
                break
            twin = dict(r)
            twin["urn"] = renamed[r["urn"]]
            twin["name"] = r["name"] + suffix
            twin["parent"] = renamed.get(r.get("parent") or "", r.get("parent"))
            twin["dependencies"] = [renamed.get(d, d) for d in r.get("dependencies", [])]
            twin["inputs"] = _rename(r["inputs"], renamed, names, suffix)
            resources.append(twin)
    return {**plan, "resources": resources[:size] if size >= len(base) else base}


def time_rules(plan: dict[str, Any], profile: bool = False) -> tuple[float, int, str]:
    """Seconds the rule catalog takes over ``plan``, its finding count, and (with ``profile``) the hot spots."""
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = evaluate(plan, source="bench")
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    hot = ""
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        hot = out.getvalue()
    return elapsed, len(report.findings), hot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.gate", description=__doc__.splitlines()[0])
    parser.add_argument("--resources", default="1000,10000,100000", help="comma-separated plan sizes")
    parser.add_argument("--plan", type=Path, help="grow this plan.json instead of planning the dev stack")
    parser.add_argument("--profile", action="store_true", help="print cProfile's hot spots of the largest run")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text()) if args.plan else dev_plan()
    sizes = sorted(int(s) for s in args.resources.split(","))
    print(f"{'resources':>9}  {'rules s':>8}  {'resources/s':>11}  {'findings':>8}")
    hot = ""
    for size in sizes:
        grown = grow(plan, size)
        elapsed, findings, hot = time_rules(grown, profile=args.profile and size == sizes[-1])
        count = len(grown["resources"])
        print(f"{count:>9}  {elapsed:>8.2f}  {count / elapsed:>11.0f}  {findings:>8}", flush=True)
    if hot:
        print(hot)
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
