"""The record a published version commits (``datasets/<name>/<version>/manifest.yaml``) and where it lives.

``publish`` writes it (``storage``) and ``verify`` reads it back (``verify``); both hold it to this schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .manifest import Manifest, Zone

PUBLISHED_FORMAT = "secure-ml-platform/published-dataset/v1"
ABANDONED = "abandoned"
"""The ``kind`` tag of a data blob quarantined by a publish that lost the commit point."""


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


class Reidentification(_Record):
    """k-anonymity (and l-diversity) measured over the whole version at publish: counts, never values."""

    quasi_identifiers: tuple[str, ...] = Field(min_length=1)
    k: int = Field(ge=1)
    rows: int = Field(ge=0)
    classes: int = Field(ge=0)
    smallest_class: int = Field(ge=0)
    classes_below_k: int = Field(ge=0)
    rows_below_k: int = Field(ge=0)
    sensitive: str | None = None
    l: int | None = Field(default=None, ge=1)  # noqa: E741 (the l of l-diversity)
    lowest_diversity: int | None = Field(default=None, ge=0)
    classes_below_l: int | None = Field(default=None, ge=0)
    rows_below_l: int | None = Field(default=None, ge=0)
    meets_target: bool


class PublishedManifest(_Record):
    format: Literal["secure-ml-platform/published-dataset/v1"]
    dataset: Manifest
    publication: Publication
    provenance: Provenance
    files: tuple[PublishedFile, ...] = Field(min_length=1)
    rows: int = Field(ge=0)
    scan: tuple[dict[str, Any], ...]
    reidentification: Reidentification | None = None


def version_prefix(name: str, version: str) -> str:
    return f"datasets/{name}/{version}/"


def manifest_blob_name(name: str, version: str) -> str:
    return version_prefix(name, version) + "manifest.yaml"


def blob_tags(manifest: Manifest, zone: Zone, sha: str, kind: str) -> dict[str, str]:
    """The index tags of every blob a publish writes (``kind``: data, manifest or abandoned)."""
    return {
        "dataset": manifest.name,
        "version": manifest.version,
        "classification": manifest.classification.value,
        "sha256": sha,
        "zone": zone.value,
        "kind": kind,
    }
