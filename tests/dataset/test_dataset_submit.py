"""``python -m scripts.dataset submit``: the Azure ML serverless Spark job, built offline from the stack outputs,
and the plan a workspace with Spark gets."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.dataset import spark_runner
from scripts.dataset import submit as submit_module
from scripts.dataset.anonymize import anonymize_file
from scripts.dataset.manifest import load_manifest
from scripts.dataset.scanner import scan_file
from scripts.plan import cli as plan_module
from tests.conftest import ROOT, Plan, stack_values
from tests.dataset.conftest import Runner
from tests.dataset.dataset_helpers import HMAC_KEY, manifest_document, none_columns, write_manifest
from tests.dataset.spark_data import COLUMNS, PRIVACY, dataset, sample_rows, text_rows

T = "azure-native:"
RG = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/mlsec-dev-rgf7e1a2fe"
ACCOUNT = "mlsecdevdataacct2a05fbc1"
DS_ROLE_JOB_ACTIONS = [
    "Microsoft.MachineLearningServices/workspaces/jobs/write",
    "Microsoft.MachineLearningServices/workspaces/schedules/write",
]


@pytest.fixture(scope="module")
def spark_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The dev stack with serverless Spark for the anonymization step on the fraud workspace."""
    root = tmp_path_factory.mktemp("spark") / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    (root / "components").symlink_to(ROOT / "components")
    (root / "stacks").mkdir()
    values = copy.deepcopy(stack_values("dev"))
    values["workspaces"][0]["spark"] = {"pipelineSteps": ["anonymization"]}
    document = {"config": {f"secure-ml:{k}": v for k, v in values.items()}}
    (root / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    return Plan(plan_module.make_plan("dev", root))


@pytest.fixture(scope="module")
def outputs_file(spark_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outputs") / "outputs.json"
    path.write_text(json.dumps(spark_plan.outputs))
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "manifest.yaml", manifest_document(none_columns(["id", "colour"])))


def _identity(plan: Plan) -> dict[str, str]:
    identity = plan.outputs["sparkIdentities"]["fraud"]["anonymization"]
    assert set(identity) == {"clientId", "resourceId"}
    return dict(identity)


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def test_spark_workspace_reaches_the_data_through_spark_enabled_blob_and_dfs_rules(spark_plan: Plan) -> None:
    ws = spark_plan.inputs(T + "machinelearningservices:Workspace", "mlsec-dev-fraud-mlw")
    account_id = f"{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    rules = ws["managedNetwork"]["outboundRules"]
    assert {k: v for k, v in rules.items() if k.startswith("data-")} == {
        f"data-storage-{sub}": {
            "category": "UserDefined",
            "type": "PrivateEndpoint",
            "destination": {"serviceResourceId": account_id, "sparkEnabled": True, "subresourceTarget": sub},
        }
        for sub in ("blob", "dfs")
    }
    assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"


def test_spark_workspace_attaches_the_pipeline_identity_and_keeps_its_own_primary(spark_plan: Plan) -> None:
    ws = spark_plan.inputs(T + "machinelearningservices:Workspace", "mlsec-dev-fraud-mlw")
    identity = _identity(spark_plan)
    assert ws["identity"]["type"] == "UserAssigned"
    assert ws["identity"]["userAssignedIdentities"] == [ws["primaryUserAssignedIdentity"], identity["resourceId"]]
    assert identity["resourceId"].startswith(
        f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mlsec-dev-data-anonymization-id"
    )


def test_spark_workspace_data_scientists_submit_no_jobs(spark_plan: Plan, dev_plan: Plan) -> None:
    from components.workspace_access import DATA_SCIENTIST_NOT_ACTIONS, JOB_ACTIONS, SERVING_ACTIONS

    assert list(JOB_ACTIONS) == DS_ROLE_JOB_ACTIONS
    role = spark_plan.inputs(T + "authorization:RoleDefinition", "mlsec-dev-fraud-ds-role")
    assert role["permissions"][0]["notActions"] == [*DATA_SCIENTIST_NOT_ACTIONS, *SERVING_ACTIONS, *JOB_ACTIONS]
    default = dev_plan.inputs(T + "authorization:RoleDefinition", "mlsec-dev-fraud-ds-role")
    assert default["permissions"][0]["notActions"] == [*DATA_SCIENTIST_NOT_ACTIONS, *SERVING_ACTIONS]


def test_spark_adds_no_role_on_the_data(spark_plan: Plan, dev_plan: Plan) -> None:
    """The pipeline identity keeps exactly the zone roles DataStorage grants it: reads raw, writes anonymized."""

    def data_roles(plan: Plan) -> list[tuple[str, str]]:
        return sorted(
            (r["name"], r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1])
            for r in plan.of_type(T + "authorization:RoleAssignment")
            if "/storageAccounts/mlsecdevdataacct" in str(r["inputs"].get("scope", ""))
        )

    assert data_roles(spark_plan) == data_roles(dev_plan)


