"""Membership inference: an overfit model leaks which records it was trained on; a general one does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.assess.__main__ import main
from scripts.assess.membership import run_membership
from scripts.assess.sample import load_sample
from scripts.assess.target import Counted, load_target
from scripts.common.cli import run
from scripts.common.safeload import InputError
from tests.assess.models import members, robust, weak


@pytest.fixture(scope="module")
def weak_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("weak")
    model, spec = weak(folder)
    return model, spec, members(folder, 0.6)


@pytest.fixture(scope="module")
def robust_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("robust")
    model, spec = robust(folder)
    return model, spec, members(folder, 4.0)


def _run(case: tuple[Path, Path, Path], seed: int = 0):  # type: ignore[no-untyped-def]
    model, spec, member_spec = case
    target = Counted(load_target(model))
    return run_membership(target, load_sample(member_spec, seed=seed), load_sample(spec, seed=seed), seed=seed)


def test_an_overfit_tree_leaks_membership(weak_case: tuple[Path, Path, Path]) -> None:
    result = _run(weak_case)
    # a fully grown tree answers every training record correctly: the rule-based attack finds them all
    assert result.true_positive_rate == 1.0
    assert result.advantage >= 0.25 and result.baseline_advantage >= 0.25
    assert result.records == 300
    # 600 members and 600 non-members asked once for the black-box attack, the last 300 of each again by the
    # rule-based baseline
    assert result.queries == 1200 + 600
    assert _run(weak_case) == result


def test_a_regularized_linear_model_does_not(robust_case: tuple[Path, Path, Path]) -> None:
    result = _run(robust_case)
    assert abs(result.advantage) <= 0.1 and abs(result.baseline_advantage) <= 0.05


def test_too_few_records_cannot_be_judged(weak_case: tuple[Path, Path, Path]) -> None:
    model, spec, member_spec = weak_case
    with pytest.raises(InputError, match="at least 20 members"):
        run_membership(
            Counted(load_target(model)), load_sample(member_spec, seed=0, rows=10), load_sample(spec, seed=0), seed=0
        )


def test_command_fails_a_leaking_model_and_passes_a_general_one(
    weak_case: tuple[Path, Path, Path], robust_case: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    for case, code in ((weak_case, 1), (robust_case, 0)):
        model, spec, member_spec = case
        out = tmp_path / model.stem
        args = ["model", "--model", str(model), "--sample", str(spec), "--members", str(member_spec)]
        assert run(main, [*args, "--attacks", "membership", "--out", str(out)]) == code
        report = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
        assert [f["id"] for f in report["findings"]] == ["membership-advantage"]
        assert report["membership"]["records"] == 300


def test_membership_needs_the_training_records(robust_case: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, spec, _ = robust_case
    args = ["model", "--model", str(model), "--sample", str(spec), "--attacks", "membership", "--out", str(tmp_path)]
    assert run(main, args) == 2
