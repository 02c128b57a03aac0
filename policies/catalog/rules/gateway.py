"""The API Management gateway in front of the models: inside the VNet, strong TLS, its own identity, zone
redundant, and a policy on every model API that inherits, authenticates, rate-limits, caps, validates content and
calls the backend with the gateway's identity.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackCheck, StackRule, StackView, Threat, expect
from policies.catalog.values import UNKNOWN, as_dict, get, show


def managed_identity(res: Res) -> Iterator[str]:
    """A resource check: the resource has a managed identity (user- or system-assigned)."""
    kind = get(res.props, "identity.type")
    if kind is not UNKNOWN and not (isinstance(kind, str) and "Assigned" in kind):
        yield f"identity.type must be UserAssigned or SystemAssigned (found {show(kind)})"


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
    check=managed_identity,
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