def test_spark_is_off_by_default(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        assert plan.outputs["sparkIdentities"] == {}
        for ws in plan.of_type(T + "machinelearningservices:Workspace"):
            rules = ws["inputs"]["managedNetwork"].get("outboundRules", {})
            private = [r["destination"] for r in rules.values() if r["type"] == "PrivateEndpoint"]
            assert private and all(d["sparkEnabled"] is False for d in private)
            assert len(ws["inputs"]["identity"]["userAssignedIdentities"]) == 1


def test_the_gate_passes_the_spark_plan(spark_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule, as in the dev mutation suite: the Spark workspace adds no violation (prod enforcement too)."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "policies"))
    from scripts.gate.evaluate import evaluate
    from tests.policies.policy_cases import NO_SUPPRESSIONS, TODAY, with_endpoint_diagnostics

    document = with_endpoint_diagnostics(spark_plan.document)
    report = evaluate(document, today=TODAY, suppressions_file=NO_SUPPRESSIONS)
    assert [(f.rule, f.message) for f in report.findings if f.status == "violation"] == []
    as_prod = evaluate(document, today=TODAY, stack="prod", suppressions_file=NO_SUPPRESSIONS)
    spark_rules = {"MLSEC-SPK-001", "MLSEC-SPK-002", "MLSEC-DATA-002"}
    assert [(f.rule, f.message) for f in as_prod.findings if f.rule in spark_rules] == []


def test_existing_pipeline_principals_cannot_run_spark(project: Any) -> None:
    from components.config import ConfigError

    def existing(values: dict[str, Any]) -> None:
        values["workspaces"][0]["spark"] = {"pipelineSteps": ["anonymization"]}
        values["dataStorage"]["pipelineIdentities"] = {"anonymization": "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a09"}

    with pytest.raises((plan_module.PlanError, ConfigError)) as caught:
        plan_module.make_plan("case", project("case", mutate=existing))
    message = str(caught.value)
    assert "workspaces[0].spark.pipelineSteps" in message
    assert "dataStorage.pipelineIdentities.anonymization is an existing principal" in message


# ---------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------


def _submit(outputs: Path, manifest: Path, stage: Path, *extra: str) -> list[str]:
    return [
        "submit",
        *extra,
        "--from-outputs",
        str(outputs),
        "--workspace",
        "fraud",
        "--step",
        "anonymization",
        "--manifest",
        str(manifest),
        "--stage-dir",
        str(stage),
    ]


def test_dry_run_prints_the_anonymize_job(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path, spark_plan: Plan
) -> None:
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "anonymize")
    argv += ["--input", "raw/customers/2026-11/", "--output", "anonymized/customers/2026-11/", "--format", "parquet"]
    argv += ["--key-vault-url", "https://kv.vault.azure.net/", "--key-name", "hmac", "--dry-run"]
    code, out, err = run_cli(*argv)
    assert (code, err) == (0, "")
    body = yaml.safe_load(out)
    code_dir = tmp_path / "stage" / "code"
    assert body == {
        "properties": {
            "properties": {},
            "tags": {"operation": "anonymize", "step": "anonymization", "input": "raw/customers/2026-11/"},
            "displayName": "dataset anonymize raw/customers/2026-11/",
            "experimentName": "datasets",
            "identity": {"identityType": "Managed", "clientId": _identity(spark_plan)["clientId"]},
            "isArchived": False,
            "jobType": "Spark",
            "args": "anonymize ${{inputs.data}} --manifest manifest.yaml --out ${{outputs.out}} --key-vault-url "
            "https://kv.vault.azure.net/ --key-name hmac --json --format parquet --engine spark",
            "codeId": str(code_dir.resolve()),
            "conf": {
                "spark.driver.cores": "1",
                "spark.driver.memory": "2g",
                "spark.executor.cores": "2",
                "spark.executor.memory": "8g",
                "spark.executor.instances": "2",
            },
            "entry": {"sparkJobEntryType": "SparkJobPythonEntry", "file": "dataset_job.py"},
            "inputs": {
                "data": {
                    "mode": "Direct",
                    "uri": f"abfss://raw@{ACCOUNT}.dfs.core.windows.net/customers/2026-11/",
                    "jobInputType": "uri_folder",
                }
            },
            "outputs": {
                "out": {
                    "mode": "Direct",
                    "uri": f"abfss://anonymized@{ACCOUNT}.dfs.core.windows.net/customers/2026-11/",
                    "jobOutputType": "uri_folder",
                }
            },
            "resources": {"instanceType": "standard_e4s_v3", "runtimeVersion": "3.4"},
        }
    }
    # No environment: conda dependencies fail to install behind allow-only-approved outbound.
    assert "environmentId" not in body["properties"]
    staged = sorted(str(p.relative_to(code_dir)) for p in code_dir.rglob("*") if p.is_file())
    assert "dataset_job.py" in staged and "manifest.yaml" in staged and "scripts/dataset/cli.py" in staged
    assert {"scripts/__init__.py", "scripts/common/cli.py", "scripts/common/safeload.py"} <= set(staged)
    assert (code_dir / "manifest.yaml").read_bytes() == manifest.read_bytes()
    # The staged copy alone runs the command (the checkout is not on the path of the child).
    done = subprocess.run(
        [sys.executable, "-m", "scripts.dataset", "scan", "--help"],
        cwd=code_dir,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--engine" in done.stdout or "usage" in done.stdout


def test_dry_run_scan_of_a_file_with_wheels_and_a_bigger_pool(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path
) -> None:
    wheel = tmp_path / "phonenumbers-9.0.43-py2.py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "scan")
    argv += ["--input", "raw/customers.csv", "--instance-type", "standard_e8s_v3", "--executors", "4"]
    argv += ["--py-file", str(wheel), "--dry-run"]
    code, out, err = run_cli(*argv)
    assert (code, err) == (0, "")
    props = yaml.safe_load(out)["properties"]
    assert props["args"] == "scan ${{inputs.data}} --manifest manifest.yaml --json --format csv --engine spark"
    assert props["inputs"] == {
        "data": {
            "mode": "Direct",
            "uri": f"abfss://raw@{ACCOUNT}.dfs.core.windows.net/customers.csv",
            "jobInputType": "uri_file",
        }
    }
    assert props["outputs"] == {}
    assert props["pyFiles"] == [f"deps/{wheel.name}"]
    assert props["resources"] == {"instanceType": "standard_e8s_v3", "runtimeVersion": "3.4"}
    assert props["conf"]["spark.executor.cores"] == "4"
    assert props["conf"]["spark.executor.memory"] == "16g"
    assert props["conf"]["spark.executor.instances"] == "4"
    assert (tmp_path / "stage" / "code" / "deps" / wheel.name).read_bytes() == wheel.read_bytes()


def test_dry_run_needs_no_credentials(outputs_file: Path, manifest: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no Azure login, no environment credentials
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "scan")
    argv += ["--input", "anonymized/customers/", "--format", "jsonl", "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-m", "scripts.dataset", *argv], cwd=ROOT, env=env, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert yaml.safe_load(done.stdout)["properties"]["jobType"] == "Spark"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            [
                "anonymize",
                "--input",
                "raw/x/",
                "--output",
                "curated/x/",
                "--format",
                "csv",
                "--key-vault-url",
                "https://k/",
                "--key-name",
                "h",
            ],
            "error: --output 'curated/x/': the anonymization identity writes only anonymized\n",
        ),
        (
            ["scan", "--input", "quarantine/x/"],
            "error: --input 'quarantine/x/': the anonymization identity reads only raw, anonymized\n",
        ),
        (
            ["scan", "--input", "raw/../curated/x"],
            "error: --input 'raw/../curated/x': expected ZONE/PATH with ZONE one of quarantine, raw, anonymized, "
            "curated, models and a relative path without . or ..\n",
        ),
        (
            ["scan", "--input", "abfss://raw@evil.dfs.core.windows.net/x"],
            "error: --input 'abfss://raw@evil.dfs.core.windows.net/x': expected ZONE/PATH with ZONE one of "
            "quarantine, raw, anonymized, curated, models and a relative path without . or ..\n",
        ),
        (
            ["anonymize", "--input", "raw/x/", "--output", "anonymized/x/"],
            "error: anonymize needs --key-vault-url and --key-name (a Spark job has no local key file)\n",
        ),
        (["anonymize", "--input", "raw/x/"], "error: anonymize needs --output ZONE/PATH\n"),
        (
            ["scan", "--input", "raw/x/", "--output", "anonymized/x/"],
            "error: scan takes no --output, --key-vault-url, --key-name or --force\n",
        ),
        (
            ["scan", "--input", "raw/x.csv", "--force"],
            "error: scan takes no --output, --key-vault-url, --key-name or --force\n",
        ),
        (
            ["scan", "--input", "raw/customers/2026-11/"],
            "error: --input 'raw/customers/2026-11/': give the data format (--format csv, jsonl or parquet)\n",
        ),
        (
            ["scan", "--input", "raw/customers.txt"],
            "error: --input 'raw/customers.txt': give the data format (--format csv, jsonl or parquet)\n",
        ),
        (["scan", "--input", "raw/x/", "--executors", "0"], "error: --executors 0: expected 1 to 100\n"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    argv = _submit(outputs_file, manifest, tmp_path / "stage", *extra)
    code, out, err = run_cli(*argv, "--dry-run")
    assert (code, out, err) == (2, "", message)


def test_a_step_without_spark_and_a_wrong_stack_exit_2(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path
) -> None:
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "scan", "--input", "raw/x/", "--dry-run")
    argv[argv.index("anonymization")] = "curation"
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    assert err == (
        f"error: --from-outputs {outputs_file}: workspace 'fraud' runs no Spark job as 'curation' "
        "(sparkIdentities.fraud.curation is missing: add 'curation' to the workspace's spark.pipelineSteps in the "
        "stack config)\n"
    )
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"gatewayId": "x"}))
    argv = _submit(other, manifest, tmp_path / "stage", "scan", "--input", "raw/x/", "--dry-run")
    code, out, err = run_cli(*argv)
    assert (code, out, err) == (
        2,
        "",
        f"error: --from-outputs {other}: no workspaces output (is this the right stack?)\n",
    )


