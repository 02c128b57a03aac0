"""Publishing to and verifying against a storage account (azure-storage-blob + azure-identity).

Layout in the zone's container (the container is named after the zone)::

    datasets/<name>/<version>/<sha256>/<file>   content-addressed data, written with If-None-Match: *
    datasets/<name>/<version>/manifest.yaml      written last: the commit point of the version

A version exists once its manifest exists. Data blobs are never overwritten; a blob that is
already there (left by an interrupted publish) is accepted only if its content hashes to its
address.

The manifest is created with If-None-Match: *, so of two publishes of the same version that run at
the same time exactly one commits. The other removes the data blobs it uploaded itself that the
committed manifest does not list; where storage refuses the delete (an immutability policy, a
missing permission) it quarantines them instead by retagging them ``kind: abandoned``. ``verify``
reports quarantined blobs as leftovers of a lost publish, not as problems, and explains an
unquarantined leftover (a loser that was stopped before it cleaned up); running the losing
publish again removes it.

- If-None-Match: * succeeds only if the blob does not exist:
  https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
- immutability policies refuse deletes ("created and read, but not modified or deleted"):
  https://learn.microsoft.com/azure/storage/blobs/immutable-storage-overview
- Set Blob Tags changes neither content nor ETag:
  https://learn.microsoft.com/rest/api/storageservices/set-blob-tags,
  https://learn.microsoft.com/azure/storage/blobs/storage-manage-find-blobs
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import json
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings
from azure.storage.blob._shared.base_client import parse_connection_str
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scripts.common.net import is_loopback
from scripts.common.safeload import MAX_CONFIG_BYTES, InputError, load_yaml

from . import progress
from .engine import RiskCounter, RiskReport
from .errors import RefusedError, StorageError, UnusableInputError
from .manifest import Manifest, ManifestSource, Zone, format_location
from .readers import Format, detect_format
from .scanner import ScanReport, scan_file

PUBLISHED_FORMAT = "secure-ml-platform/published-dataset/v1"
CONNECTION_STRING_ENV = "DATASET_STORAGE_CONNECTION_STRING"
HASH_CHUNK = 4 << 20
ABANDONED = "abandoned"
"""The ``kind`` tag of a data blob quarantined by a publish that lost the commit point."""
_FILE_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_CONTENT_TYPES: Mapping[Format, str] = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


# --------------------------------------------------------------------------- connection


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


# --------------------------------------------------------------------------- published manifest


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PublishedFile(_Record):
    name: str
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    rows: int = Field(ge=0)
    format: Literal["csv", "jsonl", "parquet"]


class PublishedBy(_Record):
    principal: str
    method: Literal["entra-id", "emulator-connection-string"]
    object_id: str | None = None
    tenant_id: str | None = None


class Publication(_Record):
    zone: Zone
    published_at: str
    published_by: PublishedBy
    tool: str


class Provenance(_Record):
    manifest_file: str
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source_kind: Literal["internal", "vendor", "public"]
    source_uri: str
    license: str | None = None
    approved_by: str | None = None


class PublishedManifest(_Record):
    format: Literal["secure-ml-platform/published-dataset/v1"]
    dataset: Manifest
    publication: Publication
    provenance: Provenance
    files: tuple[PublishedFile, ...] = Field(min_length=1)
    rows: int = Field(ge=0)
    scan: tuple[dict[str, Any], ...]


def version_prefix(name: str, version: str) -> str:
    return f"datasets/{name}/{version}/"


def manifest_blob_name(name: str, version: str) -> str:
    return version_prefix(name, version) + "manifest.yaml"


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


# --------------------------------------------------------------------------- publish


@dataclass(frozen=True, slots=True)
class PlannedFile:
    local: Path
    name: str
    sha256: str
    size: int
    format: Format
    report: ScanReport

    def blob_name(self, prefix: str) -> str:
        return f"{prefix}{self.sha256}/{self.name}"


@dataclass(slots=True)
class PublishResult:
    zone: Zone
    container: str
    manifest_blob: str
    manifest_sha256: str
    files: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    """Blobs this run created (not resumed): the only ones it may remove if another publish commits first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone.value,
            "container": self.container,
            "manifest": self.manifest_blob,
            "manifest_sha256": self.manifest_sha256,
            "files": self.files,
            "resumed": self.resumed,
        }


class ScanRefusedError(RefusedError):
    """A file to publish is not clean; carries the reports."""

    def __init__(self, reports: list[ScanReport]) -> None:
        names = ", ".join(Path(report.file).name for report in reports if not report.clean)
        super().__init__(f"publish refused: the scan of {names} found personal data")
        self.reports = reports


