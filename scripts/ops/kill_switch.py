"""Kill switch: stop (or resume) every model API of a stack at the gateway now, without ``pulumi up``.

    python -m scripts.ops.kill_switch STACK --from-outputs outputs.json --reason "INC-123: ..." --dry-run
    python -m scripts.ops.kill_switch STACK --from-outputs outputs.json --reason "INC-123: ..."
    python -m scripts.ops.kill_switch STACK --from-outputs outputs.json --resume

For each endpoint of ``stacks/Pulumi.STACK.yaml`` the script replaces the policy of its API on the
environment's API Management service through Azure Resource Manager, signed in with
``DefaultAzureCredential`` (no keys). The policy is rendered by ``components.gateway_policy.render`` from
the stack's validated settings, so it is byte-identical to what ``pulumi up`` applies with
``gateway.suspended`` on (or, with ``--resume``, off). Each change is read back and checked.

The service name carries a hash of the subscription and stack, so it is not in the stack file: pass
``--from-outputs`` with the JSON of ``pulumi stack output --json`` (its ``gatewayId`` names the subscription,
resource group and service, its ``gatewayPolicy`` the tenant), or ``--subscription``, ``--resource-group``,
``--service`` and ``--tenant``.

Exit status: 0 every API changed and verified (or a dry run); 1 any API failed; 2 usage or configuration
error.

The module is one job, suspending or resuming the gateway, kept whole (about 450 lines) so an operator
reads in one place, during an incident, everything the switch does: where the gateway is, the policy it
sends, how each change is verified and what to record in the stack file afterwards. What it shares with the
other ops commands (signing in, ARM requests, the stack file, arguments) is in :mod:`scripts.ops.azure_mgmt`
and :mod:`scripts.ops.arguments`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.rest import HttpRequest
from pydantic import TypeAdapter, ValidationError

from components.config import (
    MIN_REASON_LENGTH,
    PROJECT,
    ConfigError,
    Settings,
    Switch,
    stack_file,
    top_level_keys,
    validate,
)
from components.gateway_policy import PolicySettings, render
from components.gateway_policy import policy_settings as gateway_policy_settings
from components.regions import CLOUDS
from scripts.common.cli import UsageError
from scripts.common.paths import ROOT
from scripts.ops import azure_mgmt
from scripts.ops.arguments import (
    Argv,
    Credential,
    Transport,
    add_from_outputs,
    command_parser,
)
from scripts.ops.azure_mgmt import (
    ARM_ENDPOINTS,
    ArmBodyError,
    ArmClient,
    ArmError,
    no_token_reason,
    parse_resource_id,
    read_stack,
    request_failure,
    scope_of,
    shown,
    signed_in,
)
from scripts.plan.arm_types import arm_api_version

API_VERSION = arm_api_version("Microsoft.ApiManagement/service/apis/policies")
"""Microsoft.ApiManagement API version of the policy requests: the one the blueprint deploys the policies with."""

USER_AGENT = "secure-ml-kill-switch"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_SERVICE = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$")
_POLICY_TENANT = re.compile(r'<openid-config url="https://[^/"]+/(?P<tenant>[0-9a-fA-F-]{36})/v2\.0/')
_SUSPEND_BLOCK = re.compile(
    r"<return-response\b(?:(?!</return-response>).)*?<set-status\b[^>]*\bcode\s*=\s*[\"']503[\"']", re.DOTALL
)
"""The 503 ``return-response`` of the suspend policy, whatever the attribute order and whitespace."""

_SWITCH = TypeAdapter(Switch)

HINTS = {
    401: " (sign in again: az login)",
    403: " (your identity needs Microsoft.ApiManagement/service/apis/policies/write on the service,"
    " for example through API Management Service Contributor)",
    404: " (check the service, resource group and subscription, and that this endpoint is deployed)",
}
"""What to do about an ARM error answer, by status code."""

PUT_HEADERS = {"If-Match": "*"}
"""``If-Match: *`` replaces whatever policy is there: API Management requires an ETag to update an
existing entity, and during an incident the current one must not matter."""


@dataclass(frozen=True)
class Target:
    """The API Management service of the environment and the tenant whose tokens it accepts."""

    subscription: str
    resource_group: str
    service: str
    tenant: str


@dataclass(frozen=True)
class Outcome:
    """What happened to one model API."""

    api: str
    error: str | None
    """None if the policy was changed and verified, else a one-line reason."""


# ---------------------------------------------------------------------------------------------
# Stack settings and the policy
# ---------------------------------------------------------------------------------------------


def load_settings(stack: str, root: Path = ROOT) -> Settings:
    """Validate ``stacks/Pulumi.<stack>.yaml`` as the program and the offline plan do."""
    settings = read_stack(stack, root).settings(PROJECT)
    known = top_level_keys()
    values = {name: value for name, value in settings.items() if name in known}
    unknown = [name for name in settings if name not in known]
    return validate(values, stack, sorted(unknown))


def model_apis(settings: Settings) -> list[str]:
    """API IDs the gateway publishes: one per endpoint, named after it, in stack-file order."""
    return [endpoint.name for ws in settings.workspaces for endpoint in ws.endpoints]


def policy_settings(settings: Settings, tenant: str, suspended: bool) -> PolicySettings:
    """The gateway component's policy inputs for these settings, with ``suspended`` as asked."""
    return gateway_policy_settings(settings.gateway, tenant, CLOUDS[settings.cloud].login_host, suspended=suspended)


