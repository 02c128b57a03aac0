"""The assessment's reports: SARIF and JUnit shaped like the gate's, and a PNG plot per attack."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from scripts.assess.reports import report_junit, report_sarif, write_reports

PNG = b"\x89PNG\r\n\x1a\n"


def _document() -> dict[str, Any]:
    return {
        "model": "models/candidate.onnx",
        "seed": 0,
        "thresholds": {
            "evasionBudget": 0.05,
            "maxEvasionSuccess": 0.5,
            "fidelityTarget": 0.9,
            "minQueriesToFidelity": 1000,
            "maxMembershipAdvantage": 0.1,
        },
        "passed": False,
        "findings": [
            {"id": "evasion-success", "passed": False, "measured": 0.9, "limit": 0.5, "message": "evaded 90%"},
            {"id": "extraction-cost", "passed": True, "measured": None, "limit": 1000, "message": "not copied"},
        ],
        "evasion": {"attack": "HopSkipJump", "records": 20, "budgets": [0.01, 0.05, 0.1], "successRate": [0.3, 0.9, 1]},
        "extraction": {"queries": [50, 500, 5000], "fidelity": [0.5, 0.7, 0.8], "fidelityTarget": 0.9},
    }


def test_sarif_has_one_rule_per_threshold_and_one_result_per_miss() -> None:
    sarif = report_sarif(_document())
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["evasion-success", "extraction-cost"]
    assert run["results"] == [
        {
            "ruleId": "evasion-success",
            "ruleIndex": 0,
            "level": "error",
            "message": {"text": "evaded 90%"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": "models/candidate.onnx", "uriBaseId": "%SRCROOT%"}}}
            ],
            "partialFingerprints": {"mlsecAssessment/v1": "evasion-success|models/candidate.onnx"},
        }
    ]


def test_junit_fails_the_missed_threshold_only() -> None:
    root = ET.fromstring(report_junit(_document()).split("\n", 1)[1])
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["evasion-success"].find("failure").get("message") == "evaded 90%"  # type: ignore[union-attr]
    assert cases["extraction-cost"].find("failure") is None
    assert cases["extraction-cost"].get("classname") == "mlsec-assess.extraction"


def test_every_report_and_one_plot_per_attack_that_ran(tmp_path: Path) -> None:
    written = write_reports(_document(), tmp_path)
    assert [p.name for p in written] == [
        "assessment.json",
        "assessment.sarif",
        "assessment.junit.xml",
        "evasion.png",
        "extraction.png",
    ]
    assert json.loads((tmp_path / "assessment.json").read_text(encoding="utf-8")) == _document()
    for name in ("evasion.png", "extraction.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    assert not (tmp_path / "membership.png").exists()
