"""Azure Resource Manager access shared by the operational scripts (the kill switch, the live verification).

- the ARM endpoint of each Azure cloud the blueprint supports;
- one HTTP pipeline: Entra bearer tokens from a ``TokenCredential`` (``DefaultAzureCredential`` in real
  use), retries of throttling, server errors and dropped connections, and a replaceable transport;
- JSON requests whose failures are an :class:`ArmError` with a one-line message;
- reading the stack file and the JSON of ``pulumi stack output --json``, and parsing resource IDs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core import tools as arm_ids

from components.config import PROJECT
from scripts.common.cli import UsageError
from scripts.common.safeload import InputError, load_json, read_json
from scripts.common.stackfile import StackFile, read_stack_file

ARM_ENDPOINTS = {
    "AzurePublicCloud": "https://management.azure.com",
    "AzureUSGovernment": "https://management.usgovcloudapi.net",
    "AzureChinaCloud": "https://management.chinacloudapi.cn",
}
"""Azure Resource Manager endpoint of each cloud (``cloud`` in the stack file)."""

# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its whitespace collapsed, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def shown(value: object, limit: int = 300) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value read from a file, quoted in a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scope_of(arm: str) -> str:
    """The token scope of an ARM endpoint."""
    return f"{arm}/.default"


def no_token_reason(arm: str, exc: Exception) -> str:
    """``no Azure token for <scope>: <first line of the credential's error>``."""
    first = next(iter(str(exc).splitlines()), "")
    return f"no Azure token for {scope_of(arm)}: {one_line(first)}"


def request_failure(exc: AzureError) -> str:
    """A request that got no answer (after the retries): ``request failed: <reason>``."""
    return f"request failed: {one_line(str(exc)) or type(exc).__name__}"


class ArmError(Exception):
    """A request to Azure Resource Manager that did not get the expected answer; ``str()`` is one line."""


class ArmStatusError(ArmError):
    """ARM answered with an unexpected HTTP status."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        """The ``error.code`` of ARM's answer, such as AuthorizationFailed, if it had one."""

    @property
    def short(self) -> str:
        """``HTTP 403 AuthorizationFailed``: status and error code only."""
        return f"HTTP {self.status} {self.code}" if self.code else f"HTTP {self.status}"


class ArmBodyError(ArmError):
    """ARM answered with the expected status but a body that is not JSON."""


def arm_error(response: HttpResponse, hints: Mapping[int, str] | None = None) -> ArmStatusError:
    """``HTTP 403 AuthorizationFailed: <message><hint>`` from an ARM error response.

    ``hints`` maps a status code to text appended to the message, such as the role that is missing.
    """
    parts: list[str] = []
    code: str | None = None
    try:
        error = load_json(response.text(), "ARM", "error answer").get("error") or {}
        parts = [str(error[key]) for key in ("code", "message") if error.get(key)]
        code = str(error["code"]) if error.get("code") else None
    except (InputError, ValueError, AttributeError):
        parts = []
    detail = f" {one_line(': '.join(parts), 600)}" if parts else ""
    hint = (hints or {}).get(response.status_code, "")
    return ArmStatusError(response.status_code, code, f"HTTP {response.status_code}{detail}{hint}")


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def build_pipeline(
    arm: str, credential: TokenCredential, transport: HttpTransport[HttpRequest, HttpResponse] | None = None
) -> Pipeline[HttpRequest, HttpResponse]:
    """Retries (429, 5xx, connection errors) around Entra bearer tokens for ``{arm}/.default``."""
    return Pipeline(
        transport=transport or RequestsTransport(connection_timeout=30, read_timeout=120),
        policies=[
            RetryPolicy(retry_total=4, timeout=300),
            BearerTokenCredentialPolicy(credential, scope_of(arm)),
        ],
    )


@contextmanager
def quiet_identity_warnings() -> Iterator[None]:
    """Keep azure-identity from logging every credential it tried: the one-line reason is printed instead."""
    logger = logging.getLogger("azure.identity")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def signed_in(
    arm: str,
    login_host: str,
    credential: TokenCredential | None = None,
    transport: HttpTransport[HttpRequest, HttpResponse] | None = None,
) -> Iterator[Pipeline[HttpRequest, HttpResponse]]:
    """An ARM pipeline signed in with ``credential``, else with DefaultAzureCredential for the cloud's
    authority, whose attempts are not logged one by one and which is closed afterwards."""
    owned = credential is None
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(authority=login_host)
    try:
        with quiet_identity_warnings() if owned else nullcontext(), build_pipeline(arm, credential, transport) as pipe:
            yield pipe
    finally:
        if owned:
            close = getattr(credential, "close", None)
            if callable(close):
                close()


def get_request(url: str, user_agent: str, headers: Mapping[str, str] | None = None) -> HttpRequest:
    """A GET that accepts JSON."""
    return HttpRequest("GET", url, headers={"Accept": "application/json", "User-Agent": user_agent, **(headers or {})})


def put_request(url: str, body: Any, user_agent: str, headers: Mapping[str, str] | None = None) -> HttpRequest:
    """A PUT of ``body`` as indented JSON."""
    content = json.dumps(body, indent=2).encode()
    all_headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        **(headers or {}),
    }
    return HttpRequest("PUT", url, headers=all_headers, content=content)


