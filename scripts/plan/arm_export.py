"""ARM export of an offline plan: ``build/STACK/template.json``, for any ARM scanner (the gate runs checkov).

``export(plan_document)`` turns every azure-native resource of a plan.json document into one flat ARM
resource: the fully-qualified type (``scripts.plan.arm_types.ARM_TYPES``), the ARM name (``a/b/c`` for child
resources), the API version the provider uses, the top-level fields (location, tags, sku, kind, identity,
zones) and every other input re-nested under ``properties`` with ARM's property names. Inputs that only
name the resource (resource group, parent names) are dropped; extension resources (role assignments,
locks, diagnostic settings, role definitions) carry ``scope``. ``dependsOn`` lists the resource IDs of the
resource's dependencies, following component resources through to their azure-native descendants.

The reviewed checkov exceptions (the ``checkov`` entries of ``policies/suppressions.yaml``, each with its owner,
reason and expiry) are written into the resources' ``metadata.checkov``, so a finding is either fixed in the
blueprint or excepted there, in the one reviewed exception store.

The template is a scan artefact, not a deployment artefact: resource IDs are the plan's deterministic
mock IDs and secrets stay the opaque ``"[secret]"``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from policies.catalog.governance import SUPPRESSIONS_FILE, CheckovSkip, GovernanceFileError, load_suppressions
from scripts.plan.arm_types import ARM_TYPES, AUTONAMED_FLAG, NON_ARM_TYPES, ArmType, arm_id
from scripts.plan.engine import FAKE_CLIENT_CONFIG

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
CONTENT_VERSION = "1.0.0.0"
SUBSCRIPTION = FAKE_CLIENT_CONFIG["subscriptionId"]
"""The offline plan's subscription: resource IDs are the ones its mocks gave."""

TOP_LEVEL = ("location", "tags", "sku", "kind", "identity", "zones", "extendedLocation", "plan", "managedBy")
"""Inputs that ARM keeps beside ``properties`` rather than inside it."""

IN_PROPERTIES: dict[str, frozenset[str]] = {
    # A Log Analytics workspace's SKU lives in properties.sku.
    "azure-native:operationalinsights:Workspace": frozenset({"sku"}),
}
"""Per type: inputs named like a top-level field that ARM nests under ``properties`` all the same."""

_KEY_VAULT_PROPERTIES = {"keyName": "keyname", "keyVaultUri": "keyvaulturi", "keyVersion": "keyversion"}

RENAMES: dict[str, dict[str, Any]] = {
    "azure-native:storage:StorageAccount": {
        "enableHttpsTrafficOnly": "supportsHttpsTrafficOnly",
        "networkRuleSet": "networkAcls",
        "enableNfsV3": "isNfsV3Enabled",
        "encryption": {
            "keyVaultProperties": ("keyvaultproperties", _KEY_VAULT_PROPERTIES),
            "encryptionIdentity": (
                "identity",
                {
                    "encryptionUserAssignedIdentity": "userAssignedIdentity",
                    "encryptionFederatedIdentityClientId": "federatedIdentityClientId",
                },
            ),
        },
    },
    "azure-native:applicationinsights:Component": {
        "applicationType": "Application_Type",
        "flowType": "Flow_Type",
        "requestSource": "Request_Source",
        "workspaceResourceId": "WorkspaceResourceId",
        "disableLocalAuth": "DisableLocalAuth",
        "disableIpMasking": "DisableIpMasking",
        "ingestionMode": "IngestionMode",
        "retentionInDays": "RetentionInDays",
        "samplingPercentage": "SamplingPercentage",
        "immediatePurgeDataOn30Days": "ImmediatePurgeDataOn30Days",
        "forceCustomerStorageForProfiler": "ForceCustomerStorageForProfiler",
        "hockeyAppId": "HockeyAppId",
    },
    "azure-native:authorization:RoleDefinition": {"roleType": "type"},
    # The criteria's discriminator is "odata.type" (Microsoft.Insights stable/2018-03-01/metricAlert_API.json,
    # MetricAlertCriteria); the provider names it odataType.
    "azure-native:monitor:MetricAlert": {"criteria": {"odataType": "odata.type"}},
}
"""ARM names where the provider renamed a property (the REST specs' ``x-ms-client-name``, and discriminators
such as ``odata.type`` whose dots the provider drops).

Per type, a mapping of Pulumi name to either the ARM name, a nested mapping for an object whose own
name is unchanged, or ``(ARM name, nested mapping)``.
"""

