"""The dev plan read into a :class:`~scripts.docs.diagram.Picture` of the platform.

The picture is read from the plan alone (resource types, inputs, parent and dependency links, and the resource
and principal IDs the offline engine gives), never from a list of resource names, so a forked stack's plan
draws itself:

- each virtual network with its subnets, the private endpoints and the API gateway placed in them;
- each private endpoint and the service its ``privateLinkServiceConnections`` point at, with the group ID;
- the gateway, the online endpoints its APIs forward to, the callers its ``validate-jwt`` admits, and every
  principal a role assignment lets score an endpoint;
- the storage containers (the data zones) with every principal a writer role reaches them through, at the
  container or any scope above it;
- each workspace's managed network (computes, online deployments) and its outbound rules;
- the trust boundaries as subgraphs: internet and callers, the VNet, each workspace's managed network, the
  Azure services behind private link, and the Azure control plane and monitoring.
"""

from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from policies.catalog import azure
from policies.catalog.rules.plan_facts import BLOB_WRITE, WRITER_ROLES
from scripts.docs.diagram import Picture
from scripts.plan.arm_types import ARM_TYPES, arm_id, principal_id
from scripts.plan.engine import FAKE_CLIENT_CONFIG

SCORE_ACTION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"
"""The permission a caller needs to score an online endpoint with an Entra token (authMode AADToken).
https://learn.microsoft.com/azure/machine-learning/how-to-authenticate-online-endpoint"""

SCORING_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "f6c7c914-8db3-469d-8ca1-694a8f32e121": "AzureML Data Scientist",
}
"""Built-in roles whose actions cover the score action: Owner and Contributor through ``*``, AzureML Data
Scientist through ``Microsoft.MachineLearningServices/workspaces/*/action`` (the page above, and
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles)."""

INTERNET, VNET, SERVICES, CONTROL = "(internet)", "(vnet)", "(services)", "(control)"
BOUNDARIES = {
    INTERNET: ("Internet and callers", 0),
    SERVICES: ("Azure services, reached through private link", 3),
    CONTROL: ("Azure control plane and monitoring", 4),
}
"""The boundaries that are one subgraph each; every VNet and every managed network is a subgraph of its own."""

_CONTROL_MODULES = ("managedidentity", "authorization", "monitor", "operationalinsights", "applicationinsights")
"""azure-native modules whose resources live in the control plane and monitoring boundary."""


# ---------------------------------------------------------------------------------------------
# The plan as a graph of resources
# ---------------------------------------------------------------------------------------------


def _kind(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def _label(resource: dict[str, Any]) -> str:
    return f"{resource['name']}: {_kind(resource['type'])}"


class Plan:
    """The plan's resources, looked up by ARM resource ID (case-insensitive) and by principal ID."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.resources: list[dict[str, Any]] = sorted(document["resources"], key=lambda r: r["urn"])
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.by_id: dict[str, dict[str, Any]] = {}
        for r in self.resources:
            if r["type"] in ARM_TYPES:
                self.by_id[self.id(r).lower()] = r
        self.principals = dict(self._principals(document))

    @staticmethod
    def id(resource: dict[str, Any]) -> str:
        """The resource ID the offline engine gives (scripts/plan/engine.py ``PlanMocks.new_resource``)."""
        subscription = FAKE_CLIENT_CONFIG["subscriptionId"]
        return arm_id(resource["type"], resource["name"], resource["inputs"], subscription)

    def _principals(self, document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """Principal ID -> the identity or the resource with a system-assigned identity it belongs to, derived as
        the offline engine's mocks derive them (from the type and logical name)."""
        for r in self.resources:
            identity = r["inputs"].get("identity")
            system = isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", ""))
            if r["type"] == azure.IDENTITY or system:
                yield (
                    principal_id(f"urn:pulumi:{document['stack']}::{document['project']}::{r['type']}::{r['name']}"),
                    r,
                )

    def of_type(self, *tokens: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] in tokens]

    def at(self, resource_id: object) -> dict[str, Any] | None:
        """The plan resource with this ARM ID, if the plan creates it."""
        return self.by_id.get(resource_id.rstrip("/").lower()) if isinstance(resource_id, str) else None

    def above(self, resource_id: str, *tokens: str) -> dict[str, Any] | None:
        """The nearest resource of the given types whose ID is a prefix of ``resource_id`` (its ARM parent)."""
        parts = resource_id.rstrip("/").split("/")
        for end in range(len(parts) - 1, 2, -1):
            found = self.at("/".join(parts[:end]))
            if found is not None and found["type"] in tokens:
                return found
        return None


