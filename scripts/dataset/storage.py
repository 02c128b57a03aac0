"""``publish``: upload a clean dataset version to its zone, content-addressed and immutable.

Reaching the account is ``blobs``; the record a version commits is ``published``; what a publish that lost
the commit point does with its blobs is ``leftovers``; ``verify`` re-hashes a published version.

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

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
)
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings

from . import progress
from .blobs import Publisher, sha256_blob, sha256_file, storage_failure
from .engine import RiskCounter, RiskReport
from .errors import RefusedError, StorageError, UnusableInputError
from .leftovers import clear_leftovers
from .manifest import Manifest, ManifestSource, Zone
from .published import PUBLISHED_FORMAT, PublishedManifest, blob_tags, manifest_blob_name, version_prefix
from .readers import Format, detect_format
from .scanner import ScanReport, scan_file

_FILE_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_CONTENT_TYPES: Mapping[Format, str] = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


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


class PlannedVersion(list[PlannedFile]):
    """The files of a version to publish, with the re-identification risk measured over all of them (``None``
    when the manifest declares no ``privacy``); the published record carries the risk's counts."""

    risk: RiskReport | None = None


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
) -> PlannedVersion:
    """Local checks before any request: policy, file names, a clean full scan, hashes."""
    manifest = source.manifest
    if not manifest.allows_zone(zone):
        allowed = sorted(zone.value for zone in _allowed(manifest)) or ["none: it stays in the raw zone"]
        raise RefusedError(
            f"publish refused: {source.path}: classification {manifest.classification.value} may not be published "
            f"to the {zone.value} zone (allowed: {', '.join(allowed)})"
        )
    planned = PlannedVersion()
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
        planned.risk = measured
    return planned


def _allowed(manifest: Manifest) -> list[Zone]:
    return [zone for zone in Zone if manifest.allows_zone(zone)]


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
            cleanup = clear_leftovers(container, manifest_blob, manifest, zone, own, _shas(planned, prefix))
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
                tags=blob_tags(manifest, zone, digest, "manifest"),
                metadata={"dataset": manifest.name, "version": manifest.version, "kind": "manifest"},
                content_settings=ContentSettings(content_type="application/yaml"),
            )
        except ResourceExistsError:
            # Another publish committed this version while this one ran: it won, this one lost.
            cleanup = clear_leftovers(container, manifest_blob, manifest, zone, result.created, _shas(planned, prefix))
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


def _shas(planned: list[PlannedFile], prefix: str) -> dict[str, str]:
    return {item.blob_name(prefix): item.sha256 for item in planned}


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
                tags=blob_tags(manifest, zone, item.sha256, "data"),
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
    risk = getattr(planned, "risk", None)
    if risk is not None:
        document["reidentification"] = risk.to_dict()
    PublishedManifest.model_validate(document)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")
