"""The pipeline templates users copy: pinned actions, OIDC only, timeouts, and the same checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ADO = [ROOT / "azure-pipelines.yml", ROOT / ".ci" / "azure-pipelines-pulumi.yml"]


def _load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_expected_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["assess.yml", "deploy.yml", "pull-request.yml", "pulumi-up.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_full_commit_shas(path: Path):
    for step in _steps(_load(path)):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_permissions_timeouts_and_no_stored_credentials(path: Path):
    workflow = _load(path)
    assert workflow["permissions"] == {"contents": "read"}, path.name
    text = path.read_text()
    assert not re.search(r"\$\{\{\s*secrets\.", text), f"{path.name} must not read stored secrets"
    for name, job in workflow["jobs"].items():
        if "uses" in job:  # a reusable-workflow call: its own jobs carry the timeout
            continue
        assert "timeout-minutes" in job, f"{path.name}:{name}"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] == "false", f"{path.name}:{name}"
        if "azure/login" in str(job):
            assert job["permissions"]["id-token"] == "write", f"{path.name}:{name}"


def test_pull_requests_run_tests_gate_with_sarif_and_previews_with_the_policy_pack():
    pr = _load(ROOT / ".github" / "workflows" / "pull-request.yml")
    runs = {name: "\n".join(s.get("run", "") for s in job.get("steps", [])) for name, job in pr["jobs"].items()}
    assert "make test" in runs["test"]
    assert "make plan STACK=${{ matrix.stack }}" in runs["policy-gate"]
    upload = [s for s in pr["jobs"]["policy-gate"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload[0]["with"]["sarif_file"] == "build/${{ matrix.stack }}/policy-report.sarif"
    assert "--policy-pack policies/mlsec" in runs["preview"]
    assert pr["jobs"]["preview"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    # the candidate model is assessed before any preview
    assert pr["jobs"]["assess"]["uses"] == "./.github/workflows/assess.yml"
    assert pr["jobs"]["preview"]["needs"] == ["test", "policy-gate", "assess"]


def test_the_assessment_job_attacks_the_candidate_and_reports_to_code_scanning():
    workflow = _load(ROOT / ".github" / "workflows" / "assess.yml")
    assert workflow["on"] == {"workflow_call": ""}
    job = workflow["jobs"]["assess"]
    assert job["permissions"] == {"contents": "read", "security-events": "write"}  # no id-token: no cloud access
    assert job["env"]["ASSESS_MODEL"] == "${{ vars.ASSESS_MODEL || 'models/candidate.onnx' }}"
    assert job["env"]["ASSESS_SAMPLE"] == "${{ vars.ASSESS_SAMPLE || 'models/candidate.sample.yaml' }}"
    assert job["env"]["ASSESS_REQUIRED"] == "${{ vars.ASSESS_REQUIRED }}"
    steps = job["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    # no candidate in the change: a visible warning and nothing to assess, or a failure when it is required
    find = steps[names.index("Find the candidate model")]
    assert find["id"] == "candidate"
    assert 'if [ -f "${ASSESS_MODEL}" ]; then' in find["run"]
    assert 'elif [ "${ASSESS_REQUIRED}" = "true" ]; then' in find["run"] and "exit 2" in find["run"]
    assert names.index("Find the candidate model") < names.index("Assess the candidate model")
    for name in ("Assess the candidate model", "Stealing budget against each stack's gateway"):
        assert steps[names.index(name)]["if"] == "steps.candidate.outputs.present == 'true'"
    assess = steps[names.index("Assess the candidate model")]["run"]
    assert 'make assess MODEL="${ASSESS_MODEL}" SAMPLE="${ASSESS_SAMPLE}" ASSESS_ARGS="${args}"' in assess
    assert 'args="--seed 0 --out build/assess"' in assess
    budget = steps[names.index("Stealing budget against each stack's gateway")]["run"]
    assert "for stack in dev prod; do" in budget
    assert '-m scripts.assess budget --stack "${stack}" --assessment build/assess/assessment.json' in budget
    upload = steps[names.index("Upload findings to code scanning")]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"] == {"sarif_file": "build/assess/assessment.sarif", "category": "model-assessment"}
    assert upload["if"] == "always() && hashFiles('build/assess/assessment.sarif') != ''"
    # the steps that can fail (exit 1 or 2) come before the uploads and carry no continue-on-error
    assert names.index("Assess the candidate model") < names.index("Stealing budget against each stack's gateway")
    assert names.index("Stealing budget against each stack's gateway") < names.index(upload["name"])
    assert not any("continue-on-error" in s for s in steps)
    assert "continue-on-error" not in job


def test_main_deploys_dev_then_prod_through_environments():
    deploy = _load(ROOT / ".github" / "workflows" / "deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    assert deploy["jobs"]["prod"]["needs"] == "dev"
    # the candidate model is assessed before the first deployment
    assert deploy["jobs"]["assess"]["uses"] == "./.github/workflows/assess.yml"
    assert deploy["jobs"]["dev"]["needs"] == "assess"
    assert list(deploy["jobs"]) == ["assess", "dev", "prod"]
    assert [deploy["jobs"][j]["with"]["stack"] for j in ("dev", "prod")] == ["dev", "prod"]
    up = _load(ROOT / ".github" / "workflows" / "pulumi-up.yml")
    job = up["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    run = "\n".join(s.get("run", "") for s in job["steps"])
    assert run.index("make plan") < run.index("scripts.ops.preflight") < run.index("pulumi up")
    assert '-m scripts.ops.preflight "${{ inputs.stack }}"' in run
    preflight = next(s for s in job["steps"] if "scripts.ops.preflight" in s.get("run", ""))
    assert preflight["run"].rstrip().endswith("--require-credentials")
    names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
    assert names.index("Azure login (OIDC)") < names.index(preflight["name"])
    assert "--policy-pack policies/mlsec --yes" in run


def test_azure_devops_pipeline_mirrors_the_github_one():
    pipeline = _load(ADO[0])
    stages = {s["stage"]: s for s in pipeline["stages"]}
    assert list(stages) == ["verify", "assess", "preview", "dev", "prod"]
    assert stages["prod"]["dependsOn"] == "dev"
    # the assessment runs after the checks and blocks the preview and the first deployment
    assert stages["assess"]["dependsOn"] == "verify"
    assert stages["preview"]["dependsOn"] == ["verify", "assess"]
    assert stages["dev"]["dependsOn"] == ["verify", "assess"]
    assert "condition" not in stages["assess"]
    (job,) = stages["assess"]["jobs"]
    scripts = [s["script"] for s in job["steps"] if "script" in s]
    assert 'if [ -f "${model}" ]; then' in scripts[0] and "exit 2" in scripts[0]
    assert "##vso[task.setvariable variable=candidatePresent]true" in scripts[0]
    assert 'make assess MODEL="${ASSESS_MODEL:-models/candidate.onnx}"' in scripts[1]
    assert 'SAMPLE="${ASSESS_SAMPLE:-models/candidate.sample.yaml}" ASSESS_ARGS="${args}"' in scripts[1]
    assert '-m scripts.assess budget --stack "${stack}" --assessment build/assess/assessment.json' in scripts[2]
    present = "and(succeeded(), eq(variables['candidatePresent'], 'true'))"
    assert [s.get("condition") for s in job["steps"] if "script" in s] == [None, present, present]
    assert all(s.startswith("set -euo pipefail\n") for s in scripts)
    tasks = {s["task"]: s for s in job["steps"] if "task" in s}
    assert tasks["PublishTestResults@2"]["inputs"]["testResultsFiles"] == "build/assess/assessment.junit.xml"
    # the SARIF viewer of Azure DevOps reads the CodeAnalysisLogs artifact
    assert tasks["PublishPipelineArtifact@1"]["inputs"] == {
        "targetPath": "build/assess",
        "artifact": "CodeAnalysisLogs",
    }
    assert tasks["PublishPipelineArtifact@1"]["condition"] == "and(always(), eq(variables['candidatePresent'], 'true'))"
    assert [j["environment"] for j in stages["dev"]["jobs"]] == ["secure-ml-dev"]
    assert [j["environment"] for j in stages["prod"]["jobs"]] == ["secure-ml-prod"]
    steps = _load(ADO[1])["steps"]
    cli = next(s for s in steps if s.get("task") == "AzureCLI@2")
    assert cli["inputs"]["addSpnToEnvironment"] == "true"
    script = cli["inputs"]["inlineScript"]
    assert "--policy-pack policies/mlsec" in script
    assert "ARM_OIDC_TOKEN" in script
    # before `pulumi up` (and only then): the plan, then the preflight, failing the job without credentials
    guard = 'if [[ "${{ parameters.command }}" == up* ]]; then'
    assert script.index(guard) < script.index('-m scripts.plan "${{ parameters.stack }}"')
    assert script.index("-m scripts.plan") < script.index('-m scripts.ops.preflight "${{ parameters.stack }}"')
    assert script.index("-m scripts.ops.preflight") < script.index("pulumi ${{ parameters.command }}")
    assert re.search(r"-m scripts\.ops\.preflight .* --require-credentials\n", script)


def _make_target(name: str) -> tuple[list[str], str]:
    """A Makefile target's prerequisites and recipe."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(f"{name}:")]
    prerequisites = lines[start].split(":", 1)[1].split("##", 1)[0].split()
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return prerequisites, "\n".join(recipe)