def _reaches(scope: str, resource_id: str) -> bool:
    """Whether a role assignment at ``scope`` applies to ``resource_id`` (a management group reaches all)."""
    scope, target = scope.rstrip("/").lower(), resource_id.lower()
    return (
        "/providers/microsoft.management/managementgroups/" in scope
        or target == scope
        or target.startswith(scope + "/")
    )


def _grants(definition: dict[str, Any] | None, action: str, *, data: bool) -> bool:
    """Whether a role definition of the plan allows ``action``: among its ``dataActions`` with ``data`` (a blob
    write), else among its ``actions`` (the score action, which the built-in roles grant as an action). A
    control-plane ``*`` never grants a data action."""
    if definition is None:
        return False
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    for permission in definition["inputs"].get("permissions") or []:
        if not isinstance(permission, dict):
            continue
        allowed = [a for a in permission.get(allow) or [] if isinstance(a, str)]
        denied = [a for a in permission.get(deny) or [] if isinstance(a, str)]
        if any(fnmatch.fnmatch(action.lower(), a.lower()) for a in allowed) and not any(
            fnmatch.fnmatch(action.lower(), d.lower()) for d in denied
        ):
            return True
    return False


@dataclass(frozen=True)
class Assignment:
    """A role assignment: who holds which role at which scope."""

    holder: dict[str, Any] | None
    """The identity, or the resource with a system-assigned identity, when the plan creates it."""
    principal: str
    """The principal as the assignment names it: type and ID."""
    role: str
    scope: str
    definition: dict[str, Any] | None
    """The role definition when the plan creates it."""
    builtin: str
    """The built-in role's GUID when it is not one of the plan's."""

    def node(self, plan: Plan, picture: Picture) -> str:
        if self.holder is not None:
            return _place(plan, picture, self.holder)
        # a principal the plan does not create: a group or user named in the stack file
        return picture.node(self.principal, f"{self.principal}: Entra ID", INTERNET)


def _assignments(plan: Plan) -> list[Assignment]:
    found = []
    definitions = plan.of_type(azure.ROLE_DEFINITION)
    for a in plan.of_type(azure.ROLE_ASSIGNMENT):
        inputs = a["inputs"]
        scope, role_id, principal = inputs.get("scope"), inputs.get("roleDefinitionId"), inputs.get("principalId")
        if not isinstance(scope, str) or not isinstance(role_id, str):
            continue
        definition = next((d for d in definitions if d["urn"] in a["dependencies"]), None)
        role = str(definition["inputs"].get("roleName", definition["name"])) if definition else azure.role_name(role_id)
        holder = plan.principals.get(principal) if isinstance(principal, str) else None
        named = f"{inputs.get('principalType', 'principal')} {principal}"
        builtin = "" if definition else azure.role_guid(role_id)
        found.append(Assignment(holder, named, role, scope, definition, builtin))
    return found


# ---------------------------------------------------------------------------------------------
# Placing resources in their boundary
# ---------------------------------------------------------------------------------------------


def _vnet_group(plan: Plan, picture: Picture, vnet: dict[str, Any]) -> str:
    prefixes = ", ".join(str(p) for p in (vnet["inputs"].get("addressSpace") or {}).get("addressPrefixes") or [])
    return picture.group(vnet["name"], f"{_label(vnet)} {prefixes}".strip(), rank=1)


def _subnet_group(plan: Plan, picture: Picture, subnet_id: object) -> str | None:
    subnet = plan.at(subnet_id)
    if subnet is None or not isinstance(subnet_id, str):
        return None
    vnet = plan.above(subnet_id, azure.VNET)
    parent = _vnet_group(plan, picture, vnet) if vnet else None
    prefix = str(subnet["inputs"].get("addressPrefix", ""))
    return picture.group(subnet["name"], f"{_label(subnet)} {prefix}".strip(), parent)


def _managed_group(plan: Plan, picture: Picture, workspace: dict[str, Any]) -> str:
    mode = (workspace["inputs"].get("managedNetwork") or {}).get("isolationMode", "Disabled")
    label = f"managed network of {_label(workspace)}: {mode}"
    return picture.group(f"{workspace['name']} (managed network)", label, rank=2)


