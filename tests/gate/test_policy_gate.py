"""The offline gate: exit codes, reports, enforcement, suppressions, opt-outs, unknown values, the pack."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from policies.catalog import RULES
from scripts.gate.cli import main
from scripts.gate.evaluate import GateError, evaluate
from scripts.gate.reports.junit import report_junit
from scripts.gate.reports.sarif import report_sarif
from tests.policies.policy_cases import NO_SUPPRESSIONS, mutate, run, with_endpoint_diagnostics

ROOT = Path(__file__).resolve().parents[2]
SHARED_KEY_URN_GLOB = "urn:pulumi:prod::secure-ml::*azure-native:storage:StorageAccount::mlsec-prod-dataacct"


@pytest.fixture(scope="module")
def dev(dev_plan: Any) -> dict[str, Any]:
    return with_endpoint_diagnostics(dev_plan.document)


@pytest.fixture(scope="module")
def prod(prod_plan: Any) -> dict[str, Any]:
    return with_endpoint_diagnostics(prod_plan.document)


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _suppressions(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    return _write(tmp_path, "suppressions.yaml", json.dumps({"suppressions": list(entries)}))


def _entry(rule: str = "MLSEC-STG-012", urn: str = SHARED_KEY_URN_GLOB, expires: str = "2027-01-31") -> dict[str, Any]:
    return {
        "rule": rule,
        "urn": urn,
        "reason": "portal users need key fallback during migration",
        "owner": "ml-platform@contoso.com",
        "expires": expires,
    }


def test_the_shipped_stacks_pass(dev_plan: Any, prod_plan: Any) -> None:
    dev, prod = evaluate(dev_plan.document), evaluate(prod_plan.document)
    assert (dev.exit_code, prod.exit_code) == (0, 0)
    assert dev.mandatory == [] and prod.mandatory == []


def test_dev_lock_opt_out_is_accepted_with_its_reason(dev: dict[str, Any]) -> None:
    report = run(dev)
    locks = [f for f in report.findings if f.rule == "MLSEC-OPS-001"]
    assert [(f.urn.rsplit("::", 1)[-1], f.status, f.level) for f in locks] == [
        ("mlsec-dev-dataacct", "accepted", "advisory"),
        ("mlsec-dev-kv-kv", "accepted", "advisory"),
        ("mlsec-dev-fraudsys", "accepted", "advisory"),
    ]
    assert locks[0].note == (
        "opt-out locks: dev is torn down and rebuilt nightly; CanNotDelete locks would block the teardown"
    )


def test_an_opt_out_never_lifts_a_mandatory_rule(dev: dict[str, Any]) -> None:
    report = run(dev, stack="prod")
    locks = [f for f in report.findings if f.rule == "MLSEC-OPS-001"]
    assert {(f.status, f.level) for f in locks} == {("violation", "mandatory")}
    assert locks[0].note == "opt-out locks is declared, but the rule is mandatory in this stack"
    assert report.exit_code == 1


def test_prod_violation_fails_and_writes_reports(prod: dict[str, Any], tmp_path: Path) -> None:
    plan = _write(tmp_path, "plan.json", mutate(prod, "mlsec-prod-dataacct", "allowSharedKeyAccess", True))
    assert main(["--plan", str(plan), "--suppressions", str(NO_SUPPRESSIONS)]) == 1
    document = json.loads((tmp_path / "policy-report.json").read_text())
    assert document["summary"]["mandatory"] == 1 and document["summary"]["exitCode"] == 1
    sarif = json.loads((tmp_path / "policy-report.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run0 = sarif["runs"][0]
    assert run0["tool"]["driver"]["name"] == "mlsec-policy-gate"
    assert [r["id"] for r in run0["tool"]["driver"]["rules"]] == [r.id for r in RULES]
    errors = [r for r in run0["results"] if r["level"] == "error"]
    assert [(r["ruleId"], r["message"]["text"]) for r in errors] == [
        (
            "MLSEC-STG-001",
            "allowSharedKeyAccess must be false (found true) [azure-native:storage:StorageAccount::"
            "mlsec-prod-dataacct]",
        )
    ]
    assert errors[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
    junit = ET.parse(tmp_path / "policy-report.junit.xml").getroot()
    failures = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failures == ["MLSEC-STG-001 Storage accounts refuse shared-key (account key) authorization"]
    assert junit.find("testsuite").get("tests") == str(len(RULES))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"project": "p", "stack": "dev", "resources": [], "outputs": {}}, "the plan has no resources"),
        ("{not json", "the plan is not valid JSON"),
        ({"stack": "dev"}, "not a plan document"),
    ],
)
def test_unusable_plans_exit_2(content: Any, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", str(_write(tmp_path, "plan.json", content))]) == 2
    assert message in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["dev", "--plan", str(tmp_path / "plan.json")]) == 2
    assert main(["--plan", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such plan" in capsys.readouterr().err


def test_a_suppression_silences_one_finding(prod: dict[str, Any], tmp_path: Path) -> None:
    plan = mutate(prod, "mlsec-prod-dataacct", "defaultToOAuthAuthentication", False)
    report = run(plan, suppressions_file=_suppressions(tmp_path, _entry()))
    found = [(f.rule, f.status) for f in report.findings if f.rule in ("MLSEC-STG-012", "MLSEC-GOV-001")]
    assert found == [("MLSEC-STG-012", "suppressed")]
    assert report.exit_code == 0


def test_an_expired_suppression_is_a_violation_and_suppresses_nothing(prod: dict[str, Any], tmp_path: Path) -> None:
    plan = mutate(prod, "mlsec-prod-dataacct", "defaultToOAuthAuthentication", False)
    report = run(plan, suppressions_file=_suppressions(tmp_path, _entry(expires="2026-11-28")))
    assert [(f.rule, f.status, f.message) for f in report.findings if f.level == "mandatory"] == [
        ("MLSEC-STG-012", "violation", "defaultToOAuthAuthentication must be true (found false)"),
        (
            "MLSEC-GOV-001",
            "violation",
            f"suppression #1 (MLSEC-STG-012 on {SHARED_KEY_URN_GLOB}) expired on "
            "2026-11-28 (owner ml-platform@contoso.com)",
        ),
    ]


def test_an_unmatched_suppression_is_a_violation(prod: dict[str, Any], tmp_path: Path) -> None:
    report = run(prod, suppressions_file=_suppressions(tmp_path, _entry()))
    assert [(f.rule, f.message) for f in report.mandatory] == [
        ("MLSEC-GOV-001", f"suppression #1 (MLSEC-STG-012 on {SHARED_KEY_URN_GLOB}) matches no finding; remove it")
    ]


def test_unsuppressible_rules_stay_and_the_entry_is_flagged(prod: dict[str, Any], tmp_path: Path) -> None:
    plan = mutate(prod, "mlsec-prod-dataacct", "allowSharedKeyAccess", True)
    report = run(plan, suppressions_file=_suppressions(tmp_path, _entry(rule="MLSEC-STG-001")))
    assert [(f.rule, f.message) for f in report.mandatory] == [
        ("MLSEC-STG-001", "allowSharedKeyAccess must be false (found true)"),
        (
            "MLSEC-GOV-001",
            f"suppression #1 (MLSEC-STG-001 on {SHARED_KEY_URN_GLOB}): rule MLSEC-STG-001 cannot be suppressed",
        ),
    ]


def test_a_suppression_without_owner_is_a_usage_error(
    prod: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = _entry()
    del entry["owner"]
    plan = _write(tmp_path, "plan.json", prod)
    assert main(["--plan", str(plan), "--suppressions", str(_suppressions(tmp_path, entry))]) == 2
    assert "suppressions.yaml: suppressions[0]: 'owner' is required" in capsys.readouterr().err


CHECKOV_ENTRY = {
    "check": "CKV_AZURE_206",
    "armType": "Microsoft.Storage/storageAccounts",
    "reason": "replication follows the stack; recovery rests on versioning",
    "owner": "ml-platform@contoso.com",
    "expires": "2026-11-28",
}
SECRET_ENTRY = {
    "check": "CKV_SECRET_3",
    "file": "scripts/dataset/emulator.py",
    "hash": "6afa3951e98fd3a47f29f38483e4a22e41dc8a05",
    "reason": "the storage emulator's published development key",
    "owner": "data-platform@contoso.com",
    "expires": "2026-11-27",
}


def test_expired_checkov_and_secrets_exceptions_are_violations(prod: dict[str, Any], tmp_path: Path) -> None:
    store = _write(tmp_path, "suppressions.yaml", {"checkov": [CHECKOV_ENTRY], "secrets": [SECRET_ENTRY]})
    report = run(prod, suppressions_file=store)
    assert [(f.rule, f.message) for f in report.mandatory] == [
        (
            "MLSEC-GOV-001",
            "checkov exception #1 (CKV_AZURE_206 on Microsoft.Storage/storageAccounts) expired on 2026-11-28 "
            "(owner ml-platform@contoso.com)",
        ),
        (
            "MLSEC-GOV-001",
            "secrets exception #1 (CKV_SECRET_3 in scripts/dataset/emulator.py) expired on 2026-11-27 "
            "(owner data-platform@contoso.com)",
        ),
    ]
    live = {
        "checkov": [{**CHECKOV_ENTRY, "expires": "2026-11-29"}],
        "secrets": [{**SECRET_ENTRY, "expires": "2027-01-31"}],
    }
    assert run(prod, suppressions_file=_write(tmp_path, "live.yaml", live)).mandatory == []


def test_a_checkov_exception_is_audited_only_in_the_stacks_it_holds_in(
    dev: dict[str, Any], prod: dict[str, Any], tmp_path: Path
) -> None:
    store = _write(tmp_path, "suppressions.yaml", {"checkov": [{**CHECKOV_ENTRY, "stacks": ["dev", "*-dev"]}]})
    assert [f.rule for f in run(dev, suppressions_file=store).mandatory] == ["MLSEC-GOV-001"]
    assert run(prod, suppressions_file=store).mandatory == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"suppression": []},
            "suppressions.yaml: unknown keys suppression (expected checkov, secrets, suppressions, unsuppressible)",
        ),
        ({"checkov": {"check": "CKV_AZURE_1"}}, "suppressions.yaml: 'checkov' must be a list"),
        ({"checkov": ["CKV_AZURE_1"]}, "suppressions.yaml: checkov[0]: expected a mapping, found str"),
        ({"checkov": [{**CHECKOV_ENTRY, "urn": "*"}]}, "suppressions.yaml: checkov[0]: unknown keys urn"),
        ({"checkov": [{**CHECKOV_ENTRY, "armType": 3}]}, "checkov[0]: 'armType' must be a non-empty string"),
        ({"checkov": [{**CHECKOV_ENTRY, "stacks": "dev"}]}, "checkov[0]: 'stacks' must be a list of stack names"),
        ({"checkov": [{**CHECKOV_ENTRY, "expires": 20271231}]}, "checkov[0]: 'expires' must be an ISO date"),
        ({"secrets": [{**SECRET_ENTRY, "stacks": ["dev"]}]}, "suppressions.yaml: secrets[0]: unknown keys stacks"),
        ({"secrets": [{k: v for k, v in SECRET_ENTRY.items() if k != "hash"}]}, "secrets[0]: 'hash' is required"),
        ({"secrets": [{**SECRET_ENTRY, "reason": "test key"}]}, "secrets[0]: 'reason' must explain the exception"),
    ],
)
def test_the_exception_store_is_read_strictly(
    document: dict[str, Any], message: str, prod: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _write(tmp_path, "plan.json", prod)
    store = _write(tmp_path, "suppressions.yaml", document)
    assert main(["--plan", str(plan), "--suppressions", str(store), "--no-checkov", "--no-kql"]) == 2
    assert message in capsys.readouterr().err


def test_enforcement_overrides_per_rule(dev: dict[str, Any], tmp_path: Path) -> None:
    enforcement = _write(
        tmp_path,
        "enforcement.yaml",
        json.dumps(
            {
                "default": "mandatory",
                "stacks": {"dev": "advisory"},
                "rules": {
                    "MLSEC-STG-012": {"dev": "mandatory", "reason": "portal access must never fall back to keys"},
                    "MLSEC-STG-006": {"*": "disabled", "reason": "checked by the storage team's own gate"},
                },
            }
        ),
    )
    plan = mutate(
        mutate(dev, "mlsec-dev-dataacct", "defaultToOAuthAuthentication", False),
        "mlsec-dev-dataacct",
        "enableHttpsTrafficOnly",
        False,
    )
    report = run(plan, enforcement_file=enforcement)
    assert [(f.rule, f.level) for f in report.findings if f.rule.startswith("MLSEC-STG")] == [
        ("MLSEC-STG-012", "mandatory")
    ]
    assert report.exit_code == 1


def test_unknown_values_are_not_flagged(dev: dict[str, Any]) -> None:
    plan = mutate(dev, "mlsec-dev-dataacct", "allowSharedKeyAccess", "[unknown]")
    plan = mutate(plan, "mlsec-dev-fraud-data-curated-compute", "scope", "[unknown]")
    report = run(plan)
    assert [f for f in report.findings if f.status == "violation"] == []


def test_role_assignment_links_by_dependency_when_scope_is_unknown(dev: dict[str, Any]) -> None:
    plan = copy.deepcopy(dev)
    assignment = next(r for r in plan["resources"] if r["name"] == "mlsec-dev-fraud-data-curated-compute")
    raw = next(r for r in plan["resources"] if r["name"] == "mlsec-dev-data-raw")
    assignment["inputs"]["scope"] = "[unknown]"
    assignment["dependencies"] = [
        d if not d.endswith("::mlsec-dev-data-curated") else raw["urn"] for d in assignment["dependencies"]
    ]
    report = run(plan, ["MLSEC-DATA-002"])
    assert [f.urn.rsplit("::", 1)[-1] for f in report.findings] == ["mlsec-dev-fraud-data-curated-compute"]


def test_report_writers_on_an_empty_report(dev: dict[str, Any]) -> None:
    report = run(dev, ["MLSEC-STG-001"])
    assert report_sarif(report, "stacks/Pulumi.dev.yaml")["runs"][0]["results"] == []
    assert ET.fromstring(report_junit(report).split("\n", 1)[1]).find("testsuite") is not None


def test_the_crossguard_pack_builds_the_same_policies() -> None:
    spec = importlib.util.spec_from_file_location("mlsec_pack", ROOT / "policies" / "mlsec" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    policies, level = module.policies("prod")
    assert [p.name for p in policies] == [r.id for r in RULES]
    assert level.value == "mandatory"
    assert {p.enforcement_level.value for p in module.policies("dev")[0]} == {"advisory", "mandatory"}
    assert all(p.severity is not None and p.remediation_steps and p.url for p in policies)


def test_policy_pack_files() -> None:
    pack = ROOT / "policies" / "mlsec"
    assert "runtime:" in (pack / "PulumiPolicy.yaml").read_text()
    assert (pack / "requirements.txt").read_text().split() == [
        "pulumi==3.272.0",
        "pulumi-policy==1.21.0",
        "pyyaml==6.0.3",
    ]


OPTIONAL_IMPORTS = {
    "psutil": "opentelemetry-sdk imports it only when installed (try/except ImportError in sdk/resources)",
    "cython_runtime": "a module Cython extension modules create, not a distribution",
}
"""Modules the pack may load here that its own environment lacks without harm."""


def test_the_crossguard_pack_imports_only_what_its_requirements_install() -> None:
    """``pulumi preview --policy-pack`` installs policies/mlsec/requirements.txt into the pack's own environment:
    every third-party module the pack loads must come from those distributions or their dependencies."""
    pack = str(ROOT / "policies" / "mlsec" / "__main__.py")
    script = (
        "import importlib.util, json, sys\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('mlsec_pack', {pack!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "module.policies('prod')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(json.loads(done.stdout))
    requirements = (ROOT / "policies" / "mlsec" / "requirements.txt").read_text().split()
    allowed: set[str] = set()
    pending = [r.split("==")[0] for r in requirements]
    while pending:  # the distributions and everything they require
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in allowed:
            continue
        allowed.add(key)
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    providers = importlib.metadata.packages_distributions()
    outside = sorted(
        module
        for module in loaded
        if module not in sys.stdlib_module_names
        and not module.startswith("_")
        and module not in {"policies", "scripts", "components", "mlsec_pack"}
        and module not in OPTIONAL_IMPORTS
        and not {d.lower().replace("_", "-") for d in providers.get(module, [module])} & allowed
    )
    assert outside == []
    # The repository's own packages the pack loads stay off the heavy ones (no Azure SDK, no Pulumi program).
    assert "components" not in loaded


def _crossguard_stack_findings(document: dict[str, Any], rule_id: str) -> list[tuple[str, str]]:
    """What the CrossGuard pack's stack policy ``rule_id`` reports over ``document``, as ``pulumi preview`` runs it
    (the offline gate refuses unknown types before any rule runs, so this is the only place the rule can fire)."""
    from pulumi_policy import StackValidationArgs

    from policies.catalog.governance import load_enforcement
    from policies.catalog.pack import build_policies
    from scripts.gate.evaluate import _engine_props, _policy_resources

    (policy,) = [p for p in build_policies("dev", load_enforcement(), None) if p.name == rule_id]
    prepared = [(r, _engine_props(r["inputs"])) for r in document["resources"]]
    found: list[tuple[str, str]] = []
    policy.validate(
        StackValidationArgs(_policy_resources(prepared)),
        lambda message, urn=None: found.append((str(urn).rsplit("::", 1)[-1], message)),
    )
    return found


def test_crossguard_refuses_a_resource_of_a_type_no_rule_examines(dev_plan: Any) -> None:
    assert _crossguard_stack_findings(dev_plan.document, "MLSEC-GOV-002") == []
    document = copy.deepcopy(dev_plan.document)
    web = copy.deepcopy(next(r for r in document["resources"] if r["name"] == "mlsec-dev-kv-kv"))
    web.update(
        type="azure-native:web:WebApp",
        name="team-app",
        urn=web["urn"].rsplit("::", 2)[0] + "::azure-native:web:WebApp::team-app",
    )
    older = copy.deepcopy(next(r for r in document["resources"] if r["name"] == "mlsec-dev-dataacct"))
    older.update(
        type="azure-native:storage/v20230101:StorageAccount",  # a known type through a versioned module: known
        name="older-acct",
        urn=older["urn"].rsplit("::", 2)[0] + "::azure-native:storage/v20230101:StorageAccount::older-acct",
    )
    document["resources"] += [web, older]
    assert _crossguard_stack_findings(document, "MLSEC-GOV-002") == [
        (
            "team-app",
            "team-app is a azure-native:web:WebApp, a type no rule of the catalog was written for: it would pass "
            "unexamined",
        )
    ]
    with pytest.raises(GateError, match="azure-native:web:WebApp"):  # the offline gate: exit 2 before any rule
        evaluate(document, suppressions_file=NO_SUPPRESSIONS)
