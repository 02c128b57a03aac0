"""checkov in the gate: the real scanner on the exported templates, and the gate's handling of its output.

The real checkov runs twice in this module: once over five templates together (dev and prod as shipped,
both without their reviewed exceptions, and an insecure dev variant), once through the gate end to end.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies.catalog.governance import load_suppressions
from scripts.gate import checkov
from scripts.gate.checkov import CHECKOV_VERSION, CheckovRun, find_uv, run_processes
from scripts.gate.cli import main
from scripts.plan.arm_export import dumps, export, export_with_urns, resource_lines

UV = find_uv()
needs_uv = pytest.mark.skipif(UV is None, reason="uv is neither at .tools/bin/uv nor on PATH: run `make env`")


def _inputs(document: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in document["resources"] if r["name"] == name]
    assert len(found) == 1, name
    inputs: dict[str, Any] = found[0]["inputs"]
    return inputs


def insecure(document: dict[str, Any]) -> dict[str, Any]:
    """The dev plan with one insecure setting per checked resource, in the provider's (Pulumi) names."""
    document = copy.deepcopy(document)
    account = _inputs(document, "mlsec-dev-dataacct")
    account.update(publicNetworkAccess="Enabled", enableHttpsTrafficOnly=False, minimumTlsVersion="TLS1_0")
    account["networkRuleSet"]["defaultAction"] = "Allow"
    _inputs(document, "mlsec-dev-kv-kv")["properties"]["enablePurgeProtection"] = False
    _inputs(document, "mlsec-dev-data-raw")["publicAccess"] = "Container"
    _inputs(document, "mlsec-dev-net-nsg-compute")["securityRules"].append(
        {
            "name": "ssh-from-anywhere",
            "access": "Allow",
            "direction": "Inbound",
            "priority": 200,
            "protocol": "Tcp",
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        }
    )
    return document