class PrivacyRefusedError(RefusedError):
    """The files together are below the manifest's k (or l): rows could be singled out. Counts only."""

    def __init__(self, source: ManifestSource, risk: RiskReport) -> None:
        reasons = []
        if risk.classes_below_k:
            reasons.append(
                f"{risk.classes_below_k} class(es) over the quasi-identifiers hold fewer than k={risk.k} rows "
                f"(smallest {risk.smallest_class}, {risk.rows_below_k} row(s) in all)"
            )
        if risk.classes_below_l:
            reasons.append(
                f"{risk.classes_below_l} class(es) have fewer than l={risk.l} distinct values of {risk.sensitive} "
                f"({risk.rows_below_l} row(s) in all)"
            )
        super().__init__(f"publish refused: {source.path}: privacy: " + "; ".join(reasons))
        self.risk = risk


def plan_publication(
    files: Iterable[str | Path], source: ManifestSource, zone: Zone, deny_list: frozenset[str]
) -> list[PlannedFile]:
    """Local checks before any request: policy, file names, a clean full scan, hashes."""
    manifest = source.manifest
    if not manifest.allows_zone(zone):
        allowed = sorted(zone.value for zone in _allowed(manifest)) or ["none: it stays in the raw zone"]
        raise RefusedError(
            f"publish refused: {source.path}: classification {manifest.classification.value} may not be published "
            f"to the {zone.value} zone (allowed: {', '.join(allowed)})"
        )
    planned: list[PlannedFile] = []
    reports: list[ScanReport] = []
    names: set[str] = set()
    risk = RiskCounter(manifest.privacy) if manifest.privacy is not None else None
    for item in files:
        path = Path(item)
        if not path.is_file():
            raise UnusableInputError(f"{path}: data file not found")
        if not set(path.name) <= _FILE_NAME_OK or path.name.startswith("."):
            raise UnusableInputError(f"{path}: file name may hold only letters, digits, '.', '_' and '-'")
        if path.name in names or path.name == "manifest.yaml":
            raise UnusableInputError(f"{path}: file name {path.name!r} is used twice in this version")
        names.add(path.name)
        report = scan_file(path, source, mode="anonymized", deny_list=deny_list, risk_counter=risk)
        reports.append(report)
        sha, size = sha256_file(path)
        planned.append(PlannedFile(path, path.name, sha, size, detect_format(path), report))
    if any(not report.clean for report in reports):
        raise ScanRefusedError(reports)
    if risk is not None:
        measured = risk.report()
        if not measured.meets_target:
            raise PrivacyRefusedError(source, measured)
    return planned


def _allowed(manifest: Manifest) -> list[Zone]:
    return [zone for zone in Zone if manifest.allows_zone(zone)]


def _tags(manifest: Manifest, zone: Zone, sha: str, kind: str) -> dict[str, str]:
    return {
        "dataset": manifest.name,
        "version": manifest.version,
        "classification": manifest.classification.value,
        "sha256": sha,
        "zone": zone.value,
        "kind": kind,
    }


