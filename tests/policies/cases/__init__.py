"""Every failing case of the policy rules, beside its rule: ``tests/policies/cases/<module>.py`` holds the cases
of the rules in the ``RULES`` of ``policies/catalog/rules/<module>.py`` as ``CASES: tuple[Case, ...]`` (see
``tests/policies/case.py``), and its stack-file cases as ``STACK_CASES``. Importing the package imports one case
module per rule module and refuses a rule module without one, a case module without a rule module, a case filed
beside another module's rule and two cases with one name."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from policies.catalog import RULES
from policies.catalog import rules as rule_modules
from tests.policies.case import Case, StackCase, validated


def _load() -> tuple[tuple[Case, ...], tuple[StackCase, ...]]:
    # A rule module is one with a RULES tuple (an area); helper modules it imports rules from hold none.
    rule_names = {
        m.name
        for m in pkgutil.iter_modules(rule_modules.__path__)
        if hasattr(importlib.import_module(f"{rule_modules.__name__}.{m.name}"), "RULES")
    }
    case_names = {m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])}
    if rule_names != case_names:
        raise ValueError(
            f"case modules must match the rule modules one to one: without cases {sorted(rule_names - case_names)}, "
            f"without rules {sorted(case_names - rule_names)}"
        )
    found: list[Case] = []
    stack_cases: list[StackCase] = []
    for name in sorted(rule_names):
        ids = {rule.id for rule in importlib.import_module(f"{rule_modules.__name__}.{name}").RULES}
        module = importlib.import_module(f"{__name__}.{name}")
        cases: tuple[Case, ...] = module.CASES
        changes: tuple[StackCase, ...] = getattr(module, "STACK_CASES", ())
        stray = [f"{c.name} ({c.rule})" for c in (*cases, *changes) if c.rule not in ids]
        if stray:
            raise ValueError(f"tests/policies/cases/{name}.py holds cases of other modules' rules: {', '.join(stray)}")
        found += cases
        stack_cases += changes
    validated([*found, *stack_cases])  # one name space for both kinds
    order = {rule.id: i for i, rule in enumerate(RULES)}
    return (
        tuple(sorted(found, key=lambda c: order[c.rule])),
        tuple(sorted(stack_cases, key=lambda c: order[c.rule])),
    )


CASES, STACK_CASES = _load()
"""Every case and every stack-file case, in the catalog's order of rules."""

__all__ = ["CASES", "STACK_CASES", "Case", "StackCase"]
