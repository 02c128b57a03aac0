"""The environment's private network: VNet, subnets with NSGs, and private-link DNS zones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import pulumi
from pulumi_azure_native import network

from components.common import (
    BaseContext,
    DiagnosticsTarget,
    PrivateLinkTarget,
    child,
    diagnostic_setting,
    linked_private_zone,
)


class Rule(NamedTuple):
    """One NSG rule: name, priority, direction, access, protocol, source, destination, ports."""

    name: str
    priority: int
    direction: str
    access: str
    protocol: str
    source: str
    destination: str
    ports: tuple[str, ...]


_DENY_INTERNET_IN = Rule("DenyInternetInbound", 4000, "Inbound", "Deny", "*", "Internet", "*", ("*",))

NSG_RULES: dict[str, tuple[Rule, ...]] = {
    # Private endpoints answer only inside the VNet.
    "private_endpoints": (
        Rule("AllowVnetHttpsInbound", 100, "Inbound", "Allow", "Tcp", "VirtualNetwork", "VirtualNetwork", ("443",)),
        _DENY_INTERNET_IN,
    ),
    # Compute in the customer VNet: no inbound from outside, outbound only to the services it needs.
    "compute": (
        _DENY_INTERNET_IN,
        Rule(
            "AllowAzureMLOutbound",
            100,
            "Outbound",
            "Allow",
            "Tcp",
            "VirtualNetwork",
            "AzureMachineLearning",
            ("443", "8787", "18881"),
        ),
        Rule("AllowBatchOutbound", 110, "Outbound", "Allow", "Tcp", "VirtualNetwork", "BatchNodeManagement", ("443",)),
        Rule("AllowStorageOutbound", 120, "Outbound", "Allow", "Tcp", "VirtualNetwork", "Storage", ("443",)),
        Rule("AllowEntraOutbound", 130, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureActiveDirectory", ("443",)),
        Rule("AllowMonitorOutbound", 140, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureMonitor", ("443",)),
        Rule(
            "AllowMcrOutbound",
            150,
            "Outbound",
            "Allow",
            "Tcp",
            "VirtualNetwork",
            "MicrosoftContainerRegistry",
            ("443",),
        ),
        Rule(
            "AllowFrontDoorOutbound",
            160,
            "Outbound",
            "Allow",
            "Tcp",
            "VirtualNetwork",
            "AzureFrontDoor.FirstParty",
            ("443",),
        ),
        Rule("DenyInternetOutbound", 4000, "Outbound", "Deny", "*", "VirtualNetwork", "Internet", ("*",)),
    ),
    # API Management in internal VNet mode (documented NSG requirements, stv2 platform).
    "gateway": (
        Rule(
            "AllowApimManagementInbound", 100, "Inbound", "Allow", "Tcp", "ApiManagement", "VirtualNetwork", ("3443",)
        ),
        Rule(
            "AllowLoadBalancerInbound", 110, "Inbound", "Allow", "Tcp", "AzureLoadBalancer", "VirtualNetwork", ("6390",)
        ),
        Rule("AllowVnetHttpsInbound", 120, "Inbound", "Allow", "Tcp", "VirtualNetwork", "VirtualNetwork", ("443",)),
        _DENY_INTERNET_IN,
        Rule("AllowStorageOutbound", 100, "Outbound", "Allow", "Tcp", "VirtualNetwork", "Storage", ("443",)),
        Rule("AllowSqlOutbound", 110, "Outbound", "Allow", "Tcp", "VirtualNetwork", "Sql", ("1433",)),
        Rule("AllowKeyVaultOutbound", 120, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureKeyVault", ("443",)),
        Rule(
            "AllowMonitorOutbound", 130, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureMonitor", ("1886", "443")
        ),
    ),
    # Azure Bastion (documented NSG requirements). 443 from the Internet is how operators reach it;
    # SSH and RDP leave it only towards the VNet.
    "bastion": (
        Rule("AllowHttpsInbound", 100, "Inbound", "Allow", "Tcp", "Internet", "*", ("443",)),
        Rule("AllowGatewayManagerInbound", 110, "Inbound", "Allow", "Tcp", "GatewayManager", "*", ("443",)),
        Rule("AllowLoadBalancerInbound", 120, "Inbound", "Allow", "Tcp", "AzureLoadBalancer", "*", ("443",)),
        Rule(
            "AllowBastionHostCommunication",
            130,
            "Inbound",
            "Allow",
            "*",
            "VirtualNetwork",
            "VirtualNetwork",
            ("8080", "5701"),
        ),
        Rule("AllowSshRdpOutbound", 100, "Outbound", "Allow", "*", "*", "VirtualNetwork", ("22", "3389")),
        Rule("AllowAzureCloudOutbound", 110, "Outbound", "Allow", "Tcp", "*", "AzureCloud", ("443",)),
        Rule(
            "AllowBastionCommunication",
            120,
            "Outbound",
            "Allow",
            "*",
            "VirtualNetwork",
            "VirtualNetwork",
            ("8080", "5701"),
        ),
        Rule("AllowSessionInformationOutbound", 130, "Outbound", "Allow", "*", "*", "Internet", ("80",)),
    ),
}
"""Rules of each subnet's NSG. No rule admits 22, 3389 or 80 from Internet or any source."""