def _place(plan: Plan, picture: Picture, resource: dict[str, Any]) -> str:
    """The node key of a plan resource, creating its node in the boundary its type and links put it in."""
    token = resource["type"]
    if resource["name"] in picture.nodes or resource["name"] in picture.groups:
        return str(resource["name"])
    if token == azure.STORAGE_ACCOUNT and any(
        plan.above(plan.id(c), azure.STORAGE_ACCOUNT) is resource for c in plan.of_type(azure.BLOB_CONTAINER)
    ):
        return picture.group(resource["name"], _label(resource), SERVICES)
    group = SERVICES
    if token == azure.BLOB_CONTAINER:
        account = plan.above(plan.id(resource), azure.STORAGE_ACCOUNT)
        group = _place(plan, picture, account) if account else SERVICES
    elif token == azure.PRIVATE_ENDPOINT:
        subnet = (resource["inputs"].get("subnet") or {}).get("id")
        group = _subnet_group(plan, picture, subnet) or picture.group(VNET, "virtual networks outside the plan", rank=1)
    elif token == azure.APIM:
        subnet = (resource["inputs"].get("virtualNetworkConfiguration") or {}).get("subnetResourceId")
        group = _subnet_group(plan, picture, subnet) or INTERNET
    elif token in (azure.ML_COMPUTE, azure.ONLINE_DEPLOYMENT):
        workspace = plan.above(plan.id(resource), azure.ML_WORKSPACE)
        group = _managed_group(plan, picture, workspace) if workspace else SERVICES
    elif token.split(":")[1] in _CONTROL_MODULES:
        group = CONTROL
    return picture.node(resource["name"], _label(resource), group)


def _target(plan: Plan, picture: Picture, resource_id: object) -> str:
    """The node of the resource an ID names; a resource outside the plan gets a node of its own."""
    found = plan.at(resource_id)
    if found is not None:
        return _place(plan, picture, found)
    text = str(resource_id)
    parts = text.rstrip("/").split("/")
    kind = parts[-2] if len(parts) > 1 else "resource"
    return picture.node(text, f"{parts[-1]}: {kind} outside the plan", SERVICES)


# ---------------------------------------------------------------------------------------------
# What the picture shows
# ---------------------------------------------------------------------------------------------


def _networks(plan: Plan, picture: Picture) -> None:
    for vnet in plan.of_type(azure.VNET):
        _vnet_group(plan, picture, vnet)
    for subnet in plan.of_type(azure.SUBNET):
        _subnet_group(plan, picture, plan.id(subnet))


def _private_endpoints(plan: Plan, picture: Picture) -> None:
    for endpoint in plan.of_type(azure.PRIVATE_ENDPOINT):
        key = _place(plan, picture, endpoint)
        inputs = endpoint["inputs"]
        for connection in [
            *(inputs.get("privateLinkServiceConnections") or []),
            *(inputs.get("manualPrivateLinkServiceConnections") or []),
        ]:
            if isinstance(connection, dict):
                groups = ", ".join(str(g) for g in connection.get("groupIds") or [])
                picture.edge(key, _target(plan, picture, connection.get("privateLinkServiceId")), groups)


def _validate_jwt(text: object) -> Iterator[str]:
    """What each ``validate-jwt`` of a policy requires of a caller: audiences and required claim values."""
    if not isinstance(text, str):
        return
    try:
        root = ET.fromstring(text)  # noqa: S314 (the stack's own policy text, not external input)
    except ET.ParseError:
        return
    for jwt in root.iter("validate-jwt"):
        audiences = [a.text or "" for a in jwt.iter("audience")]
        claims = [f"{c.get('name')} {'/'.join(v.text or '' for v in c.iter('value'))}" for c in jwt.iter("claim")]
        yield "Entra token, " + ", ".join([*(f"audience {a}" for a in audiences), *claims])


