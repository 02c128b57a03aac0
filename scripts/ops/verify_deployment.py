"""Verify the live posture of a deployed stack: read each protected resource back from Azure and check it.

    python -m scripts.ops.verify_deployment STACK --from-outputs outputs.json
    python -m scripts.ops.verify_deployment STACK --from-outputs outputs.json --json

Run after ``pulumi up``. The resource IDs come from the JSON of ``pulumi stack output --json``; the script
signs in with ``DefaultAzureCredential`` (read access is enough) to the Azure Resource Manager endpoint of
the stack's ``cloud`` (or ``--cloud``) and checks, with pinned API versions:

- the training-data account: public network access Disabled, blob public access and shared key access
  off, version-level immutability on; its blob service: versioning, blob and container soft delete and
  the change feed on;
- the Key Vault: purge protection (unless the stack opts out of it), public network access Disabled,
  RBAC authorization;
- each ML workspace: public network access Disabled; each online endpoint: ``authMode`` AADToken and
  public network access Disabled;
- diagnostic settings sending logs to the stack's Log Analytics workspace on the blob service, the Key
  Vault, each ML workspace and the API Management service;
- the policy of each model API on the gateway: present and equal to the ``gatewayPolicy`` output, apart
  from whitespace, attribute order and XML escaping.

It prints one row per check (resource, check, expected, found, OK/DRIFT/ERROR), or with ``--json`` the
same rows as JSON. Without any Azure credential it checks nothing and says "skipped".

Exit status: 0 every check OK, or skipped because no Azure credential is available (1 instead with
--require-credentials); 1 any check DRIFT or ERROR; 2 usage error, with nothing sent.

The stack outputs are read by :mod:`scripts.ops.deployment_outputs`. What stays here (about 460 lines) is
one job, the checks and their report: the expected properties, reading each resource back, comparing it,
and printing the rows; splitting it further would separate each expected value from the check that reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from xml.etree import ElementTree

from azure.core.exceptions import AzureError, ClientAuthenticationError

from components.regions import CLOUDS
from scripts.common.cli import UsageError
from scripts.ops.arguments import (
    Argv,
    Credential,
    Transport,
    add_cloud,
    add_from_outputs,
    add_require_credentials,
    command_parser,
    resolve_cloud,
)
from scripts.ops.azure_mgmt import (
    ARM_ENDPOINTS,
    ArmBodyError,
    ArmClient,
    ArmStatusError,
    FirstTokenReader,
    NoCredentialError,
    ResourceId,
    no_token_reason,
    parse_resource_id,
    request_failure,
    resource_path,
    signed_in,
)
from scripts.ops.deployment_outputs import Deployment, load_deployment
from scripts.ops.kill_switch import is_suspended
from scripts.plan.arm_types import arm_api_version


def api_version(arm_type: str) -> str:
    """The API version of every request for a resource of ``arm_type`` (named in any case, as ARM allows): the one
    the blueprint deploys it with (:func:`scripts.plan.arm_types.arm_api_version`), so a resource is read in the
    shape it was written in. Diagnostic settings have no GA version that knows log category groups (``allLogs``)."""
    return arm_api_version(arm_type)


USER_AGENT = "secure-ml-verify-deployment"

HINTS = {
    401: " (sign in again: az login)",
    403: " (your identity needs read access, for example Reader on the resource group)",
    404: " (is the stack deployed, and is the --from-outputs file of this stack?)",
}
"""What to do about an ARM error answer, by status code."""

OK, DRIFT, ERROR = "OK", "DRIFT", "ERROR"


@dataclass(frozen=True)
class Row:
    """The outcome of one check."""

    resource: str
    check: str
    expected: str
    found: str
    result: str
    """OK, DRIFT or ERROR."""
    detail: str | None = None
    """One line more on an ERROR (the request's failure) or a DRIFT (where a policy differs)."""


@dataclass(frozen=True)
class Expect:
    """A property of a resource (a path under ``properties``) and the value the blueprint sets."""

    path: str
    value: bool | str


STORAGE_ACCOUNT = (
    Expect("publicNetworkAccess", "Disabled"),
    Expect("allowBlobPublicAccess", False),
    Expect("allowSharedKeyAccess", False),
    Expect("immutableStorageWithVersioning.enabled", True),
)
BLOB_SERVICE = (
    Expect("isVersioningEnabled", True),
    Expect("deleteRetentionPolicy.enabled", True),
    Expect("containerDeleteRetentionPolicy.enabled", True),
    Expect("changeFeed.enabled", True),
)
KEY_VAULT = (
    Expect("enablePurgeProtection", True),
    Expect("publicNetworkAccess", "Disabled"),
    Expect("enableRbacAuthorization", True),
)
WORKSPACE = (Expect("publicNetworkAccess", "Disabled"),)
SPARK_WORKSPACE = (Expect("managedNetwork.status.sparkReady", True),)
"""A workspace whose serverless Spark jobs run as pipeline identities (the ``sparkIdentities`` output): its
managed network must have been provisioned with Spark (``az ml workspace provision-network --include-spark``;
"Configure for serverless Spark jobs", https://learn.microsoft.com/azure/machine-learning/how-to-managed-network).
``ManagedNetworkSettings.status.sparkReady`` in azure-rest-api-specs specification/machinelearningservices/
resource-manager/Microsoft.MachineLearningServices/stable/2025-12-01/workspaceRP.json."""
ONLINE_ENDPOINT = (Expect("authMode", "AADToken"), Expect("publicNetworkAccess", "Disabled"))

PURGE_PROTECTION_OPT_OUT = "keyVault.purgeProtection"
"""The ``securityOptOuts`` key of a stack that turns purge protection off."""
IMMUTABILITY_OPT_OUT = "dataStorage.immutability"
"""The ``securityOptOuts`` key of a stack that turns version-level immutability off (to be torn down)."""


# ---------------------------------------------------------------------------------------------
# Reading from ARM
# ---------------------------------------------------------------------------------------------


class ReadError(Exception):
    """A GET that gave no usable document."""

    def __init__(self, found: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.found = found
        """Short reason for the table, such as ``HTTP 403 AuthorizationFailed``."""
        self.detail = detail
        self.status = status


class Reader(FirstTokenReader):
    """GETs of ARM documents, turning every failure into :class:`ReadError` or :class:`NoCredentialError`."""

    def read(self, path: str, api_version: str, query: str = "") -> dict[str, Any]:
        """The JSON object at ``{arm}{path}?api-version=...{query}``."""
        url = f"{self.arm}{path}?api-version={api_version}{query}"
        try:
            document = self.fetch(url)
        except ClientAuthenticationError as exc:
            raise ReadError("no token", no_token_reason(self.arm, exc)) from None
        except ArmStatusError as exc:
            raise ReadError(exc.short, f"GET failed: {exc}", exc.status) from None
        except ArmBodyError as exc:
            raise ReadError("not JSON", f"GET failed: {exc}") from None
        except AzureError as exc:
            raise ReadError("no answer", request_failure(exc)) from None
        if not isinstance(document, dict):
            raise ReadError("not an object", "GET failed: the answer is not a JSON object")
        return document


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def show(value: object) -> str:
    """A property value as the table shows it: ``true``, ``Disabled``, ``(absent)``."""
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _lookup(properties: Mapping[str, Any], path: str) -> object:
    value: object = properties
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _matches(found: object, expected: bool | str) -> bool:
    if isinstance(expected, bool):
        return found is expected
    return isinstance(found, str) and found.lower() == expected.lower()


def _child_type(child: str) -> str:
    """The type segments of a child path: ``/blobServices/default`` is ``/blobServices``."""
    return "".join(f"/{segment}" for segment in child.strip("/").split("/")[::2]) if child else ""


def property_rows(
    reader: Reader,
    resource: str,
    rid: ResourceId,
    expects: Sequence[Expect],
    opted_out: Mapping[str, str] | None = None,
    child: str = "",
) -> list[Row]:
    """One row per expected property of the resource ``rid`` (or its ``child`` path, such as /blobServices/default).

    ``opted_out`` maps a property to the stack's opt-out of it: its row is OK whatever is found.
    """
    opted_out = opted_out or {}
    try:
        document = reader.read(resource_path(rid) + child, api_version(rid.type + _child_type(child)))
    except ReadError as failure:
        return [Row(resource, e.path, show(e.value), failure.found, ERROR, failure.detail) for e in expects]
    properties = document.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    rows = []
    for expect in expects:
        found = _lookup(properties, expect.path)
        if expect.path in opted_out:
            rows.append(Row(resource, expect.path, f"any (opted out: {opted_out[expect.path]})", show(found), OK))
        else:
            result = OK if _matches(found, expect.value) else DRIFT
            rows.append(Row(resource, expect.path, show(expect.value), show(found), result))
    return rows


def _enabled_logs(setting: Mapping[str, Any]) -> bool:
    logs = _lookup(setting, "properties.logs")
    return isinstance(logs, list) and any(isinstance(log, dict) and log.get("enabled") is True for log in logs)


def diagnostic_row(reader: Reader, resource: str, path: str, log_analytics: ResourceId) -> Row:
    """Whether the resource at ``path`` sends logs to the stack's Log Analytics workspace."""
    check = "diagnostic settings"
    expected = f"logs to {log_analytics.name}"
    try:
        diagnostic_settings = "Microsoft.Insights/diagnosticSettings"
        document = reader.read(f"{path}/providers/{diagnostic_settings}", api_version(diagnostic_settings))
    except ReadError as failure:
        return Row(resource, check, expected, failure.found, ERROR, failure.detail)
    settings = document.get("value")
    if not isinstance(settings, list):
        return Row(resource, check, expected, "no value list", ERROR, "GET failed: the answer has no 'value' list")
    settings = [s for s in settings if isinstance(s, dict)]
    if not settings:
        return Row(resource, check, expected, "none", DRIFT)
    target = resource_path(log_analytics).lower()
    to_target = [s for s in settings if str(_lookup(s, "properties.workspaceId") or "").lower() == target]
    if any(_enabled_logs(s) for s in to_target):
        return Row(resource, check, expected, expected, OK)
    if to_target:
        return Row(resource, check, expected, f"to {log_analytics.name}, no log enabled", DRIFT)
    destinations: list[str] = []
    for setting in settings:
        workspace = str(_lookup(setting, "properties.workspaceId") or "")
        parsed = parse_resource_id(workspace)
        name = parsed.name if parsed else workspace or "no Log Analytics workspace"
        # another workspace of the same name is shown by its full ID
        destinations.append(workspace if name.lower() == log_analytics.name.lower() else name)
    return Row(resource, check, expected, "to " + ", ".join(sorted(set(destinations))), DRIFT)


def canonical_policy(xml: str) -> str:
    """A policy document without the differences that do not change it.

    Whitespace between and around elements, attribute order, quote style and escaping are normalised
    (XML canonical form), then every run of whitespace counts as one space.
    """
    try:
        text = ElementTree.canonicalize(xml, strip_text=True)
    except ElementTree.ParseError:
        text = xml
    return " ".join(text.split())


def _first_difference(live: str, declared: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(live, declared, strict=False)) if a != b), min(len(live), len(declared))
    )
    start = max(0, at - 20)
    return (
        f"differs from the gatewayPolicy output at character {at} of the canonical XML: "
        f"live {live[start : at + 40]!r}, output {declared[start : at + 40]!r}"
    )