def test_tampered_outputs_exit_2(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path, spark_plan: Plan
) -> None:
    outputs = copy.deepcopy(spark_plan.outputs)
    outputs["sparkIdentities"]["fraud"]["anonymization"]["clientId"] = "not-a-guid"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(outputs))
    argv = _submit(bad, manifest, tmp_path / "stage", "scan", "--input", "raw/x/", "--dry-run")
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    where = f"error: --from-outputs {bad}: sparkIdentities.fraud.anonymization.clientId"
    assert err == f"{where} is not a GUID, found 'not-a-guid'\n"
    bad.write_text("{not json")
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: --from-outputs {bad}") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (("workspaces", "fraud"), "ACCOUNT", "workspaces.fraud is not an Azure ML workspace ID"),
        (
            ("workspaces", "fraud"),
            "/subscriptions/s/resourceGroups/g",
            "workspaces.fraud is not an Azure ML workspace ID",
        ),
        (("dataAccountId",), "WORKSPACE", "dataAccountId is not a storage account ID"),
        (("dataAccountId",), "ACCOUNT/blobServices/default", "dataAccountId is not a storage account ID"),
        (("dataAccountId",), "UPPER", "dataAccountId is not a storage account ID"),
        (
            ("sparkIdentities", "fraud", "anonymization", "resourceId"),
            "ACCOUNT",
            "sparkIdentities.fraud.anonymization.resourceId is not a user-assigned identity ID",
        ),
    ],
)
def test_outputs_naming_the_wrong_kind_of_resource_exit_2(
    run_cli: Runner, manifest: Path, tmp_path: Path, spark_plan: Plan, key: tuple[str, ...], value: str, message: str
) -> None:
    outputs = copy.deepcopy(spark_plan.outputs)
    ids = {
        "ACCOUNT": outputs["dataAccountId"],
        "WORKSPACE": outputs["workspaces"]["fraud"],
        "UPPER": outputs["dataAccountId"].rsplit("/", 1)[0] + "/MLSECDATA",
    }
    value = value.replace("ACCOUNT", ids["ACCOUNT"]) if value.startswith("ACCOUNT") else ids.get(value, value)
    target = outputs
    for part in key[:-1]:
        target = target[part]
    target[key[-1]] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(outputs))
    code, out, err = run_cli(*_submit(bad, manifest, tmp_path / "stage", "scan", "--input", "raw/x/", "--dry-run"))
    assert (code, out) == (2, "")
    assert err == f"error: --from-outputs {bad}: {message}, found {value!r}\n"


