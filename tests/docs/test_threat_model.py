"""docs/threat-model.md stays true: every rule and test it names exists, every threat is enforced."""

from __future__ import annotations

import re

import pytest

from policies.catalog import RULES, RULES_BY_ID
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "threat-model.md").read_text()
FAMILIES = {
    "Model stealing (extraction)": "stealing",
    "Evasion (adversarial inputs)": "evasion",
    "Data poisoning": "poisoning",
}


def _section(title: str) -> str:
    return DOC.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_rule_named_exists():
    named = set(re.findall(r"MLSEC-[A-Z]+-\d{3}", DOC))
    assert named, "the threat model names no rule"
    assert sorted(named - set(RULES_BY_ID)) == []


def test_every_test_file_named_exists():
    named = set(re.findall(r"`(tests/[\w/]+\.py)`", DOC))
    assert named
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []


@pytest.mark.parametrize("title", FAMILIES)
def test_each_attack_family_has_enforcing_rules(title: str):
    rules = set(re.findall(r"MLSEC-[A-Z]+-\d{3}", _section(title)))
    assert rules, f"{title}: no enforcing rule"
    assert rules <= set(RULES_BY_ID)


def test_every_threat_of_the_catalog_is_enforced_and_described():
    threats = {str(rule.threat.value) for rule in RULES}
    assert threats == {"stealing", "evasion", "poisoning", "privacy", "availability"}
    for family in FAMILIES.values():
        named = set(re.findall(r"MLSEC-[A-Z]+-\d{3}", DOC))
        assert any(str(r.threat.value) == family for r in RULES if r.id in named), family


def test_rules_of_each_family_are_named_in_the_model():
    """A rule the catalog files under a family is part of that family's story in the doc."""
    named = set(re.findall(r"MLSEC-[A-Z]+-\d{3}", DOC))
    missing = sorted(r.id for r in RULES if str(r.threat.value) in ("poisoning", "privacy") and r.id not in named)
    assert missing == []


def test_the_four_prevention_areas_are_covered():
    areas = _section("Prevention areas")
    for area in ("processes", "testing", "data security", "diversity"):
        assert f"| {area} |" in areas, area
