"""The assessment's reports, in the shapes the policy gate writes (scripts/gate/reports/): JSON, SARIF 2.1.0 for
code scanning, JUnit XML for Azure DevOps, and one PNG plot per attack for people who would rather look."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "mlsec-assess"
DOCS = "docs/model-assessment.md"

CHECKS: dict[str, tuple[str, str]] = {
    "evasion-success": ("Small in-range changes rarely flip the model's answer", "evasion"),
    "extraction-cost": ("Copying the model takes many queries", "extraction"),
    "membership-advantage": ("The model does not reveal which records it was trained on", "membership"),
}
"""Finding id -> (desired outcome, attack)."""


def report_sarif(document: dict[str, Any]) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per threshold checked, one result per missed threshold, located at the model."""
    findings = document["findings"]
    rules = [
        {
            "id": f["id"],
            "name": f["id"],
            "shortDescription": {"text": CHECKS[f["id"]][0]},
            "helpUri": DOCS,
            "properties": {"tags": ["security", "ml", CHECKS[f["id"]][1]]},
        }
        for f in findings
    ]
    results = [
        {
            "ruleId": f["id"],
            "ruleIndex": i,
            "level": "error",
            "message": {"text": f["message"]},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": document["model"], "uriBaseId": "%SRCROOT%"}}}
            ],
            "partialFingerprints": {"mlsecAssessment/v1": f"{f['id']}|{document['model']}"},
        }
        for i, f in enumerate(findings)
        if not f["passed"]
    ]
    run = {
        "tool": {"driver": {"name": TOOL, "informationUri": DOCS, "rules": rules}},
        "automationDetails": {"id": f"{TOOL}/{Path(document['model']).name}/"},
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def report_junit(document: dict[str, Any]) -> str:
    """JUnit XML: one test case per threshold; a missed threshold is a failure."""
    findings = document["findings"]
    failures = sum(1 for f in findings if not f["passed"])
    suites = ET.Element("testsuites", name=TOOL, tests=str(len(findings)), failures=str(failures))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"{TOOL} {Path(document['model']).name}",
        tests=str(len(findings)),
        failures=str(failures),
        errors="0",
    )
    for f in findings:
        case = ET.SubElement(suite, "testcase", classname=f"{TOOL}.{CHECKS[f['id']][1]}", name=f["id"])
        if f["passed"]:
            ET.SubElement(case, "system-out").text = f["message"]
        else:
            ET.SubElement(case, "failure", message=f["message"], type="threshold").text = f["message"]
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def plot(document: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per attack that ran: success or fidelity against budget, or the membership rates."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    written: list[Path] = []
    thresholds = document["thresholds"]
    if "evasion" in document:
        e = document["evasion"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(e["budgets"], e["successRate"], marker="o", label=e["attack"])
        ax.axvline(thresholds["evasionBudget"], color="grey", linestyle=":", label="judged at this budget")
        ax.axhline(thresholds["maxEvasionSuccess"], color="red", linestyle="--", label="largest success allowed")
        ax.set(
            xscale="log",
            ylim=(0, 1.02),
            xlabel="perturbation budget (RMS fraction of each feature's range)",
            ylabel="attack success rate",
            title=f"Evasion ({e['records']} records)",
        )
        written.append(_save(fig, ax, out_dir / "evasion.png"))
    if "extraction" in document:
        x = document["extraction"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(x["queries"], x["fidelity"], marker="o", label="surrogate")
        ax.axhline(x["fidelityTarget"], color="grey", linestyle=":", label="fidelity target")
        ax.axvline(thresholds["minQueriesToFidelity"], color="red", linestyle="--", label="fewest queries allowed")
        ax.set(
            xscale="log",
            ylim=(0, 1.02),
            xlabel="queries to the model",
            ylabel="fidelity (agreement)",
            title="Extraction",
        )
        written.append(_save(fig, ax, out_dir / "extraction.png"))
    if "membership" in document:
        m = document["membership"]
        fig, ax = plt.subplots(figsize=(6, 4))
        names = ["true positives", "false positives", "advantage", "rule-based\nadvantage"]
        values = [m["truePositiveRate"], m["falsePositiveRate"], m["advantage"], m["baselineAdvantage"]]
        ax.bar(names, values, color=["tab:blue", "tab:orange", "tab:red", "tab:grey"])
        ax.axhline(thresholds["maxMembershipAdvantage"], color="red", linestyle="--", label="largest advantage allowed")
        ax.set(
            ylim=(min(0.0, *values) - 0.05, 1.02), ylabel="rate", title=f"Membership inference ({m['records']} each)"
        )
        written.append(_save(fig, ax, out_dir / "membership.png"))
    return written


def _save(fig: Any, ax: Any, path: Path) -> Path:
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def write_reports(document: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "assessment.json", out_dir / "assessment.sarif", out_dir / "assessment.junit.xml"]
    paths[0].write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(json.dumps(report_sarif(document), indent=2) + "\n", encoding="utf-8")
    paths[2].write_text(report_junit(document), encoding="utf-8")
    return [*paths, *plot(document, out_dir)]
