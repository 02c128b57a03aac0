"""Model serving: online endpoints and the API Management gateway in front of them.

This module holds the rules on online endpoints and deployments and the area's ``RULES`` in catalog order; the
gateway's rules are in :mod:`policies.catalog.rules.gateway` and its content schemas in
:mod:`policies.catalog.rules.gateway_schemas`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Res, ResourceRule, StackRule, StackView, Threat, expect
from policies.catalog.rules.gateway import (
    APIM_BACKEND_IDENTITY,
    APIM_CIPHERS,
    APIM_CONTENT,
    APIM_IDENTITY,
    APIM_JWT,
    APIM_POLICY_BASE,
    APIM_PROTOCOLS,
    APIM_QUOTA,
    APIM_RATE_LIMIT,
    APIM_VNET,
    APIM_ZONES,
    managed_identity,
)
from policies.catalog.rules.gateway_schemas import APIM_CONTENT_SCHEMA
from policies.catalog.values import MISSING, UNKNOWN, as_dict, get, show


def _endpoint_props(res: Res) -> str:
    """azure-native v3 names the endpoint body ``properties``; older SDKs ``onlineEndpointProperties``."""
    return "onlineEndpointProperties" if "onlineEndpointProperties" in res.props else "properties"


def _endpoint_auth(res: Res) -> Iterator[str]:
    yield from expect(res.props, f"{_endpoint_props(res)}.authMode", ["AADToken"])


ENDPOINT_AUTH = ResourceRule(
    id="MLSEC-EPT-001",
    name="Online endpoints accept Entra ID tokens only",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Endpoint keys are shared secrets that leak into scripts and cannot say who called; Entra tokens are "
    "per caller, short-lived and logged, so model extraction attempts can be traced and cut off.",
    remediation="Set properties.authMode to AADToken.",
    types=(azure.ONLINE_ENDPOINT,),
    check=_endpoint_auth,
)


def _endpoint_public(res: Res) -> Iterator[str]:
    yield from expect(res.props, f"{_endpoint_props(res)}.publicNetworkAccess", ["Disabled"])


ENDPOINT_PUBLIC = ResourceRule(
    id="MLSEC-EPT-002",
    name="Online endpoints disable public network access",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Scoring must go through the gateway, where callers are authenticated, rate-limited and logged; a "
    "public scoring URI bypasses all three.",
    remediation="Set properties.publicNetworkAccess to Disabled.",
    types=(azure.ONLINE_ENDPOINT,),
    check=_endpoint_public,
)


ENDPOINT_IDENTITY = ResourceRule(
    id="MLSEC-EPT-003",
    name="Online endpoints run as a managed identity",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Without a managed identity a deployment needs stored credentials to pull its model and image.",
    remediation="Set identity {type: UserAssigned, userAssignedIdentities: [<endpoint identity>]}.",
    types=(azure.ONLINE_ENDPOINT,),
    check=managed_identity,
)


def _endpoint_no_initial_traffic(res: Res) -> Iterator[str]:
    body = _endpoint_props(res)
    for key in ("traffic", "mirrorTraffic"):
        value = get(res.props, f"{body}.{key}")
        if value is UNKNOWN or value is MISSING or value is None or value == {}:
            continue
        yield (
            f"{body}.{key} must be empty when the endpoint is created (found {show(value)}): Azure ML refuses a "
            "split naming deployments that do not exist yet; the traffic step sets it after the deployments"
        )


ENDPOINT_NO_INITIAL_TRAFFIC = ResourceRule(
    id="MLSEC-EPT-004",
    name="Online endpoints are created without traffic; the split is set after their deployments exist",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="An endpoint's traffic and mirrorTraffic may name only deployments that already exist, and a "
    "deployment can only be created under an existing endpoint: an endpoint declared with its split fails at "
    "creation, so the first pulumi up never serves a model. See "
    "https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints (endpoint, then "
    "deployment, then traffic).",
    remediation="Leave properties.traffic and properties.mirrorTraffic unset on the OnlineEndpoint; declare the split "
    "on the endpoint's traffic step (components/endpoint_traffic.py), which depends on every deployment.",
    types=(azure.ONLINE_ENDPOINT,),
    check=_endpoint_no_initial_traffic,
)


def _traffic_step(stack: StackView) -> Iterator[tuple[str, str]]:
    for endpoint in stack.of_type(azure.ONLINE_ENDPOINT):
        deployments = stack.dependents(endpoint, azure.ONLINE_DEPLOYMENT)
        if not deployments:
            continue
        steps = stack.dependents(endpoint, azure.ENDPOINT_TRAFFIC)
        if not steps:
            yield endpoint.urn, f"endpoint {endpoint.name} has deployments but no traffic step ordered after them"
            continue
        names = {d.props.get("deploymentName") for d in deployments}
        for step in steps:
            missing = sorted(d.name for d in deployments if d.urn not in step.dependencies)
            if missing:
                yield step.urn, f"traffic step {step.name} does not depend on the deployments {', '.join(missing)}"
            traffic, mirror = step.props.get("traffic"), step.props.get("mirrorTraffic")
            if traffic is UNKNOWN or mirror is UNKNOWN or UNKNOWN in names:
                continue
            live, shadow = as_dict(traffic), as_dict(mirror)
            unknown = sorted(str(n) for n in (set(live) | set(shadow)) - names)
            if unknown:
                yield (
                    step.urn,
                    (
                        f"traffic step {step.name} names deployments that endpoint {endpoint.name} does not have: "
                        f"{', '.join(unknown)}"
                    ),
                )
            values = list(live.values())
            if UNKNOWN not in values:
                total = sum(v for v in values if isinstance(v, int | float))
                if total != 100:
                    yield step.urn, f"traffic of step {step.name} must add up to 100 (found {total:g})"


TRAFFIC_STEP = StackRule(
    id="MLSEC-EPT-011",
    name="Every online endpoint with deployments gets its traffic split from a step ordered after all of them",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="The split can be written only once every deployment it names exists. A step that does not depend on "
    "every deployment can run first and fail; a split naming an unknown deployment or not adding up to 100 is "
    "refused by Azure ML, leaving the endpoint without traffic. See "
    "https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints.",
    remediation="Declare one EndpointTraffic (components/endpoint_traffic.py) per endpoint with depends_on every "
    "deployment, naming only those deployments, live traffic adding up to 100.",
    check=_traffic_step,
)


def _deployment_scale(res: Res) -> Iterator[str]:
    body = "onlineDeploymentProperties" if "onlineDeploymentProperties" in res.props else "properties"
    if get(res.props, f"{body}.endpointComputeType") not in ("Managed", UNKNOWN):
        return
    yield from expect(res.props, f"{body}.scaleSettings.scaleType", ["Default"], absent_ok=True)


DEPLOYMENT_SCALE = ResourceRule(
    id="MLSEC-EPT-012",
    name="Managed online deployments use the Default scale type and scale out with Azure Monitor autoscale",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="Managed online deployments support only the Default scale type; TargetUtilization is refused, so the "
    "deployment is never created. Scaling out is an Azure Monitor autoscale setting on the deployment. See "
    "https://learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints.",
    remediation="Set properties.scaleSettings.scaleType to Default, sku.capacity to the instance count, and add a "
    "monitor AutoscaleSetting targeting the deployment for maxInstances.",
    types=(azure.ONLINE_DEPLOYMENT,),
    check=_deployment_scale,
)


def _deployment_workspace(stack: StackView, deployment: Res) -> Res | None:
    found = stack.deps(deployment, azure.ML_WORKSPACE)
    if found:
        return found[0]
    name = deployment.props.get("workspaceName")
    named = [w for w in stack.of_type(azure.ML_WORKSPACE) if name is not None and w.props.get("workspaceName") == name]
    return named[0] if named else None


def _deployment_egress(stack: StackView) -> Iterator[tuple[str, str]]:
    for deployment in stack.of_type(azure.ONLINE_DEPLOYMENT):
        body = "onlineDeploymentProperties" if "onlineDeploymentProperties" in deployment.props else "properties"
        workspace = _deployment_workspace(stack, deployment)
        mode = get(workspace.props, "managedNetwork.isolationMode") if workspace else MISSING
        if mode is UNKNOWN or mode == "AllowOnlyApprovedOutbound":
            continue
        if mode == "AllowInternetOutbound" and workspace is not None:
            yield (
                deployment.urn,
                (
                    f"deployment {deployment.name} runs in workspace {workspace.name}, whose managed network allows "
                    "any outbound traffic: set managedNetwork.isolationMode to AllowOnlyApprovedOutbound "
                    "(egressPublicNetworkAccess does not apply in a managed network)"
                ),
            )
            continue
        # no managed network (or a workspace outside the stack): only the legacy per-deployment flag isolates
        where = f"workspace {workspace.name} has no managed network" if workspace else "its workspace is unknown"
        for message in expect(deployment.props, f"{body}.egressPublicNetworkAccess", ["Disabled"]):
            yield deployment.urn, f"{message}; {where}"


DEPLOYMENT_EGRESS = StackRule(
    id="MLSEC-EPT-010",
    name="Online deployments have no public egress",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Scoring code sees every request; with public egress it can send inputs or the model anywhere. In a "
    "workspace with a managed virtual network, deployments use its outbound rules and the deployment's "
    "egressPublicNetworkAccess no longer applies (Microsoft: avoid setting it), so only AllowOnlyApprovedOutbound "
    "keeps them from the Internet. Without a managed network, the legacy isolation (egressPublicNetworkAccess "
    "Disabled, whose SDK default is Enabled) is the control. See "
    "https://learn.microsoft.com/azure/machine-learning/concept-secure-online-endpoint.",
    remediation="Give the deployment's workspace managedNetwork.isolationMode AllowOnlyApprovedOutbound (and leave "
    "egressPublicNetworkAccess unset); only for a workspace without a managed network set "
    "properties.egressPublicNetworkAccess to Disabled.",
    check=_deployment_egress,
)


RULES = (
    ENDPOINT_AUTH,
    ENDPOINT_PUBLIC,
    ENDPOINT_IDENTITY,
    ENDPOINT_NO_INITIAL_TRAFFIC,
    DEPLOYMENT_EGRESS,
    TRAFFIC_STEP,
    DEPLOYMENT_SCALE,
    APIM_VNET,
    APIM_PROTOCOLS,
    APIM_CIPHERS,
    APIM_IDENTITY,
    APIM_POLICY_BASE,
    APIM_JWT,
    APIM_RATE_LIMIT,
    APIM_QUOTA,
    APIM_CONTENT,
    APIM_BACKEND_IDENTITY,
    APIM_ZONES,
    APIM_CONTENT_SCHEMA,
)
