"""Enforcement levels per stack and rule, and the reviewed suppression file.

Both live in reviewed YAML files next to the catalog (``policies/enforcement.yaml`` and
``policies/suppressions.yaml``) and are read the same way by the CrossGuard pack and the offline gate.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from policies.catalog.model import StackRule, StackView, Threat
from scripts.common.safeload import InputError, read_yaml

POLICIES_DIR = Path(__file__).resolve().parent.parent
ENFORCEMENT_FILE = POLICIES_DIR / "enforcement.yaml"
SUPPRESSIONS_FILE = POLICIES_DIR / "suppressions.yaml"

_LEVELS = {
    level.value: level for level in (EnforcementLevel.ADVISORY, EnforcementLevel.MANDATORY, EnforcementLevel.DISABLED)
}


class GovernanceFileError(ValueError):
    """An enforcement or suppression file that cannot be used (the gate exits with status 2)."""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GovernanceFileError(f"{where}: expected a mapping, found {type(value).__name__}")
    return value


def _read(path: Path) -> dict[str, Any]:
    """The file as a mapping, read strictly (:mod:`scripts.common.safeload`): a duplicate key, an alias bomb, deep
    nesting, text that is not UTF-8 or a file that is not a regular file is a :class:`GovernanceFileError`."""
    try:
        document = read_yaml(path, what="policy governance file")
    except InputError as exc:
        raise GovernanceFileError(str(exc)) from None
    return _mapping(document or {}, str(path))


# ---------------------------------------------------------------------------------------------
# Enforcement
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enforcement:
    """Which enforcement level each rule has in each stack."""

    default: EnforcementLevel
    """Level for stacks not named in ``stacks``."""
    stacks: dict[str, EnforcementLevel]
    """Level of every rule in a named stack."""
    rules: dict[str, dict[str, EnforcementLevel]]
    """Per-rule overrides: rule id -> stack name (or ``*``) -> level."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Why each rule override exists."""

    def level(self, rule_id: str, stack: str | None) -> EnforcementLevel:
        """The level of ``rule_id`` in ``stack`` (None: the stack is not known, use the default)."""
        override = self.rules.get(rule_id, {})
        if stack is not None and stack in override:
            return override[stack]
        if "*" in override:
            return override["*"]
        return self.stacks.get(stack, self.default) if stack is not None else self.default


def _level(value: Any, where: str) -> EnforcementLevel:
    if value not in _LEVELS:
        raise GovernanceFileError(f"{where}: expected one of {', '.join(_LEVELS)}, found {value!r}")
    return _LEVELS[value]


def load_enforcement(path: Path = ENFORCEMENT_FILE, known_rules: Iterable[str] = ()) -> Enforcement:
    """Read the enforcement file; every override must name a known rule and give a reason."""
    document = _read(path)
    known = set(known_rules)
    stacks = {
        str(k): _level(v, f"{path.name}: stacks.{k}") for k, v in _mapping(document.get("stacks", {}), "stacks").items()
    }
    rules: dict[str, dict[str, EnforcementLevel]] = {}
    reasons: dict[str, str] = {}
    for rule_id, entry in _mapping(document.get("rules") or {}, "rules").items():
        where = f"{path.name}: rules.{rule_id}"
        if known and rule_id not in known:
            raise GovernanceFileError(f"{where}: no such rule")
        body = dict(_mapping(entry, where))
        reason = body.pop("reason", None)
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise GovernanceFileError(f"{where}: an override needs a reason of at least 10 characters")
        rules[rule_id] = {str(stack): _level(value, f"{where}.{stack}") for stack, value in body.items()}
        reasons[rule_id] = reason.strip()
    default = _level(document.get("default", "mandatory"), f"{path.name}: default")
    return Enforcement(default=default, stacks=stacks, rules=rules, reasons=reasons)


# ---------------------------------------------------------------------------------------------
# Suppressions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    """One reviewed exception: a rule silenced on the resources whose URN matches ``urn``."""

    rule: str
    urn: str
    """fnmatch pattern over the resource URN."""
    reason: str
    owner: str
    expires: dt.date
    stacks: tuple[str, ...] = ()
    """Stacks it applies to; empty: every stack."""
    index: int = 0
    """Position in the file, for messages."""

    @property
    def label(self) -> str:
        return f"suppression #{self.index + 1} ({self.rule} on {self.urn})"


