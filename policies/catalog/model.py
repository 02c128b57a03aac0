"""The rule model: one small object per rule, carrying its metadata and a pure check function.

A :class:`ResourceRule` checks one resource's inputs; a :class:`StackRule` checks the whole stack
(cross-resource facts such as "every storage account has blob access logs"). Both yield plain messages;
:mod:`policies.catalog.pack` turns each rule into the pulumi-policy object that CrossGuard and the
offline gate both run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.values import MISSING, UNKNOWN, get, show
from scripts.plan.arm_types import ARM_TYPES, NON_ARM_TYPES

if TYPE_CHECKING:
    from policies.catalog.governance import Suppressions


class Threat(Enum):
    """What a rule defends against."""

    STEALING = "stealing"
    """Model or data theft: a reachable model, a readable data store, an exfiltration path."""
    EVASION = "evasion"
    """Unlimited, unlogged use: no logs, no limits, no alerts."""
    POISONING = "poisoning"
    """Writable, unwatched training data."""
    PRIVACY = "privacy"
    """Personal data reaching people or systems that must not see it, or kept too long."""
    AVAILABILITY = "availability"
    """Loss of the platform or its data: deletion, lock-out, runaway cost."""


@dataclass(frozen=True)
class Mappings:
    """Equivalent checks in other tools, where one exists."""

    azure_policy: str | None = None
    """Display name of the Azure Policy built-in."""
    checkov: str | None = None
    """checkov check id (ARM framework)."""
    psrule: str | None = None
    """PSRule for Azure rule name."""


# ---------------------------------------------------------------------------------------------
# Type tokens as the rules see them
# ---------------------------------------------------------------------------------------------

AZURE_NATIVE = "azure-native"
"""The package of the provider whose resources the catalog judges."""


def _catalog_types() -> frozenset[str]:
    """The azure-native type tokens the catalog's facts name (``policies.catalog.azure``), alone or in groups."""
    found: set[str] = set()
    for value in vars(azure).values():
        members = value if isinstance(value, tuple | list | set | frozenset | dict) else (value,)
        found.update(v for v in members if isinstance(v, str) and v.startswith(f"{AZURE_NATIVE}:"))
    return frozenset(found)


KNOWN_TYPES: frozenset[str] = frozenset(ARM_TYPES) | frozenset(NON_ARM_TYPES) | _catalog_types()
"""Every custom resource type the catalog knows: the azure-native types of the blueprint
(``scripts.plan.arm_types``), the dynamic traffic step, and the types the rules are written for that the
blueprint itself does not create (an API Management global policy, a standalone NSG rule)."""

_BY_FOLDED = {token.casefold(): token for token in KNOWN_TYPES}

_API_VERSION_MODULE = re.compile(r"/v\d{8}(?:preview|privatepreview|beta)?$", re.IGNORECASE)
"""The API-version suffix of an azure-native module: ``storage/v20230101`` or ``storage/v20150501preview``
(each resource of the SDK carries such aliases; ``pulumi package add azure-native storage v20230101`` generates a
resource with that token)."""


@lru_cache(maxsize=4096)
def canonical_type(token: str) -> str:
    """The catalog's spelling of a type token, so that no spelling of a known type escapes the rules.

    A Pulumi type token is ``package:module:Type``. An azure-native token may name an explicit API version in its
    module (``azure-native:storage/v20230101:StorageAccount``): it is the same Azure resource type, so the
    version is dropped. A token that differs from a known one only in letter case is that known type: the
    provider looks types up by exact token (its resource map) and would reject the variant, so judging it as the
    known type is never more lenient. Any other token is returned unchanged (see :func:`unknown_type`).
    """
    parts = token.split(":")
    if len(parts) != 3:
        return token
    package, module, member = parts
    if package.casefold() == AZURE_NATIVE:
        package, module = AZURE_NATIVE, _API_VERSION_MODULE.sub("", module)
    candidate = f"{package}:{module}:{member}"
    return _BY_FOLDED.get(candidate.casefold(), candidate)


def unknown_type(token: str) -> bool:
    """Whether ``token`` is an azure-native type the catalog does not know (after :func:`canonical_type`): a
    resource no rule was written for, which a fail-closed gate must refuse rather than pass unexamined."""
    canonical = canonical_type(token)
    return canonical.split(":", 1)[0] == AZURE_NATIVE and canonical not in KNOWN_TYPES


