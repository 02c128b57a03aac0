"""``make plan`` on one stack, timed: ``python -m scripts.bench.make_plan [--stack dev] [--runs 3]``.

Runs the two commands ``make plan`` runs, each in a fresh process as the Makefile does (``python -m scripts.plan
STACK``, then ``python -m scripts.gate --plan build/STACK/plan.json``), and then each part of the gate on its own:
the rule catalog (:func:`scripts.gate.evaluate.evaluate`), checkov on the plan's ARM template, the KQL analysis of
the alert queries, and checkov's secrets scan of the repository (which runs once per commit, in ``make lint``, not
in ``make plan``). Prints the median of ``--runs`` runs of each, in seconds. Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from scripts.common.paths import ROOT
from scripts.common.safeload import read_json
from scripts.gate import checkov
from scripts.gate.evaluate import evaluate, prepare_plan
from scripts.gate.kql_check import scan_with_kql


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _command(*args: str) -> Callable[[], object]:
    """A command of this repository in a fresh interpreter, as the Makefile runs it; a failure stops the bench."""

    def run() -> object:
        return subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 (our own commands)

    return run


def _checkov(command: list[str]) -> Callable[[], object]:
    def run() -> object:
        [result] = checkov.run_processes([command])
        if result.returncode not in (0, 1):
            raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-500:]}")
        return result

    return run


def parts(stack: str) -> dict[str, Callable[[], object]]:
    """What is timed, by name: the two commands of ``make plan``, then the parts of the gate."""
    plan_file = ROOT / "build" / stack / "plan.json"
    uv = checkov.find_uv(ROOT)
    if uv is None:
        raise SystemExit("uv is neither at .tools/bin/uv nor on PATH: run `make env`")

    def document() -> dict[str, object]:
        return prepare_plan(read_json(plan_file, what="plan"), str(plan_file))

    return {
        "plan": _command(sys.executable, "-m", "scripts.plan", stack, "--quiet"),
        "gate": _command(sys.executable, "-m", "scripts.gate", "--plan", str(plan_file)),
        "gate-rules": lambda: evaluate(document(), source=str(plan_file)),
        "checkov-template": _checkov(checkov.arm_command(uv, plan_file.parent / "template.json")),
        "KQL": lambda: scan_with_kql(evaluate(document()), document()),
        "secrets-scan": _checkov(checkov.secrets_command(uv, ROOT)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.make_plan", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack to plan (default: dev)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each part; the median is printed (default: 3)")
    args = parser.parse_args(argv)
    timed = parts(args.stack)
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.runs):
        for name, action in timed.items():
            seconds[name].append(_timed(action))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"make plan STACK={args.stack}: median of {args.runs} runs, seconds")
    for name, value in median.items():
        spread = ", ".join(f"{v:.2f}" for v in seconds[name])
        print(f"  {name:<17} {value:6.2f}   ({spread})")
    print(f"  {'make plan':<17} {median['plan'] + median['gate']:6.2f}   (plan + gate)")
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