@dataclass
class Suppressions:
    """The suppressions that apply to one run, and which of them were used."""

    entries: list[Suppression]
    unsuppressible: frozenset[str]
    """Rule ids no suppression may silence (the catalog's own plus those the file adds)."""
    today: dt.date
    stack: str | None = None
    known_rules: frozenset[str] = frozenset()
    used: set[int] = field(default_factory=set)

    def applies(self, entry: Suppression) -> bool:
        return not entry.stacks or self.stack is None or self.stack in entry.stacks

    def match(self, rule_id: str, urn: str) -> Suppression | None:
        """The live suppression for this finding, if any; it is then counted as used."""
        if rule_id in self.unsuppressible or not urn:
            return None
        for entry in self.entries:
            live = self.applies(entry) and entry.expires >= self.today
            if live and entry.rule == rule_id and fnmatch.fnmatchcase(urn, entry.urn):
                self.used.add(entry.index)
                return entry
        return None

    def problems(self) -> Iterator[str]:
        """Suppressions that are themselves violations: expired, unsuppressible, unknown rule, or unused."""
        for entry in self.entries:
            if not self.applies(entry):
                continue
            if self.known_rules and entry.rule not in self.known_rules:
                yield f"{entry.label}: no rule {entry.rule} in the catalog"
            elif entry.rule in self.unsuppressible:
                yield f"{entry.label}: rule {entry.rule} cannot be suppressed"
            elif entry.expires < self.today:
                yield f"{entry.label} expired on {entry.expires.isoformat()} (owner {entry.owner})"
            elif entry.index not in self.used:
                yield f"{entry.label} matches no finding; remove it"


_FIELDS = ("rule", "urn", "reason", "owner", "expires")


def _suppression(entry: Any, index: int, path: Path) -> Suppression:
    where = f"{path.name}: suppressions[{index}]"
    body = _mapping(entry, where)
    unknown = sorted(set(body) - {*_FIELDS, "stacks"})
    if unknown:
        raise GovernanceFileError(f"{where}: unknown keys {', '.join(unknown)}")
    for key in _FIELDS:
        if key == "expires":
            continue
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise GovernanceFileError(f"{where}: '{key}' is required")
    if len(body["reason"].strip()) < 20:
        raise GovernanceFileError(f"{where}: 'reason' must explain the exception (at least 20 characters)")
    expires = body.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise GovernanceFileError(f"{where}: 'expires' must be an ISO date (YYYY-MM-DD)") from None
    if not isinstance(expires, dt.date):
        raise GovernanceFileError(f"{where}: 'expires' must be an ISO date (YYYY-MM-DD)")
    stacks = body.get("stacks", [])
    if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
        raise GovernanceFileError(f"{where}: 'stacks' must be a list of stack names")
    return Suppression(
        rule=body["rule"].strip(),
        urn=body["urn"].strip(),
        reason=body["reason"].strip(),
        owner=body["owner"].strip(),
        expires=expires,
        stacks=tuple(stacks),
        index=index,
    )


def load_suppressions(
    path: Path = SUPPRESSIONS_FILE,
    *,
    unsuppressible: Iterable[str] = (),
    known_rules: Iterable[str] = (),
    stack: str | None = None,
    today: dt.date | None = None,
) -> Suppressions:
    """Read the suppression file for one run of ``stack`` on ``today`` (default: today, UTC)."""
    document = _read(path)
    entries = document.get("suppressions") or []
    if not isinstance(entries, list):
        raise GovernanceFileError(f"{path.name}: 'suppressions' must be a list")
    listed = document.get("unsuppressible") or []
    if not isinstance(listed, list) or not all(isinstance(r, str) for r in listed):
        raise GovernanceFileError(f"{path.name}: 'unsuppressible' must be a list of rule ids")
    return Suppressions(
        entries=[_suppression(e, i, path) for i, e in enumerate(entries)],
        unsuppressible=frozenset(unsuppressible) | frozenset(listed),
        today=today or dt.datetime.now(dt.UTC).date(),
        stack=stack,
        known_rules=frozenset(known_rules),
    )


def _audit(stack: StackView) -> Iterator[tuple[str, str]]:
    if stack.suppressions is not None:
        for problem in stack.suppressions.problems():
            yield "", problem


SUPPRESSION_AUDIT = StackRule(
    id="MLSEC-GOV-001",
    name="Every suppression is live, allowed and still needed",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="A suppression is a reviewed, owned and dated exception. Once expired, no longer matching anything, "
    "or aimed at a rule that must never be silenced, it hides the next real finding.",
    remediation="Renew the suppression with a new review and expiry, fix the finding, or delete the entry from "
    "policies/suppressions.yaml.",
    suppressible=False,
    check=_audit,
)
"""Runs after every other rule, so that it knows which suppressions were used."""
