"""A failing case of a policy rule: one change to a compliant plan and the exact findings it must produce.

Each rule module's cases live in ``tests/policies/cases/<module>.py`` (one per module of
``policies/catalog/rules``) as ``CASES: tuple[Case, ...]``; the package lists every module and checks the whole
set when it is imported. A case's name is its test id: ``pytest -k data-account-allows-shared-key`` runs it.

A :class:`StackCase` changes a shipped stack file instead, for a rule whose findings a stack file can cause
without an opt-out; a module may hold them as ``STACK_CASES``.

The field order of :class:`Case` is the order of the older positional form
``(rule, base, resource, path, value, expected)``, so such a tuple ``t`` becomes ``Case("<name>", *t)`` (a list of
expected findings becomes a tuple).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from policies.catalog import RULES_BY_ID

BASES = ("dev", "prod", "serving")
"""The compliant plans a case may change: the shipped dev and prod plans, and the hand-built serving stack
(``tests.policies.policy_cases.serving_plan``)."""

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_C = TypeVar("_C")


@dataclass(frozen=True)
class Case:
    """One change to a compliant base plan and the findings of one rule it must yield, no more, no fewer."""

    name: str
    """Unique, kebab-case, says what is wrong (``data-account-allows-shared-key``); the test id."""
    rule: str
    """The id of the rule under test (``MLSEC-STG-001``)."""
    base: str
    """The compliant plan the change is made to: one of ``BASES``."""
    resource: str
    """Logical name of the resource changed or removed."""
    path: str | None
    """The input changed (dotted, or ``::``-separated where a key holds dots); None removes the resource."""
    value: Any
    """The new value (``tests.policies.policy_cases.DELETE`` removes the input); ignored when ``path`` is None."""
    expected: tuple[tuple[str, str], ...]
    """Every unsuppressed finding of ``rule``: (logical name of the resource it is reported on, exact message)."""

    def __post_init__(self) -> None:
        if isinstance(self.expected, list):  # the positional form wrote a list
            object.__setattr__(self, "expected", tuple(self.expected))
        _refuse(self.name, self.rule, self.expected, base=(self.base, BASES))


@dataclass(frozen=True)
class StackCase:
    """One change to a shipped stack file and the findings of one rule the gate reports on its plan.

    For rules whose findings a stack file can cause without an opt-out (a value the settings validation
    accepts but the rule refuses); each one is planned by the test, so keep them few.
    """

    name: str
    """Unique among all cases, kebab-case, says what is wrong; the test id."""
    rule: str
    """The id of the rule under test."""
    stack: str
    """The shipped stack file changed: ``dev`` or ``prod``."""
    key: str
    """The setting changed, dotted below the project namespace (``gateway.callerVolumeThreshold``)."""
    value: Any
    """Its new value."""
    expected: tuple[tuple[str, str], ...]
    """Every unsuppressed finding of ``rule``: (logical name of the resource it is reported on, exact message)."""

    def __post_init__(self) -> None:
        _refuse(self.name, self.rule, self.expected, base=(self.stack, STACKS))


STACKS = ("dev", "prod")
"""The shipped stack files a :class:`StackCase` may change."""


def _refuse(name: str, rule: str, expected: Any, base: tuple[str, tuple[str, ...]]) -> None:
    """ValueError naming every problem of a case's common fields."""
    problems = []
    if not _NAME.match(name):
        problems.append("the name is not kebab-case")
    if rule not in RULES_BY_ID:
        problems.append(f"unknown rule {rule}")
    if base[0] not in base[1]:
        problems.append(f"unknown base {base[0]!r} (expected one of {', '.join(base[1])})")
    pairs = isinstance(expected, tuple) and all(
        isinstance(e, tuple) and len(e) == 2 and all(isinstance(s, str) for s in e) for e in expected
    )
    if not pairs or not expected:
        problems.append("expected must be a non-empty tuple of (logical name, message) pairs")
    if problems:
        raise ValueError(f"case {name!r}: {'; '.join(problems)}")


def validated(cases: Iterable[_C]) -> tuple[_C, ...]:
    """``cases`` as a tuple, refused if two share a name."""
    found = tuple(cases)
    twice = sorted(name for name, count in Counter(c.name for c in found).items() if count > 1)
    if twice:
        raise ValueError(f"case names used more than once: {', '.join(twice)}")
    return found
