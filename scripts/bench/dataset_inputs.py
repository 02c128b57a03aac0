"""Time and peak memory of ``python -m scripts.dataset`` on hostile configuration-like input.

Each case runs the command line in a fresh process (with an address-space limit and a time limit, so a
reader without bounds shows as a failure rather than taking the machine down) and prints its exit status,
wall time and peak resident memory::

    python -m scripts.bench.dataset_inputs [--timeout 60] [--memory-mb 4096]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.common.paths import ROOT

VALID = """name: customers
version: "1.0.0"
classification: confidential
source: {kind: internal, uri: https://crm.example.internal/exports/customers}
columns:
- {name: id, pii: none, action: keep}
- {name: notes, pii: none, action: hash}
"""


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    return VALID + "\n".join(lines) + "\n"


def _cases(folder: Path) -> list[tuple[str, list[str]]]:
    data = folder / "d.csv"
    data.write_text("id,notes\n1,x\n", encoding="utf-8")
    files = {
        "alias-bomb.yaml": _alias_bomb(),
        "deep-100k.yaml": VALID + "description: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "large-1mib.yaml": VALID + "description: " + "x" * (1024 * 1024) + "\n",
        "valid.yaml": VALID,
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    key = folder / "k.key"
    key.write_bytes(b"k" * 48)
    out = str(folder / "out.csv")

    def scan(manifest: str) -> list[str]:
        return ["scan", str(data), "--manifest", manifest]

    return [
        ("manifest /dev/zero", scan("/dev/zero")),
        ("manifest alias bomb (9^9 nodes)", scan(str(folder / "alias-bomb.yaml"))),
        ("manifest nested 100,000 levels", scan(str(folder / "deep-100k.yaml"))),
        ("manifest of 1 MiB + 1", scan(str(folder / "large-1mib.yaml"))),
        (
            "key file /dev/zero",
            ["anonymize", str(data), "--manifest", str(folder / "valid.yaml"), "--out", out, "--key-file", "/dev/zero"],
        ),
        ("deny-list /dev/zero", [*scan(str(folder / "valid.yaml")), "--deny-list", "/dev/zero"]),
        ("valid manifest (baseline)", scan(str(folder / "valid.yaml"))),
    ]


def _limit(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(command: list[str], stderr_path: Path, timeout: float, memory_mb: int) -> tuple[str, float, float, str]:
    """(exit status or TIME, seconds, peak resident MB, first stderr line) of one case in a fresh process."""
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed module)
            [sys.executable, "-m", "scripts.dataset", *command],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=lambda: _limit(memory_mb),  # noqa: PLW1509 (no threads in this process)
        )
    code = "TIME"
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            code = str(os.waitstatus_to_exitcode(status))
            break
        if time.monotonic() - started > timeout:
            process.kill()
            _, _, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    lines = stderr_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return code, elapsed, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as unbounded")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of each case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        print(f"{'case':<34} {'exit':>4} {'seconds':>8} {'peak MB':>8}  stderr")
        for label, command in _cases(Path(scratch)):
            code, elapsed, peak, line = _run(command, Path(scratch) / "stderr.txt", args.timeout, args.memory_mb)
            print(f"{label:<34} {code:>4} {elapsed:>8.2f} {peak:>8.0f}  {line[:90]}")
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