@dataclass(frozen=True)
class Res:
    """One resource as a rule sees it: type token, URN, logical name, plain properties, graph links."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", canonical_type(self.type))

    @property
    def type_chain(self) -> list[str]:
        """The qualified type chain of the URN: the types of every ancestor component, then this type."""
        return self.urn.split("::")[2].split("$")

    def within(self, component_type: str) -> bool:
        """Whether the resource was created inside a component of ``component_type``."""
        return component_type in self.type_chain[:-1]

    def tag(self, key: str) -> Any:
        tags = self.props.get("tags")
        return tags.get(key, MISSING) if isinstance(tags, dict) else MISSING


ResourceCheck = Callable[[Res], Iterable[str]]
StackCheck = Callable[["StackView"], Iterable[tuple[str, str]]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Metadata every rule carries."""

    id: str
    """Stable id, MLSEC-<AREA>-<NNN>. Never reused."""
    name: str
    """The desired outcome in one sentence."""
    severity: Severity
    threat: Threat
    rationale: str
    """Why the control matters: the attack it blocks."""
    remediation: str
    """What to change so that the rule passes."""
    mappings: Mappings = field(default_factory=Mappings)
    suppressible: bool = True
    """False for rules no suppression may silence."""
    opt_out: str | None = None
    """The stack-config opt-out key (``securityOptOuts``) that explains this rule's findings, if any."""

    @property
    def area(self) -> str:
        return self.id.split("-")[1]


@dataclass(frozen=True, kw_only=True)
class ResourceRule(Rule):
    """A rule over the inputs of one resource of the given types."""

    types: tuple[str, ...]
    """Type tokens the rule applies to; empty: every resource."""
    check: ResourceCheck

    def applies_to(self, resource_type: str) -> bool:
        return not self.types or canonical_type(resource_type) in self.types

    def run(self, res: Res) -> list[str]:
        if not self.applies_to(res.type):
            return []
        return list(self.check(res))


@dataclass(frozen=True, kw_only=True)
class StackRule(Rule):
    """A rule over every resource of the stack at once."""

    check: StackCheck

    def run(self, stack: StackView) -> list[tuple[str, str]]:
        return list(self.check(stack))


# ---------------------------------------------------------------------------------------------
# The stack as stack rules see it
# ---------------------------------------------------------------------------------------------


class StackView:
    """Every resource of a stack, with lookups by type and along dependencies.

    Cross-resource links follow the engine's dependency graph (a diagnostic setting depends on the
    resource whose ID it names), which is known both in the offline plan and under ``pulumi preview``,
    where the IDs of resources not yet created are unknown.
    """

    def __init__(self, resources: Iterable[Res], suppressions: Suppressions | None = None) -> None:
        self.resources = list(resources)
        self.suppressions = suppressions
        """The run's suppressions (read by the suppression audit rule)."""
        self.by_urn = {r.urn: r for r in self.resources}
        self._by_type: dict[str, list[Res]] = {}
        self._dependents: dict[str, list[Res]] = {}
        for r in self.resources:
            self._by_type.setdefault(r.type, []).append(r)
            for d in r.dependencies:
                self._dependents.setdefault(d, []).append(r)
        self._of_type: dict[tuple[str, ...], list[Res]] = {}
        self._position = {r.urn: i for i, r in enumerate(self.resources)}
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[StackView], Any]) -> Any:
        """An index a rule builds once per stack (``build(self)``), kept under ``key``: lookups instead of a scan
        of the stack per resource."""
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]

    def in_order(self, found: Iterable[Res]) -> list[Res]:
        """``found`` without repeats, in stack order (the order a scan of the stack would have met them in)."""
        unique = {r.urn: r for r in found}
        return sorted(unique.values(), key=lambda r: self._position[r.urn])

    def of_type(self, *tokens: str) -> list[Res]:
        """Resources of the given types, in stack order (an index: no scan per call)."""
        found = self._of_type.get(tokens)
        if found is None:
            if len(tokens) == 1:
                found = self._by_type.get(tokens[0], [])
            else:
                wanted = set(tokens)
                found = [r for r in self.resources if r.type in wanted]
            self._of_type[tokens] = found
        return list(found)

    def deps(self, res: Res, *tokens: str) -> list[Res]:
        """Resources of the given types that ``res`` depends on."""
        found = (self.by_urn.get(d) for d in res.dependencies)
        return [r for r in found if r is not None and r.type in tokens]

    def dependents(self, res: Res, *tokens: str) -> list[Res]:
        """Resources of the given types that depend on ``res``."""
        return [r for r in self._dependents.get(res.urn, []) if r.type in tokens]


# ---------------------------------------------------------------------------------------------
# Check builders for the common "this property must have this value" rule
# ---------------------------------------------------------------------------------------------


def expect(props: dict[str, Any], path: str, allowed: Iterable[Any], *, absent_ok: bool = False) -> Iterator[str]:
    """A message if the value at ``path`` is known and not one of ``allowed``."""
    options = list(allowed)
    found = get(props, path)
    if found is UNKNOWN or found in options or (absent_ok and found is MISSING):
        return
    wanted = show(options[0]) if len(options) == 1 else "one of " + ", ".join(show(o) for o in options)
    yield f"{path} must be {wanted} (found {show(found)})"


def field_check(path: str, *allowed: Any, absent_ok: bool = False) -> ResourceCheck:
    """A check that ``path`` holds one of ``allowed``."""

    def check(res: Res) -> Iterator[str]:
        yield from expect(res.props, path, allowed, absent_ok=absent_ok)

    return check
