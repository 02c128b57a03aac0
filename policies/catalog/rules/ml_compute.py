"""Azure ML computes: no local accounts, no public IP, no SSH from the Internet, scale to zero, own identity."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, Threat, expect, field_check
from policies.catalog.values import MISSING, UNKNOWN, get, show

_COMPUTE = (azure.ML_COMPUTE,)


def _compute_kind(res: Res) -> object:
    return get(res.props, "properties.computeType")


COMPUTE_LOCAL_AUTH = ResourceRule(
    id="MLSEC-MLC-001",
    name="ML computes have local authentication disabled",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Local authentication (keys, SSH) reaches compute without Entra ID and without audit.",
    remediation="Set properties.disableLocalAuth to true.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning Computes should have local authentication methods disabled",
        psrule="Azure.ML.DisableLocalAuth",
    ),
    types=_COMPUTE,
    check=field_check("properties.disableLocalAuth", True),
)


def _no_public_ip(res: Res) -> Iterator[str]:
    if _compute_kind(res) in ("AmlCompute", "ComputeInstance"):
        yield from expect(res.props, "properties.properties.enableNodePublicIp", [False])


COMPUTE_NO_PUBLIC_IP = ResourceRule(
    id="MLSEC-MLC-002",
    name="ML compute nodes have no public IP address",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="A public IP makes every node reachable from the Internet and gives jobs a direct way out.",
    remediation="Set properties.properties.enableNodePublicIp to false.",
    mappings=Mappings(psrule="Azure.ML.ComputeVnet"),
    types=_COMPUTE,
    check=_no_public_ip,
)


def _ssh_closed(res: Res) -> Iterator[str]:
    if _compute_kind(res) == "AmlCompute":
        yield from expect(res.props, "properties.properties.remoteLoginPortPublicAccess", ["Disabled"])


COMPUTE_SSH = ResourceRule(
    id="MLSEC-MLC-003",
    name="ML compute clusters keep the SSH port closed",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="An open SSH port on training nodes is a way in to the data and models mounted there.",
    remediation="Set properties.properties.remoteLoginPortPublicAccess to Disabled.",
    types=_COMPUTE,
    check=_ssh_closed,
)


def _scale_to_zero(res: Res) -> Iterator[str]:
    if _compute_kind(res) != "AmlCompute":
        return
    found = get(res.props, "properties.properties.scaleSettings.minNodeCount")
    if found is not UNKNOWN and found not in (0, MISSING):
        yield f"properties.properties.scaleSettings.minNodeCount must be 0 (found {show(found)})"


COMPUTE_IDLE = ResourceRule(
    id="MLSEC-MLC-004",
    name="ML compute clusters scale to zero when idle",
    severity=Severity.LOW,
    threat=Threat.AVAILABILITY,
    rationale="Idle nodes cost money and stay a standing target; clusters should exist only while jobs run.",
    remediation="Set scaleSettings.minNodeCount to 0 with an idle scale-down time.",
    mappings=Mappings(psrule="Azure.ML.ComputeIdleShutdown"),
    types=_COMPUTE,
    check=_scale_to_zero,
)


def _compute_identity(res: Res) -> Iterator[str]:
    kind = get(res.props, "identity.type")
    if kind is not UNKNOWN and not (isinstance(kind, str) and "UserAssigned" in kind):
        yield f"identity.type must include UserAssigned (found {show(kind)})"


COMPUTE_IDENTITY = ResourceRule(
    id="MLSEC-MLC-005",
    name="ML computes run as a user-assigned identity",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Jobs should run as a dedicated, smaller identity than the workspace's, with roles declared up front.",
    remediation="Give the compute identity {type: UserAssigned, userAssignedIdentities: [<compute identity>]}.",
    types=_COMPUTE,
    check=_compute_identity,
)
