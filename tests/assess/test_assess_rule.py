"""The stealing-budget rule (MLSEC-EPT-030) with measured records, and the command that writes them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.catalog.rules import stealing
from scripts.assess.__main__ import main
from scripts.common.cli import run
from scripts.gate.evaluate import evaluate
from tests.conftest import Plan

NO_SUPPRESSIONS = Path(__file__).resolve().parents[1] / "policies" / "data" / "no-suppressions.yaml"
MODEL = "azureml:fraud-model:3"


def _findings(document: dict[str, Any], records: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    parsed: Any
    try:
        parsed = stealing.parse_records(records, "assessments.yaml")
    except stealing.RecordsError as exc:
        parsed = exc
    monkeypatch.setattr(stealing, "load_records", lambda: parsed)
    report = evaluate(document, rules=[stealing.STEALING_BUDGET], suppressions_file=NO_SUPPRESSIONS)
    return [(f.urn.rsplit("::", 1)[-1], f.message) for f in report.findings if f.rule == "MLSEC-EPT-030"]


def _record(needed: int | None, largest: int = 20_000) -> dict[str, Any]:
    return {"models": {MODEL: {"fidelityTarget": 0.9, "queriesToTarget": needed, "maxQueries": largest}}}


def test_the_shipped_records_file_is_readable_and_empty() -> None:
    assert stealing.load_records() == {}


def test_a_model_copied_within_the_dev_quota_fails(dev_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    # the quota-volume alert fires above 5,000 calls by one caller in a day (half the quota)
    assert _findings(dev_plan.document, _record(5_000), monkeypatch) == [
        (
            "mlsec-dev-fraud-score-blue",
            "azureml:fraud-model:3 is copied to 90% fidelity with 5000 queries, and one caller may make 5000 per "
            "quota period (86400 s) without an alert",
        )
    ]
    assert _findings(dev_plan.document, _record(5_001), monkeypatch) == []


def test_without_the_quota_volume_alert_the_whole_quota_goes_unnoticed(
    dev_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = copy.deepcopy(dev_plan.document)
    document["resources"] = [r for r in document["resources"] if r["name"] != "mlsec-dev-gw-quota-volume"]
    found = _findings(document, _record(10_000), monkeypatch)
    assert [name for name, _ in found] == ["mlsec-dev-fraud-score-blue"] * 2
    assert found[0][1].startswith("no enabled quota-volume alert")
    assert found[1][1] == (
        "azureml:fraud-model:3 is copied to 90% fidelity with 10000 queries, and one caller may make 10000 per "
        "quota period (86400 s) without an alert"
    )


def test_a_lower_quota_makes_the_same_model_pass(dev_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    document = copy.deepcopy(dev_plan.document)
    (policy,) = [r for r in document["resources"] if r["name"] == "mlsec-dev-gw-fraud-score-policy"]
    policy["inputs"]["value"] = policy["inputs"]["value"].replace(
        'quota-by-key calls="10000"', 'quota-by-key calls="1500"'
    )
    # the quota-volume alert follows the quota (half of it), as the gateway writes it from the stack
    (alert,) = [r for r in document["resources"] if r["name"] == "mlsec-dev-gw-quota-volume"]
    criterion = alert["inputs"]["criteria"]["allOf"][0]
    criterion["query"] = criterion["query"].replace("where calls > 5000", "where calls > 750")
    assert _findings(document, _record(2_000), monkeypatch) == []
    assert _findings(dev_plan.document, _record(2_000), monkeypatch) != []


def test_an_extraction_that_stopped_short_proves_nothing(dev_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _findings(dev_plan.document, _record(None, 4_999), monkeypatch) == [
        (
            "mlsec-dev-fraud-score-blue",
            "azureml:fraud-model:3's extraction tried only 4999 queries, fewer than the 5000 one caller may make "
            "per quota period without an alert",
        )
    ]
    assert _findings(dev_plan.document, _record(None, 20_000), monkeypatch) == []


def test_a_model_without_a_record_is_not_judged(dev_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    other = {"models": {"azureml:other:1": {"fidelityTarget": 0.9, "queriesToTarget": 50, "maxQueries": 100}}}
    assert _findings(dev_plan.document, other, monkeypatch) == []


@pytest.mark.parametrize(
    "records",
    [
        None,
        {"models": []},
        {"models": {MODEL: {"fidelityTarget": 0.9, "queriesToTarget": 0, "maxQueries": 100}}},
        {"models": {MODEL: {"fidelityTarget": 1, "queriesToTarget": 10, "maxQueries": 100}}},
        {"models": {MODEL: {"queriesToTarget": 10, "maxQueries": 100}}},
        {"models": {}, "extra": 1},
    ],
)
def test_unreadable_records_fail_every_deployment(
    dev_plan: Plan, monkeypatch: pytest.MonkeyPatch, records: Any
) -> None:
    found = _findings(dev_plan.document, records, monkeypatch)
    assert [name for name, _ in found] == ["mlsec-dev-fraud-score-blue"]
    assert found[0][1].startswith("the extraction records cannot be judged: assessments.yaml")


def test_a_limit_given_as_an_expression_cannot_be_judged(dev_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    document = copy.deepcopy(dev_plan.document)
    (policy,) = [r for r in document["resources"] if r["name"] == "mlsec-dev-gw-fraud-score-policy"]
    policy["inputs"]["value"] = policy["inputs"]["value"].replace(
        'quota-by-key calls="10000"', 'quota-by-key calls="@(5)"'
    )
    assert _findings(document, _record(None), monkeypatch) == [
        (
            "mlsec-dev-gw-fraud-score-policy",
            "the rate limit or quota is not a plain number; the stealing budget cannot be judged",
        )
    ]


def test_record_writes_a_record_the_rule_reads(tmp_path: Path) -> None:
    records = tmp_path / "assessments.yaml"
    records.write_text("# reviewed\nmodels: {}\n", encoding="utf-8")
    report = tmp_path / "assessment.json"
    extraction = {"queriesToTarget": 2000, "fidelityTarget": 0.9, "queries": [50, 2000, 20000]}
    report.write_text(json.dumps({"extraction": extraction}), encoding="utf-8")
    args = ["record", "--assessment", str(report), "--model-ref", MODEL, "--records", str(records)]
    assert run(main, [*args, "--report-location", "reviews/fraud-model-3.json"]) == 0
    text = records.read_text(encoding="utf-8")
    assert text.startswith("# reviewed\n")
    assert yaml.safe_load(text) == {
        "models": {
            MODEL: {
                "fidelityTarget": 0.9,
                "queriesToTarget": 2000,
                "maxQueries": 20000,
                "report": "reviews/fraud-model-3.json",
            }
        }
    }
    assert stealing.load_records.__wrapped__(records) == {MODEL: stealing.Record(0.9, 2000, 20000)}
    assert (
        run(
            main,
            [
                "record",
                "--assessment",
                str(report),
                "--model-ref",
                "fraud",
                "--records",
                str(records),
                "--report-location",
                "x",
            ],
        )
        == 2
    )
