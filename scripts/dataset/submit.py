"""``python -m scripts.dataset submit``: run a scan or an anonymization where the data is.

Builds an Azure ML serverless Spark job with the Azure ML SDK (``azure.ai.ml.entities.SparkJob``) that runs
``python -m scripts.dataset <scan|anonymize> ... --engine spark`` inside the workspace's managed network,
reading and writing ``abfss://`` paths of the platform's data account under one pipeline identity:

- the job names the pipeline step's user-assigned identity (``identity: managed``, by client ID); serverless
  Spark uses a user-assigned identity attached to the workspace ("Ensuring resource access for Spark jobs",
  https://learn.microsoft.com/azure/machine-learning/apache-spark-environment-configuration), which the
  workspace's ``spark.pipelineSteps`` attaches;
- the step reads only the zones it may read and writes only its own zone (the tables of
  ``components/zones.py``); Azure enforces the same through the container-scoped roles;
- no conda environment: with allow-only-approved outbound, conda dependencies of a Spark job fail to install;
  self-contained wheels go in ``py_files`` instead ("Configure for serverless Spark jobs",
  https://learn.microsoft.com/azure/machine-learning/how-to-managed-network);
- instance types and runtime versions are those serverless Spark accepts (YAML properties of the Spark job
  specification, https://learn.microsoft.com/azure/machine-learning/how-to-submit-spark-jobs).

The job's arguments are those the Spark runner (``spark_runner``) takes: the input's format is always passed
(``--format``: a folder has no suffix to tell it); an anonymization refuses an existing output unless
``submit --force`` is given, which the job passes on (an existing *empty* folder counts as absent, so a folder
Azure ML creates for the output does not stop the job). The runner writes into a hidden
``.<OUT name>.partial-<id>`` folder beside OUT, i.e. in OUT's parent folder: OUT is ``ZONE/PATH`` with a
non-empty PATH, so that parent is inside the same zone container, on which the step identity holds its write
role (a test checks the path the runner derives).

``--dry-run`` prints the job as the SDK would send it (its REST body as YAML) and needs no credentials.
"""

from __future__ import annotations

import argparse
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from components.zones import WRITES, readable
from scripts.common.paths import ROOT

from .errors import RefusedError, UnusableInputError
from .readers import _SUFFIXES

INSTANCE_TYPES = ("standard_e4s_v3", "standard_e8s_v3", "standard_e16s_v3", "standard_e32s_v3", "standard_e64s_v3")
"""Instance types of serverless Spark (https://learn.microsoft.com/azure/machine-learning/how-to-submit-spark-jobs)."""
INSTANCE_CORES = {"standard_e4s_v3": 4, "standard_e8s_v3": 8, "standard_e16s_v3": 16, "standard_e32s_v3": 32,
                  "standard_e64s_v3": 64}  # fmt: skip
"""vCPUs of each type (https://learn.microsoft.com/azure/virtual-machines/ev3-esv3-series)."""
RUNTIME_VERSION = "3.4"
"""The serverless Spark runtime in support (3.3 reached its end of support on March 31, 2025; same page)."""

ENTRY = "dataset_job.py"
ENTRY_SOURCE = '''"""Spark job entry: run python -m scripts.dataset with this job's arguments."""

import runpy

runpy.run_module("scripts.dataset", run_name="__main__", alter_sys=True)
'''
CODE_PACKAGES = ("scripts/common", "scripts/dataset")
"""The packages ``python -m scripts.dataset`` imports (with ``scripts/__init__.py`` and :data:`CODE_FILES`); a test
runs the staged copy."""
CODE_FILES = ("components/__init__.py", "components/zones.py")
"""The zone tables (plain data) the command checks paths against."""

