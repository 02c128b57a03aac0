"""Per-deployment assessment thresholds in the stack file: validated like every key, read by the command."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components import config
from scripts.assess.__main__ import main
from scripts.assess.cli import parser, resolve_thresholds
from scripts.assess.verdict import Thresholds
from scripts.common.cli import run
from tests.conftest import stack_values


def test_the_command_defaults_are_the_config_defaults() -> None:
    assert dataclasses.asdict(Thresholds()) == dataclasses.asdict(config.AssessmentThresholds())


def _with(assessment: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        values["workspaces"][0]["endpoints"][0]["deployments"][0]["assessment"] = assessment

    return mutate


@pytest.mark.parametrize(
    ("assessment", "line"),
    [
        (
            {"maxEvasionSuccess": 1.5},
            "  secure-ml:workspaces[0].endpoints[0].deployments[0].assessment.maxEvasionSuccess: expected a value "
            "at most 1.0, found 1.5",
        ),
        (
            {"minQueriesToFidelity": 0},
            "  secure-ml:workspaces[0].endpoints[0].deployments[0].assessment.minQueriesToFidelity: expected a value "
            "at least 1, found 0",
        ),
    ],
)
def test_bad_thresholds_name_the_stack_file_and_key(assessment: dict[str, Any], line: str) -> None:
    values = stack_values("dev")
    _with(assessment)(values)
    with pytest.raises(config.ConfigError) as err:
        config.validate(values, "dev")
    assert str(err.value).splitlines() == ["stacks/Pulumi.dev.yaml: invalid configuration", line]


def test_an_unknown_threshold_key_is_refused() -> None:
    values = stack_values("dev")
    _with({"maxEvasionSucess": 0.2})(values)
    with pytest.raises(config.ConfigError, match=r"assessment\.maxEvasionSucess: unknown key"):
        config.validate(values, "dev")


def _resolve(*argv: str) -> Thresholds:
    args = parser().parse_args(["model", "--model", "m.onnx", "--sample", "s.yaml", *argv])
    return resolve_thresholds(args)


def test_thresholds_come_from_the_deployment_and_options_override_them(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project("case", mutate=_with({"maxEvasionSuccess": 0.2, "minQueriesToFidelity": 20000}))
    monkeypatch.chdir(root)
    found = _resolve("--stack", "case", "--deployment", "fraud-score/blue")
    assert found == Thresholds(0.05, 0.2, 0.9, 20_000, 0.1)
    assert _resolve(
        "--stack", "case", "--deployment", "fraud-score/blue", "--max-evasion-success", "0.3"
    ) == Thresholds(0.05, 0.3, 0.9, 20_000, 0.1)
    assert _resolve() == Thresholds()


def test_an_unknown_deployment_cannot_be_judged(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project("case"))
    argv = ["model", "--model", "m.onnx", "--sample", "s.yaml", "--stack", "case", "--deployment", "fraud-score/red"]
    assert run(main, argv) == 2
    assert (
        "stacks/Pulumi.case.yaml: no deployment fraud-score/red (expected ENDPOINT/DEPLOYMENT)"
        in capsys.readouterr().err
    )
    assert run(main, ["model", "--model", "m.onnx", "--sample", "s.yaml", "--stack", "case"]) == 2
