"""The building blocks of every settings area: the config namespace, the error a user sees, constrained
value types and their patterns, and security controls that are off only with a written reason."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass

PROJECT = "secure-ml"
"""Pulumi project name, and so the config namespace (``secure-ml:<key>``)."""

_CONFIG = ConfigDict(
    extra="forbid",
    alias_generator=to_camel,
    populate_by_name=False,
    str_strip_whitespace=True,
    use_attribute_docstrings=True,
)

COSMOS_DB_APP_ID = {
    "AzurePublicCloud": "a232010e-820c-4083-83bb-3ace5fc29d0b",
    "AzureUSGovernment": "57506a73-e302-42a9-b869-6f12d9ec29e9",
    "AzureChinaCloud": "a232010e-820c-4083-83bb-3ace5fc29d0b",
}
"""Application ID of the Azure Cosmos DB first-party application by cloud, as given in
https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys (every region except
Azure Government uses a232010e-...)."""

MIN_REASON_LENGTH = 20
"""A reason shorter than this is not a reason."""


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. Printed without a traceback; the offline plan exits with 2."""


def _network(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected an IPv4 network in CIDR notation such as 10.20.0.0/24 ({exc})") from None
    if net.version != 4:
        raise ValueError("expected an IPv4 network; Azure ML managed networks need IPv4 address space")
    if not net.is_private:
        raise ValueError("expected a private (RFC 1918) address range")
    return str(net)


Cidr = Annotated[str, AfterValidator(_network)]

_NAME = r"^[a-z][a-z0-9]{1,9}$"
_PREFIX = r"^[a-z][a-z0-9]{1,7}$"
_TEAM = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
_CLUSTER = r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$"
_VM_SIZE = r"^Standard_[A-Za-z0-9_]+$"
_REGION = r"^[a-z0-9]+$"
_COST_CENTER = r"^[A-Za-z0-9._-]+$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ObjectId = Annotated[str, Field(pattern=_UUID, description="a Microsoft Entra object ID (GUID)")]
_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
Email = Annotated[str, Field(pattern=_EMAIL, max_length=254)]
_FQDN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FQDN = rf"^(?:\*\.)?(?:{_FQDN_LABEL}\.)+[a-z]{{2,63}}$"
Fqdn = Annotated[str, Field(pattern=_FQDN, max_length=253)]
_RESOURCE_ID = r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/[^/]+/.+$"
ResourceId = Annotated[str, Field(pattern=_RESOURCE_ID)]
Reason = Annotated[str, Field(min_length=MIN_REASON_LENGTH, max_length=500)]


@dataclass(frozen=True, config=_CONFIG)
class Control:
    """A security control that is on unless the stack file turns it off with a written reason."""

    enabled: bool = True
    """Whether the control is in force."""
    reason: Reason | None = None
    """Why the control is off (required when ``enabled`` is false)."""

    @model_validator(mode="after")
    def _reason_when_off(self) -> Control:
        if not self.enabled and not self.reason:
            raise ValueError(
                "turning a security control off needs a written reason: "
                "write {enabled: false, reason: '<why, at least 20 characters>'}"
            )
        return self


def _control(value: Any) -> Any:
    if isinstance(value, bool):
        return {"enabled": value}
    return value


SecurityControl = Annotated[Control, BeforeValidator(_control)]
ON = Control()


@dataclass(frozen=True, config=_CONFIG)
class Switch:
    """An operational switch that is off unless the stack file turns it on with a written reason."""

    enabled: bool = False
    """Whether the switch is on."""
    reason: Reason | None = None
    """Why it is on (required when ``enabled`` is true)."""

    @model_validator(mode="after")
    def _reason_when_on(self) -> Switch:
        if self.enabled and not self.reason:
            raise ValueError(
                "turning this switch on needs a written reason: "
                "write {enabled: true, reason: '<why, at least 20 characters>'}"
            )
        return self


ReasonedSwitch = Annotated[Switch, BeforeValidator(_control)]
OFF = Switch()


Classification = Literal["public", "internal", "confidential", "restricted"]

_CONTAINER = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_HOLD_TAG = r"^[A-Za-z0-9]{3,23}$"
_ENDPOINT = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
_MODEL = r"^azureml:[A-Za-z0-9][A-Za-z0-9_.-]{0,254}:[0-9]+$"


class _FieldError(ValueError):
    """A cross-field check that failed on a key below the model being validated."""

    def __init__(self, key: str, expected: str, found: object, hint: str = "") -> None:
        super().__init__(f"{expected}, found {found!r}{hint}")
        self.key = key
        self.expected = expected
        self.found = found
        self.hint = hint


def _require_unique(key: str, names: list[str], key_of: Callable[[int], str] | None = None) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            where = key_of(i) if key_of else f"{key}[{i}].name"
            raise _FieldError(where, "expected a name not used earlier in the list", name)
        seen.add(name)


_PATTERN_TEXT = {
    _UUID: "a Microsoft Entra object ID (a GUID such as 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01)",
    _EMAIL: "an e-mail address",
    _FQDN: "a lowercase DNS name such as pypi.org",
    _RESOURCE_ID: "an Azure resource ID (/subscriptions/<id>/resourceGroups/...)",
    _NAME: "2-10 lowercase letters and digits starting with a letter (it becomes part of storage account names)",
    _PREFIX: "2-8 lowercase letters and digits starting with a letter (it starts every resource name)",
    _TEAM: "3-40 lowercase letters, digits and hyphens, starting with a letter",
    _CLUSTER: "3-16 lowercase letters, digits and hyphens, starting with a letter (Azure ML compute name rules)",
    _VM_SIZE: "an Azure VM size such as Standard_DS3_v2",
    _REGION: "an Azure region name such as westeurope",
    _COST_CENTER: "2-64 letters, digits, dots, underscores or hyphens",
    _CONTAINER: "3-63 lowercase letters, digits and hyphens (Azure container name rules)",
    _HOLD_TAG: "3-23 letters and digits (Azure legal-hold tag rules)",
    _ENDPOINT: "3-32 lowercase letters, digits and hyphens, starting with a letter",
    _MODEL: "a registered model reference such as azureml:fraud-model:3",
}
