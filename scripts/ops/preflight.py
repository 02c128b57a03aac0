"""Check before ``pulumi up`` that the signed-in identity may create everything the plan holds.

    python -m scripts.ops.preflight STACK [--resource-group NAME] [--subscription ID]
    python -m scripts.ops.preflight STACK --plan build/STACK/plan.json --require-credentials
    python -m scripts.ops.preflight STACK --print-condition

Reads the offline plan (``build/STACK/plan.json``, written by ``python -m scripts.plan STACK``) and derives
from it the Azure actions ``pulumi up`` needs and at which scope: creating the resource group needs
``Microsoft.Resources/subscriptions/resourceGroups/write`` on the subscription, everything else needs its
``<type>/write`` (plus linked-access actions) in the resource group (:mod:`scripts.ops.plan_needs`). A
planned resource type that is not in :data:`scripts.ops.plan_needs.REQUIRED` is an error (exit 2): the
preflight never passes what it cannot judge.

It then signs in with ``DefaultAzureCredential`` and asks Azure Resource Manager for the identity's
effective permissions (``Microsoft.Authorization/permissions``) in the resource group given with
``--resource-group`` (its name is ``pulumi stack output resourceGroupName`` once deployed) or, when none is
given or it does not exist yet, on the subscription; it evaluates every required action against them the
way Azure does (:mod:`scripts.ops.permissions`). It also
checks that every resource provider the plan uses is registered in the subscription.

``--print-condition`` prints, without signing in, an ABAC condition for the deployer's role assignment
that lets it assign and remove only the roles the plan assigns (see docs/deployment.md).

The subscription is ``--subscription``, else ``ARM_SUBSCRIPTION_ID`` or ``AZURE_SUBSCRIPTION_ID``, else the
only subscription the identity can see.

Exit status: 0 every action granted and every provider registered, or skipped because no Azure credential
is available (2 instead with --require-credentials); 1 an action is missing or a provider is not
registered; 2 cannot judge (usage error, unreadable plan, unknown resource type, an unexpected answer).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError

from components.regions import CLOUDS
from scripts.common.cli import UsageError
from scripts.ops.arguments import (
    Argv,
    Credential,
    Transport,
    add_cloud,
    add_require_credentials,
    command_parser,
    resolve_cloud,
)
from scripts.ops.azure_mgmt import (
    ARM_ENDPOINTS,
    ArmClient,
    ArmError,
    ArmStatusError,
    FirstTokenReader,
    NoCredentialError,
    no_token_reason,
    read_json_object,
    request_failure,
    signed_in,
)
from scripts.ops.permissions import Finding, Permission, evaluate, granted_by, parse_permissions
from scripts.ops.plan_needs import CannotJudgeError, assignment_condition, requirements

# These three are the only API versions recorded outside scripts/plan/arm_types.py: the blueprint deploys none of
# these types (permissions, providers, subscriptions), it only reads them here.
# Permissions - List For Resource Group / List For Resource, in the Azure REST API specs:
# specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
# authorization-RoleDefinitionsCalls.json
# ARM answers the same operation on a subscription (/subscriptions/{id}/providers/Microsoft.Authorization/permissions),
# which that spec does not list; an unexpected answer there is "cannot judge" (exit 2), never a pass.
PERMISSIONS_API = "2022-04-01"
# Providers - List, Resource Groups, Subscriptions - List:
# specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/resources.json,
# specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/subscriptions.json
RESOURCES_API = "2021-04-01"
SUBSCRIPTIONS_API = "2022-12-01"
MAX_PAGES = 50
"""A paged answer longer than this is treated as an unexpected answer."""

USER_AGENT = "secure-ml-preflight"
HINTS = {401: " (sign in again: az login)"}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GROUP_NAME = re.compile(r"^[-\w.()]{1,90}$")


# ---------------------------------------------------------------------------------------------
# Azure Resource Manager
# ---------------------------------------------------------------------------------------------


class Arm(FirstTokenReader):
    """GETs of ARM documents: the first one tells whether there is a credential at all."""

    def get(self, url: str) -> dict[str, Any]:
        try:
            document = self.fetch(url)
        except ClientAuthenticationError as exc:
            raise CannotJudgeError(no_token_reason(self.arm, exc)) from None
        except AzureError as exc:  # no answer after the retries (ArmError is not an AzureError)
            raise CannotJudgeError(request_failure(exc)) from None
        if not isinstance(document, dict):
            raise CannotJudgeError(f"GET {url}: the answer is not a JSON object")
        return document

    def get_all(self, path: str, api_version: str) -> list[Any]:
        """Every item of the paged list at ``path`` (following ``nextLink``)."""
        url: str | None = f"{self.arm}{path}?api-version={api_version}"
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            page = self.get(url)
            value = page.get("value")
            if not isinstance(value, list):
                raise CannotJudgeError(f"GET {path}: the answer has no value array")
            items += value
            next_link = page.get("nextLink")
            if next_link is not None and not (isinstance(next_link, str) and next_link.startswith(self.arm + "/")):
                raise CannotJudgeError(f"GET {path}: a nextLink outside {self.arm}")
            url = next_link
        if url is not None:
            raise CannotJudgeError(f"GET {path}: more than {MAX_PAGES} pages")
        return items


def choose_subscription(arm: Arm, given: str | None) -> str:
    """``given``, else the only subscription the identity sees (:class:`CannotJudgeError` for none or several)."""
    if given:
        return given
    subscriptions = [s for s in arm.get_all("/subscriptions", SUBSCRIPTIONS_API) if isinstance(s, dict)]
    ids = sorted(str(s.get("subscriptionId")) for s in subscriptions if s.get("state", "Enabled") == "Enabled")
    if len(ids) != 1:
        raise CannotJudgeError(
            f"the identity sees {len(ids)} enabled subscriptions: name one with --subscription or ARM_SUBSCRIPTION_ID"
        )
    return ids[0]


def read_permissions(arm: Arm, subscription: str, resource_group: str | None) -> tuple[str, list[Permission]]:
    """The scope checked (its ARM path) and the identity's permissions there.

    The resource group if named and present, else the subscription.
    """
    if resource_group is not None:
        path = f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        try:
            return path, parse_permissions(
                arm.get_all(f"{path}/providers/Microsoft.Authorization/permissions", PERMISSIONS_API)
            )
        except ArmStatusError as exc:
            if exc.status != 404:
                raise
    path = f"/subscriptions/{subscription}"
    return path, parse_permissions(
        arm.get_all(f"{path}/providers/Microsoft.Authorization/permissions", PERMISSIONS_API)
    )


def unregistered(arm: Arm, subscription: str, needed: set[str]) -> dict[str, str]:
    """Namespace -> registration state of every needed provider that is not Registered."""
    states: dict[str, str] = {}
    for provider in arm.get_all(f"/subscriptions/{subscription}/providers", RESOURCES_API):
        if isinstance(provider, dict) and isinstance(provider.get("namespace"), str):
            states[provider["namespace"].lower()] = str(provider.get("registrationState"))
    return {
        namespace: states.get(namespace.lower(), "NotFound")
        for namespace in sorted(needed)
        if states.get(namespace.lower()) != "Registered"
    }


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def load_plan(path: Path) -> dict[str, Any]:
    """The plan.json of scripts.plan, read strictly (:mod:`scripts.common.safeload`); :class:`UsageError` naming it."""
    if not path.exists():
        raise UsageError(f"--plan {path}: no such plan; run `make plan` first")
    return read_json_object(path, "--plan", "plan", "the JSON object of scripts.plan")


EXIT_STATUS = "Exit status: 0 all granted (or skipped: no Azure credential); 1 something missing; 2 cannot judge."


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("preflight", __doc__, EXIT_STATUS)
    parser.add_argument("--plan", type=Path, help="plan.json to check (default: build/STACK/plan.json)")
    parser.add_argument("--subscription", help="subscription ID (default: ARM_SUBSCRIPTION_ID, AZURE_SUBSCRIPTION_ID)")
    parser.add_argument(
        "--resource-group",
        help="the stack's resource group, once it exists (pulumi stack output resourceGroupName)",
    )
    add_cloud(parser)
    add_require_credentials(parser, status=2, when="before")
    parser.add_argument(
        "--print-condition",
        action="store_true",
        help="print the role assignment condition that limits the deployer to the roles the plan assigns, and exit",
    )
    return parser


def _subscription(args: argparse.Namespace) -> str | None:
    value: str | None = (
        args.subscription or os.environ.get("ARM_SUBSCRIPTION_ID") or os.environ.get("AZURE_SUBSCRIPTION_ID")
    )
    if value and not _GUID.match(value):
        raise UsageError(f"subscription: expected a subscription ID (GUID), found {value!r}")
    return value or None


def report(stack: str, scope: str, findings: Sequence[Finding], providers: Mapping[str, str]) -> Iterator[str]:
    yield f"Preflight of stack {stack}: permissions checked at {scope}"
    if findings:
        rows = [("scope", "action", "result", "granted by (built-in role)", "needed by")]
        rows += [(f.scope, f.action, f.status, granted_by(f.action), ", ".join(f.needed_by)) for f in findings]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            yield "  " + "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
    if providers:
        yield "resource providers not registered (az provider register --namespace NAME):"
        for namespace, state in providers.items():
            yield f"  {namespace}  {state}"
    missing = sum(f.status == "MISSING" for f in findings)
    conditional = len(findings) - missing
    yield (
        f"{missing} action(s) missing, {conditional} granted only under a condition, "
        f"{len(providers)} provider(s) not registered"
    )


def main(argv: Argv = None, *, credential: Credential = None, transport: Transport = None) -> int:
    """Run the preflight; ``credential`` and ``transport`` replace DefaultAzureCredential and HTTP."""
    try:
        args = _parser().parse_args(argv)
        cloud = resolve_cloud(args)
        subscription = _subscription(args)
        if args.resource_group is not None and not _GROUP_NAME.match(args.resource_group):
            raise UsageError(f"--resource-group: not a resource group name: {args.resource_group!r}")
        plan = args.plan or args.project_dir / "build" / args.stack / "plan.json"
        document = load_plan(plan)
        try:
            needs = requirements(document)
            condition = assignment_condition(document) if args.print_condition else None
        except CannotJudgeError as exc:
            raise UsageError(f"--plan {plan}: {exc}") from None
        if condition is not None:
            print(condition)
            return 0
    except (UsageError, CannotJudgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    arm = ARM_ENDPOINTS[cloud]
    try:
        with signed_in(arm, CLOUDS[cloud].login_host, credential, transport) as pipeline:
            reader = Arm(ArmClient(pipeline, USER_AGENT, HINTS), arm)
            subscription = choose_subscription(reader, subscription)
            scope, permissions = read_permissions(reader, subscription, args.resource_group)
            providers = unregistered(reader, subscription, needs.providers)
    except NoCredentialError as exc:
        if args.require_credentials:
            print(f"error: no Azure credential, nothing checked: {exc}", file=sys.stderr)
            return 2
        print(f"skipped, nothing checked: {exc}")
        return 0
    except (CannotJudgeError, ArmError) as exc:
        print(f"error: cannot judge the permissions: {exc}", file=sys.stderr)
        return 2

    findings = evaluate(needs, permissions)
    print("\n".join(report(args.stack, scope, findings, providers)))
    return 1 if providers or any(f.status == "MISSING" for f in findings) else 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
