"""The blueprint's commands, found in the tree: what the command tests share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands() -> dict[str, Path]:
    """Every command a user runs with ``python -m``: a package's ``__main__.py`` or a module with a main block."""
    found: dict[str, Path] = {}
    for folder in ("scripts", "policies/catalog"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            dotted = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
            if path.name == "__main__.py":
                found[dotted.removesuffix(".__main__")] = path
            elif 'if __name__ == "__main__":' in path.read_text():
                found[dotted] = path
    return found


def python_m(module: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGV...`` run from the project root in a process of its own, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *argv], check=False, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
