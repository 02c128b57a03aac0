"""The rule model: one small object per rule, carrying its metadata and a pure check function.

A :class:`ResourceRule` checks one resource's inputs; a :class:`StackRule` checks the whole stack
(cross-resource facts such as "every storage account has blob access logs"). Both yield plain messages;
:mod:`policies.catalog.pack` turns each rule into the pulumi-policy object that CrossGuard and the
offline gate both run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pulumi_policy import Severity

from policies.catalog.values import MISSING, UNKNOWN, get, show

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


@dataclass(frozen=True)
class Res:
    """One resource as a rule sees it: type token, URN, logical name, plain properties, graph links."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()

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
        return not self.types or resource_type in self.types

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
        self._dependents: dict[str, list[Res]] = {}
        for r in self.resources:
            for d in r.dependencies:
                self._dependents.setdefault(d, []).append(r)

    def of_type(self, *tokens: str) -> list[Res]:
        return [r for r in self.resources if r.type in tokens]

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