def publish_dataset(
    service: BlobServiceClient,
    planned: list[PlannedFile],
    source: ManifestSource,
    zone: Zone,
    publisher: Publisher,
    *,
    now: dt.datetime | None = None,
) -> PublishResult:
    """Upload the planned files, read them back, then write the manifest (the commit point)."""
    manifest = source.manifest
    container = service.get_container_client(zone.value)
    prefix = version_prefix(manifest.name, manifest.version)
    manifest_name = manifest_blob_name(manifest.name, manifest.version)
    label = f"{manifest.name} {manifest.version}"
    try:
        if not container.exists():
            raise StorageError(f"container {zone.value!r} does not exist in {service.url}")
        manifest_blob = container.get_blob_client(manifest_name)
        if manifest_blob.exists():
            # A rerun of a publish that lost the commit point removes what it left behind.
            own = [item.blob_name(prefix) for item in planned]
            cleanup = _clear_leftovers(container, manifest_blob, manifest, zone, own, planned, prefix)
            raise RefusedError(_already_published(label, zone, manifest_name) + cleanup.describe())
        expected = {item.blob_name(prefix) for item in planned}
        strays = sorted(
            blob.name for blob in container.list_blobs(name_starts_with=prefix) if blob.name not in expected
        )
        if strays:
            raise RefusedError(
                f"publish refused: {zone.value}/{prefix} already holds blobs this publish would not list: "
                + ", ".join(strays)
                + "; publish under a new version"
            )
        result = PublishResult(zone=zone, container=zone.value, manifest_blob=manifest_name, manifest_sha256="")
        for item in planned:
            _upload_file(container.get_blob_client(item.blob_name(prefix)), item, manifest, zone, result)
        for item in planned:
            sha, size = sha256_blob(container.get_blob_client(item.blob_name(prefix)))
            if sha != item.sha256 or size != item.size:
                raise RefusedError(
                    f"publish refused: {zone.value}/{item.blob_name(prefix)} reads back with sha256 {sha}, "
                    f"expected {item.sha256}; no manifest written"
                )
        body = _published_manifest(source, zone, publisher, planned, prefix, now)
        digest = hashlib.sha256(body).hexdigest()
        try:
            manifest_blob.upload_blob(
                body,
                overwrite=False,
                tags=_tags(manifest, zone, digest, "manifest"),
                metadata={"dataset": manifest.name, "version": manifest.version, "kind": "manifest"},
                content_settings=ContentSettings(content_type="application/yaml"),
            )
        except ResourceExistsError:
            # Another publish committed this version while this one ran: it won, this one lost.
            cleanup = _clear_leftovers(container, manifest_blob, manifest, zone, result.created, planned, prefix)
            raise RefusedError(
                f"publish refused: {label} was published in the {zone.value} zone by another publish while this one "
                f"ran ({manifest_name} exists); published versions are immutable, publish a new version"
                + cleanup.describe()
            ) from None
    except AzureError as exc:
        raise storage_failure(exc, f"publish {label} to {zone.value}") from None
    result.manifest_sha256 = digest
    result.files = [
        {"name": item.name, "path": item.blob_name(prefix), "sha256": item.sha256, "size": item.size}
        for item in planned
    ]
    return result


def _already_published(label: str, zone: Zone, manifest_name: str) -> str:
    return (
        f"publish refused: {label} is already published in the {zone.value} zone ({manifest_name} exists); "
        "published versions are immutable, publish a new version"
    )


@dataclass(slots=True)
class Cleanup:
    """What a publish that lost the commit point did with the blobs it had uploaded."""

    removed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unreadable_manifest: bool = False

    def describe(self) -> str:
        parts = []
        if self.removed:
            parts.append(f"removed {len(self.removed)} blob(s) this publish had uploaded")
        if self.quarantined:
            parts.append(
                f"storage refused to delete {len(self.quarantined)} blob(s) this publish had uploaded; "
                "tagged them kind=abandoned (verify reports them as leftovers): " + ", ".join(self.quarantined)
            )
        if self.left:
            why = "the committed manifest is unreadable" if self.unreadable_manifest else "storage refused"
            parts.append(
                f"could neither remove nor quarantine {len(self.left)} blob(s) ({why}); "
                "verify reports them as problems until they are removed: " + ", ".join(self.left)
            )
        return "; " + "; ".join(parts) if parts else ""


def _listed_paths(manifest_blob: BlobClient) -> set[str] | None:
    """The blob paths a committed published manifest lists; None if it cannot be read as one."""
    try:
        download = manifest_blob.download_blob(max_concurrency=1)
        if download.size > MAX_CONFIG_BYTES:
            return None
        body = download.readall()
        published = PublishedManifest.model_validate(
            load_yaml(body.decode("utf-8"), manifest_blob.blob_name, "manifest")
        )
    except (InputError, UnicodeDecodeError, ValidationError, ResourceNotFoundError):
        return None
    return {entry.path for entry in published.files}


def _clear_leftovers(
    container: Any,
    manifest_blob: BlobClient,
    manifest: Manifest,
    zone: Zone,
    candidates: Iterable[str],
    planned: list[PlannedFile],
    prefix: str,
) -> Cleanup:
    """Remove (or, where storage refuses, quarantine) the candidates the committed manifest does not list.

    Only blobs at this publish's own content addresses are candidates, so a blob the winner lists is
    never touched; a version is immutable once its manifest exists, so an unlisted blob can never
    become part of it.
    """
    cleanup = Cleanup()
    listed = _listed_paths(manifest_blob)
    shas = {item.blob_name(prefix): item.sha256 for item in planned}
    for name in candidates:
        if listed is not None and name in listed:
            continue
        blob = container.get_blob_client(name)
        if listed is None:
            if blob.exists():
                cleanup.unreadable_manifest = True
                cleanup.left.append(f"{zone.value}/{name}")
            continue
        try:
            blob.delete_blob()
            cleanup.removed.append(f"{zone.value}/{name}")
            continue
        except ResourceNotFoundError:
            continue
        except HttpResponseError:
            pass
        try:
            blob.set_blob_tags(_tags(manifest, zone, shas[name], ABANDONED))
            cleanup.quarantined.append(f"{zone.value}/{name}")
        except ResourceNotFoundError:
            continue
        except HttpResponseError:
            cleanup.left.append(f"{zone.value}/{name}")
    return cleanup


