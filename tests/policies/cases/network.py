"""Failing cases of the network rules (policies/catalog/rules/network.py, MLSEC-NET-*): NSGs, default
outbound access, SSH exposure and private endpoints."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

CASES: tuple[Case, ...] = (
    Case(
        name="compute-subnet-without-nsg",
        rule="MLSEC-NET-001",
        base="dev",
        resource="mlsec-dev-net-snet-compute",
        path="networkSecurityGroup",
        value=DELETE,
        expected=(("mlsec-dev-net-snet-compute", "subnet snet-compute has no networkSecurityGroup"),),
    ),
    Case(
        name="compute-subnet-default-outbound",
        rule="MLSEC-NET-002",
        base="dev",
        resource="mlsec-dev-net-snet-compute",
        path="defaultOutboundAccess",
        value=True,
        expected=(("mlsec-dev-net-snet-compute", "defaultOutboundAccess must be false (found true)"),),
    ),
    Case(
        name="bastion-nsg-opens-ssh-to-any-source",
        rule="MLSEC-NET-003",
        base="dev",
        resource="mlsec-dev-net-nsg-bastion",
        path="securityRules.0.destinationPortRange",
        value="20-25",
        expected=(
            (
                "mlsec-dev-net-nsg-bastion",
                "NSG mlsec-dev-net-nsg-bastion rule AllowHttpsInbound allows SSH (port 22) from any source",
            ),
        ),
    ),
    Case(
        name="nsg-rule-ssh-from-any-source",
        rule="MLSEC-NET-003",
        base="serving",
        resource="ssh-from-vnet",
        path="sourceAddressPrefix",
        value="*",
        expected=(("ssh-from-vnet", "security rule AllowSshFromVnet allows SSH (port 22) from any source"),),
    ),
    Case(
        name="key-vault-private-endpoint-removed",
        rule="MLSEC-NET-010",
        base="dev",
        resource="mlsec-dev-kv-vault-pe",
        path=None,
        value=None,
        expected=(("mlsec-dev-kv-kv", "Vault mlsec-dev-kv-kv has no private endpoint for vault"),),
    ),
    Case(
        name="workspace-private-endpoint-wrong-group",
        rule="MLSEC-NET-010",
        base="dev",
        resource="mlsec-dev-fraud-mlw-pe",
        path="privateLinkServiceConnections.0.groupIds",
        value=["notebooks"],
        expected=(("mlsec-dev-fraud-mlw", "Workspace mlsec-dev-fraud-mlw has no private endpoint for amlworkspace"),),
    ),
)