def _gateway(plan: Plan, picture: Picture, assignments: list[Assignment]) -> None:
    policies = plan.of_type(azure.APIM_GLOBAL_POLICY, *azure.APIM_SCOPED_POLICIES)
    for service in plan.of_type(azure.APIM):
        gateway = _place(plan, picture, service)
        for policy in policies:
            if plan.above(plan.id(policy), azure.APIM) is not service:
                continue
            api = plan.above(plan.id(policy), azure.APIM_API)
            where = f"{api['inputs'].get('path')}: " if api else ""
            for requirement in _validate_jwt(policy["inputs"].get("value")):
                picture.edge(
                    picture.node("(callers)", "callers: HTTPS clients", INTERNET), gateway, where + requirement
                )
        for api in plan.of_type(azure.APIM_API):
            if plan.above(plan.id(api), azure.APIM) is not service:
                continue
            # a scoring URI is https://ENDPOINT.REGION.inference.ml.azure.com/score (the page of SCORE_ACTION)
            host = urlsplit(str(api["inputs"].get("serviceUrl", ""))).hostname or ""
            for endpoint in plan.of_type(azure.ONLINE_ENDPOINT):
                if host.split(".", 1)[0] == str(endpoint["inputs"].get("endpointName", "")).lower():
                    picture.edge(gateway, _place(plan, picture, endpoint), f"API {api['inputs'].get('path')}")
    for endpoint in plan.of_type(azure.ONLINE_ENDPOINT):
        key, endpoint_id = _place(plan, picture, endpoint), plan.id(endpoint)
        for a in assignments:
            scores = a.builtin in SCORING_ROLES or _grants(a.definition, SCORE_ACTION, data=False)
            if scores and _reaches(a.scope, endpoint_id):
                name = SCORING_ROLES.get(a.builtin, a.role)
                picture.edge(a.node(plan, picture), key, f"may score: {name}")
        for deployment in plan.of_type(azure.ONLINE_DEPLOYMENT):
            if plan.above(plan.id(deployment), azure.ONLINE_ENDPOINT) is endpoint:
                picture.edge(key, _place(plan, picture, deployment), "serves")


def _zones(plan: Plan, picture: Picture, assignments: list[Assignment]) -> None:
    for container in plan.of_type(azure.BLOB_CONTAINER):
        key, container_id = _place(plan, picture, container), plan.id(container)
        for a in assignments:
            writer = a.builtin in WRITER_ROLES or _grants(a.definition, BLOB_WRITE, data=True)
            if writer and _reaches(a.scope, container_id):
                picture.edge(a.node(plan, picture), key, f"writes: {a.role}")


def _managed_networks(plan: Plan, picture: Picture) -> None:
    for workspace in plan.of_type(azure.ML_WORKSPACE):
        network = workspace["inputs"].get("managedNetwork")
        if not isinstance(network, dict):
            continue
        _place(plan, picture, workspace)
        group = _managed_group(plan, picture, workspace)
        for compute in plan.of_type(azure.ML_COMPUTE):
            if plan.above(plan.id(compute), azure.ML_WORKSPACE) is workspace:
                _place(plan, picture, compute)
        for name, rule in sorted((network.get("outboundRules") or {}).items()):
            if not isinstance(rule, dict):
                continue
            kind, destination = str(rule.get("type", "")), rule.get("destination")
            if isinstance(destination, dict) and "serviceResourceId" in destination:
                target = _target(plan, picture, destination["serviceResourceId"])
                detail = str(destination.get("subresourceTarget", ""))
            elif isinstance(destination, dict):  # a service tag
                tag = str(destination.get("serviceTag", ""))
                target = picture.node(f"{kind} {tag}", f"{tag}: {kind}", CONTROL)
                detail = " ".join(str(destination.get(k, "")) for k in ("protocol", "portRanges")).strip()
            else:
                target = picture.node(f"{kind} {destination}", f"{destination}: {kind}", INTERNET)
                detail = ""
            picture.edge(group, target, f"outbound {name}: {kind} {detail}".strip())


def _monitoring(plan: Plan, picture: Picture) -> None:
    for scoped in plan.of_type("azure-native:monitor:PrivateLinkScopedResource"):
        scope = plan.above(plan.id(scoped), "azure-native:monitor:PrivateLinkScope")
        if scope is not None:
            linked = _target(plan, picture, scoped["inputs"].get("linkedResourceId"))
            picture.edge(_place(plan, picture, scope), linked, "private link scope")


def picture(document: dict[str, Any]) -> Picture:
    """The platform as the plan describes it."""
    plan, drawn = Plan(document), Picture()
    for key, (label, rank) in BOUNDARIES.items():
        drawn.group(key, label, rank=rank)
    _networks(plan, drawn)
    _private_endpoints(plan, drawn)
    assignments = _assignments(plan)
    _gateway(plan, drawn, assignments)
    _zones(plan, drawn, assignments)
    _managed_networks(plan, drawn)
    _monitoring(plan, drawn)
    return drawn
