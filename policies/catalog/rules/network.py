"""Network: subnets behind NSGs, no management ports open to the Internet, private endpoints everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackRule, StackView, Threat, field_check
from policies.catalog.values import UNKNOWN, as_list, get

_NSG_EXEMPT_SUBNETS = ("GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "RouteServerSubnet")
"""Subnets Azure does not allow an NSG on."""


def _subnet_nsg(res: Res) -> Iterator[str]:
    if res.props.get("subnetName") in _NSG_EXEMPT_SUBNETS:
        return
    nsg = get(res.props, "networkSecurityGroup.id")
    if nsg is not UNKNOWN and not isinstance(nsg, str):
        yield f"subnet {res.props.get('subnetName', res.name)} has no networkSecurityGroup"


SUBNET_NSG = ResourceRule(
    id="MLSEC-NET-001",
    name="Every subnet has a network security group",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="An NSG is the subnet's own firewall and the source of its flow logs; without one every address in the "
    "VNet and every peered network reaches the subnet unfiltered.",
    remediation="Set networkSecurityGroup.id on the subnet.",
    mappings=Mappings(
        azure_policy="Subnets should be associated with a Network Security Group", psrule="Azure.VNET.UseNSGs"
    ),
    types=(azure.SUBNET,),
    check=_subnet_nsg,
)

SUBNET_EGRESS = ResourceRule(
    id="MLSEC-NET-002",
    name="Subnets have no default outbound Internet access",
    severity=Severity.MEDIUM,
    threat=Threat.STEALING,
    rationale="Default outbound access gives every VM an implicit, unlogged path to the Internet.",
    remediation="Set defaultOutboundAccess to false; route needed egress through a firewall or NAT gateway.",
    types=(azure.SUBNET,),
    check=field_check("defaultOutboundAccess", False),
)

_ANY_SOURCE = {"*", "internet", "any", "0.0.0.0/0", "::/0"}
_MANAGEMENT_PORTS = {22: "SSH", 3389: "RDP", 80: "HTTP"}


def _ports(rule: dict[str, Any]) -> list[str]:
    ranges = [rule.get("destinationPortRange"), *as_list(rule.get("destinationPortRanges"))]
    return [r for r in ranges if isinstance(r, str)]


def _opens(port_range: str, port: int) -> bool:
    if port_range == "*":
        return True
    low, _, high = port_range.partition("-")
    try:
        return int(low) <= port <= int(high or low)
    except ValueError:
        return False


def _open_management_ports(rules: list[Any], label: str) -> Iterator[str]:
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("access") != "Allow" or rule.get("direction") != "Inbound":
            continue
        sources = [rule.get("sourceAddressPrefix"), *as_list(rule.get("sourceAddressPrefixes"))]
        if not any(isinstance(s, str) and s.lower() in _ANY_SOURCE for s in sources):
            continue
        for port, service in _MANAGEMENT_PORTS.items():
            if any(_opens(r, port) for r in _ports(rule)):
                yield f"{label} rule {rule.get('name')} allows {service} (port {port}) from any source"


def _nsg_rules(res: Res) -> Iterator[str]:
    if res.type == azure.NSG:
        yield from _open_management_ports(as_list(res.props.get("securityRules")), f"NSG {res.name}")
    else:
        yield from _open_management_ports([res.props], "security")


NSG_MANAGEMENT_PORTS = ResourceRule(
    id="MLSEC-NET-003",
    name="No NSG rule admits SSH, RDP or HTTP from any source",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="SSH and RDP open to the Internet are the most scanned doors in the cloud; plain HTTP carries tokens "
    "unencrypted. Operators come in through Bastion.",
    remediation="Remove the rule or restrict its source to a named service tag or address range; use Azure Bastion "
    "for operator access.",
    mappings=Mappings(
        azure_policy="Management ports should be closed on your virtual machines",
        checkov="CKV_AZURE_10",
        psrule="Azure.NSG.AnyInboundSource",
    ),
    types=(azure.NSG, azure.NSG_RULE),
    check=_nsg_rules,
)


def group_ids(endpoint: Res) -> list[Any]:
    """The sub-resources (groupIds) a private endpoint connects to; [UNKNOWN] while they are unknown."""
    found: list[Any] = []
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        connections = endpoint.props.get(key)
        if connections is UNKNOWN:
            return [UNKNOWN]
        for connection in as_list(connections):
            groups = connection.get("groupIds") if isinstance(connection, dict) else None
            found += groups if isinstance(groups, list) else [UNKNOWN]
    return found


def _private_endpoints(stack: StackView) -> Iterator[tuple[str, str]]:
    for res in stack.of_type(*azure.PRIVATE_LINK_GROUPS):
        group = azure.PRIVATE_LINK_GROUPS[res.type]
        groups = [g for pe in stack.dependents(res, azure.PRIVATE_ENDPOINT) for g in group_ids(pe)]
        if group not in groups and UNKNOWN not in groups:
            kind = res.type.rsplit(":", 1)[-1]
            yield res.urn, f"{kind} {res.name} has no private endpoint for {group}"


PRIVATE_ENDPOINTS = StackRule(
    id="MLSEC-NET-010",
    name="Storage, Key Vault, registries and ML workspaces are reached through private endpoints",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="With public access disabled, the private endpoint is the only way in; without it the service is "
    "unusable or someone re-enables public access.",
    remediation="Create a private endpoint in the private-endpoint subnet for the service's sub-resource (blob, "
    "vault, registry, amlworkspace) with its private DNS zone group.",
    mappings=Mappings(
        azure_policy="Azure Machine Learning workspaces should use private link; Storage accounts should use private "
        "link; Azure Key Vaults should use private link; Container registries should use private link"
    ),
    check=_private_endpoints,
)

RULES = (SUBNET_NSG, SUBNET_EGRESS, NSG_MANAGEMENT_PORTS, PRIVATE_ENDPOINTS)
