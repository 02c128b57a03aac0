"""Time and memory of ``python -m scripts.plan`` on hostile stack files: ``python -m scripts.bench.hostile``.

Writes each case into a scratch copy of the project, runs the plan in a fresh process and prints its exit
status, wall time and peak resident memory (the child's own ``ru_maxrss``). Every case must end with exit
status 2 in about the time the interpreter takes to start. Not part of the test run.

- an alias bomb of ten levels of nine aliases (9**9 lists) used as a config value;
- the dev stack file with a duplicate key;
- a document nested 100,000 levels deep;
- ``/dev/zero`` (an endless stream) as the stack file;
- a stack file one byte over the size cap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scripts.common.paths import ROOT
from scripts.common.safeload import MAX_CONFIG_BYTES

DEV = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8")


def alias_bomb() -> str:
    """The dev stack with an alias bomb as the value of a config key."""
    anchors = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    anchors += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    return "\n".join(anchors) + "\n" + DEV.replace("config:\n", "config:\n  secure-ml:lol: *a9\n", 1)


CASES: dict[str, Callable[[Path], object]] = {
    "alias bomb (9**9 lists)": lambda p: p.write_text(alias_bomb()),
    "duplicate key": lambda p: p.write_text(DEV + "  secure-ml:locks:\n    enabled: true\n"),
    "nested 100,000 deep": lambda p: p.write_text("config:\n  secure-ml:deep: " + "[" * 100_000 + "]" * 100_000),
    "/dev/zero": lambda p: p.symlink_to("/dev/zero"),
    "1 byte over the cap": lambda p: p.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1)),
}


def measure(project: Path, stack: str) -> tuple[int, float, float, str]:
    """Exit status, wall seconds, peak RSS in MiB and the first line of standard error of one plan run."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "scripts.plan", stack, "--project-dir", str(project), "--out", str(project / "out")],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    return process.returncode, elapsed, usage.ru_maxrss / 1024, (err.splitlines() or [""])[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.hostile", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(ROOT / name, project / name)
        (project / "components").symlink_to(ROOT / "components")
        (project / "stacks").mkdir()
        print(f"{'case':<26} {'exit':>4} {'wall s':>7} {'peak MiB':>9}  message")
        for i, (label, write) in enumerate(CASES.items()):
            stack = f"case{i}"
            write(project / "stacks" / f"Pulumi.{stack}.yaml")
            code, elapsed, peak, line = measure(project, stack)
            print(f"{label:<26} {code:>4} {elapsed:>7.2f} {peak:>9.0f}  {line[:110]}")
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
