"""Run the Pulumi program in-process under Pulumi's mock engine, with no CLI, cloud or network.

The program (``__main__.py``) runs unchanged. Every resource registration is recorded exactly as the
engine would receive it: type token, logical name, parent, dependencies, ``protect`` and the input
properties in the provider's own (camelCase) names. Mocked outputs are deterministic and shaped like
Azure's (ARM resource IDs, principal IDs derived from the URN, scoring URIs), so every code path of
the program runs.

One departure from a stock mock run, for speed: resource aliases are dropped before registration.
Aliases only map old state to new URNs during ``pulumi up``; an offline plan has no state, and
computing ~30 alias URNs per azure-native resource costs most of a mock run's time.
"""

from __future__ import annotations

import ipaddress
import json
import os
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.resource
import pulumi.runtime
import pulumi.runtime.config
from pulumi.runtime import mocks, rpc
from pulumi.runtime.settings import get_root_resource, set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from scripts.common import stackfile
from scripts.common.paths import ROOT
from scripts.common.safeload import InputError
from scripts.plan.arm_types import AUTONAMED_FLAG, arm_id, check_inputs, principal_id

SECRET = "[secret]"
UNKNOWN = "[unknown]"

FAKE_CLIENT_CONFIG = {
    "clientId": "11111111-1111-4111-8111-111111111111",
    "objectId": "22222222-2222-4222-8222-222222222222",
    "subscriptionId": "00000000-0000-4000-8000-000000000000",
    "tenantId": "33333333-3333-4333-8333-333333333333",
}
"""The identity the program sees in place of ``az login``: a fixed fake subscription and tenant."""


class PlanError(Exception):
    """The plan could not be made (missing stack file, unreadable YAML); exit status 2."""


@dataclass
class Registration:
    """One resource as the engine received it."""

    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool


# ---------------------------------------------------------------------------------------------
# Stack config
# ---------------------------------------------------------------------------------------------


def project_name(root: Path = ROOT) -> str:
    """The ``name:`` of ``Pulumi.yaml`` (read strictly, like every stack file)."""
    try:
        return stackfile.project_name(root)
    except InputError as exc:
        raise PlanError(str(exc)) from None


def stack_config(stack: str, root: Path = ROOT) -> dict[Any, Any]:
    """The ``config:`` mapping of ``stacks/Pulumi.<stack>.yaml``, keys and values as written, read by
    :func:`scripts.common.stackfile.read_stack_file` (what it refuses is a :class:`PlanError`)."""
    try:
        return stackfile.read_stack_file(stack, root).config
    except InputError as exc:
        raise PlanError(str(exc)) from None


def read_stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """Read ``stacks/Pulumi.<stack>.yaml`` into the engine's config form (namespaced key -> string).

    Structured values become JSON text, as the engine passes them. ``secure:`` values are never
    decrypted: they become an opaque placeholder and their keys are marked secret.
    """
    project = project_name(root)
    try:
        config = stackfile.read_stack_file(stack, root, project).config
    except InputError as exc:
        raise PlanError(str(exc)) from None
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        full = key if ":" in str(key) else f"{project}:{key}"
        opaque, is_secret = _opaque_secrets(value)
        if is_secret:
            secret_keys.append(full)
        # Top-level scalars travel as their text, structured values as JSON (as the engine sends them). The CLI
        # reads a value as text first, and YAML null read as text is empty: `key: null` is "" (unmarshalValue in
        # https://github.com/pulumi/pulumi/blob/master/sdk/go/common/resource/config/value.go).
        if opaque is None:
            values[full] = ""
        else:
            values[full] = opaque if isinstance(opaque, str) else json.dumps(opaque)
    return values, secret_keys