def is_suspended(policy_xml: str) -> bool:
    """True if a policy document answers every call with the kill switch's 503."""
    return _SUSPEND_BLOCK.search(policy_xml) is not None


def checked_reason(reason: str) -> str:
    """The reason as the stack config would store it; :class:`UsageError` if the config would refuse it."""
    try:
        switch = _SWITCH.validate_python({"enabled": True, "reason": reason})
    except ValidationError:
        length = len(reason.strip())
        raise UsageError(
            f"--reason: expected at least {MIN_REASON_LENGTH} and at most 500 characters "
            f"(the rule of gateway.suspended.reason), found {length}"
        ) from None
    assert switch.reason is not None
    return switch.reason


# ---------------------------------------------------------------------------------------------
# Where the gateway is
# ---------------------------------------------------------------------------------------------


def read_outputs(path: Path) -> dict[str, str]:
    """Subscription, resource group, service and (if present) tenant from ``pulumi stack output --json``."""
    document = azure_mgmt.read_outputs(path)
    gateway_id = document.get("gatewayId")
    if not isinstance(gateway_id, str):
        raise UsageError(f"--from-outputs {path}: no gatewayId output (is this the right stack?)")
    parsed = parse_resource_id(gateway_id)
    if parsed is None or not parsed.is_a("Microsoft.ApiManagement/service"):
        raise UsageError(
            f"--from-outputs {path}: gatewayId is not an API Management service ID, found {shown(gateway_id)}"
        )
    found = {"subscription": parsed.subscription, "resource_group": parsed.resource_group, "service": parsed.name}
    group = document.get("resourceGroupName")
    if isinstance(group, str) and group.lower() != found["resource_group"].lower():
        raise UsageError(
            f"--from-outputs {path}: resourceGroupName {shown(group)} is not the resource group of gatewayId "
            f"({found['resource_group']!r})"
        )
    policy = document.get("gatewayPolicy")
    tenant = _POLICY_TENANT.search(policy) if isinstance(policy, str) else None
    if tenant is not None:
        found["tenant"] = tenant["tenant"]
    return found


def resolve_target(args: argparse.Namespace) -> Target:
    """Combine ``--from-outputs`` with the explicit arguments; they must agree where both are given."""
    found = read_outputs(args.from_outputs) if args.from_outputs else {}
    values: dict[str, str] = {}
    missing: list[str] = []
    for field in ("subscription", "resource_group", "service", "tenant"):
        option = "--" + field.replace("_", "-")
        explicit: str | None = getattr(args, field)
        known = found.get(field)
        if explicit is not None and known is not None and explicit.lower() != known.lower():
            raise UsageError(f"{option} {explicit!r} contradicts --from-outputs ({shown(known)})")
        value = explicit if explicit is not None else known
        if value is None:
            missing.append(option)
        else:
            values[field] = value
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (give them, or --from-outputs FILE)")
    for field, pattern, expected in (
        ("subscription", _GUID, "a subscription ID (GUID)"),
        ("tenant", _GUID, "a tenant ID (GUID)"),
        ("resource_group", _RESOURCE_GROUP, "a resource group name"),
        ("service", _SERVICE, "an API Management service name"),
    ):
        if not pattern.match(values[field]):
            raise UsageError(f"--{field.replace('_', '-')}: expected {expected}, found {shown(values[field])}")
    return Target(**values)


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def policy_url(arm: str, target: Target, api: str) -> str:
    """ARM URL of the policy of one model API."""
    return (
        f"{arm}/subscriptions/{target.subscription}/resourceGroups/{target.resource_group}"
        f"/providers/Microsoft.ApiManagement/service/{target.service}/apis/{api}/policies/policy"
        f"?api-version={API_VERSION}"
    )