FLATTENED: dict[str, dict[str, tuple[str, ...]]] = {
    # SchemaContractProperties.document is x-ms-client-flatten (REST spec apimanagement 2024-05-01; the
    # ApiManagementCreateApiSchema example sends properties.document.value).
    "azure-native:apimanagement:ApiSchema": {"document": ("components", "definitions", "value")},
}
"""Per type: ARM objects inside ``properties`` whose fields the provider lifted to the top level."""

SUB_RESOURCES: dict[str, tuple[str, ...]] = {
    "azure-native:network:NetworkSecurityGroup": ("securityRules",),
    "azure-native:network:VirtualNetwork": ("subnets",),
    "azure-native:network:Subnet": ("delegations",),
    "azure-native:network:PrivateEndpoint": (
        "privateLinkServiceConnections",
        "manualPrivateLinkServiceConnections",
        "ipConfigurations",
        "subnet",
    ),
    "azure-native:network:PrivateDnsZoneGroup": ("privateDnsZoneConfigs",),
}
"""Inputs holding sub-resources (an object or a list of objects) whose properties the provider flattened.

ARM keeps a sub-resource's ``id`` and ``name`` beside its own ``properties`` object.
"""

_SUB_RESOURCE_KEYS = frozenset({"id", "name", "type", "etag"})

SDK_ONLY_NAMES = frozenset({"odataType"})
"""Property names only the provider uses: ARM spells them ``odata.type`` (Microsoft.Insights) or ``@odata.type``
(Microsoft.Network front doors). One left in an exported resource is a missing entry of ``RENAMES``."""


class ExportError(Exception):
    """The plan holds a resource the export cannot describe (a type missing from ``ARM_TYPES``)."""


# ---------------------------------------------------------------------------------------------
# Facts about a type
# ---------------------------------------------------------------------------------------------


def api_version(token: str) -> str:
    """The Azure REST API version the provider deploys ``token`` with (``scripts.plan.arm_types.ARM_TYPES``)."""
    return _spec(token).api_version


def is_preview(version: str) -> bool:
    """Whether an Azure REST API version is a preview (``2025-01-01-preview``) rather than a stable one."""
    return version.endswith("-preview")