def _opaque_secrets(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET, True
        pairs = {k: _opaque_secrets(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_opaque_secrets(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


# ---------------------------------------------------------------------------------------------
# Mocks
# ---------------------------------------------------------------------------------------------


class PlanMocks(pulumi.runtime.Mocks):
    """Deterministic, Azure-shaped outputs for every resource and invoke."""

    def __init__(self, stack: str, project: str) -> None:
        self.stack = stack
        self.project = project
        self.subnet_prefixes: dict[str, str] = {}
        """Address prefix of every subnet created so far, by resource ID."""

    def _private_address(self, inputs: dict[str, Any]) -> str:
        """The private virtual IP Azure gives a VNet-injected API Management service: the first address of
        its subnet that Azure does not reserve (the first four are reserved). A subnet the plan does not
        create (an existing spoke) gets the same offset in 10.0.0.0/24."""
        subnet = str((inputs.get("virtualNetworkConfiguration") or {}).get("subnetResourceId", ""))
        network = ipaddress.ip_network(self.subnet_prefixes.get(subnet, "10.0.0.0/24"))
        return str(network.network_address + 4)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        urn = f"urn:pulumi:{self.stack}::{self.project}::{args.typ}::{args.name}"
        inputs = check_inputs(args.typ, args.name, dict(args.inputs))
        outputs = {k: v for k, v in inputs.items() if k != AUTONAMED_FLAG}
        resource_id = arm_id(args.typ, args.name, inputs, FAKE_CLIENT_CONFIG["subscriptionId"])
        outputs["id"] = resource_id
        outputs.setdefault("name", resource_id.rsplit("/", 1)[-1])
        identity = args.inputs.get("identity")
        if isinstance(identity, dict):
            shaped = dict(identity)
            if "SystemAssigned" in str(identity.get("type", "")):
                shaped["principalId"] = principal_id(urn)
                shaped["tenantId"] = FAKE_CLIENT_CONFIG["tenantId"]
            assigned = identity.get("userAssignedIdentities")
            if isinstance(assigned, list):
                # Inputs list identity IDs; Azure answers with a map of ID -> principal and client IDs.
                shaped["userAssignedIdentities"] = {
                    uid: {"principalId": principal_id(f"{uid}#principal"), "clientId": principal_id(f"{uid}#client")}
                    for uid in assigned
                }
            outputs["identity"] = shaped
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs["principalId"] = principal_id(urn)
            outputs["clientId"] = principal_id(urn + "#client")
            outputs["tenantId"] = FAKE_CLIENT_CONFIG["tenantId"]
        if args.typ == "azure-native:machinelearningservices:OnlineEndpoint":
            location = args.inputs.get("location", "westeurope")
            endpoint = args.inputs.get("endpointName") or resource_id.rsplit("/", 1)[-1]
            outputs["properties"] = {
                **args.inputs.get("properties", {}),
                "scoringUri": f"https://{endpoint}.{location}.inference.ml.azure.com/score",
            }
        if args.typ == "azure-native:keyvault:Vault":
            vault = resource_id.rsplit("/", 1)[-1]
            outputs["properties"] = {
                **args.inputs.get("properties", {}),
                "vaultUri": f"https://{vault}.vault.azure.net/",
            }
        if args.typ == "azure-native:keyvault:Key":
            key_uri = f"https://{args.inputs.get('vaultName')}.vault.azure.net/keys/{resource_id.rsplit('/', 1)[-1]}"
            outputs["keyUri"] = key_uri
            outputs["keyUriWithVersion"] = f"{key_uri}/{principal_id(urn + '#version').replace('-', '')}"
        if args.typ == "azure-native:network:Subnet" and isinstance(args.inputs.get("addressPrefix"), str):
            self.subnet_prefixes[resource_id] = args.inputs["addressPrefix"]
        if args.typ == "azure-native:apimanagement:ApiManagementService":
            outputs["privateIPAddresses"] = [self._private_address(args.inputs)]
        if args.typ == "azure-native:operationalinsights:Workspace":
            outputs["customerId"] = principal_id(urn + "#customer")
        if args.typ == "azure-native:applicationinsights:Component":
            outputs["connectionString"] = f"InstrumentationKey={principal_id(urn + '#ikey')}"
            outputs["instrumentationKey"] = principal_id(urn + "#ikey")
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return dict(FAKE_CLIENT_CONFIG), []
        raise PlanError(f"the offline plan has no mock for the function {args.token}")


class RecordingMonitor(mocks.MockMonitor):
    """Mock monitor that keeps every registration as the engine would see it."""

    def __init__(self, plan_mocks: PlanMocks) -> None:
        super().__init__(plan_mocks)
        self.registrations: dict[str, Registration] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the parent's whole qualified type chain, without the stack."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        self.registrations[urn] = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            # the inputs after the provider's Check (what the engine stores and CrossGuard sees)
            inputs=check_inputs(
                request.type, request.name, _plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
            ),
            dependencies=sorted(set(request.dependencies)),
            protect=bool(request.protect),
        )
        return response


def _plain(value: Any) -> Any:
    """Inputs as JSON: secrets become "[secret]", values not known at plan time "[unknown]"."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ---------------------------------------------------------------------------------------------
# Running the program
# ---------------------------------------------------------------------------------------------


@contextmanager
def _without_aliases() -> Iterator[None]:
    original = pulumi.resource.Resource.__init__

    def init(
        self: Any, t: str, name: str, custom: bool, props: Any = None, opts: Any = None, *a: Any, **kw: Any
    ) -> None:
        if opts is not None and opts.aliases:
            opts = opts._copy()
            opts.aliases = None
        original(self, t, name, custom, props, opts, *a, **kw)

    pulumi.resource.Resource.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.resource.Resource.__init__ = original  # type: ignore[method-assign]


@dataclass
class ProgramRun:
    project: str
    stack: str
    registrations: dict[str, Registration]
    outputs: dict[str, Any]


def run_program(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    project: str,
    program: Path = ROOT / "__main__.py",
) -> ProgramRun:
    """Run ``program`` under the mock engine with ``config``; return what it registered."""
    plan_mocks = PlanMocks(stack, project)
    monitor = RecordingMonitor(plan_mocks)
    set_root_resource(None)  # type: ignore[arg-type]  # a fresh stack resource for every run
    pulumi.runtime.set_mocks(plan_mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.config.set_all_config(dict(config), list(secret_keys))
    os.environ.pop("PULUMI_CONFIG", None)
    sys.path.insert(0, str(program.parent))
    try:
        with _without_aliases():
            _sync_await(run_pulumi_func(lambda: _run_main(program)))
            outputs = _stack_outputs()
    finally:
        sys.path.remove(str(program.parent))
    return ProgramRun(project, stack, monitor.registrations, outputs)


def _run_main(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def _stack_outputs() -> dict[str, Any]:
    root = get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for name, value in exported.items():
        out = pulumi.Output.from_input(value)
        is_secret = _sync_await(out._is_secret)
        resolved[name] = SECRET if is_secret else _plain(_sync_await(out.future(with_unknowns=True)))
    return resolved