def test_the_repository_secrets_scan_runs_once_per_commit_and_never_per_plan():
    secrets_prerequisites, secrets = _make_target("secrets")
    assert secrets == "$(PY) -m scripts.gate.secrets_scan"
    test_prerequisites, _ = _make_target("test")
    assert "secrets" in test_prerequisites and "lint" in test_prerequisites
    plan_prerequisites, plan = _make_target("plan")
    assert plan == "$(PY) -m scripts.plan $(STACK)\n$(PY) -m scripts.gate --plan build/$(STACK)/plan.json"
    assert "secrets" not in plan_prerequisites + secrets_prerequisites
    # each pipeline runs `make test` (so the scan) once per commit, and the per-stack jobs only plan and gate
    pr = _load(ROOT / ".github" / "workflows" / "pull-request.yml")
    assert [s["run"] for s in pr["jobs"]["test"]["steps"] if "run" in s] == ["make test"]
    assert [s["run"] for s in pr["jobs"]["policy-gate"]["steps"] if "run" in s] == [
        "make plan STACK=${{ matrix.stack }}"
    ]
    jobs = {j["job"]: j for j in _load(ADO[0])["stages"][0]["jobs"]}
    assert [s["script"] for s in jobs["test"]["steps"] if "script" in s] == ["make test"]
    assert [s["script"] for s in jobs["gate"]["steps"] if "script" in s] == ["make plan STACK=$(STACK)"]
    for path in [*WORKFLOWS, *ADO]:
        text = path.read_text()
        assert "secrets_scan" not in text and "--framework secrets" not in text, path.name
        assert text.count("make test") <= 1, path.name
