"""Mutation suite: single-setting insecure changes to the dev stack's plan; the gate (shipped enforcement file, no
suppressions) reports each as a violation of the expected rule, mandatory under prod enforcement."""

from __future__ import annotations

from typing import Any

import pytest
from test_policy_rules import CASES

from scripts.gate.evaluate import evaluate
from tests.policies.policy_cases import NO_SUPPRESSIONS, TODAY, mutate, with_endpoint_diagnostics

MUTATIONS = [c for c in CASES if c[1] == "dev"]


@pytest.fixture(scope="module")
def dev(dev_plan: Any) -> dict[str, Any]:
    return with_endpoint_diagnostics(dev_plan.document)


def test_the_suite_is_large_enough() -> None:
    assert len(MUTATIONS) >= 40
    assert len({m[0] for m in MUTATIONS}) >= 40


def test_the_unmutated_plan_has_no_violation(dev: dict[str, Any]) -> None:
    report = evaluate(dev, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    assert [f.rule for f in report.findings if f.status == "violation"] == []


@pytest.mark.parametrize(
    ("rule", "name", "path", "value", "expected"),
    [(m[0], m[2], m[3], m[4], m[5]) for m in MUTATIONS],
    ids=[f"{m[0]}:{m[2]}:{m[3]}" for m in MUTATIONS],
)
def test_gate_catches(
    rule: str, name: str, path: str | None, value: Any, expected: list[tuple[str, str]], dev: dict[str, Any]
) -> None:
    mutated = mutate(dev, name, path, value)
    caught = evaluate(mutated, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    found = [
        (f.urn.rsplit("::", 1)[-1], f.message) for f in caught.findings if f.rule == rule and f.status == "violation"
    ]
    assert found == expected
    as_prod = evaluate(mutated, today=TODAY, stack="prod", suppressions_file=NO_SUPPRESSIONS)
    assert {f.level for f in as_prod.findings if f.rule == rule} == {"mandatory"}