def _upload_file(blob: BlobClient, item: PlannedFile, manifest: Manifest, zone: Zone, result: PublishResult) -> None:
    metadata = {
        "dataset": manifest.name,
        "version": manifest.version,
        "classification": manifest.classification.value,
        "sha256": item.sha256,
        "rows": str(item.report.rows_scanned),
        "format": item.format,
    }
    try:
        with item.local.open("rb") as handle, progress.transfer(f"upload {item.name}", item.size) as hook:
            blob.upload_blob(
                handle,
                length=item.size,
                overwrite=False,
                tags=_tags(manifest, zone, item.sha256, "data"),
                metadata=metadata,
                content_settings=ContentSettings(content_type=_CONTENT_TYPES[item.format]),
                max_concurrency=1,
                progress_hook=hook,
            )
        result.created.append(blob.blob_name)
    except ResourceExistsError:
        sha, size = sha256_blob(blob)
        if sha != item.sha256 or size != item.size:
            raise RefusedError(
                f"publish refused: {blob.container_name}/{blob.blob_name} exists with content that does not match "
                f"its address (sha256 {sha}); it may have been tampered with"
            ) from None
        result.resumed.append(blob.blob_name)


def _published_manifest(
    source: ManifestSource,
    zone: Zone,
    publisher: Publisher,
    planned: list[PlannedFile],
    prefix: str,
    now: dt.datetime | None,
) -> bytes:
    manifest = source.manifest
    manifest_sha, _ = sha256_file(source.path)
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    scan = []
    for item in planned:
        report = item.report.to_dict()
        report["file"] = item.name
        scan.append(report)
    document = {
        "format": PUBLISHED_FORMAT,
        "dataset": manifest.model_dump(mode="json", exclude_none=True),
        "publication": {
            "zone": zone.value,
            "published_at": when.isoformat().replace("+00:00", "Z"),
            "published_by": publisher.to_dict(),
            "tool": "python -m scripts.dataset publish",
        },
        "provenance": {
            key: value
            for key, value in {
                "manifest_file": source.path.name,
                "manifest_sha256": manifest_sha,
                "source_kind": manifest.source.kind,
                "source_uri": manifest.source.uri,
                "license": manifest.source.license,
                "approved_by": manifest.approved_by,
            }.items()
            if value is not None
        },
        "files": [
            {
                "name": item.name,
                "path": item.blob_name(prefix),
                "sha256": item.sha256,
                "size": item.size,
                "rows": item.report.rows_scanned,
                "format": item.format,
            }
            for item in planned
        ],
        "rows": sum(item.report.rows_scanned for item in planned),
        "scan": scan,
    }
    PublishedManifest.model_validate(document)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")


# --------------------------------------------------------------------------- verify


@dataclass(slots=True)
class VerifyResult:
    dataset: str
    version: str
    zones: list[str] = field(default_factory=list)
    manifest_sha256: dict[str, str] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    """Quarantined blobs of a publish that lost the commit point: reported, not a problem."""

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.zones)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "ok": self.ok,
            "zones": self.zones,
            "manifest_sha256": self.manifest_sha256,
            "files": self.files,
            "problems": self.problems,
            "leftovers": self.leftovers,
        }


def verify_dataset(
    service: BlobServiceClient,
    name: str,
    version: str,
    *,
    zones: Iterable[Zone] = tuple(Zone),
    expect_manifest_sha256: str | None = None,
) -> VerifyResult:
    result = VerifyResult(dataset=name, version=version)
    manifest_name = manifest_blob_name(name, version)
    searched = list(zones)
    try:
        for zone in searched:
            container = service.get_container_client(zone.value)
            try:
                download = container.get_blob_client(manifest_name).download_blob(max_concurrency=1)
            except ResourceNotFoundError:
                continue
            result.zones.append(zone.value)
            if download.size > MAX_CONFIG_BYTES:
                result.problems.append(
                    f"{zone.value}/{manifest_name}: {download.size} bytes, more than the {MAX_CONFIG_BYTES} a "
                    "published manifest may have"
                )
                continue
            body = download.readall()
            _verify_zone(container, zone, name, version, body, expect_manifest_sha256, result)
    except AzureError as exc:
        raise storage_failure(exc, f"verify {name} {version}") from None
    if not result.zones:
        where = ", ".join(zone.value for zone in searched)
        result.problems.append(f"{name} {version}: no published manifest in {where} ({manifest_name} missing)")
    return result