def policy_row(reader: Reader, resource: str, gateway: ResourceId, api: str, declared: str) -> Row:
    """Whether the policy of one model API is the ``gatewayPolicy`` output."""
    check = f"policy of API {api}"
    expected = "gatewayPolicy output"
    try:
        document = reader.read(
            f"{resource_path(gateway)}/apis/{api}/policies/policy",
            api_version("Microsoft.ApiManagement/service/apis/policies"),
            "&format=xml",
        )
    except ReadError as failure:
        if failure.status == 404:
            return Row(resource, check, expected, "missing", DRIFT)
        return Row(resource, check, expected, failure.found, ERROR, failure.detail)
    value = _lookup(document, "properties.value")
    if not isinstance(value, str):
        return Row(resource, check, expected, "no properties.value", ERROR, "GET failed: no properties.value")
    if is_suspended(value) and not is_suspended(declared):
        return Row(resource, check, expected, "suspended (503 return-response)", DRIFT)
    if is_suspended(declared) and not is_suspended(value):
        return Row(resource, check, expected, "not suspended", DRIFT)
    live, wanted = canonical_policy(value), canonical_policy(declared)
    if live != wanted:
        return Row(resource, check, expected, "different", DRIFT, _first_difference(live, wanted))
    return Row(resource, check, expected, "matches", OK)


