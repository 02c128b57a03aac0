"""MLSEC-KQL-001: the alert queries, checked by Microsoft's Kusto language library against the documented schemas.

The analyzer (scripts/gate/kql/analyze.mjs) runs for real in every test here, except those that replace its command to
show how the gate treats an analyzer that cannot be trusted.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from scripts.gate import evaluate, kql_check
from scripts.gate.cli import main
from scripts.gate.evaluate import Report
from scripts.gate.kql_check import ANALYZER, RULE_ID, SCHEDULED_QUERY_RULE, SCHEMA_FILE, KqlError, scan_with_kql

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
PACKAGE = ROOT / "node_modules" / "@kusto" / "language-service-next" / "package.json"
pytestmark = pytest.mark.skipif(
    NODE is None or not PACKAGE.is_file(), reason="node or @kusto/language-service-next missing: run `make env`"
)

DENIED_AS_BUILT = "| where StatusCode in (401, 403)"
DENIED_FIXED = '| where StatusCode in ("401", "403")'
IN_MISMATCH = (
    "The operator 'in' compares values of types string and long; compare values of one type "
    "(cast explicitly, e.g. tostring() or toint())."
)


def analyze(*queries: str, schema: Path = SCHEMA_FILE) -> list[list[tuple[str, str, int, str]]]:
    """(code, message, start, origin) of every diagnostic, per query, from one analyzer run."""
    payload = json.dumps([{"id": str(i), "query": q} for i, q in enumerate(queries)])
    done = subprocess.run(
        [str(NODE), str(ANALYZER), "--schema", str(schema)], input=payload, capture_output=True, text=True, check=True
    )
    document = json.loads(done.stdout)
    assert document["library"] == {"name": "@kusto/language-service-next", "version": "12.4.1"}
    assert [r["id"] for r in document["results"]] == [str(i) for i in range(len(queries))]
    return [
        [(d["code"], d["message"], d["start"], d["origin"]) for d in r["diagnostics"] if d["severity"] == "Error"]
        for r in document["results"]
    ]


# ---------------------------------------------------------------------------------------------
# The schema file
# ---------------------------------------------------------------------------------------------


def test_every_table_names_its_microsoft_learn_page_and_the_common_columns() -> None:
    tables = json.loads(SCHEMA_FILE.read_text())["tables"]
    assert set(tables) == {
        "StorageBlobLogs",
        "ApiManagementGatewayLogs",
        "AzureActivity",
        "AppRequests",
        "AzureDiagnostics",
    }
    for name, table in tables.items():
        assert table["source"] == f"https://learn.microsoft.com/azure/azure-monitor/reference/tables/{name.lower()}"
        columns = table["columns"]
        common = {"TimeGenerated": "datetime", "_ResourceId": "string", "Type": "string", "TenantId": "string"}
        assert {c: columns.get(c) for c in common} == common, name
        assert set(columns.values()) <= {"string", "int", "long", "real", "bool", "datetime", "dynamic", "guid"}
    assert tables["StorageBlobLogs"]["columns"]["StatusCode"] == "string"
    assert tables["ApiManagementGatewayLogs"]["columns"]["ResponseCode"] == "int"
    assert tables["ApiManagementGatewayLogs"]["columns"]["RequestHeaders"] == "dynamic"
    assert tables["AzureActivity"]["columns"]["Properties_d"] == "dynamic"
    assert tables["AppRequests"]["columns"]["Success"] == "bool"
    assert tables["AzureDiagnostics"]["columns"]["DurationMs"] == "long"
    assert len(tables["StorageBlobLogs"]["columns"]) == 55


def test_an_unusable_schema_file_stops_the_analyzer(tmp_path: Path) -> None:
    schema = tmp_path / "tables.json"
    schema.write_text(json.dumps({"tables": {"T": {"source": "x", "columns": {"A": "varchar"}}}}))
    done = subprocess.run(
        [str(NODE), str(ANALYZER), "--schema", str(schema)], input="[]", capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "T.A: unusable column or type 'varchar'" in done.stderr


# ---------------------------------------------------------------------------------------------
# The analyzer on good and bad queries
# ---------------------------------------------------------------------------------------------


def test_good_queries_have_no_diagnostics() -> None:
    assert analyze(
        'StorageBlobLogs\n| where AccountName == "a"\n' + DENIED_FIXED,
        'ApiManagementGatewayLogs\n| extend caller = tostring(parse_json(RequestHeaders)["x-caller-id"])\n'
        "| where ResponseCode >= 400 and ResponseCode != 429 and ResponseCode in (500, 503)\n"
        "| summarize calls = count() by caller\n| where calls > 10",
        'AzureActivity | where OperationNameValue =~ "Microsoft.Authorization/locks/delete" and Level == "Error"',
        "AppRequests | where Success == false and DurationMs > 1000.0 | summarize count() by bin(TimeGenerated, 5m)",
        "AzureDiagnostics | where isAccessPolicyMatch_b == true and DurationMs > 100",
    ) == [[], [], [], [], []]


def test_an_unknown_column_an_unknown_table_and_a_syntax_error() -> None:
    column, table, syntax = analyze(
        "StorageBlobLogs | where RequesterObjectID == 'x'",
        "StorageBlobLog | take 1",
        "StorageBlobLogs | wher StatusCode == '403'",
    )
    assert column == [
        (
            "KS142",
            "The name 'RequesterObjectID' does not refer to any known column, table, variable or function.",
            24,
            "kusto",
        )
    ]
    assert table == [
        (
            "KS204",
            "The name 'StorageBlobLog' does not refer to any known table, tabular variable or function.",
            0,
            "kusto",
        )
    ]
    assert syntax[0] == ("KS176", "Query operator expected.", 18, "kusto")


def test_a_string_column_compared_with_numbers() -> None:
    """The library itself flags ordering operators on mismatched types, but binds ==, != and in between a string
    and a number without any diagnostic; the analyzer's comparison check reports those."""
    ordering, membership, equality, fine = analyze(
        "StorageBlobLogs | where StatusCode >= 400",
        "StorageBlobLogs\n| where StatusCode in (401, 403)",
        "StorageBlobLogs | where StatusCode != 200",
        "StorageBlobLogs | where toint(StatusCode) in (401, 403) and StatusCode == '403'",
    )
    assert ordering == [
        ("KS106", "The operator '>=' is not defined for the operand types string and long.", 35, "kusto")
    ]
    assert membership == [("KQL-TYPE", IN_MISMATCH, 24, "comparison")]
    assert equality == [
        (
            "KQL-TYPE",
            "The operator '!=' compares values of types string and long; compare values of one type "
            "(cast explicitly, e.g. tostring() or toint()).",
            24,
            "comparison",
        )
    ]
    assert fine == []


