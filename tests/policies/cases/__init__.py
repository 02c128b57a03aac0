"""Every failing case of the policy rules, beside its rule: ``tests/policies/cases/<module>.py`` holds the cases
of the rules in ``policies/catalog/rules/<module>.py`` as ``CASES: tuple[Case, ...]`` (see
``tests/policies/case.py``). Importing the package imports one case module per rule module and refuses a rule
module without one, a case module without a rule module, a case filed beside another module's rule and two
cases with one name."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from policies.catalog import RULES
from policies.catalog import rules as rule_modules
from tests.policies.case import Case, validated


def _load() -> tuple[Case, ...]:
    rule_names = {m.name for m in pkgutil.iter_modules(rule_modules.__path__)}
    case_names = {m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])}
    if rule_names != case_names:
        raise ValueError(
            f"case modules must match the rule modules one to one: without cases {sorted(rule_names - case_names)}, "
            f"without rules {sorted(case_names - rule_names)}"
        )
    found: list[Case] = []
    for name in sorted(rule_names):
        ids = {rule.id for rule in importlib.import_module(f"{rule_modules.__name__}.{name}").RULES}
        cases: tuple[Case, ...] = importlib.import_module(f"{__name__}.{name}").CASES
        stray = [f"{c.name} ({c.rule})" for c in cases if c.rule not in ids]
        if stray:
            raise ValueError(f"tests/policies/cases/{name}.py holds cases of other modules' rules: {', '.join(stray)}")
        found += cases
    order = {rule.id: i for i, rule in enumerate(RULES)}
    return validated(sorted(found, key=lambda c: order[c.rule]))


CASES: tuple[Case, ...] = _load()
"""Every case, in the catalog's order of rules."""

__all__ = ["CASES", "Case"]
