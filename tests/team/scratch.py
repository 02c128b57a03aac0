"""Scratch copies of the project for the tests of scripts.team, and running the command in them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.common import cli
from scripts.team import new_team
from tests.conftest import ROOT


def copy_project(parent: Path) -> Path:
    """A scratch project under ``parent``: the program, the dev and prod templates and the registry."""
    project = parent / "project"
    (project / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    (project / "components").symlink_to(ROOT / "components")
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml", "address-registry.yaml"):
        shutil.copy(ROOT / "stacks" / name, project / "stacks" / name)
    return project


def invoke(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of ``python -m scripts.team ARGS`` in ``root``."""
    code = cli.run(new_team.main, [*args, "--project-dir", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
