"""Mutation suite: single-setting insecure changes to the dev stack's plan; the gate (shipped enforcement file, no
suppressions) reports each as a violation of the expected rule, mandatory under prod enforcement."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.gate.evaluate import evaluate
from tests.policies.case import Case
from tests.policies.cases import CASES
from tests.policies.policy_cases import NO_SUPPRESSIONS, TODAY, mutate, with_endpoint_diagnostics

MUTATIONS = [c for c in CASES if c.base == "dev"]


@pytest.fixture(scope="module")
def dev(dev_plan: Any) -> dict[str, Any]:
    return with_endpoint_diagnostics(dev_plan.document)


def test_the_suite_is_large_enough() -> None:
    assert len(MUTATIONS) >= 40
    assert len({m.rule for m in MUTATIONS}) >= 40


def test_the_unmutated_plan_has_no_violation(dev: dict[str, Any]) -> None:
    report = evaluate(dev, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    assert [f.rule for f in report.findings if f.status == "violation"] == []


@pytest.mark.parametrize("case", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_gate_catches(case: Case, dev: dict[str, Any]) -> None:
    mutated = mutate(dev, case.resource, case.path, case.value)
    caught = evaluate(mutated, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    found = [
        (f.urn.rsplit("::", 1)[-1], f.message)
        for f in caught.findings
        if f.rule == case.rule and f.status == "violation"
    ]
    assert found == list(case.expected)
    as_prod = evaluate(mutated, today=TODAY, stack="prod", suppressions_file=NO_SUPPRESSIONS)
    assert {f.level for f in as_prod.findings if f.rule == case.rule} == {"mandatory"}
