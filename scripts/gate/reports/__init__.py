"""The gate's reports: the printed table (:mod:`.table`) and the files written next to the plan: JSON
(:mod:`.json`), SARIF 2.1.0 (:mod:`.sarif`) and JUnit XML (:mod:`.junit`)."""

from __future__ import annotations

from pathlib import Path

from scripts.gate.evaluate import Report
from scripts.gate.reports.json import json_text
from scripts.gate.reports.junit import report_junit
from scripts.gate.reports.sarif import sarif_text


def write_reports(report: Report, out_dir: Path, artifact: str) -> list[Path]:
    """Write the JSON, SARIF and JUnit reports into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "policy-report.json", out_dir / "policy-report.sarif", out_dir / "policy-report.junit.xml"]
    paths[0].write_text(json_text(report))
    paths[1].write_text(sarif_text(report, artifact))
    paths[2].write_text(report_junit(report))
    return paths
