"""What a publish that lost the commit point does with the data blobs it uploaded: remove those the committed
record does not list or, where storage refuses the delete (an immutability policy, a missing permission),
quarantine them by retagging them ``kind: abandoned``; ``verify`` then reports them as leftovers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobClient
from pydantic import ValidationError

from scripts.common.safeload import MAX_CONFIG_BYTES, InputError, load_yaml

from .manifest import Manifest, Zone
from .published import ABANDONED, PublishedManifest, blob_tags


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


def listed_paths(manifest_blob: BlobClient) -> set[str] | None:
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


def clear_leftovers(
    container: Any,
    manifest_blob: BlobClient,
    manifest: Manifest,
    zone: Zone,
    candidates: Iterable[str],
    shas: Mapping[str, str],
) -> Cleanup:
    """Remove (or, where storage refuses, quarantine) the candidates the committed manifest does not list.

    Only blobs at this publish's own content addresses are candidates, so a blob the winner lists is
    never touched; a version is immutable once its manifest exists, so an unlisted blob can never
    become part of it.
    """
    cleanup = Cleanup()
    listed = listed_paths(manifest_blob)
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
            blob.set_blob_tags(blob_tags(manifest, zone, shas[name], ABANDONED))
            cleanup.quarantined.append(f"{zone.value}/{name}")
        except ResourceNotFoundError:
            continue
        except HttpResponseError:
            cleanup.left.append(f"{zone.value}/{name}")
    return cleanup