def test_the_library_alone_does_not_flag_the_mismatch() -> None:
    """Why the comparison check exists: the library's own diagnostics are empty for this query."""
    [diagnostics] = analyze("StorageBlobLogs | where StatusCode in (401, 403)")
    assert [d for d in diagnostics if d[3] == "kusto"] == []


# ---------------------------------------------------------------------------------------------
# The gate step
# ---------------------------------------------------------------------------------------------


def _queries(document: dict[str, Any]) -> dict[str, str]:
    return {
        r["name"]: r["inputs"]["criteria"]["allOf"][0]["query"]
        for r in document["resources"]
        if r["type"] == SCHEDULED_QUERY_RULE
    }


def _set_query(document: dict[str, Any], suffix: str, query: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    [rule] = [r for r in document["resources"] if r["type"] == SCHEDULED_QUERY_RULE and r["name"].endswith(suffix)]
    rule["inputs"]["criteria"]["allOf"][0]["query"] = query
    return document


def _pinned(document: dict[str, Any], denied: str) -> dict[str, Any]:
    """The plan with the failed-authorization tripwire's filter written as ``denied``."""
    [name] = [n for n in _queries(document) if n.endswith("-tripwire-denied")]
    query = _queries(document)[name]
    head = query.split("\n| where StatusCode", 1)[0]
    return _set_query(document, "-tripwire-denied", f"{head}\n{denied}")


def _scan(document: dict[str, Any], **kwargs: Any) -> Report:
    report = Report("p", str(document.get("stack")), len(document["resources"]), 0)
    scan_with_kql(report, document, **kwargs)
    return report


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_plans_queries(stack: str, request: pytest.FixtureRequest) -> None:
    """Every alert query of the shipped plans binds cleanly, once the tripwire compares status codes as strings;
    written with numbers, it is the one finding."""
    document = request.getfixturevalue(f"{stack}_plan").document
    assert len(_queries(document)) == 13
    clean = _scan(_pinned(document, DENIED_FIXED))
    assert clean.findings == []
    assert clean.kql is not None and (clean.kql.queries, clean.kql.rules, clean.kql.errors) == (13, 13, 0)
    as_built = _scan(_pinned(document, DENIED_AS_BUILT))
    assert [(f.rule, f.level, f.urn.rsplit("::", 1)[1], f.message, f.source) for f in as_built.findings] == [
        (
            RULE_ID,
            "mandatory",
            f"mlsec-{stack}-data-tripwire-denied",
            f"criteria.allOf[0].query, line 3, column 9: {IN_MISMATCH} [KQL-TYPE]",
            "kql",
        )
    ]
    real = _scan(document)
    assert [f.message for f in real.findings] in ([], [as_built.findings[0].message])


def test_a_table_missing_from_the_schema_file_is_a_finding(dev_plan: Any) -> None:
    document = _set_query(_pinned(dev_plan.document, DENIED_FIXED), "-gw-errors", "AzureMetrics\n| where Total > 0")
    [finding] = _scan(document).findings
    assert finding.urn.endswith("::mlsec-dev-gw-errors")
    assert finding.message == (
        "criteria.allOf[0].query, line 1, column 1: The name 'AzureMetrics' does not refer to any known table, "
        "tabular variable or function. (tables the gate knows: policies/kql/tables.json) [KS204]"
    )


@pytest.mark.parametrize(
    ("value", "what"), [("[unknown]", "unknown at plan time"), ("[secret]", "a secret in the plan")]
)
def test_a_query_the_plan_does_not_know_is_not_analyzable(dev_plan: Any, value: str, what: str) -> None:
    report = _scan(_set_query(_pinned(dev_plan.document, DENIED_FIXED), "-gw-throttled", value))
    assert [(f.level, f.urn.rsplit("::", 1)[1], f.message) for f in report.findings] == [
        (
            "mandatory",
            "mlsec-dev-gw-throttled",
            f"criteria.allOf[0].query is {what}: not analyzable, so the gate cannot vouch for this alert",
        )
    ]
    assert report.kql is not None and (report.kql.queries, report.kql.not_analyzable, report.kql.errors) == (13, 1, 0)


@pytest.fixture
def dev_fixture(dev_plan: Any, tmp_path: Path) -> Path:
    """The dev plan with every query clean (the tripwire's status codes compared as strings)."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_pinned(dev_plan.document, DENIED_FIXED)))
    return path


def test_a_bad_query_fails_the_gate_in_every_report(dev_fixture: Path, tmp_path: Path) -> None:
    assert main(["--plan", str(dev_fixture), "--no-checkov"]) == 0
    bad = _set_query(
        json.loads(dev_fixture.read_text()), "-gw-throttled", "ApiManagementGatewayLogs | where Status == 429"
    )
    dev_fixture.write_text(json.dumps(bad))
    assert main(["--plan", str(dev_fixture), "--no-checkov"]) == 1
    message = (
        "criteria.allOf[0].query, line 1, column 34: The name 'Status' does not refer to any known column, table, "
        "variable or function. [KS142]"
    )
    report = json.loads((tmp_path / "policy-report.json").read_text())
    assert report["summary"]["mandatory"] == 1
    [finding] = [f for f in report["findings"] if f["source"] == "kql"]
    assert (finding["rule"], finding["severity"], finding["level"], finding["message"]) == (
        RULE_ID,
        "high",
        "mandatory",
        message,
    )
    assert report["kql"]["scan"]["errors"] == 1 and report["kql"]["scan"]["queries"] == 13
    assert {
        "id": RULE_ID,
        "name": kql_check.RULE_NAME,
        "severity": "high",
        "source": "kql",
        "level": "mandatory",
    } in report["rules"]
    sarif = json.loads((tmp_path / "policy-report.sarif").read_text())
    [run] = [r for r in sarif["runs"] if r["tool"]["driver"]["name"] == "mlsec-kql"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [RULE_ID]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [(RULE_ID, "error")]
    assert run["results"][0]["message"]["text"].startswith(message)
    junit = ET.parse(tmp_path / "policy-report.junit.xml").getroot()
    failing = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failing == [f"{RULE_ID} {kql_check.RULE_NAME}"]
    assert junit.get("failures") == "1"


def test_no_kql_skips_the_step_and_says_so(dev_fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _set_query(json.loads(dev_fixture.read_text()), "-gw-throttled", "Nope")
    dev_fixture.write_text(json.dumps(bad))
    assert main(["--plan", str(dev_fixture), "--no-checkov", "--no-kql"]) == 0
    assert "kql: not run (--no-kql): the alert queries were not analyzed" in capsys.readouterr().out


def test_without_node_the_gate_exits_2(
    dev_fixture: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kql_check.shutil, "which", lambda name: None)
    assert main(["--plan", str(dev_fixture), "--no-checkov"]) == 2
    assert "error: KQL analysis: node is not on PATH" in capsys.readouterr().err


def test_without_the_library_the_gate_exits_2(
    dev_fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The analyzer copied where no node_modules can be found: it cannot load the package."""
    lonely = tmp_path / "lonely" / "analyze.mjs"
    lonely.parent.mkdir()
    shutil.copy(ANALYZER, lonely)
    command = [str(NODE), str(lonely), "--schema", str(SCHEMA_FILE)]
    assert main(["--plan", str(dev_fixture), "--no-checkov"], kql_command=command) == 2
    err = capsys.readouterr().err
    assert "the KQL analyzer failed with exit status 2: analyze.mjs: cannot load @kusto/language-service-next" in err


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("process.exit(3)", "the KQL analyzer failed with exit status 3: no output"),
        ("console.log('done')", "the KQL analyzer printed no JSON document"),
        ("console.log('{}')", "the KQL analyzer returned no results list"),
        (
            "console.log(JSON.stringify({library: {version: '1'}, results: []}))",
            "the KQL analyzer answered for 0 queries, not the 13 it was given",
        ),
    ],
)
def test_an_analyzer_that_cannot_be_trusted_exits_2(
    dev_fixture: Path, script: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--plan", str(dev_fixture), "--no-checkov"], kql_command=[str(NODE), "-e", script]) == 2
    assert f"error: KQL analysis: {message}" in capsys.readouterr().err


def test_unreadable_diagnostics_exit_2(dev_plan: Any) -> None:
    queries, _, _ = kql_check.alert_queries(dev_plan.document)
    results = [{"id": q.id, "diagnostics": [{"severity": "Error", "message": "x"}]} for q in queries]
    script = f"console.log(JSON.stringify({json.dumps({'library': {'version': '1'}, 'results': results})}))"
    with pytest.raises(KqlError, match=re.escape(f"unreadable diagnostics for {queries[0].id}")):
        kql_check.run_analyzer(queries, [str(NODE), "-e", script])


def test_a_rule_without_readable_criteria_exits_2(dev_plan: Any) -> None:
    document = _set_query(dev_plan.document, "-gw-errors", "x")
    [rule] = [r for r in document["resources"] if r["name"].endswith("-gw-errors")]
    rule["inputs"]["criteria"]["allOf"][0].pop("query")
    with pytest.raises(evaluate.GateError, match=r"criteria.allOf\[0\] has no query text \(found None\)"):
        _scan(document)
    rule["inputs"]["criteria"] = {"allOf": "StorageBlobLogs"}
    with pytest.raises(evaluate.GateError, match=r"criteria\.allOf is not a list of conditions"):
        _scan(document)
