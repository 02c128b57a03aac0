"""What a deployed stack is, from the JSON of ``pulumi stack output --json``: the resource IDs the live
verification reads back and the gateway policy it compares. Every ID must be of the expected type, in one
subscription, and made of names that can go into a request path as they are; anything else is a
:class:`scripts.common.cli.UsageError` naming the output key (exit status 2), with nothing sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.cli import UsageError
from scripts.ops.azure_mgmt import ResourceId, parse_resource_id, read_outputs, shown

_SEGMENT = re.compile(r"^[-\w.()]+$")
"""A name that can go into a request path as it is: no '/', '?', '#', '%' or spaces."""


@dataclass(frozen=True)
class Deployment:
    """The resource IDs and the gateway policy of a deployed stack, from its outputs."""

    log_analytics: ResourceId
    data_account: ResourceId
    key_vault: ResourceId
    workspaces: dict[str, ResourceId]
    endpoints: dict[str, ResourceId]
    """Endpoint name (the ID of its API on the gateway) -> endpoint."""
    gateway: ResourceId
    gateway_policy: str
    opt_outs: frozenset[str]
    spark_workspaces: frozenset[str] = frozenset()
    """Names (keys of ``workspaces``) of the workspaces that run serverless Spark jobs (``sparkIdentities``)."""


def _resource(path: Path, key: str, value: object, arm_type: str) -> ResourceId:
    parsed = parse_resource_id(value) if isinstance(value, str) else None
    if (
        parsed is None
        or not parsed.is_a(arm_type)
        or not all(
            _SEGMENT.match(part) and part.strip(".")
            for part in (parsed.subscription, parsed.resource_group, *parsed.names)
        )
    ):
        raise UsageError(f"--from-outputs {path}: {key} is not a {arm_type} ID, found {shown(value)}")
    return parsed


def _required(path: Path, outputs: Mapping[str, Any], key: str) -> object:
    if key not in outputs:
        raise UsageError(f"--from-outputs {path}: no {key} output (is this the right stack?)")
    return outputs[key]


def _named(path: Path, outputs: Mapping[str, Any], key: str, arm_type: str) -> dict[str, ResourceId]:
    value = _required(path, outputs, key)
    if not isinstance(value, dict):
        raise UsageError(f"--from-outputs {path}: {key}: expected an object of name to {arm_type} ID")
    found: dict[str, ResourceId] = {}
    for name, rid in value.items():
        if not _SEGMENT.match(name) or not name.strip("."):
            raise UsageError(f"--from-outputs {path}: {key}: {shown(name)} is not a resource name")
        found[name] = _resource(path, f"{key}.{name}", rid, arm_type)
    return found


def load_deployment(path: Path) -> Deployment:
    """The resources to check, from ``pulumi stack output --json``; :class:`UsageError` if they are not there."""
    outputs = read_outputs(path)
    data_account = _resource(
        path, "dataAccountId", _required(path, outputs, "dataAccountId"), "Microsoft.Storage/storageAccounts"
    )
    deployment = Deployment(
        log_analytics=_resource(
            path,
            "logAnalyticsWorkspaceId",
            _required(path, outputs, "logAnalyticsWorkspaceId"),
            "Microsoft.OperationalInsights/workspaces",
        ),
        data_account=data_account,
        key_vault=_resource(path, "keyVaultId", _required(path, outputs, "keyVaultId"), "Microsoft.KeyVault/vaults"),
        workspaces=_named(path, outputs, "workspaces", "Microsoft.MachineLearningServices/workspaces"),
        endpoints=_named(path, outputs, "endpoints", "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"),
        gateway=_resource(path, "gatewayId", _required(path, outputs, "gatewayId"), "Microsoft.ApiManagement/service"),
        gateway_policy=_policy_output(path, outputs),
        opt_outs=_opt_outs(path, outputs),
        spark_workspaces=_spark_workspaces(path, outputs),
    )
    subscription = data_account.subscription.lower()
    for key, rid in (
        ("logAnalyticsWorkspaceId", deployment.log_analytics),
        ("keyVaultId", deployment.key_vault),
        *((f"workspaces.{name}", rid) for name, rid in deployment.workspaces.items()),
        *((f"endpoints.{name}", rid) for name, rid in deployment.endpoints.items()),
        ("gatewayId", deployment.gateway),
    ):
        if rid.subscription.lower() != subscription:
            raise UsageError(
                f"--from-outputs {path}: {key} is in subscription {rid.subscription}, dataAccountId in "
                f"{data_account.subscription}: the outputs are not of one stack"
            )
    return deployment


def _spark_workspaces(path: Path, outputs: Mapping[str, Any]) -> frozenset[str]:
    """Workspaces named in ``sparkIdentities`` (absent in older stacks); each must be one of ``workspaces``."""
    spark = outputs.get("sparkIdentities", {})
    if not isinstance(spark, dict):
        raise UsageError(f"--from-outputs {path}: sparkIdentities is not an object (found {shown(spark)})")
    workspaces = outputs.get("workspaces")
    unknown = sorted(str(name) for name in spark if not isinstance(workspaces, dict) or name not in workspaces)
    if unknown:
        raise UsageError(f"--from-outputs {path}: sparkIdentities names {unknown[0]!r}, which is not in workspaces")
    return frozenset(str(name) for name in spark)


def _opt_outs(path: Path, outputs: Mapping[str, Any]) -> frozenset[str]:
    """The config keys of the controls the stack turns off (``securityOptOuts``, absent in older stacks)."""
    opt_outs = outputs.get("securityOptOuts", {})
    if not isinstance(opt_outs, dict):
        raise UsageError(f"--from-outputs {path}: securityOptOuts: expected an object of config key to reason")
    return frozenset(opt_outs)


def _policy_output(path: Path, outputs: Mapping[str, Any]) -> str:
    policy = _required(path, outputs, "gatewayPolicy")
    if not isinstance(policy, str) or not policy.strip():
        raise UsageError(f"--from-outputs {path}: gatewayPolicy: expected the policy XML document")
    return policy
