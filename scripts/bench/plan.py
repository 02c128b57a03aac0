"""Offline-plan speed: ``python -m scripts.bench.plan [--workspaces 1,10,18,25]``.

For each workspace count, writes a dev-like stack with that many workspaces into a scratch copy of
the project, runs ``python -m scripts.plan`` in a fresh process (so import time counts, as it does
for a user) and prints wall time and resources per second. Not part of the test run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from scripts.common.paths import ROOT
from scripts.common.safeload import read_json
from scripts.plan.engine import stack_config


def bench_stack(workspaces: int) -> dict[str, object]:
    """The dev stack with ``workspaces`` workspaces, each with CMK and two compute clusters."""
    config = stack_config("dev")
    template = config["secure-ml:workspaces"][0]
    config["secure-ml:workspaces"] = [
        {
            **template,
            "name": f"team{i:02d}",
            "dataScientistGroupId": f"6f0f4c5e-2d1a-4c59-9d0a-{i:012d}",
            "customerManagedKey": True,
            "endpoints": [{**template["endpoints"][0], "name": f"team{i:02d}-score"}],
            "computeClusters": [
                {"name": "cpu-train", "vmSize": "Standard_DS3_v2", "maxNodes": 4},
                {"name": "gpu-train", "vmSize": "Standard_NC6s_v3", "maxNodes": 2},
            ],
        }
        for i in range(workspaces)
    ]
    config["secure-ml:cosmosDbPrincipalId"] = "3c1a7e52-6b0d-4f8e-9a21-5d4c8b7f0e13"  # CMK workspaces need it
    return {"config": config}


def run(workspaces: int, scratch: Path) -> tuple[int, float]:
    stack = f"bench{workspaces}"
    (scratch / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(bench_stack(workspaces)))
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "scripts.plan", stack, "--project-dir", str(scratch), "--quiet"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    resources = len(read_json(scratch / "build" / stack / "plan.json", what="plan")["resources"])
    return resources, elapsed


def _counts(text: str) -> list[int]:
    try:
        counts = [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated whole numbers") from None
    if not all(0 < c <= 100 for c in counts):
        raise argparse.ArgumentTypeError("expected counts from 1 to 100")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=_counts, default="1,10,18,25", help="comma-separated workspace counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per count; the best is reported")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(ROOT / name, scratch / name)
        (scratch / "components").symlink_to(ROOT / "components")
        (scratch / "stacks").mkdir()
        print(f"{'workspaces':>10}  {'resources':>9}  {'wall s':>7}  {'resources/s':>11}")
        for count in args.workspaces:
            resources, best = 0, float("inf")
            for _ in range(args.repeat):
                resources, elapsed = run(count, scratch)
                best = min(best, elapsed)
            print(f"{count:>10}  {resources:>9}  {best:>7.2f}  {resources / best:>11.0f}")
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
