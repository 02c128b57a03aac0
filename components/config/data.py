"""Settings of the training-data storage: retention, zones, pipeline identities and tripwires."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from components.config.primitives import (
    _CONFIG,
    _CONTAINER,
    _HOLD_TAG,
    OFF,
    ON,
    Classification,
    ObjectId,
    ReasonedSwitch,
    SecurityControl,
    _FieldError,
    _require_unique,
)

ZonePurpose = Literal["quarantine", "raw", "anonymized", "curated", "models"]


@dataclass(frozen=True, config=_CONFIG)
class Zone:
    """One data zone: a blob container with a classification and its own immutability policy."""

    container: Annotated[str, Field(pattern=_CONTAINER)]
    """Container name (3-63 lowercase letters, digits and hyphens)."""
    classification: Classification
    """Classification written into the container metadata."""
    legal_hold: Annotated[list[Annotated[str, Field(pattern=_HOLD_TAG)]], Field(max_length=10)] = Field(
        default_factory=list
    )
    """Legal-hold tags (3-23 letters and digits); any tag freezes every blob in the zone."""


def _default_zones() -> dict[ZonePurpose, Zone]:
    return {
        "quarantine": Zone("quarantine", "restricted"),
        "raw": Zone("raw", "restricted"),
        "anonymized": Zone("anonymized", "confidential"),
        "curated": Zone("curated", "confidential"),
        "models": Zone("models", "confidential"),
    }


PIPELINE_IDENTITIES = ("ingestion", "validation", "anonymization", "curation", "release")
"""Identities of the data pipeline; each may write exactly one zone (see components/datastorage.py)."""


@dataclass(frozen=True, config=_CONFIG)
class PipelineIdentities:
    """Existing Entra principals for the pipeline steps; a user-assigned identity is created for each one left out."""

    ingestion: ObjectId | None = None
    """Writes quarantine."""
    validation: ObjectId | None = None
    """Reads quarantine, writes raw."""
    anonymization: ObjectId | None = None
    """Reads raw, writes anonymized."""
    curation: ObjectId | None = None
    """Reads anonymized, writes curated."""
    release: ObjectId | None = None
    """Writes models (approved model artifacts)."""


@dataclass(frozen=True, config=_CONFIG)
class DataStorageSettings:
    """The training-data account: retention, zones, pipeline identities and tripwires."""

    soft_delete_retention_days: Annotated[int, Field(ge=7, le=365)]
    """Blob and container soft delete in days (7-365; prod at least 30)."""
    change_feed_retention_days: Annotated[int, Field(ge=1, le=146000)]
    """Change feed retention in days (1-146000)."""
    immutability_retention_days: Annotated[int, Field(ge=1, le=146000)]
    """Version-level WORM retention in days (1-146000; at most rawRetentionDays so raw data can expire)."""
    raw_retention_days: Annotated[int, Field(ge=1, le=3650)]
    """Days before raw and quarantine data expire (data minimisation; 1-3650)."""
    cool_after_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days after which blobs of the other zones move to the cool tier."""
    cold_after_days: Annotated[int, Field(ge=2, le=3650)] = 90
    """Days after which blobs of the other zones move to the cold tier (after coolAfterDays)."""
    immutability: SecurityControl = ON
    """Version-level immutability (WORM) on the account and the zone containers. A container or account enabled
    for version-level immutability cannot be deleted until it is empty, and a version under an active retention
    cannot be deleted, so `pulumi destroy` fails on it: a stack that is torn down (dev) turns it off with
    {enabled: false, reason: ...}. Refused in prod."""
    immutability_lock: ReasonedSwitch = OFF
    """Lock the account's immutability policy. Irreversible: the retention can then only be extended."""
    customer_managed_key: bool = False
    """Encrypt with a key from the platform Key Vault, through a user-assigned identity."""
    zones: dict[ZonePurpose, Zone] = Field(default_factory=_default_zones)
    """Zone containers by purpose; all five must be present. Default: containers named after their purpose,
    quarantine and raw restricted, the others confidential."""
    pipeline_identities: PipelineIdentities = PipelineIdentities()
    """Existing principals for the pipeline steps (created when left out)."""
    failed_auth_threshold: Annotated[int, Field(ge=1, le=10000)] = 20
    """Failed authorizations in 15 minutes that raise the tripwire alert."""

    @model_validator(mode="after")
    def _zones_and_retention(self) -> DataStorageSettings:
        missing = [p for p in ("quarantine", "raw", "anonymized", "curated", "models") if p not in self.zones]
        if missing:
            raise _FieldError("zones", f"expected every zone purpose; missing {', '.join(missing)}", sorted(self.zones))
        _require_unique("zones", [z.container for z in self.zones.values()], key_of=lambda i: "zones")
        if self.immutability_retention_days > self.raw_retention_days:
            raise _FieldError(
                "immutabilityRetentionDays",
                f"expected at most rawRetentionDays ({self.raw_retention_days}) so raw data can expire",
                self.immutability_retention_days,
            )
        held = [p for p, z in self.zones.items() if z.legal_hold]
        if held and not self.immutability.enabled:
            raise _FieldError(
                f"zones.{held[0]}.legalHold",
                "expected no legal hold while immutability is turned off for teardown (a legal hold blocks deleting "
                "the container)",
                self.zones[held[0]].legal_hold,
            )
        if self.immutability_lock.enabled and not self.immutability.enabled:
            raise _FieldError(
                "immutabilityLock",
                "expected it off while immutability is turned off (there is no policy to lock)",
                "enabled",
            )
        if self.cold_after_days <= self.cool_after_days:
            raise _FieldError(
                "coldAfterDays", f"expected more than coolAfterDays ({self.cool_after_days})", self.cold_after_days
            )
        return self