def test_unknown_instance_type_is_a_usage_error(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path
) -> None:
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "scan", "--input", "raw/x/")
    with pytest.raises(SystemExit) as caught:
        run_cli(*argv, "--instance-type", "standard_d4s_v3", "--dry-run")
    assert caught.value.code == 2


class _Jobs:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def create_or_update(self, job: Any) -> Any:
        self.created.append(job)

        class Created:
            name = "dataset-job-1"
            studio_url = "https://ml.azure.com/runs/dataset-job-1"

        return Created()


def test_submit_sends_the_job_to_the_workspace_with_default_credentials(
    run_cli: Runner, outputs_file: Path, manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.ai.ml
    import azure.identity

    seen: dict[str, Any] = {}
    jobs = _Jobs()

    class FakeClient:
        def __init__(self, credential: Any, **kwargs: Any) -> None:
            seen["credential"] = type(credential).__name__
            seen.update(kwargs)
            self.jobs = jobs

    class FakeCredential:
        pass

    monkeypatch.setattr(azure.ai.ml, "MLClient", FakeClient)
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    argv = _submit(outputs_file, manifest, tmp_path / "stage", "scan", "--input", "raw/x/", "--format", "csv")
    code, out, err = run_cli(*argv)
    assert (code, err) == (0, "")
    assert out == "submitted dataset-job-1\nhttps://ml.azure.com/runs/dataset-job-1\n"
    assert seen == {
        "credential": "FakeCredential",
        "subscription_id": "00000000-0000-4000-8000-000000000000",
        "resource_group_name": "mlsec-dev-rgf7e1a2fe",
        "workspace_name": "mlsec-dev-fraud-mlw",
    }
    (job,) = jobs.created
    assert job.inputs["data"].path == f"abfss://raw@{ACCOUNT}.dfs.core.windows.net/x/"
    assert job.resources.instance_type == "standard_e4s_v3"


# ---------------------------------------------------------------------------------------------
# After deployment: the managed network must have been provisioned with Spark
# ---------------------------------------------------------------------------------------------


def test_verify_deployment_requires_spark_ready_on_a_spark_workspace(
    spark_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.ops.test_verify_deployment import V_ML, body, compliant_routes, problems, verify

    outputs = copy.deepcopy(spark_plan.outputs)
    outputs["securityOptOuts"].pop("dataStorage.immutability")
    routes = compliant_routes(outputs)
    code, report, _ = verify(outputs, tmp_path, capsys, routes)
    assert code == 1
    assert problems(report) == [
        {
            "resource": "ML workspace mlsec-dev-fraud-mlw",
            "check": "managedNetwork.status.sparkReady",
            "expected": "true",
            "found": "(absent)",
            "result": "DRIFT",
            "detail": None,
        }
    ]
    workspace = body(routes, f"https://management.azure.com{outputs['workspaces']['fraud']}?{V_ML}")
    workspace["properties"]["managedNetwork"]["status"]["sparkReady"] = True
    code, report, _ = verify(outputs, tmp_path, capsys, routes)
    assert (code, problems(report)) == (0, [])


def test_verify_deployment_refuses_spark_identities_of_an_unknown_workspace(
    spark_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts.ops import verify_deployment

    outputs = copy.deepcopy(spark_plan.outputs)
    outputs["sparkIdentities"]["other"] = outputs["sparkIdentities"]["fraud"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    code = verify_deployment.main(["dev", "--from-outputs", str(path)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --from-outputs {path}: sparkIdentities names 'other', which is not in workspaces\n"
    )


def test_the_zones_a_step_may_touch_are_those_data_storage_grants() -> None:
    from components import datastorage, zones
    from scripts.dataset import submit

    assert submit.WRITES is datastorage.WRITES is zones.WRITES
    assert {step: zones.readable(step) for step in zones.WRITES} == {
        "ingestion": ("quarantine",),
        "validation": ("quarantine", "raw"),
        "anonymization": ("raw", "anonymized"),
        "curation": ("anonymized", "curated"),
        "release": ("models",),
    }


# ---------------------------------------------------------------------------------------------
# The job's own command line, run on local folders standing in for the abfss:// paths
# ---------------------------------------------------------------------------------------------

_ABFSS = re.compile(rf"^abfss://([a-z0-9-]+)@{ACCOUNT}\.dfs\.core\.windows\.net/(.+)$")


def _job(run_cli: Runner, argv: list[str]) -> dict[str, Any]:
    code, out, err = run_cli(*argv, "--dry-run")
    assert (code, err) == (0, ""), err
    properties: dict[str, Any] = yaml.safe_load(out)["properties"]
    return properties


def _local(root: Path, uri: str) -> Path:
    """The local folder standing for an ``abfss://container@account.dfs.core.windows.net/path`` URI."""
    found = _ABFSS.match(uri)
    assert found, uri
    return root / found.group(1) / found.group(2)


def _job_argv(job: dict[str, Any], root: Path) -> list[str]:
    """The job's arguments with each ``${{inputs.X}}``/``${{outputs.X}}`` replaced by its local folder."""
    places = {f"${{{{inputs.{name}}}}}": str(_local(root, value["uri"])) for name, value in job["inputs"].items()}
    places |= {f"${{{{outputs.{name}}}}}": str(_local(root, value["uri"])) for name, value in job["outputs"].items()}
    argv = [places.get(word, word) for word in str(job["args"]).split(" ")]
    assert not [word for word in argv if "${{" in word], argv
    return argv


def _spark_manifest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_manifest(folder / "manifest.yaml", manifest_document(COLUMNS, privacy=PRIVACY))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_scan_job_runs_on_spark_and_finds_what_the_local_runner_finds(
    run_cli: Runner, outputs_file: Path, tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    manifest_path = _spark_manifest(tmp_path / "manifests")
    argv = _submit(outputs_file, manifest_path, tmp_path / "stage", "scan", "--input", "raw/customers/2026-11/")
    job = _job(run_cli, [*argv, "--format", fmt])
    root = tmp_path / "lake"
    data = dataset(_local(root, job["inputs"]["data"]["uri"]).parent, fmt, "folder", sample_rows())
    data.rename(data.parent / "2026-11")  # a folder without a suffix, as in a zone
    monkeypatch.chdir(tmp_path / "stage" / "code")
    code, out, err = run_cli(*_job_argv(job, root))
    assert (code, err) == (1, "")  # findings fail the job
    report = json.loads(out)
    local = scan_file(data.parent / "2026-11", load_manifest(manifest_path), data_format=fmt)  # type: ignore[arg-type]
    assert report["rows_scanned"] == local.rows_scanned == 90
    assert report["findings"] == local.to_dict()["findings"]
    assert {finding["type"] for finding in report["findings"]} == {"email", "iban", "payment_card"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_anonymize_job_runs_on_spark_and_writes_the_local_runners_rows(
    run_cli: Runner, outputs_file: Path, tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from scripts.dataset import keys

    manifest_path = _spark_manifest(tmp_path / "manifests")
    argv = _submit(outputs_file, manifest_path, tmp_path / "stage", "anonymize")
    argv += ["--input", "raw/customers/2026-11/", "--output", "anonymized/customers/2026-11/", "--format", fmt]
    argv += ["--key-vault-url", "https://kv.vault.azure.net/", "--key-name", "hmac"]
    job = _job(run_cli, argv)
    root = tmp_path / "lake"
    clean = [[*row[:7], f"visit {index}", *row[8:]] for index, row in enumerate(sample_rows())]
    data = dataset(_local(root, job["inputs"]["data"]["uri"]).parent, fmt, "folder", clean)
    data = data.rename(data.parent / "2026-11")
    out = _local(root, job["outputs"]["out"]["uri"])
    # The runner writes first into a hidden folder beside the output, in the output's container.
    partial = spark_runner.partial_path(spark, job["outputs"]["out"]["uri"]).toUri()
    assert partial.getAuthority() == f"anonymized@{ACCOUNT}.dfs.core.windows.net"
    assert partial.getPath().startswith("/customers/.2026-11.partial-")

    def key_vault(url: str, name: str, credential: Any) -> bytes:
        assert (url, name) == ("https://kv.vault.azure.net/", "hmac")
        return HMAC_KEY

    monkeypatch.setattr(keys, "fetch_key_vault_secret", key_vault)
    monkeypatch.chdir(tmp_path / "stage" / "code")
    code, stdout, err = run_cli(*_job_argv(job, root))
    assert (code, err) == (0, ""), err
    assert json.loads(stdout)["written"] is True
    local_out = tmp_path / f"local.{fmt}"
    anonymize_file(data, load_manifest(manifest_path), local_out, key=HMAC_KEY, data_format=fmt)  # type: ignore[arg-type]
    expected = text_rows(local_out, fmt)
    assert len(expected) == 90
    assert text_rows(out, fmt) == expected
    assert sorted(path.name for path in out.parent.iterdir()) == ["2026-11"]
    # Run again: the output exists, so the job fails unless it was submitted with --force.
    assert run_cli(*_job_argv(job, root)) == (2, "", f"error: {out}: output exists (use --force to replace it)\n")
    monkeypatch.chdir(tmp_path)
    forced = _job(run_cli, [*argv, "--force"])
    assert forced["args"].endswith("--json --force --format " + fmt + " --engine spark")
    monkeypatch.chdir(tmp_path / "stage" / "code")
    code, stdout, err = run_cli(*_job_argv(forced, root))
    assert (code, err) == (0, ""), err
    assert text_rows(out, fmt) == expected


def test_the_staged_entry_file_runs_the_scan_job_alone(
    run_cli: Runner, outputs_file: Path, tmp_path: Path, spark: Any
) -> None:
    """``dataset_job.py`` in the staged code folder, in a fresh interpreter without the checkout on its path
    (as serverless Spark runs it; here pyspark starts its own local JVM)."""
    manifest_path = _spark_manifest(tmp_path / "manifests")
    argv = _submit(outputs_file, manifest_path, tmp_path / "stage", "scan", "--input", "raw/customers/2026-11/")
    job = _job(run_cli, [*argv, "--format", "parquet"])
    root = tmp_path / "lake"
    data = dataset(_local(root, job["inputs"]["data"]["uri"]).parent, "parquet", "folder", sample_rows())
    data = data.rename(data.parent / "2026-11")
    code_dir = tmp_path / "stage" / "code"
    done = subprocess.run(
        [sys.executable, "dataset_job.py", *_job_argv(job, root)],
        cwd=code_dir,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    local = scan_file(data, load_manifest(manifest_path), data_format="parquet")
    assert json.loads(done.stdout)["findings"] == local.to_dict()["findings"]


# ---------------------------------------------------------------------------------------------
# Immutable zones: a Spark anonymize would leave retained copies of its temporary and refused output
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outputs_change", ["immutability-on", "no-opt-out-output"])
def test_anonymize_job_is_refused_where_the_zones_are_immutable(
    run_cli: Runner, spark_plan: Plan, manifest: Path, tmp_path: Path, outputs_change: str
) -> None:
    outputs = copy.deepcopy(spark_plan.outputs)
    if outputs_change == "immutability-on":
        outputs["securityOptOuts"].pop("dataStorage.immutability")
    else:  # a stack older than the securityOptOuts output counts as immutable
        del outputs["securityOptOuts"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    argv = _submit(path, manifest, tmp_path / "stage", "anonymize")
    argv += ["--input", "raw/customers/2026-11/", "--output", "anonymized/customers/2026-11/", "--format", "parquet"]
    argv += ["--key-vault-url", "https://kv.vault.azure.net/", "--key-name", "hmac", "--dry-run"]
    code, out, err = run_cli(*argv)
    assert (code, out) == (1, "")
    assert err == f"error: anonymize refused: {submit_module.IMMUTABLE_ZONES}\n"
    assert not (tmp_path / "stage").exists()  # refused before anything is staged


def test_scan_job_of_immutable_zones_is_allowed(
    run_cli: Runner, spark_plan: Plan, manifest: Path, tmp_path: Path
) -> None:
    outputs = copy.deepcopy(spark_plan.outputs)
    outputs["securityOptOuts"].pop("dataStorage.immutability")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    argv = _submit(path, manifest, tmp_path / "stage", "scan")
    argv += ["--input", "raw/customers/2026-11/", "--format", "parquet", "--dry-run"]
    code, _, err = run_cli(*argv)
    assert (code, err) == (0, "")