_PATH = re.compile(r"^(quarantine|raw|anonymized|curated|models)/([A-Za-z0-9._=/-]{1,1000})$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
"""A storage account name (3-24 lowercase letters and digits), which becomes the abfss:// host."""


@dataclass(frozen=True)
class Target:
    """Where the job runs and what it may touch, from the stack outputs."""

    subscription: str
    resource_group: str
    workspace: str
    account: str
    containers: dict[str, str]
    identity_client_id: str
    identity_resource_id: str
    immutable: bool = True
    """Whether the zones are under version-level immutability (the stack has no ``dataStorage.immutability``
    opt-out in ``securityOptOuts``; a stack without that output counts as immutable)."""
    dfs_suffix: str = "dfs.core.windows.net"


IMMUTABLE_ZONES = (
    "the stack's zones are immutable (version-level WORM), and Spark writes its output through temporary files "
    "that it renames, which on an account without a hierarchical namespace is a copy and a delete: every deleted "
    "version - a refused output with personal data included - would stay retained for the immutability period "
    "and fire the destructive-operation tripwire. Anonymize with the local runner and publish the result (docs/"
    "operations.md, Datasets at scale); a Spark scan of the zones is allowed"
)
"""Why ``submit anonymize`` is refused where the zones are immutable (version-level WORM: a deleted current version
is kept as a previous version under retention, and Delete Blob of a retained version is refused;
https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies)."""


def add_parser(commands: Any) -> None:
    """The ``submit`` subcommand."""
    submit = commands.add_parser(
        "submit", help="run scan or anonymize as an Azure ML serverless Spark job where the data is"
    )
    submit.add_argument("operation", choices=["scan", "anonymize"], metavar="scan|anonymize")
    submit.add_argument("--from-outputs", required=True, type=Path, metavar="FILE",
                        help="JSON of `pulumi stack output --json`")  # fmt: skip
    submit.add_argument("--workspace", required=True, metavar="NAME", help="workspace (a key of `workspaces`)")
    submit.add_argument("--step", required=True, choices=sorted(WRITES), help="pipeline identity the job runs as")
    submit.add_argument("--input", required=True, metavar="ZONE/PATH", help="folder or file in a zone, e.g. raw/x/")
    submit.add_argument("--output", metavar="ZONE/PATH", help="anonymize: folder in the step's own zone")
    submit.add_argument("--manifest", required=True, type=Path, metavar="MANIFEST")
    submit.add_argument(
        "--format",
        dest="data_format",
        choices=["csv", "jsonl", "parquet"],
        help="format of the input (required when its name has no .csv, .jsonl or .parquet suffix)",
    )
    submit.add_argument("--force", action="store_true", help="anonymize: replace an existing output")
    submit.add_argument("--key-vault-url", metavar="URL", help="anonymize: Key Vault holding the HMAC key")
    submit.add_argument("--key-name", metavar="NAME", help="anonymize: name of the Key Vault secret")
    submit.add_argument("--instance-type", choices=INSTANCE_TYPES, default="standard_e4s_v3")
    submit.add_argument("--executors", type=int, default=2, metavar="N", help="executor instances (1-100)")
    submit.add_argument("--py-file", action="append", type=Path, default=[], metavar="WHEEL",
                        help="self-contained wheel shipped with the job (repeatable)")  # fmt: skip
    submit.add_argument("--name", metavar="JOB", help="job name (default: generated by Azure ML)")
    submit.add_argument("--stage-dir", type=Path, default=ROOT / "build" / "spark-job", metavar="DIR",
                        help="folder where the job's code is staged before upload")  # fmt: skip
    submit.add_argument("--dry-run", action="store_true", help="print the job spec (YAML) and exit; no credentials")


def _fail(message: str) -> UnusableInputError:
    return UnusableInputError(message)


def read_target(path: Path, workspace: str, step: str) -> Target:
    """The workspace, data account, zone containers and the step's identity from the stack outputs."""
    # Imported here: the job's staged code (scripts/common, scripts/dataset) has no scripts.ops.
    from scripts.common.cli import UsageError
    from scripts.ops.azure_mgmt import ResourceId, parse_resource_id, read_outputs, shown

    try:
        outputs = read_outputs(path)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    where = f"--from-outputs {path}"
    workspaces = outputs.get("workspaces")
    if not isinstance(workspaces, dict) or not workspaces:
        raise _fail(f"{where}: no workspaces output (is this the right stack?)")
    if workspace not in workspaces:
        raise _fail(f"{where}: no workspace {workspace!r} (found {', '.join(sorted(map(str, workspaces)))})")

    def resource(value: object, arm_type: str) -> ResourceId | None:
        """The parts of ``value`` if it is the ID of a resource of ``arm_type`` (azure-mgmt-core's parser)."""
        parsed = parse_resource_id(value) if isinstance(value, str) else None
        return parsed if parsed is not None and parsed.is_a(arm_type) else None

    found = resource(workspaces[workspace], "Microsoft.MachineLearningServices/workspaces")
    if found is None:
        raise _fail(
            f"{where}: workspaces.{workspace} is not an Azure ML workspace ID, found {shown(workspaces[workspace])}"
        )
    account = resource(outputs.get("dataAccountId"), "Microsoft.Storage/storageAccounts")
    if account is None or not _ACCOUNT_NAME.fullmatch(account.name):
        raise _fail(f"{where}: dataAccountId is not a storage account ID, found {shown(outputs.get('dataAccountId'))}")
    containers = outputs.get("dataContainers")
    if not isinstance(containers, dict) or not all(isinstance(v, str) for v in containers.values()):
        raise _fail(f"{where}: dataContainers is not a map of zone to container name")
    spark = outputs.get("sparkIdentities")
    identities = spark.get(workspace) if isinstance(spark, dict) else None
    identity = identities.get(step) if isinstance(identities, dict) else None
    if not isinstance(identity, dict):
        raise _fail(
            f"{where}: workspace {workspace!r} runs no Spark job as {step!r} (sparkIdentities.{workspace}.{step} "
            f"is missing: add {step!r} to the workspace's spark.pipelineSteps in the stack config)"
        )
    client_id, resource_id = identity.get("clientId"), identity.get("resourceId")
    if not (isinstance(client_id, str) and _GUID.match(client_id)):
        raise _fail(f"{where}: sparkIdentities.{workspace}.{step}.clientId is not a GUID, found {shown(client_id)}")
    if (
        not isinstance(resource_id, str)
        or resource(resource_id, "Microsoft.ManagedIdentity/userAssignedIdentities") is None
    ):
        raise _fail(
            f"{where}: sparkIdentities.{workspace}.{step}.resourceId is not a user-assigned identity ID, "
            f"found {shown(resource_id)}"
        )
    opt_outs = outputs.get("securityOptOuts", {})
    if not isinstance(opt_outs, dict):
        raise _fail(f"{where}: securityOptOuts is not an object (found {shown(opt_outs)})")
    return Target(
        immutable="dataStorage.immutability" not in opt_outs,
        subscription=found.subscription,
        resource_group=found.resource_group,
        workspace=found.name,
        account=account.name,
        containers={str(k): v for k, v in containers.items()},
        identity_client_id=client_id,
        identity_resource_id=resource_id,
    )


def abfss(target: Target, location: str, option: str) -> tuple[str, str]:
    """``ZONE/PATH`` as the zone and the ``abfss://`` URI of the data account's dfs endpoint."""
    found = _PATH.match(location)
    parts = PurePosixPath(location).parts
    if not found or any(part in (".", "..") for part in parts):
        raise _fail(f"{option} {location!r}: expected ZONE/PATH with ZONE one of quarantine, raw, anonymized, "
                    "curated, models and a relative path without . or ..")  # fmt: skip
    zone, rest = found.group(1), found.group(2)
    container = target.containers.get(zone)
    if container is None:
        raise _fail(f"{option} {location!r}: the stack has no {zone} container")
    return zone, f"abfss://{container}@{target.account}.{target.dfs_suffix}/{rest}"


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.executors <= 100:
        raise _fail(f"--executors {args.executors}: expected 1 to 100")
    if args.operation == "anonymize":
        if not args.output:
            raise _fail("anonymize needs --output ZONE/PATH")
        if not (args.key_vault_url and args.key_name):
            raise _fail("anonymize needs --key-vault-url and --key-name (a Spark job has no local key file)")
    elif args.output or args.key_vault_url or args.key_name or args.force:
        raise _fail("scan takes no --output, --key-vault-url, --key-name or --force")
    if not args.manifest.is_file():
        raise _fail(f"--manifest {args.manifest}: not a file")
    for wheel in args.py_file:
        if wheel.suffix not in (".whl", ".zip", ".egg", ".py") or not wheel.is_file():
            raise _fail(f"--py-file {wheel}: expected an existing .whl, .zip, .egg or .py file")


def input_format(location: str) -> str | None:
    """The format the Spark runner reads for a path without ``--format``: its name's suffix, if known."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    return _SUFFIXES.get("." + name.rsplit(".", 1)[-1].lower()) if "." in name else None


def stage(args: argparse.Namespace) -> Path:
    """Copy what the job runs into ``--stage-dir``: the dataset package, the manifest, wheels, the entry."""
    code: Path = Path(args.stage_dir).resolve() / "code"
    if code.exists():
        shutil.rmtree(code)
    (code / "scripts").mkdir(parents=True)
    (code / "components").mkdir()
    for name in ("scripts/__init__.py", *CODE_FILES):
        shutil.copy2(ROOT / name, code / name)
    for package in CODE_PACKAGES:
        (code / package).mkdir()
        for source in sorted((ROOT / package).glob("*.py")):
            shutil.copy2(source, code / package / source.name)
    shutil.copy2(args.manifest, code / "manifest.yaml")
    if args.py_file:
        (code / "deps").mkdir()
        for wheel in args.py_file:
            shutil.copy2(wheel, code / "deps" / wheel.name)
    (code / ENTRY).write_text(ENTRY_SOURCE, encoding="utf-8")
    return code


def build_job(args: argparse.Namespace, target: Target, code: Path) -> Any:
    """The ``SparkJob`` entity of the Azure ML SDK."""
    from azure.ai.ml import Input, Output
    from azure.ai.ml.entities import ManagedIdentityConfiguration, SparkJob

    zone, source = abfss(target, args.input, "--input")
    if zone not in readable(args.step):
        raise _fail(f"--input {args.input!r}: the {args.step} identity reads only {', '.join(readable(args.step))}")
    kind = "uri_folder" if args.input.endswith("/") else "uri_file"
    inputs: dict[str, Any] = {"data": Input(type=kind, path=source, mode="direct")}
    outputs: dict[str, Any] = {}
    data_format = args.data_format or input_format(args.input)
    if data_format is None:
        raise _fail(f"--input {args.input!r}: give the data format (--format csv, jsonl or parquet)")
    command = ["scan", "${{inputs.data}}", "--manifest", "manifest.yaml", "--json"]
    if args.operation == "anonymize":
        out_zone, destination = abfss(target, args.output, "--output")
        if out_zone != WRITES[args.step]:
            raise _fail(f"--output {args.output!r}: the {args.step} identity writes only {WRITES[args.step]}")
        outputs["out"] = Output(type="uri_folder", path=destination, mode="direct")
        command = ["anonymize", "${{inputs.data}}", "--manifest", "manifest.yaml", "--out", "${{outputs.out}}",
                   "--key-vault-url", args.key_vault_url, "--key-name", args.key_name, "--json"]  # fmt: skip
        if args.force:
            command.append("--force")
    command += ["--format", data_format, "--engine", "spark"]
    cores = INSTANCE_CORES[args.instance_type]
    job: Any = SparkJob(
        name=args.name,
        experiment_name="datasets",
        display_name=f"dataset {args.operation} {args.input}",
        tags={"operation": args.operation, "step": args.step, "input": args.input},
        code=str(code),
        entry={"file": ENTRY},
        py_files=[f"deps/{wheel.name}" for wheel in args.py_file] or None,
        driver_cores=1,
        driver_memory="2g",
        executor_cores=cores // 2,
        executor_memory=f"{cores * 2}g",
        executor_instances=args.executors,
        inputs=inputs,
        outputs=outputs or None,
        args=" ".join(command),
        identity=ManagedIdentityConfiguration(client_id=target.identity_client_id),
        resources={"instance_type": args.instance_type, "runtime_version": RUNTIME_VERSION},
    )
    return job


def job_yaml(job: Any) -> str:
    """The job as the SDK sends it to Azure ML (its REST body, serialised by the SDK), as YAML.

    Not ``SparkJob.dump``: the SDK's YAML dump writes an ``abfss://`` input path as ``azureml:abfss://...``,
    which its own loader then sends as that literal URI. ``codeId`` is the local folder the SDK uploads on
    submit (it then holds the code asset's ID).
    """
    import logging

    import yaml

    # The REST models log "pathOnCompute is not a known attribute" for every output; the body is unaffected.
    logging.getLogger("msrest.serialization").setLevel(logging.ERROR)
    body = job._to_rest_object().serialize()
    return str(yaml.safe_dump(body, sort_keys=False, default_flow_style=False))


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        import azure.ai.ml  # noqa: F401
    except ImportError:
        raise _fail(
            "submit needs the Azure ML SDK: install the spark dependency group (uv sync --group spark)"
        ) from None
    _check(args)
    target = read_target(args.from_outputs, args.workspace, args.step)
    if args.operation == "anonymize" and target.immutable:
        raise RefusedError(f"anonymize refused: {IMMUTABLE_ZONES}")
    code = stage(args)
    job = build_job(args, target, code)
    if args.dry_run:
        out.write(job_yaml(job))
        return 0
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    client = MLClient(
        DefaultAzureCredential(),
        subscription_id=target.subscription,
        resource_group_name=target.resource_group,
        workspace_name=target.workspace,
    )
    created = client.jobs.create_or_update(job)
    out.write(f"submitted {created.name}\n{created.studio_url}\n")
    return 0


__all__ = ["add_parser", "build_job", "input_format", "job_yaml", "read_target", "run", "stage"]
