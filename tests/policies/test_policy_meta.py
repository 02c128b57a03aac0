"""The catalog is complete: metadata on every rule and a test case per rule (docs: tests/docs/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from components.common import FORBIDDEN_ROLES, ROLE
from policies.catalog import RULES, azure
from policies.catalog.model import ResourceRule, StackRule
from tests.policies.cases import CASES

_ID = re.compile(r"^MLSEC-[A-Z]{2,4}-\d{3}$")


def test_every_rule_has_metadata() -> None:
    problems = []
    for rule in RULES:
        if not _ID.match(rule.id):
            problems.append(f"{rule.id}: id")
        for field in ("name", "rationale", "remediation"):
            if len(getattr(rule, field).strip()) < 15:
                problems.append(f"{rule.id}: {field}")
        if not isinstance(rule, ResourceRule | StackRule):
            problems.append(f"{rule.id}: kind")
    assert problems == []
    assert len({r.id for r in RULES}) == len(RULES)


def test_every_rule_has_a_failing_case() -> None:
    assert {r.id for r in RULES} - {c.rule for c in CASES} == {"MLSEC-GOV-001", "MLSEC-GOV-002"}


def test_the_suppression_audit_is_tested_and_last() -> None:
    source = (Path(__file__).resolve().parents[1] / "gate" / "test_policy_gate.py").read_text()
    assert "MLSEC-GOV-001" in source
    assert RULES[-1].id == "MLSEC-GOV-001"


def test_role_facts_match_the_components() -> None:
    assert azure.FORBIDDEN_ROLES == FORBIDDEN_ROLES
    names = {guid: name for name, guid in ROLE.items()}
    assert {g: n for g, n in azure.ROLE_NAMES.items() if g in names} == {
        g: names[g] for g in azure.ROLE_NAMES if g in names
    }


def test_the_gate_applies_the_validators_limits() -> None:
    from components.config import ENVIRONMENT_LIMITS
    from policies.catalog.rules.plan_facts import ENVIRONMENT_LIMITS as GATE_LIMITS

    def pairs(table: Any) -> dict[str, tuple[int, int]]:
        return {env: (lim.max_rate_limit_calls_per_minute, lim.max_quota_calls_per_day) for env, lim in table.items()}

    assert pairs(ENVIRONMENT_LIMITS) == pairs(GATE_LIMITS)