def _verify_zone(
    container: Any,
    zone: Zone,
    name: str,
    version: str,
    body: bytes,
    expect_manifest_sha256: str | None,
    result: VerifyResult,
) -> None:
    where = f"{zone.value}/{manifest_blob_name(name, version)}"
    digest = hashlib.sha256(body).hexdigest()
    result.manifest_sha256[zone.value] = digest
    if expect_manifest_sha256 is not None and digest != expect_manifest_sha256.lower():
        result.problems.append(f"{where}: sha256 {digest} differs from the expected {expect_manifest_sha256}")
    try:
        published = PublishedManifest.model_validate(load_yaml(body.decode("utf-8"), where, "published manifest"))
    except UnicodeDecodeError as exc:
        result.problems.append(f"{where}: not a valid published manifest (not UTF-8 text at byte {exc.start})")
        return
    except InputError as exc:
        result.problems.append(f"{where}: not a valid published manifest ({str(exc).removeprefix(where + ': ')})")
        return
    except ValidationError as exc:
        error = exc.errors()[0]
        result.problems.append(
            f"{where}: not a valid published manifest ({format_location(error['loc']) or 'top level'}: {error['msg']})"
        )
        return
    if published.dataset.name != name or published.dataset.version != version:
        result.problems.append(
            f"{where}: describes {published.dataset.name} {published.dataset.version}, not {name} {version}"
        )
    prefix = version_prefix(name, version)
    listed = {manifest_blob_name(name, version)}
    for entry in published.files:
        listed.add(entry.path)
        status = _verify_file(container, zone, prefix, entry, result)
        result.files.append({"zone": zone.value, "path": entry.path, "sha256": entry.sha256, "status": status})
    for blob in container.list_blobs(name_starts_with=prefix):
        if blob.name not in listed:
            _unlisted(container, zone, name, version, prefix, blob.name, result)


def _unlisted(
    container: Any, zone: Zone, name: str, version: str, prefix: str, blob_name: str, result: VerifyResult
) -> None:
    """A blob in the version's folder that its manifest does not list: a lost publish's leftover, or unexpected."""
    where = f"{zone.value}/{blob_name}"
    addressed = re.fullmatch(r"[0-9a-f]{64}/[A-Za-z0-9._-]+", blob_name.removeprefix(prefix)) is not None
    tags: dict[str, str] = {}
    if addressed:
        try:
            tags = container.get_blob_client(blob_name).get_blob_tags()
        except ResourceNotFoundError:
            return  # removed while listing: a losing publish cleaning up
    ours = addressed and tags.get("dataset") == name and tags.get("version") == version
    if ours and tags.get("kind") == ABANDONED:
        result.leftovers.append(
            f"{where}: quarantined by a publish of this version that lost the commit point to the published one; "
            "not part of the version"
        )
        return
    if ours and tags.get("kind") == "data":
        result.problems.append(
            f"{where}: not listed in the manifest: a data blob of this version at another content address, as a "
            "publish that lost the commit point leaves when it is stopped before it cleans up; run that publish "
            "again to remove it"
        )
        return
    result.problems.append(f"{where}: not listed in the manifest (unexpected blob)")


def _verify_file(container: Any, zone: Zone, prefix: str, entry: PublishedFile, result: VerifyResult) -> str:
    where = f"{zone.value}/{entry.path}"
    if entry.path != f"{prefix}{entry.sha256}/{entry.name}":
        result.problems.append(f"{where}: path does not match the content address {entry.sha256}/{entry.name}")
        return "bad-path"
    blob = container.get_blob_client(entry.path)
    try:
        sha, size = sha256_blob(blob)
        tags = blob.get_blob_tags()
    except ResourceNotFoundError:
        result.problems.append(f"{where}: missing")
        return "missing"
    if sha != entry.sha256 or size != entry.size:
        result.problems.append(f"{where}: sha256 {sha} ({size} bytes) differs from the manifest ({entry.size} bytes)")
        return "mismatch"
    if tags.get("sha256") != entry.sha256:
        result.problems.append(f"{where}: index tag sha256 differs from the manifest")
        return "tag-mismatch"
    return "ok"
