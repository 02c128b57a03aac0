"""The alert queries of a plan, checked by Microsoft's Kusto language library (gate step MLSEC-KQL-001).

Every scheduled query rule (``azure-native:monitor:ScheduledQueryRule``) in the plan carries its log queries in
``criteria.allOf[].query``. All of them go, in one Node process, to ``scripts/gate/kql/analyze.mjs``, which parses and
semantically analyzes each with ``@kusto/language-service-next`` (the JavaScript build of Kusto.Language) against
the table schemas in ``policies/kql/tables.json`` (every column and type as Microsoft Learn's Azure Monitor table
reference documents it). A syntax error, an unknown table or column, an operator not defined for its operand
types, or an equality or ``in`` comparison between values of different types is a mandatory finding: Azure
accepts such a rule (the query is only a string in the ARM request) and the alert then fails at every evaluation
or never fires.

A query whose text the plan does not know (``[unknown]``; ``[secret]``) cannot be analyzed and is a mandatory
finding too: the gate cannot vouch for an alert it cannot read. Node missing, the library missing, an analyzer
crash or output that is not the expected JSON make the gate exit 2 (``KqlError``).

This step runs in the offline gate only (like checkov); CrossGuard at ``pulumi preview`` does not run it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.paths import ROOT
from scripts.gate.evaluate import Finding, GateError, Report

ANALYZER = Path(__file__).resolve().parent / "kql" / "analyze.mjs"
SCHEMA_FILE = ROOT / "policies" / "kql" / "tables.json"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"

RULE_ID = "MLSEC-KQL-001"
RULE_NAME = "Alert queries parse and bind against the documented schemas of the tables they read"
RULE_SEVERITY = "high"
RULE_RATIONALE = (
    "A scheduled query rule's query is an opaque string to Azure Resource Manager: a query with a syntax error, "
    "an unknown table or column, or a comparison between values of different types deploys without complaint, "
    "and the alert then fails at every evaluation or silently never fires. A detection control that never fires "
    "is worse than none, because everyone believes it is there."
)
RULE_REMEDIATION = (
    "Fix the query where the platform builds it (components/common.py log_alert callers), so that it reads only "
    "tables and columns listed in policies/kql/tables.json and compares values of one type; when a new table is "
    "needed, add its documented schema (with its Microsoft Learn URL) to that file."
)
RULE_DOCS = "docs/policy-gate.md#alert-queries-mlsec-kql-001"

NOT_ANALYZABLE = {"[unknown]": "unknown at plan time", "[secret]": "a secret in the plan"}
"""Placeholders the offline plan writes for values it does not show (scripts/plan/engine.py)."""

TIMEOUT_SECONDS = 120.0


class KqlError(Exception):
    """The queries could not be analyzed (the gate exits 2)."""


@dataclass(frozen=True)
class AlertQuery:
    """One ``criteria.allOf[i].query`` of one scheduled query rule."""

    urn: str
    index: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.urn}#{self.index}"


@dataclass(frozen=True)
class KqlFinding:
    """One problem with one alert query."""

    urn: str
    message: str
    level: str
    """mandatory (an error, or a query that cannot be read) or advisory (a library warning)."""


@dataclass
class KqlScan:
    """Summary of one analyzer run."""

    library: str
    queries: int
    rules: int
    not_analyzable: int
    errors: int
    warnings: int
    seconds: float


def alert_queries(document: dict[str, Any]) -> tuple[list[AlertQuery], list[KqlFinding], int]:
    """The plan's alert query texts, the findings for those that cannot be read, and the number of rules."""
    queries: list[AlertQuery] = []
    unreadable: list[KqlFinding] = []
    rules = [r for r in document.get("resources", []) if r.get("type") == SCHEDULED_QUERY_RULE]
    for resource in rules:
        urn = str(resource.get("urn", ""))
        criteria = (resource.get("inputs") or {}).get("criteria")
        conditions = criteria.get("allOf") if isinstance(criteria, dict) else None
        if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
            raise KqlError(f"{urn}: criteria.allOf is not a list of conditions; the alert queries cannot be read")
        for index, condition in enumerate(conditions):
            text = condition.get("query")
            if isinstance(text, str) and text in NOT_ANALYZABLE:
                unreadable.append(
                    KqlFinding(
                        urn,
                        f"criteria.allOf[{index}].query is {NOT_ANALYZABLE[text]}: not analyzable, so the gate cannot "
                        "vouch for this alert",
                        "mandatory",
                    )
                )
            elif isinstance(text, str) and text.strip():
                queries.append(AlertQuery(urn, index, text))
            else:
                raise KqlError(f"{urn}: criteria.allOf[{index}] has no query text (found {text!r})")
    return queries, unreadable, len(rules)


