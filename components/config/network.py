"""Settings of the environment's virtual network: address space, subnets, an existing spoke, hub DNS zones."""

from __future__ import annotations

import ipaddress
from dataclasses import fields

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass

from components.config.primitives import (
    _CONFIG,
    Cidr,
    ResourceId,
    _FieldError,
)


@dataclass(frozen=True, config=_CONFIG)
class Subnets:
    """Address ranges of the subnets; each must lie inside ``network.addressSpace``."""

    private_endpoints: Cidr
    """Private endpoints of every PaaS service (at least /27)."""
    compute: Cidr
    """Azure ML compute clusters and instances (at least /26)."""
    gateway: Cidr
    """API Management in internal VNet mode (at least /27)."""
    bastion: Cidr | None = None
    """Optional Azure Bastion subnet for operator access (at least /26)."""


@dataclass(frozen=True, config=_CONFIG)
class ExistingNetwork:
    """Hub-and-spoke: use an existing VNet and subnets instead of creating them."""

    virtual_network_id: ResourceId
    """Resource ID of the existing spoke VNet."""
    private_endpoints_subnet_id: ResourceId
    """Resource ID of the subnet for private endpoints."""
    compute_subnet_id: ResourceId
    """Resource ID of the subnet for ML compute."""
    gateway_subnet_id: ResourceId
    """Resource ID of the subnet for API Management."""


_MIN_PREFIX = {"private_endpoints": 27, "compute": 26, "gateway": 27, "bastion": 26}


@dataclass(frozen=True, config=_CONFIG)
class NetworkSettings:
    """The environment's virtual network (one per environment, shared by all workspaces)."""

    address_space: Cidr
    """VNet address space, a private range."""
    subnets: Subnets
    """Subnet ranges inside ``addressSpace``."""
    existing: ExistingNetwork | None = None
    """Use an existing VNet and subnets (hub-and-spoke) instead of creating them."""
    hub_dns_zone_ids: dict[str, ResourceId] = Field(default_factory=dict)
    """Existing private DNS zones in the hub, by zone name; the platform creates the others."""

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkSettings:
        vnet = ipaddress.ip_network(self.address_space)
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
        for f in fields(Subnets):
            cidr = getattr(self.subnets, f.name)
            if cidr is None:
                continue
            key = f"subnets.{to_camel(f.name)}"
            net = ipaddress.ip_network(cidr)
            if not net.subnet_of(vnet):  # type: ignore[arg-type]
                raise _FieldError(key, f"expected a range inside addressSpace {vnet}", cidr)
            if net.prefixlen > _MIN_PREFIX[f.name]:
                raise _FieldError(key, f"expected a /{_MIN_PREFIX[f.name]} or larger range", cidr)
            for other_key, other in seen:
                if net.overlaps(other):
                    raise _FieldError(key, f"expected a range that does not overlap {other_key} ({other})", cidr)
            seen.append((key, net))
        return self
