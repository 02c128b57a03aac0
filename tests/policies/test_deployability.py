"""Deployability suite: each input that Azure or the provider would reject on the first `pulumi up` is put
back into the shipped dev or prod plan, and the gate - with the shipped enforcement file, in that stack -
must fail it (exit 1, a mandatory finding of the named rule). Teams that fork the blueprint change stack
files and code, not these tests; a fork that reintroduces one of these fails its gate."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from scripts.gate.evaluate import evaluate
from scripts.gate.kql_check import scan_with_kql
from scripts.plan.cli import make_plan
from scripts.plan.engine import PlanError
from tests.policies.policy_cases import DELETE, NO_SUPPRESSIONS, TODAY, mutate

# (what Azure or the provider rejects, base plan, resource, input path or None to remove it, value, rule)
REINTRODUCED: list[tuple[str, str, str, str | None, Any, str]] = [
    (
        "storage account named by the provider's auto-naming (hyphens kept, over 24 characters)",
        "dev",
        "mlsec-dev-dataacct",
        "accountName",
        "mlsec-dev-dataacct0f92afad",
        "MLSEC-NAME-001",
    ),
    (
        "registry name with hyphens",
        "prod",
        "mlsec-prod-fraudacr",
        "registryName",
        "mlsec-prod-fraud-acr",
        "MLSEC-NAME-001",
    ),
    (
        "AllMetrics on a storage account",
        "prod",
        "mlsec-prod-data-diag",
        "metrics",
        [{"category": "AllMetrics", "enabled": True}],
        "MLSEC-DIAG-001",
    ),
    (
        "AllMetrics on the system storage",
        "dev",
        "mlsec-dev-fraud-sys-diag",
        "metrics",
        [{"category": "AllMetrics", "enabled": True}],
        "MLSEC-DIAG-001",
    ),
    (
        "traffic set on the endpoint before its deployments exist",
        "dev",
        "mlsec-dev-fraud-score-ep",
        "properties.traffic",
        {"blue": 100},
        "MLSEC-EPT-004",
    ),
    (
        "mirror traffic set at creation",
        "prod",
        "mlsec-prod-fraud-score-ep",
        "properties.mirrorTraffic",
        {"detector": 20},
        "MLSEC-EPT-004",
    ),
    ("no traffic step after the deployments", "prod", "mlsec-prod-fraud-score-traffic", None, DELETE, "MLSEC-EPT-011"),
    (
        "API Management units that do not divide over three zones",
        "prod",
        "mlsec-prod-gw-apim",
        "sku.capacity",
        2,
        "MLSEC-APIM-020",
    ),
    (
        "TargetUtilization scaling on a managed online deployment",
        "prod",
        "mlsec-prod-fraud-score-blue",
        "properties.scaleSettings",
        {"scaleType": "TargetUtilization", "minInstances": 2, "maxInstances": 6},
        "MLSEC-EPT-012",
    ),
    ("a log alert over 14 days", "dev", "mlsec-dev-gw-new-caller", "overrideQueryTimeRange", "P14D", "MLSEC-OPS-020"),
    (
        "validate-content as JSON with no schema published",
        "dev",
        "mlsec-dev-gw-fraud-score-schema",
        None,
        DELETE,
        "MLSEC-APIM-021",
    ),
    (
        "systemDatastoresAuthMode outside the documented enum",
        "dev",
        "mlsec-dev-fraud-mlw",
        "systemDatastoresAuthMode",
        "identity",
        "MLSEC-MLW-005",
    ),
    (
        "no image build compute behind a private registry",
        "prod",
        "mlsec-prod-churn-mlw",
        "imageBuildCompute",
        DELETE,
        "MLSEC-MLW-013",
    ),
    (
        "no approver role for the managed network's private endpoints",
        "dev",
        "mlsec-dev-fraud-id-data-pe-approver",
        None,
        DELETE,
        "MLSEC-MLW-011",
    ),
    (
        "Azure Cosmos DB cannot reach the workspace key",
        "prod",
        "mlsec-prod-fraud-cmk-cosmos-cosmosdb",
        None,
        DELETE,
        "MLSEC-MLW-012",
    ),
]


@pytest.fixture(scope="module")
def plans(dev_plan: Any, prod_plan: Any) -> dict[str, dict[str, Any]]:
    return {"dev": dev_plan.document, "prod": prod_plan.document}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_plans_pass(stack: str, plans: dict[str, dict[str, Any]]) -> None:
    report = evaluate(plans[stack], today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    scan_with_kql(report, plans[stack])
    assert report.mandatory == [] and report.exit_code == 0


@pytest.mark.parametrize(
    ("what", "base", "name", "path", "value", "rule"), REINTRODUCED, ids=[f"{r[5]}:{r[0]}" for r in REINTRODUCED]
)
def test_the_gate_fails_a_reintroduced_blocker(
    what: str, base: str, name: str, path: str | None, value: Any, rule: str, plans: dict[str, dict[str, Any]]
) -> None:
    report = evaluate(mutate(plans[base], name, path, value), today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    assert report.exit_code == 1, what
    assert rule in {f.rule for f in report.mandatory}, what


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_gate_fails_a_status_code_compared_with_numbers(stack: str, plans: dict[str, dict[str, Any]]) -> None:
    document = plans[stack]
    rule = next(r for r in document["resources"] if r["name"] == f"mlsec-{stack}-data-tripwire-denied")
    query = rule["inputs"]["criteria"]["allOf"][0]["query"]
    assert 'StatusCode in ("401", "403")' in query
    broken = mutate(document, rule["name"], "criteria.allOf.0.query", query.replace('("401", "403")', "(401, 403)"))
    report = evaluate(broken, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    scan_with_kql(report, broken)
    assert report.exit_code == 1
    assert [(f.rule, f.urn.rsplit("::", 1)[-1]) for f in report.mandatory] == [
        ("MLSEC-KQL-001", f"mlsec-{stack}-data-tripwire-denied")
    ]


def test_gateway_units_that_do_not_divide_over_the_zones_stop_the_plan(project: Any) -> None:
    def two_units(values: dict[str, Any]) -> None:
        values["gateway"]["capacity"] = 2

    root = project(base="prod", mutate=two_units)
    with pytest.raises((PlanError, ConfigError), match=r"gateway\.capacity: expected a multiple of 3"):
        make_plan("case", root)
