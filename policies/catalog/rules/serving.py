"""Model serving: online endpoints and the API Management gateway in front of them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackCheck, StackRule, StackView, Threat, expect
from policies.catalog.values import MISSING, UNKNOWN, as_dict, as_list, get, show


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


def _managed_identity(res: Res) -> Iterator[str]:
    kind = get(res.props, "identity.type")
    if kind is not UNKNOWN and not (isinstance(kind, str) and "Assigned" in kind):
        yield f"identity.type must be UserAssigned or SystemAssigned (found {show(kind)})"


ENDPOINT_IDENTITY = ResourceRule(
    id="MLSEC-EPT-003",
    name="Online endpoints run as a managed identity",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Without a managed identity a deployment needs stored credentials to pull its model and image.",
    remediation="Set identity {type: UserAssigned, userAssignedIdentities: [<endpoint identity>]}.",
    types=(azure.ONLINE_ENDPOINT,),
    check=_managed_identity,
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

APIM_VNET = ResourceRule(
    id="MLSEC-APIM-001",
    name="API Management runs inside the virtual network in Internal mode",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="In Internal mode the gateway has only a private address; External mode or no VNet put the gateway "
    "and its management endpoints on the Internet.",
    remediation="Set virtualNetworkType to Internal with virtualNetworkConfiguration.subnetResourceId on the "
    "gateway subnet.",
    mappings=Mappings(azure_policy="API Management services should use a virtual network", checkov="CKV_AZURE_107"),
    types=(azure.APIM,),
    check=lambda res: expect(res.props, "virtualNetworkType", ["Internal"]),
)

_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
_WEAK_PROTOCOLS = tuple(
    f"{_SECURITY}{side}Protocols.{p}" for side in ("", "Backend.") for p in ("Tls10", "Tls11", "Ssl30")
)
_WEAK_CIPHERS = (f"{_SECURITY}Ciphers.TripleDes168",)


def _disabled(res: Res, keys: tuple[str, ...]) -> Iterator[str]:
    custom = res.props.get("customProperties")
    if custom is UNKNOWN:
        return
    values = as_dict(custom)
    for key in keys:
        value = values.get(key)
        if value is UNKNOWN:
            continue
        if str(value).lower() != "false":
            yield f'customProperties[{key}] must be "False" (found {show(value) if key in values else "not set"})'


APIM_PROTOCOLS = ResourceRule(
    id="MLSEC-APIM-002",
    name="API Management disables TLS 1.0, TLS 1.1 and SSL 3.0 towards clients and backends",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Old protocols allow downgrade attacks on the tokens and payloads passing the gateway. Services "
    "created before April 2018 have them on by default, so the settings must be explicit.",
    remediation="Set each of the Protocols.Tls10, Tls11, Ssl30 and Backend.Protocols.Tls10, Tls11, Ssl30 custom "
    'properties to "False".',
    mappings=Mappings(
        azure_policy="API Management services should use only secure protocols",
        checkov="CKV_AZURE_173",
        psrule="Azure.APIM.Protocols",
    ),
    types=(azure.APIM,),
    check=lambda res: _disabled(res, _WEAK_PROTOCOLS),
)

APIM_CIPHERS = ResourceRule(
    id="MLSEC-APIM-003",
    name="API Management disables the 3DES cipher",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="TLS_RSA_WITH_3DES_EDE_CBC_SHA is vulnerable to Sweet32.",
    remediation='Set the Ciphers.TripleDes168 custom property to "False".',
    mappings=Mappings(psrule="Azure.APIM.Ciphers"),
    types=(azure.APIM,),
    check=lambda res: _disabled(res, _WEAK_CIPHERS),
)

APIM_IDENTITY = ResourceRule(
    id="MLSEC-APIM-004",
    name="API Management has a managed identity to reach its backends",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="With a managed identity the gateway gets Entra tokens for the endpoints; otherwise it needs stored "
    "endpoint keys.",
    remediation="Set identity.type to SystemAssigned or UserAssigned and use authentication-managed-identity in "
    "the backend policy.",
    mappings=Mappings(psrule="Azure.APIM.ManagedIdentity"),
    types=(azure.APIM,),
    check=_managed_identity,
)

_SECTIONS = ("inbound", "backend", "outbound", "on-error")


def _policy_xml(res: Res) -> str | None:
    value = res.props.get("value")
    if not isinstance(value, str) or res.props.get("format", "xml") not in ("xml", "rawxml"):
        return None
    return value


def _policy_base(res: Res) -> Iterator[str]:
    text = _policy_xml(res)
    if text is None:
        return
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError as exc:
        yield f"policy is not well-formed XML: {exc}"
        return
    for section in _SECTIONS:
        element = root.find(section)
        if element is None or element.find("base") is None:
            yield f"<{section}> must contain <base />"


APIM_POLICY_BASE = ResourceRule(
    id="MLSEC-APIM-010",
    name="API, product and operation policies inherit the enclosing policy with <base />",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="Without <base /> an API-level policy silently drops the global authentication, limits and logging.",
    remediation="Put <base /> in each of <inbound>, <backend>, <outbound> and <on-error>.",
    mappings=Mappings(psrule="Azure.APIM.PolicyBase"),
    types=azure.APIM_SCOPED_POLICIES,
    check=_policy_base,
)


def _inbound_elements(text: str) -> set[str] | None:
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError:
        return None
    inbound = root.find("inbound")
    return {e.tag for e in inbound.iter()} if inbound is not None else set()


def _effective_inbound(stack: StackView, api: Res) -> set[str] | None:
    """Elements of the inbound policy that apply to ``api``: the service's global policy plus its own.

    None when a policy text is unknown (nothing can be said at preview).
    """
    texts: list[object] = []
    service = api.props.get("serviceName")
    for policy in stack.of_type(azure.APIM_GLOBAL_POLICY):
        if policy.props.get("serviceName") in (service, UNKNOWN):
            texts.append(policy.props.get("value"))
    for policy in stack.of_type(azure.APIM_API_POLICY):
        same_api = policy.props.get("apiId") in (api.props.get("apiId"), UNKNOWN) or api.urn in policy.dependencies
        if same_api and policy.props.get("serviceName") in (service, UNKNOWN):
            texts.append(policy.props.get("value"))
    found: set[str] = set()
    for text in texts:
        if not isinstance(text, str):
            return None
        elements = _inbound_elements(text)
        if elements is not None:
            found |= elements
    return found


def _requires(*alternatives: str) -> StackCheck:
    def check(stack: StackView) -> Iterator[tuple[str, str]]:
        for api in stack.of_type(azure.APIM_API):
            elements = _effective_inbound(stack, api)
            if elements is not None and not elements.intersection(alternatives):
                yield api.urn, f"API {api.name} has no {alternatives[0]} in its inbound policy (global or API level)"

    return check


APIM_JWT = StackRule(
    id="MLSEC-APIM-011",
    name="Every API behind the gateway validates an Entra ID token (validate-jwt)",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Without token validation anyone who reaches the gateway can query the models; validate-jwt also gives "
    "every call a caller identity for the limits and the logs.",
    remediation="Add <validate-jwt> (or <validate-azure-ad-token>) to the global or API inbound policy.",
    check=_requires("validate-jwt", "validate-azure-ad-token"),
)

APIM_RATE_LIMIT = StackRule(
    id="MLSEC-APIM-012",
    name="Every API behind the gateway limits the call rate per caller (rate-limit-by-key)",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="Evasion and extraction attacks need many queries; a per-caller rate limit slows them to the point of "
    "being noticed.",
    remediation="Add <rate-limit-by-key> keyed on the token's caller to the global or API inbound policy.",
    check=_requires("rate-limit-by-key"),
)

APIM_QUOTA = StackRule(
    id="MLSEC-APIM-013",
    name="Every API behind the gateway caps the calls per caller per period (quota-by-key)",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="A quota bounds the total number of answers one caller can collect, and so the size of any model "
    "extraction data set.",
    remediation="Add <quota-by-key> keyed on the token's caller to the global or API inbound policy.",
    check=_requires("quota-by-key"),
)

APIM_CONTENT = StackRule(
    id="MLSEC-APIM-014",
    name="Every API behind the gateway refuses oversized and malformed payloads (validate-content)",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="Evasion attacks probe models with crafted inputs; refusing bodies that are not the expected content "
    "type or exceed a size limit keeps malformed and oversized probes away from the model.",
    remediation="Add <validate-content> with a max-size and the expected content type (application/json) to the "
    "global or API inbound policy.",
    check=_requires("validate-content"),
)

APIM_BACKEND_IDENTITY = StackRule(
    id="MLSEC-APIM-015",
    name="Every API behind the gateway calls its backend with the gateway's managed identity",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="With authentication-managed-identity the endpoint accepts only the gateway's Entra token, so no "
    "endpoint key exists to leak and nothing can bypass the gateway's limits.",
    remediation='Add <authentication-managed-identity resource="https://ml.azure.com" /> to the global or API '
    "inbound policy.",
    check=_requires("authentication-managed-identity"),
)


def _zones(res: Res) -> Iterator[str]:
    zones, sku, capacity = res.props.get("zones"), get(res.props, "sku.name"), get(res.props, "sku.capacity")
    if zones is UNKNOWN or not isinstance(zones, list) or not zones:
        return
    if sku is not UNKNOWN and sku != "Premium":
        yield f"zones {show(zones)} need the Premium tier (found sku.name {show(sku)})"
    if isinstance(capacity, int) and capacity % len(zones):
        yield (
            f"sku.capacity {capacity} does not divide evenly across the {len(zones)} availability zones in zones "
            f"(use a multiple of {len(zones)})"
        )


APIM_ZONES = ResourceRule(
    id="MLSEC-APIM-020",
    name="API Management units pinned to availability zones divide evenly across them (Premium tier only)",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="Azure refuses a zone-redundant API Management service whose units cannot be distributed evenly "
    "across the selected zones, and only the Premium tier supports zones: such a stack fails at deployment "
    "(learn.microsoft.com/azure/reliability/reliability-api-management, Considerations: number of units for "
    "zone-redundant instances).",
    remediation="Set sku.capacity to a multiple of the number of zones (3 for zones 1, 2 and 3), or leave zones "
    "unset; stacks set gateway.capacity in config, which is validated the same way.",
    types=(azure.APIM,),
    check=_zones,
)

_API_OPERATION = "azure-native:apimanagement:ApiOperation"
_API_SCHEMA = "azure-native:apimanagement:ApiSchema"
_GLOBAL_SCHEMA = "azure-native:apimanagement:GlobalSchema"


def _json_validations(text: str) -> list[tuple[str, str | None]] | None:
    """(content type, schema-id) of every <content validate-as="json"> in the inbound validate-content."""
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError:
        return None
    inbound = root.find("inbound")
    if inbound is None:
        return []
    return [
        (content.get("type", ""), content.get("schema-id"))
        for validate in inbound.iter("validate-content")
        for content in validate.iter("content")
        if content.get("validate-as", "").lower() == "json"
    ]


def _of_api(stack: StackView, token: str, api: Res) -> list[Res]:
    """Resources of ``token`` that belong to ``api`` (same apiId and service, or depending on it)."""
    found = []
    for res in stack.of_type(token):
        same_api = res.props.get("apiId") in (api.props.get("apiId"), UNKNOWN) or api.urn in res.dependencies
        if same_api and res.props.get("serviceName") in (api.props.get("serviceName"), UNKNOWN):
            found.append(res)
    return found


def _policy_texts(stack: StackView, api: Res) -> list[object]:
    service = api.props.get("serviceName")
    texts = [
        p.props.get("value")
        for p in stack.of_type(azure.APIM_GLOBAL_POLICY)
        if p.props.get("serviceName") in (service, UNKNOWN)
    ]
    texts += [p.props.get("value") for p in _of_api(stack, azure.APIM_API_POLICY, api)]
    return texts


def _defines(schema: Res, type_name: str) -> bool | None:
    """Whether an API schema defines ``type_name`` (None: not known yet)."""
    for key in ("components", "definitions"):
        value = schema.props.get(key)
        if value is UNKNOWN:
            return None
        types = as_dict(value).get("schemas", {}) if key == "components" else as_dict(value)
        if types is UNKNOWN:
            return None
        if type_name in as_dict(types):
            return True
    return False


def _representation_problem(stack: StackView, api: Res, rep: object) -> str | None:
    values = as_dict(rep)
    schema_id, type_name = values.get("schemaId"), values.get("typeName")
    if UNKNOWN in (schema_id, type_name):
        return None
    if not schema_id:
        return "names no schemaId"
    if not type_name:
        return "names no typeName"
    schemas = [s for s in _of_api(stack, _API_SCHEMA, api) if s.props.get("schemaId") in (schema_id, UNKNOWN)]
    if not schemas:
        return f"names schema {show(schema_id)}, which the stack does not define for the API"
    if any(_defines(s, str(type_name)) is not False for s in schemas):
        return None
    return f"names type {show(type_name)}, which schema {show(schema_id)} does not define"


def _content_schemas(stack: StackView) -> Iterator[tuple[str, str]]:
    for api in stack.of_type(azure.APIM_API):
        texts = _policy_texts(stack, api)
        if not all(isinstance(text, str) for text in texts):
            continue  # a policy not known yet: nothing can be said at preview
        checks = {c for text in texts for c in _json_validations(str(text)) or []}
        operations = _of_api(stack, _API_OPERATION, api)
        for content_type, schema_id in sorted(checks, key=lambda c: (c[0], c[1] or "")):
            shown = content_type or "every declared content type"
            if schema_id is not None:
                named = [s for s in stack.of_type(_GLOBAL_SCHEMA) if s.props.get("schemaId") in (schema_id, UNKNOWN)]
                if not named:
                    yield (
                        api.urn,
                        (
                            f"API {api.name} validates {shown} as JSON against schema-id {show(schema_id)}, which the "
                            "stack does not define"
                        ),
                    )
                continue
            if not operations:
                yield (
                    api.urn,
                    (f"API {api.name} validates {shown} as JSON but has no operation declaring a request schema"),
                )
            for op in operations:
                reps = get(op.props, "request.representations")
                if reps is UNKNOWN:
                    continue
                matching = [
                    r
                    for r in as_list(reps)
                    if not content_type or str(as_dict(r).get("contentType", "")).lower() == content_type.lower()
                ]
                if not matching:
                    yield (
                        api.urn,
                        (
                            f"API {api.name} validates {shown} as JSON but operation {op.name} declares no {shown} "
                            "request representation with a schema (every such call would get 400)"
                        ),
                    )
                for rep in matching:
                    problem = _representation_problem(stack, api, rep)
                    if problem is not None:
                        yield (
                            api.urn,
                            (
                                f"API {api.name} validates {shown} as JSON but the {shown} request representation of "
                                f"operation {op.name} {problem} (every such call would get 400)"
                            ),
                        )


APIM_CONTENT_SCHEMA = StackRule(
    id="MLSEC-APIM-021",
    name="Content the gateway validates as JSON has a request schema in the API definition",
    severity=Severity.HIGH,
    threat=Threat.AVAILABILITY,
    rationale="validate-content checks a body against the schema of the operation's request representation for "
    "its content type (or a schema-id added to the service); when the API defines none, the policy reports "
    "'API's schema does not exist or it could not be resolved' and, with action prevent, answers 400 to every "
    "call (learn.microsoft.com/azure/api-management/validate-content-policy, Schemas for content validation and "
    "Validation errors).",
    remediation="Give each operation a request representation for the validated content type with schemaId and "
    "typeName naming an API schema (Microsoft.ApiManagement/service/apis/schemas) that defines the type, or "
    "validate only size and content type.",
    check=_content_schemas,
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
