"""Every rule: a compliant fixture passes, and each failing case (``tests/policies/cases``) changes exactly one
field (or removes one resource) and yields exactly the expected findings. Test ids are the case names."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies.catalog import RULES_BY_ID
from scripts.plan.cli import make_plan
from tests.policies.case import Case, StackCase, validated
from tests.policies.cases import CASES, STACK_CASES
from tests.policies.policy_cases import mutate, serving_plan, violations, with_endpoint_diagnostics


@pytest.fixture(scope="module")
def bases(dev_plan: Any, prod_plan: Any) -> dict[str, dict[str, Any]]:
    return {
        "dev": with_endpoint_diagnostics(dev_plan.document),
        "prod": with_endpoint_diagnostics(prod_plan.document),
        "serving": serving_plan(),
    }


@pytest.mark.parametrize(("rule", "base"), sorted({(c.rule, c.base) for c in CASES}))
def test_compliant_fixture_passes(rule: str, base: str, bases: dict[str, dict[str, Any]]) -> None:
    assert violations(bases[base], rule) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_change_fails(case: Case, bases: dict[str, dict[str, Any]]) -> None:
    changed = mutate(bases[case.base], case.resource, case.path, case.value)
    assert violations(changed, case.rule) == list(case.expected)


@pytest.mark.parametrize("case", STACK_CASES, ids=[c.name for c in STACK_CASES])
def test_one_stack_file_change_fails(case: StackCase, project: Callable[..., Path]) -> None:
    def change(values: dict[str, Any]) -> None:
        *parents, leaf = case.key.split(".")
        for part in parents:
            values = values[part]
        values[leaf] = case.value

    root = project(stack=case.stack, base=case.stack, mutate=change)
    planned = with_endpoint_diagnostics(make_plan(case.stack, root))
    assert violations(planned, case.rule) == list(case.expected)


def test_cases_are_checked_when_they_are_made() -> None:
    good = CASES[0]
    for change, problem in (
        ({"name": "Data account"}, "the name is not kebab-case"),
        ({"rule": "MLSEC-XYZ-999"}, "unknown rule MLSEC-XYZ-999"),
        ({"base": "staging"}, "unknown base 'staging'"),
        ({"expected": ()}, "expected must be a non-empty tuple"),
        ({"expected": [["a", "b"]]}, "expected must be a non-empty tuple"),
    ):
        with pytest.raises(ValueError, match=re.escape(problem)):
            dataclasses.replace(good, **change)
    with pytest.raises(ValueError, match=re.escape("unknown base 'serving' (expected one of dev, prod)")):
        dataclasses.replace(STACK_CASES[0], stack="serving")
    with pytest.raises(ValueError, match=f"case names used more than once: {good.name}$"):
        validated((good, CASES[1], good))
    assert validated(CASES) == CASES
    old = ("MLSEC-STG-001", "dev", "mlsec-dev-dataacct", "allowSharedKeyAccess", True, [("a", "b")])
    assert Case("from-the-positional-form", *old).expected == (("a", "b"),)
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.rule for c in CASES} <= set(RULES_BY_ID)


def test_no_case_file_of_the_positional_form_is_left() -> None:
    left = sorted(p.name for p in Path(__file__).parent.glob("cases_*.py"))
    assert left == [], (
        f"{left}: move each (rule, base, resource, path, value, expected) tuple t into "
        "tests/policies/cases/<rule module>.py as Case('<what-is-wrong>', *t) (see tests/policies/case.py)"
    )
