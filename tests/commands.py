"""The blueprint's commands, found in the tree: what the command tests share."""

from __future__ import annotations

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
