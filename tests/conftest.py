"""Shared fixtures: the dev and prod plans, made once per test session by the real offline runner."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.plan.cli import make_plan

ROOT = Path(__file__).resolve().parent.parent


class Plan:
    """A plan.json document with lookups for assertions."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.resources: list[dict[str, Any]] = document["resources"]
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.outputs: dict[str, Any] = document["outputs"]

    def of_type(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == token]

    def one(self, token: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(token) if name is None or r["name"] == name]
        assert len(found) == 1, f"expected one {token} named {name}, found {[r['name'] for r in found]}"
        return found[0]

    def inputs(self, token: str, name: str | None = None) -> dict[str, Any]:
        return self.one(token, name)["inputs"]

    def made_by(self, component: str, token: str) -> list[dict[str, Any]]:
        """Resources of type ``token`` whose direct parent is a component of type ``component``."""
        return [
            r for r in self.of_type(token) if r["parent"] and r["parent"].split("::")[2].split("$")[-1] == component
        ]

    def children(self, urn: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["parent"] == urn]

    def role_assignments(self) -> list[dict[str, Any]]:
        return [r["inputs"] for r in self.of_type("azure-native:authorization:RoleAssignment")]


def stack_values(stack: str) -> dict[str, Any]:
    """The config values of a stack file, without the namespace."""
    data = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in data.items()}


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return Plan(make_plan("dev"))


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return Plan(make_plan("prod"))


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """A throw-away copy of the project whose stack files a test can write."""

    def make(
        stack: str = "case",
        base: str = "dev",
        mutate: Callable[[dict[str, Any]], None] | None = None,
        raw: str | None = None,
    ) -> Path:
        root = tmp_path / "project"
        if not root.exists():
            root.mkdir()
            for name in ("Pulumi.yaml", "__main__.py"):
                shutil.copy(ROOT / name, root / name)
            (root / "components").symlink_to(ROOT / "components")
            (root / "stacks").mkdir()
        path = root / "stacks" / f"Pulumi.{stack}.yaml"
        if raw is not None:
            path.write_text(raw)
        else:
            values = copy.deepcopy(stack_values(base))
            if mutate:
                mutate(values)
            path.write_text(yaml.safe_dump({"config": {f"secure-ml:{k}": v for k, v in values.items()}}))
        return root

    yield make


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True)