def verify(reader: Reader, deployment: Deployment) -> list[Row]:
    """Every check, in a fixed order: data account, blob service, Key Vault, workspaces, endpoints, gateway."""
    law = deployment.log_analytics
    data = deployment.data_account
    worm_opt_out = {}
    if IMMUTABILITY_OPT_OUT in deployment.opt_outs:
        worm_opt_out["immutableStorageWithVersioning.enabled"] = f"securityOptOuts.{IMMUTABILITY_OPT_OUT}"
    rows = property_rows(reader, f"storage account {data.name}", data, STORAGE_ACCOUNT, worm_opt_out)
    blob = f"blob service {data.name}/default"
    rows += property_rows(reader, blob, data, BLOB_SERVICE, child="/blobServices/default")
    rows.append(diagnostic_row(reader, blob, f"{resource_path(data)}/blobServices/default", law))

    vault = deployment.key_vault
    opted_out = {}
    if PURGE_PROTECTION_OPT_OUT in deployment.opt_outs:
        opted_out["enablePurgeProtection"] = f"securityOptOuts.{PURGE_PROTECTION_OPT_OUT}"
    rows += property_rows(reader, f"key vault {vault.name}", vault, KEY_VAULT, opted_out)
    rows.append(diagnostic_row(reader, f"key vault {vault.name}", resource_path(vault), law))

    for name, workspace in deployment.workspaces.items():
        label = f"ML workspace {workspace.name}"
        spark = SPARK_WORKSPACE if name in deployment.spark_workspaces else ()
        rows += property_rows(reader, label, workspace, (*WORKSPACE, *spark))
        rows.append(diagnostic_row(reader, label, resource_path(workspace), law))

    for endpoint in deployment.endpoints.values():
        rows += property_rows(reader, f"online endpoint {endpoint.name}", endpoint, ONLINE_ENDPOINT)

    gateway = deployment.gateway
    label = f"API Management {gateway.name}"
    rows.append(diagnostic_row(reader, label, resource_path(gateway), law))
    for api in deployment.endpoints:
        rows.append(policy_row(reader, label, gateway, api, deployment.gateway_policy))
    return rows


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

