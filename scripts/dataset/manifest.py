"""The dataset manifest: what a file holds, how sensitive it is, and what to do with each column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from scripts.common.safeload import MAX_CONFIG_BYTES, InputError, mapping, read_text, read_yaml

from .errors import UnusableInputError

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class Zone(StrEnum):
    ANONYMIZED = "anonymized"
    CURATED = "curated"


ALLOWED_ZONES: Mapping[Classification, frozenset[Zone]] = {
    Classification.PUBLIC: frozenset({Zone.ANONYMIZED, Zone.CURATED}),
    Classification.INTERNAL: frozenset({Zone.ANONYMIZED, Zone.CURATED}),
    Classification.CONFIDENTIAL: frozenset({Zone.ANONYMIZED}),
    Classification.RESTRICTED: frozenset(),
}


class PiiType(StrEnum):
    """Kinds of personal data. The scanner detects all but postcode, address and other."""

    NONE = "none"
    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    PAYMENT_CARD = "payment_card"
    IP_ADDRESS = "ip_address"
    NL_BSN = "nl_bsn"
    US_SSN = "us_ssn"
    UK_NINO = "uk_nino"
    DE_IDNR = "de_idnr"
    FR_NIR = "fr_nir"
    ES_DNI = "es_dni"
    IT_CODICE_FISCALE = "it_codice_fiscale"
    DATE_OF_BIRTH = "date_of_birth"
    PERSON_NAME = "person_name"
    POSTCODE = "postcode"
    ADDRESS = "address"
    OTHER = "other"


Action = Literal["drop", "hash", "mask", "generalize", "keep"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _rule(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("manifest_rule", "{field}: {message}", {"field": field, "message": message})


class Source(_Strict):
    kind: Literal["internal", "vendor", "public"]
    uri: Annotated[StrictStr, Field(min_length=1)]
    license: Annotated[StrictStr, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _license_for_outside_data(self) -> Source:
        if self.kind in ("vendor", "public") and self.license is None:
            raise _rule("license", f"required when source.kind is {self.kind}")
        return self


class DateGeneralization(_Strict):
    kind: Literal["date"]
    to: Literal["year", "month"]


class NumberGeneralization(_Strict):
    kind: Literal["number"]
    bin_width: Annotated[StrictInt, Field(gt=0)]


class PostcodeGeneralization(_Strict):
    kind: Literal["postcode"]
    prefix_length: Annotated[StrictInt, Field(gt=0, le=8)]


Generalization = Annotated[
    DateGeneralization | NumberGeneralization | PostcodeGeneralization,
    Field(discriminator="kind"),
]


class MaskOptions(_Strict):
    keep_last: Annotated[StrictInt, Field(ge=0, le=8)] = 0
    char: Annotated[StrictStr, Field(pattern=r"^[*#xX]$")] = "*"


class Column(_Strict):
    name: Annotated[StrictStr, Field(min_length=1)]
    pii: PiiType
    action: Action
    justification: Annotated[StrictStr, Field(min_length=1)] | None = None
    generalize: Generalization | None = None
    mask: MaskOptions | None = None
    description: StrictStr | None = None

    @model_validator(mode="after")
    def _action_options(self) -> Column:
        if self.action == "keep" and self.pii is not PiiType.NONE and not (self.justification or "").strip():
            raise _rule("justification", "required when action is keep and pii is not none")
        if self.action == "generalize" and self.generalize is None:
            raise _rule("generalize", "required when action is generalize (kind: date, number or postcode)")
        if self.action != "generalize" and self.generalize is not None:
            raise _rule("generalize", "allowed only when action is generalize")
        if self.action != "mask" and self.mask is not None:
            raise _rule("mask", "allowed only when action is mask")
        return self

    @property
    def is_pii(self) -> bool:
        return self.pii is not PiiType.NONE


class ScanSettings(_Strict):
    sample_rows: Annotated[StrictInt, Field(gt=0)] | None = None
    deny_list: Annotated[StrictStr, Field(min_length=1)] | None = None


class Privacy(_Strict):
    """Re-identification risk targets: k-anonymity over the quasi-identifiers, optionally l-diversity."""

    quasi_identifiers: Annotated[tuple[Annotated[StrictStr, Field(min_length=1)], ...], Field(min_length=1)]
    k: StrictInt
    sensitive: Annotated[StrictStr, Field(min_length=1)] | None = None
    l: StrictInt | None = None  # noqa: E741 - the name of the measure

    @model_validator(mode="after")
    def _targets(self) -> Privacy:
        if self.k < 2:
            raise _rule("k", f"expected an integer of at least 2, got {self.k}")
        if self.l is not None and self.sensitive is None:
            raise _rule("l", "requires privacy.sensitive (the column whose values must be diverse)")
        if self.sensitive is not None and self.l is None:
            raise _rule("sensitive", "requires privacy.l (the least number of distinct values per class)")
        if self.l is not None and self.l < 2:
            raise _rule("l", f"expected an integer of at least 2, got {self.l}")
        return self


class Manifest(_Strict):
    name: Annotated[StrictStr, Field(pattern=NAME_PATTERN)]
    version: Annotated[StrictStr, Field(pattern=VERSION_PATTERN)]
    description: StrictStr | None = None
    classification: Classification
    source: Source
    approved_by: Annotated[StrictStr, Field(min_length=1)] | None = None
    scan: ScanSettings = ScanSettings()
    columns: Annotated[tuple[Column, ...], Field(min_length=1)]
    privacy: Privacy | None = None

    @model_validator(mode="after")
    def _rules(self) -> Manifest:
        if self.source.kind == "public" and not (self.approved_by or "").strip():
            raise _rule("approved_by", "required when source.kind is public")
        seen: set[str] = set()
        for index, column in enumerate(self.columns):
            if column.name in seen:
                raise _rule(f"columns[{index}].name", f"duplicate column name {column.name!r}")
            seen.add(column.name)
        if self.privacy is not None:
            self._privacy_columns(self.privacy)
        return self

    def _privacy_columns(self, privacy: Privacy) -> None:
        """Quasi-identifiers and the sensitive column must be columns that the published data keeps."""
        actions = {column.name: column.action for column in self.columns}
        named: set[str] = set()
        for index, name in enumerate(privacy.quasi_identifiers):
            where = f"privacy.quasi_identifiers[{index}]"
            if name not in actions:
                raise _rule(where, f"column {name!r} is not declared in columns")
            if actions[name] == "drop":
                raise _rule(where, f"column {name!r} is dropped, so it is not in the published data")
            if name in named:
                raise _rule(where, f"column {name!r} is listed twice")
            named.add(name)
        if privacy.sensitive is not None:
            name = privacy.sensitive
            if name not in actions:
                raise _rule("privacy.sensitive", f"column {name!r} is not declared in columns")
            if actions[name] == "drop":
                raise _rule("privacy.sensitive", f"column {name!r} is dropped, so it is not in the published data")
            if name in named:
                raise _rule("privacy.sensitive", f"column {name!r} is also a quasi-identifier")

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    @property
    def needs_key(self) -> bool:
        return any(column.action == "hash" for column in self.columns)

    def allows_zone(self, zone: Zone) -> bool:
        return zone in ALLOWED_ZONES[self.classification]


class ManifestSource(BaseModel):
    """A manifest together with where it was read from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    manifest: Manifest
    path: Path

    def resolve(self, relative: str) -> Path:
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.path.parent / candidate