def node_command(schema: Path = SCHEMA_FILE, analyzer: Path = ANALYZER) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise KqlError(
            "node is not on PATH: the alert queries cannot be analyzed (run `make env`, or pass --no-kql to check "
            "without this step; the report then says so)"
        )
    return [node, str(analyzer), "--schema", str(schema)]


def run_analyzer(queries: list[AlertQuery], command: list[str], cwd: Path = ROOT) -> dict[str, Any]:
    """Run the analyzer once over every query and return its validated JSON document."""
    payload = json.dumps([{"id": q.id, "query": q.text} for q in queries])
    try:
        done = subprocess.run(  # noqa: S603 - fixed command line: node and the repository's analyzer
            command, input=payload, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=cwd, check=False
        )
    except OSError as exc:
        raise KqlError(f"cannot start the KQL analyzer: {exc}") from None
    except subprocess.TimeoutExpired:
        raise KqlError(f"the KQL analyzer did not finish within {TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise KqlError(f"the KQL analyzer failed with exit status {done.returncode}: {detail}")
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise KqlError("the KQL analyzer printed no JSON document") from None
    _validate(result, [q.id for q in queries])
    return dict(result)


def _validate(result: Any, ids: list[str]) -> None:
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        raise KqlError("the KQL analyzer returned no results list")
    library = result.get("library")
    if not isinstance(library, dict) or not library.get("version"):
        raise KqlError("the KQL analyzer did not name the library version it ran")
    got = [r.get("id") if isinstance(r, dict) else None for r in result["results"]]
    if got != ids:
        raise KqlError(f"the KQL analyzer answered for {len(got)} queries, not the {len(ids)} it was given")
    for entry in result["results"]:
        diagnostics = entry.get("diagnostics")
        if not isinstance(diagnostics, list) or not all(
            isinstance(d, dict)
            and isinstance(d.get("severity"), str)
            and isinstance(d.get("code"), str)
            and isinstance(d.get("message"), str)
            and isinstance(d.get("start"), int)
            for d in diagnostics
        ):
            raise KqlError(f"the KQL analyzer returned unreadable diagnostics for {entry.get('id')}")


def _position(text: str, start: int) -> str:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return f"line {line}, column {column}"


def findings_of(queries: list[AlertQuery], result: dict[str, Any]) -> list[KqlFinding]:
    """Errors are mandatory findings, warnings advisory; suggestions and information are not reported."""
    found: list[KqlFinding] = []
    for query, entry in zip(queries, result["results"], strict=True):
        for d in entry["diagnostics"]:
            level = {"Error": "mandatory", "Warning": "advisory"}.get(d["severity"])
            if level is None:
                continue
            message = f"criteria.allOf[{query.index}].query, {_position(query.text, d['start'])}: {d['message']}"
            if d["code"] == "KS204":
                message += f" (tables the gate knows: {SCHEMA_FILE.relative_to(ROOT).as_posix()})"
            found.append(KqlFinding(query.urn, f"{message} [{d['code']}]", level))
    return found


def check_queries(
    document: dict[str, Any], *, command: list[str] | None = None, schema: Path = SCHEMA_FILE
) -> tuple[list[KqlFinding], KqlScan]:
    """Analyze every alert query of ``document``; KqlError when the analysis cannot be trusted."""
    started = time.perf_counter()
    queries, unreadable, rules = alert_queries(document)
    result = run_analyzer(queries, command or node_command(schema))
    found = unreadable + findings_of(queries, result)
    library = result["library"]
    scan = KqlScan(
        library=f"{library.get('name', '')} {library['version']}".strip(),
        queries=len(queries) + len(unreadable),
        rules=rules,
        not_analyzable=len(unreadable),
        errors=sum(1 for f in found if f.level == "mandatory") - len(unreadable),
        warnings=sum(1 for f in found if f.level == "advisory"),
        seconds=time.perf_counter() - started,
    )
    return found, scan


def kql_line(scan: KqlScan | None, note: str) -> str:
    """One line on the KQL step: what it saw, or why it did not run."""
    if scan is None:
        return note or "kql: not run"
    return (
        f"kql ({scan.library}): {scan.queries} alert queries in {scan.rules} scheduled query rules; "
        f"errors: {scan.errors}, warnings: {scan.warnings}, not analyzable: {scan.not_analyzable}"
    )


def scan_with_kql(report: Report, document: dict[str, Any], *, command: list[str] | None = None) -> None:
    """Check every alert query of ``document`` and add the findings (and the scan) to ``report``."""
    try:
        found, report.kql = check_queries(document, command=command)
    except KqlError as exc:
        raise GateError(f"KQL analysis: {exc}") from None
    report.findings.extend(Finding(RULE_ID, RULE_SEVERITY, f.level, f.urn, f.message, source="kql") for f in found)