COLUMNS = ("RESOURCE", "CHECK", "EXPECTED", "FOUND", "RESULT")


def table(rows: Sequence[Row]) -> list[str]:
    """The rows as aligned text columns under a header line."""
    cells = [COLUMNS, *((r.resource, r.check, r.expected, r.found, r.result) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(line, widths, strict=False)), line[-1]]) for line in cells]


def summary(rows: Sequence[Row]) -> str:
    counts = {result: sum(r.result == result for r in rows) for result in (OK, DRIFT, ERROR)}
    return f"{len(rows)} checks: {counts[OK]} OK, {counts[DRIFT]} DRIFT, {counts[ERROR]} ERROR"


def overall(rows: Sequence[Row]) -> str:
    """ERROR if any check failed to run, else DRIFT if any drifted, else OK."""
    results = {r.result for r in rows}
    return ERROR if ERROR in results else DRIFT if DRIFT in results else OK


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


EXIT_STATUS = "Exit status: 0 all OK (or skipped: no Azure credential); 1 any DRIFT or ERROR; 2 usage error."


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("verify_deployment", __doc__, EXIT_STATUS)
    add_from_outputs(parser, required=True)
    add_cloud(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_require_credentials(parser, status=1, when="after")
    return parser


def main(argv: Argv = None, *, credential: Credential = None, transport: Transport = None) -> int:
    """Verify the stack; ``credential`` and ``transport`` replace DefaultAzureCredential and HTTP."""
    try:
        args = _parser().parse_args(argv)
        cloud = resolve_cloud(args)
        deployment = load_deployment(args.from_outputs)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    arm = ARM_ENDPOINTS[cloud]
    data = deployment.data_account
    about = {
        "stack": args.stack,
        "cloud": cloud,
        "subscription": data.subscription,
        "resourceGroup": data.resource_group,
    }
    try:
        with signed_in(arm, CLOUDS[cloud].login_host, credential, transport) as pipeline:
            rows = verify(Reader(ArmClient(pipeline, USER_AGENT, HINTS), arm), deployment)
    except NoCredentialError as exc:
        result = "FAILED" if args.require_credentials else "SKIPPED"
        if args.json:
            print(json.dumps({**about, "result": result, "reason": str(exc), "checks": []}, indent=2))
        elif args.require_credentials:
            print(f"error: no Azure credential, nothing checked: {exc}", file=sys.stderr)
        else:
            print(f"skipped, nothing checked: {exc}")
        return 1 if args.require_credentials else 0

    if args.json:
        print(json.dumps({**about, "result": overall(rows), "checks": [asdict(r) for r in rows]}, indent=2))
    else:
        print(
            f"Live posture of stack {args.stack} ({cloud}): subscription {data.subscription}, "
            f"resource group {data.resource_group}"
        )
        print()
        print("\n".join(table(rows)))
        print()
        print(summary(rows))
        seen: set[tuple[str, str]] = set()
        for row in rows:
            if row.detail is not None and (row.resource, row.detail) not in seen:
                seen.add((row.resource, row.detail))
                print(f"{row.result.lower()}: {row.resource}: {row.detail}", file=sys.stderr)
    return 0 if overall(rows) == OK else 1


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