SUBNET_NAMES = {
    "private_endpoints": "snet-private-endpoints",
    "compute": "snet-compute",
    "gateway": "snet-gateway",
    "bastion": "AzureBastionSubnet",
}
"""Azure names of the subnets (Bastion requires exactly AzureBastionSubnet)."""


@dataclass(frozen=True)
class ExistingNetworkArgs:
    """A spoke VNet and subnets that exist already (hub-and-spoke)."""

    vnet_id: str
    """Resource ID of the spoke VNet."""
    subnet_ids: Mapping[str, str]
    """Resource ID of each subnet by key (private_endpoints, compute, gateway)."""


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of :class:`Network`."""

    ctx: BaseContext
    """Environment context: resource group, location, tags (the network exists before private endpoints)."""
    diagnostic_settings: DiagnosticsTarget
    """Log Analytics destination of the VNet's and the NSGs' logs."""
    address_space: str
    """VNet address space (CIDR)."""
    subnets: Mapping[str, str]
    """CIDR of each subnet to create by key of :data:`SUBNET_NAMES`; a key left out is not created."""
    dns_zones: Mapping[str, str]
    """Private DNS zone name by key: the cloud's private-link zones and ``apim``, its API Management domain."""
    hub_dns_zone_ids: Mapping[str, str] = field(default_factory=dict)
    """Private DNS zones a hub already owns, by zone name; used instead of creating them."""
    existing: ExistingNetworkArgs | None = None
    """Use this VNet and its subnets instead of creating them."""


class Network(pulumi.ComponentResource):
    """VNet and subnets (or an existing spoke), one NSG per subnet, private DNS zones linked to the VNet."""

    vnet_id: pulumi.Output[str]
    subnet_ids: dict[str, pulumi.Output[str]]
    dns_zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-ml:network:Network", name, None, opts)
        ctx = args.ctx
        tags = dict(ctx.tags)
        self.subnet_ids = {}
        if args.existing is not None:
            self.vnet_id = pulumi.Output.from_input(args.existing.vnet_id)
            self.subnet_ids = {key: pulumi.Output.from_input(i) for key, i in args.existing.subnet_ids.items()}
        else:
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                resource_group_name=ctx.resource_group_name,
                location=ctx.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
                tags=tags,
                opts=child(self),
            )
            self.vnet_id = vnet.id
            diagnostic_setting(
                f"{name}-vnet-diag",
                self,
                vnet.id,
                args.diagnostic_settings,
                target_type="Microsoft.Network/virtualNetworks",
            )
            previous: pulumi.Resource | None = None
            for key, subnet_name in SUBNET_NAMES.items():
                cidr = args.subnets.get(key)
                if cidr is None:
                    continue
                nsg = network.NetworkSecurityGroup(
                    f"{name}-nsg-{key.replace('_', '-')}",
                    resource_group_name=ctx.resource_group_name,
                    location=ctx.location,
                    security_rules=[_rule_args(r) for r in NSG_RULES[key]],
                    tags=tags,
                    opts=child(self),
                )
                # NSGs have event and rule-counter logs but no metrics (the table sends none).
                diagnostic_setting(
                    f"{name}-nsg-{key.replace('_', '-')}-diag",
                    self,
                    nsg.id,
                    args.diagnostic_settings,
                    target_type="Microsoft.Network/networkSecurityGroups",
                )
                # Subnets of one VNet are updated one at a time by ARM; chain them to avoid conflicts.
                subnet = network.Subnet(
                    f"{name}-snet-{key.replace('_', '-')}",
                    resource_group_name=ctx.resource_group_name,
                    virtual_network_name=vnet.name,
                    subnet_name=subnet_name,
                    address_prefix=cidr,
                    network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                    private_endpoint_network_policies="Enabled" if key == "private_endpoints" else None,
                    default_outbound_access=False,
                    opts=child(self, depends_on=[previous] if previous else None),
                )
                previous = subnet
                self.subnet_ids[key] = subnet.id

        self.dns_zone_ids = {}
        for key, zone_name in args.dns_zones.items():
            hub_zone = args.hub_dns_zone_ids.get(zone_name)
            if hub_zone is not None:
                # The hub owns the zone and links it to its spokes.
                self.dns_zone_ids[key] = pulumi.Output.from_input(hub_zone)
                continue
            zone_id = linked_private_zone(f"{name}-dns-{key}", self, ctx, zone_name, self.vnet_id, tags)
            self.dns_zone_ids[key] = zone_id
        self.register_outputs({"vnetId": self.vnet_id, "subnetIds": self.subnet_ids, "dnsZoneIds": self.dns_zone_ids})

    def private_link_target(self) -> PrivateLinkTarget:
        """Where other components put their private endpoints."""
        return PrivateLinkTarget(subnet_id=self.subnet_ids["private_endpoints"], dns_zone_ids=self.dns_zone_ids)


def _rule_args(rule: Rule) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=rule.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_address_prefix=rule.source,
        source_port_range="*",
        destination_address_prefix=rule.destination,
        destination_port_range=rule.ports[0] if len(rule.ports) == 1 else None,
        destination_port_ranges=list(rule.ports) if len(rule.ports) > 1 else None,
    )