@pytest.fixture(scope="module")
def scans(dev_plan: Any, prod_plan: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real checkov run over five templates; results grouped by file name."""
    if UV is None:
        pytest.skip("uv is neither at .tools/bin/uv nor on PATH: run `make env`")
    folder = tmp_path_factory.mktemp("templates")
    templates = {
        "dev": export(dev_plan.document),
        "prod": export(prod_plan.document),
        "dev-bare": export(dev_plan.document, skips=[]),
        "prod-bare": export(prod_plan.document, skips=[]),
        "insecure": export(insecure(dev_plan.document)),
    }
    command = [UV, "tool", "run", "--from", f"checkov=={CHECKOV_VERSION}", "checkov", "--skip-download"]
    command += ["-o", "json", "--framework", "arm"]
    for name, template in templates.items():
        (folder / f"{name}.json").write_text(dumps(template))
        command += ["-f", str(folder / f"{name}.json")]
    [run] = run_processes([command])
    assert run.returncode == 1, run.stderr[-2000:]
    report = json.loads(run.stdout)
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {"failed": [], "skipped": [], "passed": []} for n in templates
    }
    for kind in ("failed", "skipped", "passed"):
        for c in report["results"][f"{kind}_checks"]:
            grouped[Path(c["file_path"]).stem][kind].append(c)
    return {"summary": report["summary"], "by_file": grouped, "templates": templates}


def _pairs(checks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["check_id"], c["resource"]) for c in checks}


def test_checkov_sees_every_template_and_parses_them(scans: dict[str, Any]) -> None:
    summary = scans["summary"]
    assert summary["parsing_errors"] == 0 and summary["checkov_version"] == CHECKOV_VERSION
    assert summary["resource_count"] > 0
    for name, results in scans["by_file"].items():
        assert len(results["passed"]) >= 30, name


def test_shipped_templates_have_no_unsuppressed_failure(scans: dict[str, Any]) -> None:
    assert scans["by_file"]["dev"]["failed"] == []
    assert scans["by_file"]["prod"]["failed"] == []


def test_every_reviewed_exception_is_needed_and_used(scans: dict[str, Any]) -> None:
    """Without the exceptions, exactly the reviewed (type, check) pairs of the exception store fail; with them, they
    are skipped."""
    needed = {
        (c["check_id"], c["resource"][: c["resource"].index(".", c["resource"].index("/"))])
        for name in ("dev-bare", "prod-bare")
        for c in scans["by_file"][name]["failed"]
    }
    assert needed == {(e.check, e.arm_type) for e in load_suppressions().checkov}
    for stack in ("dev", "prod"):
        assert _pairs(scans["by_file"][stack]["skipped"]) == _pairs(scans["by_file"][f"{stack}-bare"]["failed"])


def test_insecure_settings_fail_the_expected_checks(scans: dict[str, Any]) -> None:
    template = scans["templates"]["insecure"]
    names = {r["type"]: r["name"] for r in template["resources"]}
    account = "Microsoft.Storage/storageAccounts.mlsecdevdataacct2a05fbc1"
    vault = f"Microsoft.KeyVault/vaults.{names['Microsoft.KeyVault/vaults']}"
    assert _pairs(scans["by_file"]["insecure"]["failed"]) == {
        ("CKV_AZURE_3", account),
        ("CKV_AZURE_35", account),
        ("CKV_AZURE_44", account),
        ("CKV_AZURE_59", account),
        ("CKV_AZURE_110", vault),
        ("CKV_AZURE_42", vault),
        (
            "CKV_AZURE_34",
            "Microsoft.Storage/storageAccounts/blobServices/containers.mlsecdevdataacct2a05fbc1/default/raw",
        ),
        ("CKV_AZURE_10", "Microsoft.Network/networkSecurityGroups.mlsec-dev-net-nsg-compute848553b5"),
    }


def test_checkov_line_ranges_map_back_to_plan_resources(scans: dict[str, Any], dev_plan: Any) -> None:
    template, urns = export_with_urns(insecure(dev_plan.document))
    by_start = {start: urn for (start, _), urn in zip(resource_lines(template), urns, strict=True)}
    found = {by_start[c["file_line_range"][0]].rsplit("::", 1)[1] for c in scans["by_file"]["insecure"]["failed"]}
    assert found == {"mlsec-dev-dataacct", "mlsec-dev-kv-kv", "mlsec-dev-data-raw", "mlsec-dev-net-nsg-compute"}


# ---------------------------------------------------------------------------------------------
# The gate, end to end with the real checkov
# ---------------------------------------------------------------------------------------------


@needs_uv
def test_gate_reports_checkov_failures_in_every_format(prod_plan: Any, tmp_path: Path) -> None:
    document = copy.deepcopy(prod_plan.document)
    _inputs(document, "mlsec-prod-kv-kv")["properties"]["enablePurgeProtection"] = False
    (tmp_path / "plan.json").write_text(json.dumps(document))
    assert main(["--plan", str(tmp_path / "plan.json")]) == 1
    assert (tmp_path / "template.json").read_text() == dumps(export(document))
    report = json.loads((tmp_path / "policy-report.json").read_text())
    [finding] = [f for f in report["findings"] if f["rule"] == "CKV_AZURE_110"]
    assert finding == {
        "rule": "CKV_AZURE_110",
        "severity": "high",
        "level": "mandatory",
        "urn": next(r["urn"] for r in document["resources"] if r["name"] == "mlsec-prod-kv-kv"),
        "message": "Ensure that key vault enables purge protection [Microsoft.KeyVault/vaults.mlsec-prod-kv-kv-bbdbef]",
        "status": "violation",
        "note": "",
        "source": "checkov-arm",
        "file": "",
        "line": 0,
    }
    [arm] = report["checkov"]["scans"]
    assert (arm["framework"], arm["target"], arm["failed"]) == ("arm", "template.json", 2)  # CKV_AZURE_110 and 42
    assert arm["resources"] > 100 and arm["skipped"] == 7
    assert {f["source"] for f in report["findings"]} == {"mlsec", "checkov-arm"}  # no repository scan per plan
    gate, checkov, kql = json.loads((tmp_path / "policy-report.sarif").read_text())["runs"]
    assert kql["tool"]["driver"]["name"] == "mlsec-kql"
    assert "MLSEC-KV-001" in {r["ruleId"] for r in gate["results"] if r["level"] == "error"}
    assert (checkov["tool"]["driver"]["name"], checkov["tool"]["driver"]["version"]) == ("checkov", "3.3.30")
    assert {r["ruleId"] for r in checkov["results"] if r["level"] == "error"} == {"CKV_AZURE_110", "CKV_AZURE_42"}
    rules = [r["id"] for r in checkov["tool"]["driver"]["rules"]]
    assert rules == [
        "CKV_AZURE_110",
        "CKV_AZURE_166",
        "CKV_AZURE_173",
        "CKV_AZURE_174",
        "CKV_AZURE_206",
        "CKV_AZURE_42",
    ]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in checkov["results"])
    junit = ET.parse(tmp_path / "policy-report.junit.xml").getroot()
    failing = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert "CKV_AZURE_110 Ensure that key vault enables purge protection" in failing


# ---------------------------------------------------------------------------------------------
# The gate with a fake checkov
# ---------------------------------------------------------------------------------------------

Runner = Callable[[list[list[str]]], list[CheckovRun]]
BARE = CheckovRun(0, json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0,
                                 "resource_count": 0, "checkov_version": CHECKOV_VERSION}), "")  # fmt: skip


def _arm(failed: list[dict[str, Any]] | None = None, **summary: Any) -> CheckovRun:
    counts = {"passed": 40, "failed": len(failed or []), "skipped": 0, "parsing_errors": 0, "resource_count": 118}
    counts.update(summary, checkov_version=CHECKOV_VERSION)
    results = {"failed_checks": failed or [], "skipped_checks": [], "passed_checks": []}
    return CheckovRun(1 if failed else 0, json.dumps({"check_type": "arm", "results": results, "summary": counts}), "")


def _fake(*runs: CheckovRun, seen: list[list[str]] | None = None) -> Runner:
    def runner(commands: list[list[str]]) -> list[CheckovRun]:
        if seen is not None:
            seen.extend(commands)
        return list(runs)

    return runner


@pytest.fixture
def dev_plan_file(dev_plan: Any, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(dev_plan.document))
    return path


def test_gate_runs_the_template_scan_isolated_and_passes_clean_results(
    dev_plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []
    assert main(["--plan", str(dev_plan_file)], checkov_runner=_fake(_arm(), seen=seen)) == 0
    template = str(dev_plan_file.parent / "template.json")
    [command] = seen  # one scan, of this plan's template: the repository's secrets are scanned once per commit
    assert command[1:] == [
        *("tool", "run", "--from", "checkov==3.3.30", "checkov", "--skip-download", "-o", "json"),
        *("--framework", "arm", "-f", template),
    ]
    out = capsys.readouterr().out
    assert "checkov 3.3.30: arm template.json: 118 resources, 40 passed, 0 failed, 0 skipped\n" in out


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        (
            _arm(resource_count=0),
            "checkov --framework arm on template.json found 0 resources; a scan that sees nothing",
        ),
        (_arm(parsing_errors=1), "checkov --framework arm on template.json: 1 parsing error(s)"),
        (CheckovRun(0, "", ""), "checkov --framework arm on template.json returned an empty result"),
        (CheckovRun(0, "{}", ""), "checkov --framework arm on template.json returned an empty result"),
        (CheckovRun(0, "Traceback", ""), "checkov --framework arm on template.json printed no JSON report"),
        (CheckovRun(2, "", "No module named checkov\n"), "failed with exit status 2: No module named checkov"),
    ],
)
def test_a_scan_that_cannot_be_trusted_exits_2(
    arm: CheckovRun, message: str, dev_plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--plan", str(dev_plan_file)], checkov_runner=_fake(arm)) == 2
    assert message in capsys.readouterr().err


def test_zero_resources_in_checkov_bare_summary_exits_2(
    dev_plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--plan", str(dev_plan_file)], checkov_runner=_fake(BARE)) == 2
    assert "found 0 resources" in capsys.readouterr().err


def test_without_uv_the_gate_exits_2_unless_told_to_skip_checkov(
    dev_plan_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(checkov, "find_uv", lambda root=None: None)
    assert main(["--plan", str(dev_plan_file)]) == 2
    assert "checkov runs through uv, which is neither at .tools/bin/uv nor on PATH" in capsys.readouterr().err
    assert main(["--plan", str(dev_plan_file), "--no-checkov"]) == 0
    out = capsys.readouterr().out
    assert "checkov: not run (--no-checkov): the ARM template was not scanned" in out
    report = json.loads((dev_plan_file.parent / "policy-report.json").read_text())
    assert report["checkov"] == {
        "scans": [],
        "note": "checkov: not run (--no-checkov): the ARM template was not scanned",
    }


def test_arm_findings_follow_the_stack_level(dev_plan: Any, dev_plan_file: Path) -> None:
    template, urns = export_with_urns(dev_plan.document)
    start, end = resource_lines(template)[urns.index(next(u for u in urns if u.endswith("::mlsec-dev-kv-kv")))]
    vault = next(r for r in template["resources"] if r["type"] == "Microsoft.KeyVault/vaults")
    failed = [
        {
            "check_id": "CKV_AZURE_110",
            "check_name": "Ensure that key vault enables purge protection",
            "file_line_range": [start, end],
            "resource": f"Microsoft.KeyVault/vaults.{vault['name']}",
        }
    ]
    assert main(["--plan", str(dev_plan_file)], checkov_runner=_fake(_arm(failed))) == 0  # advisory in dev
    report = json.loads((dev_plan_file.parent / "policy-report.json").read_text())
    found = [(f["rule"], f["level"], f["status"], f["urn"].rsplit("::", 1)[-1])
             for f in report["findings"] if f["source"] != "mlsec"]  # fmt: skip
    assert found == [("CKV_AZURE_110", "advisory", "violation", "mlsec-dev-kv-kv")]
    sarif = json.loads((dev_plan_file.parent / "policy-report.sarif").read_text())["runs"][1]
    [result] = sarif["results"]
    assert (result["ruleId"], result["level"]) == ("CKV_AZURE_110", "warning")
    assert sarif["tool"]["driver"]["rules"][0]["helpUri"] == "https://www.checkov.io/5.Policy%20Index/arm.html"