def policy_body(policy_xml: str) -> dict[str, Any]:
    """The properties of the gateway's ApiPolicy resource (format xml, value)."""
    return {"properties": {"format": "xml", "value": policy_xml}}


def read_back_url(url: str) -> str:
    """The policy read back as an XML document."""
    return f"{url}&format=xml"


def put_request(url: str, policy_xml: str) -> HttpRequest:
    """Replace the policy (the request :func:`apply_one` sends first)."""
    return azure_mgmt.put_request(url, policy_body(policy_xml), USER_AGENT, PUT_HEADERS)


def get_request(url: str) -> HttpRequest:
    """Read the policy back (the request :func:`apply_one` sends second)."""
    return azure_mgmt.get_request(read_back_url(url), USER_AGENT)


def describe(request: HttpRequest, scope: str) -> str:
    """A request as it goes on the wire, with the bearer token left out."""
    lines = [f"{request.method} {request.url}", f"Authorization: Bearer <token for {scope}>"]
    lines += [f"{name}: {value}" for name, value in sorted(request.headers.items())]
    if isinstance(request.content, bytes):
        lines += ["", request.content.decode()]
    return "\n".join(lines)


def apply_one(client: ArmClient, url: str, policy_xml: str, suspend: bool) -> str | None:
    """PUT the policy, GET it back and check it; None on success, else a one-line reason."""
    try:
        client.put_json(url, policy_body(policy_xml), PUT_HEADERS)
    except ArmError as exc:
        return f"PUT failed: {exc}"
    no_value = "verification failed: the policy read back has no properties.value"
    try:
        document = client.get_json(read_back_url(url))
    except ArmBodyError:
        return no_value
    except ArmError as exc:
        return f"verification GET failed: {exc}"
    try:
        value = document["properties"]["value"]
    except (KeyError, TypeError):
        return no_value
    if not isinstance(value, str):
        return no_value
    if is_suspended(value) != suspend:
        state = "does not contain" if suspend else "still contains"
        return f"verification failed: the policy read back {state} the 503 return-response"
    return None


def apply_all(
    client: ArmClient,
    arm: str,
    target: Target,
    apis: Sequence[str],
    policy_xml: str,
    suspend: bool,
) -> Iterator[Outcome]:
    """Apply the policy to every API in turn, yielding each outcome as it is known.

    Without a token nothing can succeed, so the first authentication failure ends the run for all the
    APIs not yet done.
    """
    for i, api in enumerate(apis):
        try:
            error = apply_one(client, policy_url(arm, target, api), policy_xml, suspend)
        except ClientAuthenticationError as exc:
            reason = no_token_reason(arm, exc)
            yield from (Outcome(name, reason) for name in apis[i:])
            return
        except AzureError as exc:
            error = request_failure(exc)
        yield Outcome(api, error)


# ---------------------------------------------------------------------------------------------
# What to record in the stack file
# ---------------------------------------------------------------------------------------------