def format_location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


_PLAIN_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not part of the manifest format)",
    "string_type": "expected a string (quote values such as 1.0 or yes)",
    "int_type": "expected an integer",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
}


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    kind = error["type"]
    if kind == "manifest_rule":
        ctx = error["ctx"]
        loc.append(ctx["field"])
        return format_location(loc), str(ctx["message"])
    if kind == "string_pattern_mismatch":
        return format_location(loc), f"expected text matching {error['ctx']['pattern']}"
    message = _PLAIN_MESSAGES.get(kind, str(error["msg"]))
    if kind.startswith("literal_error") or kind == "enum":
        message = "expected " + str(error["msg"]).removeprefix("Input should be ")
    if kind == "too_short":
        message = f"expected at least {error['ctx']['min_length']} item(s)"
    if kind == "union_tag_invalid":
        message = "expected kind: " + str(error["ctx"]["expected_tags"])
    return format_location(loc) or "(top level)", message


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and part in ("date", "number", "postcode")


def parse_manifest(data: object, origin: str) -> Manifest:
    """Validate already-loaded YAML; raise UnusableInputError naming origin and the field path."""
    try:
        document = mapping(data, origin, "manifest")
    except InputError as exc:
        raise UnusableInputError(str(exc)) from None
    try:
        return Manifest.model_validate(document)
    except ValidationError as exc:
        where, message = _describe(exc.errors()[0])
        raise UnusableInputError(f"{origin}: {where}: {message}") from None


def load_manifest(path: str | Path) -> ManifestSource:
    """Read and validate a manifest. Everything :mod:`scripts.common.safeload` refuses (a folder, a device or an
    endless stream, more than 1 MiB, text that is not UTF-8, duplicate keys, alias bombs, deep nesting) and
    every field that breaks the format is :class:`UnusableInputError` naming the file and the key."""
    manifest_path = Path(path)
    try:
        data = read_yaml(manifest_path, what="manifest")
    except InputError as exc:
        raise UnusableInputError(str(exc)) from None
    manifest = parse_manifest(data, str(manifest_path))
    return ManifestSource(manifest=manifest, path=manifest_path)


MAX_DENY_LIST_BYTES = 8 * MAX_CONFIG_BYTES
"""A deny-list of 8 MiB holds several hundred thousand names; anything larger is not a deny-list."""


def load_deny_list(source: ManifestSource, override: str | Path | None = None) -> frozenset[str]:
    """Names from the deny-list file (one per line, # comments), lower-cased."""
    if override is not None:
        path = Path(override)
    elif source.manifest.scan.deny_list is not None:
        path = source.resolve(source.manifest.scan.deny_list)
    else:
        return frozenset()
    if override is None and not path.exists():
        raise UnusableInputError(f"{source.path}: scan.deny_list: file {path} not found")
    try:
        lines = read_text(path, what="deny-list", max_bytes=MAX_DENY_LIST_BYTES).splitlines()
    except InputError as exc:
        raise UnusableInputError(str(exc)) from None
    names = {line.split("#", 1)[0].strip().casefold() for line in lines}
    return frozenset(name for name in names if name)