@dataclass(frozen=True)
class ArmClient:
    """JSON requests to ARM through a pipeline from :func:`build_pipeline`.

    Failed answers raise :class:`ArmError`; failures to get a token (``ClientAuthenticationError``) and to
    get any answer (other ``AzureError``) propagate as azure-core raises them.
    """

    pipeline: Pipeline[HttpRequest, HttpResponse]
    user_agent: str
    hints: Mapping[int, str]
    """Status code -> text appended to the error message (what to do about a 403, say)."""

    def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        """GET ``url``; the parsed JSON body of a 200 answer."""
        response = self.pipeline.run(get_request(url, self.user_agent, headers)).http_response
        if response.status_code != 200:
            raise arm_error(response, self.hints)
        try:
            return load_json(response.text(), url, "answer")
        except (InputError, ValueError):
            raise ArmBodyError(f"HTTP {response.status_code} with a body that is not JSON") from None

    def put_json(self, url: str, body: Any, headers: Mapping[str, str] | None = None) -> None:
        """PUT ``body`` to ``url``; any 200 or 201 answer is accepted (read the result back with GET)."""
        response = self.pipeline.run(put_request(url, body, self.user_agent, headers)).http_response
        if response.status_code not in (200, 201):
            raise arm_error(response, self.hints)


class NoCredentialError(Exception):
    """No token could be had for the first request: there is no Azure credential, nothing can be checked."""


class FirstTokenReader:
    """GETs through an :class:`ArmClient` where the first one tells whether there is a credential at all."""

    def __init__(self, client: ArmClient, arm: str) -> None:
        self.client = client
        self.arm = arm
        self.first = True

    def fetch(self, url: str) -> Any:
        """GET ``url``. No token for the first GET is :class:`NoCredentialError`; for a later one, the
        ``ClientAuthenticationError`` propagates (a credential that stopped working)."""
        first, self.first = self.first, False
        try:
            return self.client.get_json(url)
        except ClientAuthenticationError as exc:
            if first:
                raise NoCredentialError(no_token_reason(self.arm, exc)) from None
            raise


# ---------------------------------------------------------------------------------------------
# Stack file, stack outputs and resource IDs
# ---------------------------------------------------------------------------------------------


def read_stack(stack: str, root: Path) -> StackFile:
    """``stacks/Pulumi.<stack>.yaml`` under ``root`` (:func:`scripts.common.stackfile.read_stack_file`, with the
    project's namespace checked); what it refuses is a :class:`UsageError`."""
    try:
        return read_stack_file(stack, root, PROJECT)
    except InputError as exc:
        raise UsageError(str(exc)) from None


def read_json_object(path: Path, option: str, what: str, expected: str) -> dict[str, Any]:
    """The JSON object in ``path``, given as ``option``; read strictly (:mod:`scripts.common.safeload`):
    size-capped, UTF-8 only, no duplicate keys, no NaN, bounded nesting. Every failure is a one-line
    :class:`UsageError` naming the option and the file."""
    try:
        document = read_json(path, what=what)
    except InputError as exc:
        raise UsageError(f"{option} {exc}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{option} {path}: expected {expected}")
    return document


def read_outputs(path: Path) -> dict[str, Any]:
    """The JSON object of ``pulumi stack output --json`` in ``path`` (named ``--from-outputs`` in errors)."""
    return read_json_object(
        path, "--from-outputs", "stack outputs file", "the JSON object of `pulumi stack output --json`"
    )


@dataclass(frozen=True)
class ResourceId:
    """The parts of an ARM resource ID in a resource group."""

    subscription: str
    resource_group: str
    namespace: str
    """Resource provider, such as Microsoft.Storage."""
    types: tuple[str, ...]
    """Type segments, outermost first, such as ("storageAccounts", "blobServices")."""
    names: tuple[str, ...]
    """Name of each type segment."""

    @property
    def type(self) -> str:
        """Fully-qualified type, such as Microsoft.Storage/storageAccounts/blobServices."""
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        """The name of the resource itself (the last segment)."""
        return self.names[-1]

    def is_a(self, arm_type: str) -> bool:
        """True if the resource is of ``arm_type`` (compared without regard to case, as ARM does)."""
        return self.type.lower() == arm_type.lower()


def parse_resource_id(value: str) -> ResourceId | None:
    """The parts of ``/subscriptions/<s>/resourceGroups/<g>/providers/<ns>/<type>/<name>[/<type>/<name>...]``,
    read by azure-mgmt-core's :func:`azure.mgmt.core.tools.parse_resource_id`.

    None for anything else: what :func:`azure.mgmt.core.tools.is_valid_resource_id` refuses (text that does not
    rebuild into the same ID, such as a type without a name), an ID without a resource (a subscription or a
    resource group) and an extension resource (a second ``/providers/``), which names no single resource type.
    """
    if not arm_ids.is_valid_resource_id(value):
        return None
    parts = arm_ids.parse_resource_id(value)
    count = int(parts.get("last_child_num") or 0)
    if "namespace" not in parts or any(f"child_namespace_{i}" in parts for i in range(1, count + 1)):
        return None
    return ResourceId(
        subscription=str(parts["subscription"]),
        resource_group=str(parts["resource_group"]),
        namespace=str(parts["namespace"]),
        types=(str(parts["type"]), *(str(parts[f"child_type_{i}"]) for i in range(1, count + 1))),
        names=(str(parts["name"]), *(str(parts[f"child_name_{i}"]) for i in range(1, count + 1))),
    )


def resource_path(rid: ResourceId) -> str:
    """The ARM path of a resource, such as /subscriptions/.../providers/Microsoft.Storage/storageAccounts/x
    (built by :func:`azure.mgmt.core.tools.resource_id`)."""
    children = {
        key: value
        for i, (child_type, child_name) in enumerate(zip(rid.types[1:], rid.names[1:], strict=True), start=1)
        for key, value in ((f"child_type_{i}", child_type), (f"child_name_{i}", child_name))
    }
    return arm_ids.resource_id(
        subscription=rid.subscription,
        resource_group=rid.resource_group,
        namespace=rid.namespace,
        type=rid.types[0],
        name=rid.names[0],
        **children,
    )