def record_instructions(stack: str, settings: Settings, suspend: bool, reason: str | None) -> str:
    """What the operator must change in the stack file so that the next ``pulumi up`` keeps this state."""
    current = settings.gateway.suspended
    path = stack_file(stack)
    if suspend:
        if current.enabled:
            return f"{path} already has gateway.suspended on (reason: {current.reason}); nothing to add."
        flow = yaml.safe_dump(
            {"enabled": True, "reason": reason}, default_flow_style=True, sort_keys=False, width=10_000
        ).strip()
        return "\n".join(
            [
                f"Record it in {path} now, or the next `pulumi up` puts the old policy back.",
                f"Add this key to the existing {PROJECT}:gateway mapping:",
                "",
                f"  {PROJECT}:gateway:",
                "    # ...the existing gateway keys stay as they are...",
                f"    suspended: {flow}",
            ]
        )
    if current.enabled:
        return "\n".join(
            [
                f"Record it in {path} now, or the next `pulumi up` suspends the gateway again.",
                f"Remove the suspended block from the {PROJECT}:gateway mapping:",
                "",
                f"  {PROJECT}:gateway:",
                f"    suspended: ...   # delete this key (reason was: {current.reason})",
            ]
        )
    return f"{path} does not suspend the gateway; nothing to change there."


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


EXIT_STATUS = "Exit status: 0 done and verified (or dry run); 1 an API failed; 2 usage or configuration error."


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("kill_switch", __doc__, EXIT_STATUS, stack="stack name: reads stacks/Pulumi.STACK.yaml")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--reason", help=f"why traffic is stopped (required to suspend, >= {MIN_REASON_LENGTH} chars)")
    action.add_argument("--resume", action="store_true", help="put the normal policy back")
    parser.add_argument("--dry-run", action="store_true", help="print the requests; send nothing")
    add_from_outputs(parser)
    parser.add_argument("--subscription", help="subscription ID of the gateway")
    parser.add_argument("--resource-group", help="resource group of the gateway")
    parser.add_argument("--service", help="API Management service name")
    parser.add_argument("--tenant", help="Entra tenant ID whose tokens the gateway accepts")
    return parser


def main(argv: Argv = None, *, credential: Credential = None, transport: Transport = None) -> int:
    """Run the kill switch; ``credential`` and ``transport`` replace DefaultAzureCredential and HTTP."""
    try:
        args = _parser().parse_args(argv)
        suspend = not args.resume
        if suspend and args.reason is None:
            raise UsageError("--reason is required to suspend (or give --resume)")
        reason = checked_reason(args.reason) if suspend else None
        settings = load_settings(args.stack, args.project_dir)
        apis = model_apis(settings)
        if not apis:
            raise UsageError(f"{stack_file(args.stack)} declares no endpoints: the gateway has no model API")
        target = resolve_target(args)
    except (UsageError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    arm = ARM_ENDPOINTS[settings.cloud]
    scope = scope_of(arm)
    policy_xml = render(policy_settings(settings, target.tenant, suspended=suspend))
    verb = "Suspending" if suspend else "Resuming"
    where = f"service {target.service} (resource group {target.resource_group}, subscription {target.subscription})"

    if args.dry_run:
        print(f"Dry run, nothing is sent. {verb} {len(apis)} model API(s) of stack {args.stack} on {where} would send:")
        for api in apis:
            url = policy_url(arm, target, api)
            print()
            print(describe(put_request(url, policy_xml), scope))
            print()
            print(describe(get_request(url), scope))
            print(
                f"  (then check that the returned properties.value {'contains' if suspend else 'lacks'} "
                "the 503 return-response)"
            )
        return 0

    print(f"{verb} {len(apis)} model API(s) of stack {args.stack} on {where}:")
    done = "suspended (answers 503)" if suspend else "resumed (normal policy)"
    outcomes: list[Outcome] = []
    with signed_in(arm, CLOUDS[settings.cloud].login_host, credential, transport) as pipeline:
        client = ArmClient(pipeline, USER_AGENT, HINTS)
        for outcome in apply_all(client, arm, target, apis, policy_xml, suspend):
            outcomes.append(outcome)
            if outcome.error is None:
                print(f"  {outcome.api}: {done}, verified", flush=True)
            else:
                print(f"error: {outcome.api}: {outcome.error}", file=sys.stderr, flush=True)

    failed = [o.api for o in outcomes if o.error is not None]
    if len(failed) < len(outcomes):
        print()
        print(record_instructions(args.stack, settings, suspend, reason))
    if failed:
        state = "serving traffic" if suspend else "suspended"
        names = ", ".join(failed)
        print(
            f"error: {len(failed)} of {len(outcomes)} model API(s) failed and may still be {state}: {names}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
