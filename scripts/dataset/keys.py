"""The HMAC key for the ``hash`` action: from Azure Key Vault (production) or a local file (development).

Key Vault is read through azure-core's pipeline with an azure-identity credential and the Key Vault
REST API (GET /secrets/{name}), so no extra SDK is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from scripts.common.safeload import InputError, read_bytes

from .errors import StorageError, UnusableInputError

MIN_KEY_BYTES = 32
MAX_KEY_FILE_BYTES = 64 * 1024
KEY_VAULT_API_VERSION = "7.5"


def _check_length(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise UnusableInputError(f"{origin}: HMAC key has {len(key)} bytes, expected at least {MIN_KEY_BYTES}")
    return key


def load_key_file(path: str | Path) -> bytes:
    key_path = Path(path)
    if not key_path.exists():
        raise UnusableInputError(f"{key_path}: key file not found")
    try:  # a regular file of at most 64 KiB: /dev/zero or a folder is refused, not read until memory runs out
        key = read_bytes(key_path, what="key file", max_bytes=MAX_KEY_FILE_BYTES).strip()
    except InputError as exc:
        raise UnusableInputError(str(exc)) from None
    return _check_length(key, str(key_path))


def key_vault_scope(vault_url: str) -> str:
    """``https://<vault>.vault.azure.net`` -> ``https://vault.azure.net/.default`` (any Azure cloud)."""
    parts = urlsplit(vault_url)
    host = parts.hostname or ""
    labels = host.split(".")
    if parts.scheme != "https" or len(labels) < 3 or not labels[1].startswith("vault"):
        raise UnusableInputError(f"{vault_url}: expected a Key Vault URL such as https://<name>.vault.azure.net")
    return "https://" + ".".join(labels[1:]) + "/.default"


def fetch_key_vault_secret(
    vault_url: str,
    secret_name: str,
    credential: TokenCredential,
    *,
    transport: HttpTransport[Any, Any] | None = None,
) -> bytes:
    """The UTF-8 bytes of the secret's current value."""
    scope = key_vault_scope(vault_url)
    base = vault_url.rstrip("/")
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    client: PipelineClient[Any, Any] = PipelineClient(
        base_url=base,
        policies=[
            HeadersPolicy(),
            UserAgentPolicy(sdk_moniker="secure-ml-platform-dataset"),
            RetryPolicy(),
            BearerTokenCredentialPolicy(credential, scope),
        ],
        **options,
    )
    request = HttpRequest(
        "GET",
        f"{base}/secrets/{quote(secret_name, safe='')}",
        params={"api-version": KEY_VAULT_API_VERSION},
        headers={"Accept": "application/json"},
    )
    origin = f"{base}/secrets/{secret_name}"
    try:
        with client:
            response = client.send_request(request)
            if response.status_code != 200:
                raise StorageError(f"{origin}: Key Vault answered HTTP {response.status_code}")
            body = json.loads(response.text())
    except AzureError as exc:
        raise StorageError(f"{origin}: cannot read secret ({exc.__class__.__name__})") from None
    except ValueError:
        raise StorageError(f"{origin}: Key Vault answered with a body that is not JSON") from None
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise StorageError(f"{origin}: Key Vault answer holds no secret value")
    return _check_length(value.encode("utf-8"), origin)
