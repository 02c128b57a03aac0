"""Reaching the data account, and hashing what is in it.

Entra ID (``DefaultAzureCredential``) for a real account; an account key only in a connection string to a
local emulator on a loopback host (real accounts have shared keys disabled). Storage failures become one
line naming what was being done; blobs and files are hashed as streams, one chunk in memory.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobClient, BlobServiceClient
from azure.storage.blob._shared.base_client import parse_connection_str

from scripts.common.net import is_loopback

from .errors import StorageError, UnusableInputError

CONNECTION_STRING_ENV = "DATASET_STORAGE_CONNECTION_STRING"
HASH_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who talks to the account, as recorded in a published manifest."""

    principal: str
    method: Literal["entra-id", "emulator-connection-string"]
    object_id: str | None = None
    tenant_id: str | None = None

    def to_dict(self) -> dict[str, str]:
        data = {"principal": self.principal, "method": self.method}
        if self.object_id:
            data["object_id"] = self.object_id
        if self.tenant_id:
            data["tenant_id"] = self.tenant_id
        return data


_EMULATOR_ONLY = (
    "connection string: accepted only for a local emulator (a BlobEndpoint on 127.0.0.1, ::1 or localhost);"
    " real accounts have shared keys disabled, use --account with Entra ID"
)


def _host(endpoint: str) -> str | None:
    """The host a request to ``endpoint`` goes to, parsed as the SDK's transport would (scheme optional)."""
    try:
        return urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname
    except ValueError:
        return None


def emulator_endpoint(connection_string: str) -> str:
    """The blob endpoint the SDK will use for a connection string, refused unless it is on a loopback host.

    Emulator-ness is decided from what azure-storage-blob itself makes of the string
    (``_shared/base_client.parse_connection_str``, the function ``from_connection_string`` calls): keys
    are matched upper-cased but not trimmed, ``UseDevelopmentStorage`` counts only as exactly ``true``,
    and otherwise the endpoint is ``BlobEndpoint`` or ``https://<AccountName>.blob.<EndpointSuffix>``.
    Reading the string in any other way (trimming, ignoring case of values) lets a string that looks like
    the emulator send an account key to a real account. The secondary endpoint, if any, must be on a
    loopback host too: the client sends the same credential there when it reads from the secondary.
    """
    try:
        primary, secondary, _ = parse_connection_str(connection_string, None, "blob")
    except (ValueError, KeyError, AttributeError):
        raise UnusableInputError("connection string: malformed (expected Key=Value pairs separated by ';')") from None
    if not is_loopback(_host(primary)) or (secondary and not is_loopback(_host(secondary))):
        raise UnusableInputError(_EMULATOR_ONLY)
    return primary


def principal_from_token(token: str) -> tuple[str, str | None, str | None]:
    """(principal, object id, tenant id) from an access token's claims; the token is not re-verified."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return "unknown", None, None
    if not isinstance(claims, dict):
        return "unknown", None, None
    principal = next(
        (
            str(claims[key])
            for key in ("upn", "preferred_username", "unique_name", "app_displayname", "appid", "oid")
            if claims.get(key)
        ),
        "unknown",
    )
    oid, tid = claims.get("oid"), claims.get("tid")
    return principal, str(oid) if oid else None, str(tid) if tid else None


def connect(
    account_url: str | None, connection_string: str | None, **client_options: Any
) -> tuple[BlobServiceClient, Publisher]:
    """A service client: Entra ID (DefaultAzureCredential) for an account URL, a key only for the emulator."""
    if account_url and connection_string:
        raise UnusableInputError("give either --account or a connection string, not both")
    if connection_string:
        emulator_endpoint(connection_string)
        client = BlobServiceClient.from_connection_string(connection_string, **client_options)
        # Belt and braces: the hosts of the client actually built, primary and secondary.
        if not all(is_loopback(_host(host)) for host in (client.primary_hostname, client.secondary_hostname) if host):
            client.close()
            raise UnusableInputError(_EMULATOR_ONLY)
        user = getpass.getuser()
        return client, Publisher(principal=f"{user}@{socket.gethostname()}", method="emulator-connection-string")
    if not account_url:
        raise UnusableInputError(
            f"--account is required (or a connection string to a local emulator in {CONNECTION_STRING_ENV})"
        )
    parts = urlsplit(account_url)
    if parts.scheme != "https" or not parts.hostname:
        raise UnusableInputError(f"--account {account_url}: expected https://<account>.blob.core.windows.net")
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential()
    try:
        token = credential.get_token("https://storage.azure.com/.default").token
    except ClientAuthenticationError as exc:
        raise StorageError(f"{account_url}: no Azure credential available ({_first_line(exc)})") from None
    principal, oid, tid = principal_from_token(token)
    client = BlobServiceClient(account_url, credential=credential, **client_options)
    return client, Publisher(principal=principal, method="entra-id", object_id=oid, tenant_id=tid)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def storage_failure(exc: AzureError, what: str) -> StorageError:
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None) or (exc.reason or "")
        return StorageError(f"{what}: storage answered HTTP {exc.status_code} {code}".rstrip())
    return StorageError(f"{what}: {_first_line(exc)}")


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def sha256_blob(blob: BlobClient) -> tuple[str, int]:
    """Stream the blob and hash it; memory stays at one chunk."""
    digest = hashlib.sha256()
    size = 0
    for chunk in blob.download_blob(max_concurrency=1).chunks():
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
