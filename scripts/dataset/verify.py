"""``verify``: re-hash every file of a published version against its committed record, in every zone that
holds it, and explain any blob in the version's folder that the record does not list (a quarantined
leftover of a publish that lost the commit point is reported, not a problem)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from pydantic import ValidationError

from scripts.common.safeload import MAX_CONFIG_BYTES, InputError, load_yaml

from .blobs import sha256_blob, storage_failure
from .manifest import Zone, format_location
from .published import ABANDONED, PublishedFile, PublishedManifest, manifest_blob_name, version_prefix


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
    reidentification: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By zone: the k-anonymity (and l-diversity) counts the record carries, as measured at publish."""

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
            "reidentification": self.reidentification,
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
    if published.reidentification is not None:
        risk = published.reidentification
        result.reidentification[zone.value] = risk.model_dump(mode="json", exclude_none=True)
        privacy = published.dataset.privacy
        if not risk.meets_target or privacy is None or risk.k != privacy.k or risk.l != privacy.l:
            result.problems.append(
                f"{where}: the recorded re-identification risk does not meet the version's own privacy target"
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
