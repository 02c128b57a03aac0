"""Generated docs stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from policies.catalog import RULES
from scripts.docs import config as config_docs
from scripts.docs import rule_examples
from scripts.docs import rules as rule_docs
from tests.conftest import ROOT


def test_configuration_reference_is_current():
    assert (ROOT / "docs" / "configuration.md").read_text() == config_docs.render(), (
        "docs/configuration.md is stale: run python -m scripts.docs.config"
    )


def test_configuration_reference_lists_every_key_of_the_example_stacks():
    import yaml

    text = (ROOT / "docs" / "configuration.md").read_text()

    def keys(prefix: str, value: object) -> list[str]:
        if isinstance(value, dict):
            return [prefix] + [k for key, v in value.items() for k in keys(f"{prefix}.{key}" if prefix else key, v)]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [prefix] + [k for item in value for k in keys(f"{prefix}[]", item)[1:]]
        return [prefix]

    for stack in ("dev", "prod"):
        config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
        for top, value in config.items():
            for key in keys(top.split(":", 1)[1], value):
                if key.endswith((".enabled", ".reason")) or key.startswith("network.hubDnsZoneIds."):
                    continue
                documented = re.sub(r"^dataStorage\.zones\.[a-z]+", "dataStorage.zones.<key>", key)
                if documented == "dataStorage.zones.<key>":
                    continue  # the map key itself: its allowed values are in the zones row
                assert f"| `{documented}` |" in text, f"{stack}: {key} is not documented"


def test_readme_quickstart_has_exactly_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in quickstart.splitlines() if line.startswith("make ")]
    assert commands == ["make plan", "make test"]


@pytest.fixture(scope="module")
def rule_reference(dev_plan: Any, prod_plan: Any) -> dict[Path, str]:
    return rule_docs.render({"dev": dev_plan.document, "prod": prod_plan.document})


def test_rule_reference_is_current(rule_reference: dict[Path, str]) -> None:
    assert rule_docs.stale(rule_reference) == [], "run python -m scripts.docs.rules"


def test_the_index_links_one_page_per_rule(rule_reference: dict[Path, str]) -> None:
    assert set(rule_reference) == {rule_docs.RULES_MD} | {rule_docs.PAGES / f"{r.id}.md" for r in RULES}
    links = re.findall(
        r"^\| \[(MLSEC-[A-Z]+-\d+)\]\(rules/(MLSEC-[A-Z]+-\d+)\.md\) \|", rule_reference[rule_docs.RULES_MD], re.M
    )
    assert links == [(r.id, r.id) for r in RULES]


def test_the_check_finds_stale_missing_and_extra_pages(rule_reference: dict[Path, str], tmp_path: Path) -> None:
    files = {tmp_path / path.relative_to(ROOT): text for path, text in rule_reference.items()}
    pages = tmp_path / "docs" / "rules"
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert rule_docs.stale(files, pages) == []
    (pages / "MLSEC-STG-001.md").write_text("old text\n")
    (pages / "MLSEC-STG-002.md").unlink()
    (pages / "MLSEC-STG-999.md").write_text("a rule that no longer exists\n")
    assert rule_docs.stale(files, pages) == [
        f"{pages / 'MLSEC-STG-001.md'} is stale",
        f"{pages / 'MLSEC-STG-002.md'} is missing",
        f"{pages / 'MLSEC-STG-999.md'} belongs to no rule",
    ]


def test_a_page_shows_the_tested_change_and_the_shipped_value(rule_reference: dict[Path, str]) -> None:
    page = rule_reference[rule_docs.PAGES / "MLSEC-STG-001.md"]
    shipped = "type: azure-native:storage:StorageAccount\nname: mlsec-dev-dataacct\ninputs:\n  allowSharedKeyAccess: "
    assert f"{shipped}false\n```" in page.split("### Non-compliant")[0]
    assert f"{shipped}true\n```" in page.split("### Non-compliant")[1]
    assert "- `mlsec-dev-dataacct`: allowSharedKeyAccess must be false (found true)\n" in page
    assert "the resource comes from components/datastorage.py (component `secure-ml:data:DataStorage`)" in page


def test_opt_out_snippets_are_the_settings_that_reach_security_opt_outs() -> None:
    keys = {r.opt_out for r in RULES if r.opt_out}
    assert keys == {
        "dataStorage.immutability",
        "keyVault.purgeProtection",
        "locks",
        "monitoring.activityLog",
        "monitoring.appInsightsPublicIngestion",
        "monitoring.privateLink",
    }
    snippets = rule_examples.opt_out_snippets(keys)
    assert snippets["keyVault.purgeProtection"] == {
        "config": {"secure-ml:keyVault": {"purgeProtection": {"enabled": False, "reason": rule_examples.REASON}}}
    }
    assert snippets["monitoring.appInsightsPublicIngestion"]["config"]["secure-ml:monitoring"] == {
        "appInsightsPublicIngestion": {"enabled": True, "reason": rule_examples.REASON}
    }
    with pytest.raises(ValueError, match=re.escape("opt-out network.addressSpace: no stack-file setting")):
        rule_examples.opt_out_snippets({"network.addressSpace"})


def test_a_stack_file_value_that_causes_findings_is_on_the_page(rule_reference: dict[Path, str]) -> None:
    page = rule_reference[rule_docs.PAGES / "MLSEC-EPT-030.md"]
    assert "```yaml\nconfig:\n  secure-ml:gateway:\n    callerVolumeThreshold: 900\n```" in page
    assert "(case `stack-file-caller-volume-threshold-900-never-fires`; `stacks/Pulumi.dev.yaml` sets `500`)" in page
