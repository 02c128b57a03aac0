"""scripts.common.stackfile: the one reader of stacks/Pulumi.<stack>.yaml, and every command reading through it
(the offline engine, the kill switch, the live verification, the team scaffolding) refusing the same files."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.common.cli import run
from scripts.common.safeload import InputError
from scripts.common.stackfile import (
    config_key,
    project_settings,
    read_stack_file,
    secure_paths,
    stack_names,
    stack_path,
)
from scripts.ops import kill_switch, verify_deployment
from scripts.plan import cli as plan
from scripts.team import new_team
from tests.conftest import ROOT
from tests.team.scratch import copy_project

DEV = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
GROUP = "11111111-2222-4333-8444-555555555555"


def write(root: Path, stack: str, text: str) -> None:
    (root / "stacks").mkdir(exist_ok=True)
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)


def refusal(root: Path, stack: str) -> str:
    with pytest.raises(InputError) as caught:
        read_stack_file(stack, root, "secure-ml")
    return str(caught.value)


def test_the_dev_stack_file_is_read_with_its_text_and_settings():
    found = read_stack_file("dev", ROOT, "secure-ml")
    assert (found.name, found.path, found.text) == ("dev", "stacks/Pulumi.dev.yaml", DEV)
    settings = found.settings("secure-ml")
    assert settings["namePrefix"] == "mlsec" and settings["network"]["addressSpace"] == "10.40.0.0/16"
    assert set(found.config) == {f"secure-ml:{name}" for name in settings}
    assert stack_names(ROOT)[:2] == ["dev", "prod"] and stack_path("dev") == "stacks/Pulumi.dev.yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- config\n", "stacks/Pulumi.s.yaml: (top level): expected a mapping with a config: mapping, found a list"),
        ("config: text\n", "stacks/Pulumi.s.yaml: config: expected a mapping of settings, found 'text'"),
        ("config:\n  a: 1\n  a: 2\n", "stacks/Pulumi.s.yaml: the stack file has duplicate key 'a' at line 3"),
        (
            "config:\n  secure-ml:reviewed: 2026-11-30\n",
            "stacks/Pulumi.s.yaml: config.secure-ml:reviewed: holds a value the engine cannot pass as JSON",
        ),
        (
            "config:\n  namePrefix: a\n  secure-ml:namePrefix: b\n",
            "stacks/Pulumi.s.yaml: config.secure-ml:namePrefix: the same setting as config.namePrefix; "
            "the last value would silently win",
        ),
    ],
)
def test_a_malformed_stack_file_is_refused_naming_the_file_and_key(tmp_path: Path, text: str, message: str):
    write(tmp_path, "s", text)
    assert refusal(tmp_path, "s").startswith(message)


def test_a_missing_stack_lists_the_stacks_and_a_bad_name_is_refused(tmp_path: Path):
    write(tmp_path, "dev", "config: {}\n")
    assert refusal(tmp_path, "qa") == "stacks/Pulumi.qa.yaml: no such stack file (stacks: dev)"
    assert refusal(tmp_path, "..").startswith("'..' is not a stack name")


def test_another_namespace_is_not_a_project_setting_and_an_empty_file_has_none(tmp_path: Path):
    write(tmp_path, "s", "config:\n  azure-native:location: westeurope\n  secure-ml:namePrefix: a\n")
    assert read_stack_file("s", tmp_path, "secure-ml").settings("secure-ml") == {"namePrefix": "a"}
    write(tmp_path, "e", "# nothing yet\n")
    assert read_stack_file("e", tmp_path).config == {}
    assert project_settings({"other:x": 1}, "secure-ml", "f") == {}
    assert config_key({"namePrefix": 1}, "secure-ml", "namePrefix") == "namePrefix"
    assert config_key({}, "secure-ml", "tags") == "secure-ml:tags"


def test_secure_values_are_found_wherever_they_are():
    config = {"a": {"secure": "v1:x"}, "b": {"c": [1, {"secure": "v1:y"}]}, "d": {"secure": "v1:z", "e": 1}}
    assert secure_paths(config) == ["config.a", "config.b.c[1]"]


def call(main: Callable[..., int], argv: list[str]) -> tuple[int, str]:
    """Exit status and standard error of a command run in-process."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = run(main, argv)
    return code, err.getvalue()


def test_every_command_refuses_a_setting_given_with_and_without_the_namespace(tmp_path: Path):
    """Pulumi reads ``namePrefix`` and ``secure-ml:namePrefix`` as one key: no command lets one silently win."""
    root = copy_project(tmp_path)
    stack = root / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(DEV.replace("config:\n", "config:\n  namePrefix: other\n", 1))
    line = (
        "error: stacks/Pulumi.dev.yaml: config.secure-ml:namePrefix: the same setting as config.namePrefix; "
        "the last value would silently win\n"
    )
    out = tmp_path / "out"
    assert call(plan.main, ["dev", "--project-dir", str(root), "--out", str(out)]) == (2, line)
    assert not out.exists()
    argv = ["dev", "--reason", "INC-1: stop the model APIs now", "--dry-run", "--project-dir", str(root)]
    assert call(kill_switch.main, argv) == (2, line)
    argv = ["dev", "--from-outputs", str(tmp_path / "none.json"), "--project-dir", str(root)]
    assert call(verify_deployment.main, argv) == (2, line)
    before = stack.read_bytes()
    assert call(new_team.main, ["alpha", "--data-scientist-group", GROUP, "--project-dir", str(root)]) == (2, line)
    assert stack.read_bytes() == before and not (root / "stacks" / "Pulumi.alpha-dev.yaml").exists()
