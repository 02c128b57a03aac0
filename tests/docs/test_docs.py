"""Generated docs stay in step with the code."""

from __future__ import annotations

import re

from scripts.docs import config as config_docs
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
