"""Every command the README, the docs and the pipeline templates tell a user (or a pipeline) to run exists: each
``python -m MODULE`` is one of the blueprint's commands and answers ``--help``, each ``make TARGET`` is a target of
the Makefile. Commands are read from code only (fenced blocks and inline code in Markdown, the whole of a
pipeline template), so prose such as "make the platform" is not one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.commands import ROOT, commands, python_m

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1", re.DOTALL | re.MULTILINE)
_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_MODULE = re.compile(r"(?<![\w-])-m\s+([A-Za-z_][\w.]*(?:<[\w-]+>)?)")
_MAKE = re.compile(r"(?<![\w./-])make\s+([a-z][\w-]*)")
_TARGET = re.compile(r"^([A-Za-z][\w-]*)\s*:(?!=)", re.MULTILINE)


def documents() -> list[Path]:
    """The README, every page under docs/ and both pipeline templates (GitHub Actions and Azure Pipelines)."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
        ROOT / "azure-pipelines.yml",
        ROOT / ".ci" / "azure-pipelines-pulumi.yml",
    ]


def code(text: str, *, markdown: bool) -> list[str]:
    """The parts of a document that are code: a Markdown page's fenced blocks and inline spans, all of a template."""
    if not markdown:
        return [text]
    blocks = [m.group(2) for m in _FENCE.finditer(text)]
    return blocks + [m.group(2) for m in _SPAN.finditer(_FENCE.sub("", text))]


def mentions(pattern: re.Pattern[str]) -> dict[str, set[str]]:
    """What ``pattern`` names in the code of every document, with the documents that name it."""
    found: dict[str, set[str]] = {}
    for path in documents():
        for part in code(path.read_text(), markdown=path.suffix == ".md"):
            for name in pattern.findall(part):
                found.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    return found


def is_command(module: str, known: dict[str, Path]) -> bool:
    """Whether ``module`` is a command; a placeholder such as ``scripts.bench.<name>`` is one if its package has one."""
    if "<" in module:
        package = module.split("<", 1)[0].rstrip(".")
        return any(name.startswith(package + ".") for name in known)
    return module in known


def make_targets() -> set[str]:
    return set(_TARGET.findall((ROOT / "Makefile").read_text()))


COMMANDS = commands()
MODULES = mentions(_MODULE)
TARGETS = mentions(_MAKE)


def test_code_is_told_from_prose() -> None:
    page = (
        "We make the platform safe.\n\n```bash\nmake plan STACK=prod\n.venv/bin/python -m scripts.plan dev\n```\n"
        "Run `make test`, then `python -m scripts.bench.<name>`; see docs/make-it.md.\n"
    )
    parts = code(page, markdown=True)
    assert sorted({m for part in parts for m in _MAKE.findall(part)}) == ["plan", "test"]
    assert sorted({m for part in parts for m in _MODULE.findall(part)}) == ["scripts.bench.<name>", "scripts.plan"]
    assert _MAKE.findall("run: make env\n  make lint # then\ncmake build") == ["env", "lint"]


def test_placeholders_and_unknown_modules() -> None:
    assert is_command("scripts.bench.<name>", COMMANDS)
    assert not is_command("scripts.nothing.<name>", COMMANDS)
    assert not is_command("scripts.offline", COMMANDS)  # an internal module of the earlier layout, not a command
    assert is_command("scripts.check", COMMANDS)  # the gate's earlier name, kept
    assert is_command("scripts.ops.kill_switch", COMMANDS)


def test_the_documents_name_the_stage_commands() -> None:
    stages = {"scripts.plan", "scripts.gate", "scripts.team", "scripts.dataset", "scripts.assess"}
    assert stages | {"scripts.ops.preflight", "scripts.ops.kill_switch", "scripts.ops.verify_deployment"} <= set(
        MODULES
    )
    assert {"env", "plan", "test", "lint", "assess", "secrets"} <= set(TARGETS)
    assert {"pull-request.yml", "azure-pipelines.yml"} <= {Path(d).name for t in TARGETS.values() for d in t}


def test_every_named_module_is_a_command() -> None:
    assert {m: sorted(where) for m, where in MODULES.items() if not is_command(m, COMMANDS)} == {}


def test_every_named_make_target_exists() -> None:
    assert {t: sorted(where) for t, where in TARGETS.items() if t not in make_targets()} == {}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if "<" not in m))
def test_every_named_command_answers_help(module: str) -> None:
    done = python_m(module, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: "), done.stdout[:200]