def api_versions(document: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Per ARM type of the plan: the REST API version the provider uses and whether it is a preview.

    azure-native 3.x ships one default API version per resource; another version needs a package generated
    with the Pulumi CLI (``pulumi package add azure-native <module> <version>``, see
    https://www.pulumi.com/registry/packages/azure-native/version-guide/#accessing-any-api-version-via-local-packages).
    This makes the previews the plan relies on visible, so a new one is a reviewed change.
    """
    return {
        _spec(token).arm_type: (version, is_preview(version))
        for token in sorted({r["type"] for r in document.get("resources", []) if _azure_native(r)})
        for version in (api_version(token),)
    }


def _spec(token: str) -> ArmType:
    spec = ARM_TYPES.get(token)
    if spec is None:
        raise ExportError(f"{token}: no ARM type in scripts/plan/arm_types.py ARM_TYPES")
    return spec


def resource_id(resource: dict[str, Any]) -> str:
    """The ARM resource ID of a plan resource: the ID the offline plan's mocks gave it."""
    return arm_id(resource["type"], resource["name"], resource["inputs"], SUBSCRIPTION)


def arm_name(resource: dict[str, Any]) -> str:
    """The ARM ``name``: ``a/b/c`` for a child resource, the last ID segment for an extension resource."""
    spec = _spec(resource["type"])
    rid = resource_id(resource)
    if spec.extension or spec.arm_type == "Microsoft.Resources/resourceGroups":
        return rid.rsplit("/", 1)[-1]
    segments = rid.rsplit("/providers/", 1)[-1].split("/")[1:]
    return "/".join(segments[1::2])


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


def _renamed(value: Any, renames: dict[str, Any]) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        rule = renames.get(key)
        if isinstance(rule, str):
            out[rule] = item
        elif isinstance(rule, tuple):
            out[rule[0]] = _renamed(item, rule[1])
        elif isinstance(rule, dict):
            out[key] = _renamed(item, rule)
        else:
            out[key] = item
    return out


def _sub_resource(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kept = {k: v for k, v in value.items() if k in _SUB_RESOURCE_KEYS}
    nested = {k: v for k, v in value.items() if k not in _SUB_RESOURCE_KEYS}
    return {**kept, "properties": nested} if nested else kept


def _identity(value: Any) -> Any:
    """Pulumi lists user-assigned identity IDs; ARM wants an object keyed by ID."""
    if isinstance(value, dict) and isinstance(value.get("userAssignedIdentities"), list):
        return {**value, "userAssignedIdentities": {uid: {} for uid in sorted(value["userAssignedIdentities"])}}
    return value


def _split(resource: dict[str, Any], spec: ArmType) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level fields, properties) from the inputs, without the inputs that only name the resource."""
    token = resource["type"]
    naming = {*spec.name_inputs, *spec.type_inputs, "resourceGroupName"}
    if spec.extension:
        naming.add(spec.scope_input)
    nested_here = IN_PROPERTIES.get(token, frozenset())
    top: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in resource["inputs"].items():
        if key in naming or key == AUTONAMED_FLAG:
            continue
        if key in TOP_LEVEL and key not in nested_here:
            top[key] = _identity(value) if key == "identity" else value
        elif key == "properties" and isinstance(value, dict):
            properties.update(value)  # the provider kept ARM's properties object as it is
        else:
            properties[key] = value
    for parent, keys in FLATTENED.get(token, {}).items():
        lifted = {key: properties.pop(key) for key in keys if key in properties}
        if lifted:
            properties[parent] = lifted
    for key in SUB_RESOURCES.get(token, ()):
        if isinstance(properties.get(key), list):
            properties[key] = [_sub_resource(item) for item in properties[key]]
        elif key in properties:
            properties[key] = _sub_resource(properties[key])
    renamed = _renamed(properties, RENAMES.get(token, {}))
    left = _sdk_only_paths(renamed)
    if left:
        raise ExportError(f"{token}: {', '.join(left)} is the provider's name; add the ARM name to RENAMES")
    return top, renamed


def _sdk_only_paths(value: Any, path: str = "properties") -> list[str]:
    """Paths of keys in ``value`` that only the provider uses (``SDK_ONLY_NAMES``)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if key in SDK_ONLY_NAMES:
                found.append(here)
            found.extend(_sdk_only_paths(item, here))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_sdk_only_paths(item, f"{path}[{i}]"))
    return found


# ---------------------------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------------------------


def _azure_native(resource: dict[str, Any]) -> bool:
    return str(resource.get("type", "")).startswith("azure-native:")


def _dependency_ids(
    resource: dict[str, Any], by_urn: dict[str, dict[str, Any]], children: dict[str, list[str]], ids: dict[str, str]
) -> list[str]:
    """Resource IDs of the dependencies, with each component replaced by its azure-native descendants."""
    found: set[str] = set()
    pending = list(resource.get("dependencies", []))
    seen: set[str] = set()
    while pending:
        urn = pending.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        if urn in ids:
            found.add(ids[urn])
        else:
            pending.extend(children.get(urn, []))
    found.discard(ids[resource["urn"]])
    return sorted(found)


def reviewed_skips(stack: str, path: Path = SUPPRESSIONS_FILE, today: dt.date | None = None) -> list[CheckovSkip]:
    """The checkov exceptions of the exception store that hold in ``stack`` and have not expired on ``today``."""
    try:
        return load_suppressions(path, stack=stack, today=today).checkov_skips()
    except GovernanceFileError as exc:
        raise ExportError(str(exc)) from None


def checkov_skips(arm_type: str, skips: list[CheckovSkip]) -> list[str]:
    """The ``metadata.checkov`` entries for a resource of ``arm_type``, ordered by check id."""
    return [
        f"checkov:skip={s.check}:{s.reason}" for s in sorted(skips, key=lambda s: s.check) if s.arm_type == arm_type
    ]


def unmapped_types(document: dict[str, Any]) -> list[str]:
    """The azure-native types of the plan that ``ARM_TYPES`` does not describe, and dynamic-provider types
    that ``NON_ARM_TYPES`` does not list."""
    return sorted(
        {
            r["type"]
            for r in document.get("resources", [])
            if (_azure_native(r) and r["type"] not in ARM_TYPES)
            or (str(r.get("type", "")).startswith("pulumi-python:dynamic") and r["type"] not in NON_ARM_TYPES)
        }
    )


def export(document: dict[str, Any], skips: list[CheckovSkip] | None = None) -> dict[str, Any]:
    """The ARM deployment template of the plan's azure-native resources (sorted by type, name and scope).

    ``skips`` replaces the reviewed checkov exceptions (those that hold in the plan's stack are written; ``[]``: a
    template without exceptions).
    """
    return export_with_urns(document, skips)[0]


def export_with_urns(
    document: dict[str, Any], skips: list[CheckovSkip] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The template and, in the order of its resources, the URN of the plan resource each one describes."""
    missing = unmapped_types(document)
    if missing:
        raise ExportError(f"no ARM type for {', '.join(missing)}: add it to ARM_TYPES in scripts/plan/arm_types.py")
    stack = str(document.get("stack") or "")
    live = reviewed_skips(stack) if skips is None else [s for s in skips if s.holds_in(stack)]
    plan_resources: list[dict[str, Any]] = list(document.get("resources", []))
    by_urn = {r["urn"]: r for r in plan_resources}
    children: dict[str, list[str]] = {}
    for r in plan_resources:
        children.setdefault(r.get("parent") or "", []).append(r["urn"])
    ids = {r["urn"]: resource_id(r) for r in plan_resources if _azure_native(r)}
    exported: list[tuple[dict[str, Any], str]] = []
    for r in plan_resources:
        if not _azure_native(r):
            continue
        spec = ARM_TYPES[r["type"]]
        top, properties = _split(r, spec)
        item: dict[str, Any] = {"type": spec.arm_type, "apiVersion": api_version(r["type"]), "name": arm_name(r)}
        if spec.extension:
            scope = r["inputs"].get(spec.scope_input)
            if scope:
                item["scope"] = scope
        item.update(top)
        if properties:
            item["properties"] = properties
        depends = _dependency_ids(r, by_urn, children, ids)
        if depends:
            item["dependsOn"] = depends
        metadata = checkov_skips(spec.arm_type, live)
        if metadata:
            item["metadata"] = {"checkov": metadata}
        exported.append((item, r["urn"]))
    exported.sort(key=lambda pair: (pair[0]["type"], pair[0]["name"], str(pair[0].get("scope", "")), pair[1]))
    template = {"$schema": SCHEMA, "contentVersion": CONTENT_VERSION, "resources": [item for item, _ in exported]}
    return template, [urn for _, urn in exported]


def dumps(template: dict[str, Any]) -> str:
    """The template as written to template.json: sorted keys, two-space indent, final newline."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"


def resource_lines(template: dict[str, Any]) -> list[tuple[int, int]]:
    """The first and last line (1-based) of each resource in ``dumps(template)``, as checkov reports them."""
    text = dumps(template)
    head = text[: text.index('"resources": [')].count("\n") + 2
    spans = []
    for item in template["resources"]:
        length = len(json.dumps(item, indent=2, sort_keys=True).splitlines())
        spans.append((head, head + length - 1))
        head += length
    return spans
