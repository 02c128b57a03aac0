"""Enforcement levels per stack and rule, and the one store of reviewed exceptions.

Both live in reviewed YAML files next to the catalog (``policies/enforcement.yaml`` and
``policies/suppressions.yaml``) and are read the same way by the CrossGuard pack and the offline gate.

The exception store holds three kinds of entry, each with a reason, an owner and an expiry, all audited by
MLSEC-GOV-001: ``suppressions`` (a catalog rule on the resources whose URN matches), ``checkov`` (a checkov check
on every resource of one ARM type, written into the exported template's metadata by
``scripts.plan.arm_export``) and ``secrets`` (one reviewed finding of the repository's secrets scan,
``scripts.gate.secrets_scan``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from policies.catalog.model import StackRule, StackView, Threat, unknown_type
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


@dataclass(frozen=True)
class CheckovSkip:
    """One reviewed checkov exception: a check skipped on every resource of one ARM type, in the matching stacks."""

    check: str
    """checkov check id (``CKV_AZURE_...``)."""
    arm_type: str
    """ARM resource type (``Microsoft.Storage/storageAccounts``)."""
    reason: str
    owner: str
    expires: dt.date
    stacks: tuple[str, ...] = ("*",)
    """Stack-name patterns (fnmatch) it holds in."""
    index: int = 0

    @property
    def label(self) -> str:
        return f"checkov exception #{self.index + 1} ({self.check} on {self.arm_type})"

    def holds_in(self, stack: str | None) -> bool:
        return stack is None or any(fnmatch.fnmatchcase(stack, pattern) for pattern in self.stacks)


@dataclass(frozen=True)
class SecretAllowance:
    """One reviewed finding of the repository's secrets scan, matched by check, file and checkov's hash of the
    value (never the value itself)."""

    check: str
    """checkov secrets check id (``CKV_SECRET_...``)."""
    file: str
    """Path of the file, relative to the repository."""
    hash: str
    """checkov's SHA-1 of the detected value (its ``resource``)."""
    reason: str
    owner: str
    expires: dt.date
    index: int = 0

    @property
    def label(self) -> str:
        return f"secrets exception #{self.index + 1} ({self.check} in {self.file})"


@dataclass
class Suppressions:
    """The exceptions that apply to one run, and which suppressions were used."""

    entries: list[Suppression]
    unsuppressible: frozenset[str]
    """Rule ids no suppression may silence (the catalog's own plus those the file adds)."""
    today: dt.date
    stack: str | None = None
    known_rules: frozenset[str] = frozenset()
    used: set[int] = field(default_factory=set)
    checkov: list[CheckovSkip] = field(default_factory=list)
    """Every checkov exception of the file (:meth:`checkov_skips`: those live in this stack today)."""
    secrets: list[SecretAllowance] = field(default_factory=list)

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

    def checkov_skips(self) -> list[CheckovSkip]:
        """The checkov exceptions that hold in this run's stack and have not expired."""
        return [e for e in self.checkov if e.holds_in(self.stack) and e.expires >= self.today]

    def secret_allowance(self, check: str, file: str, value_hash: str) -> SecretAllowance | None:
        """The live entry for this secrets finding, if any."""
        for entry in self.secrets:
            if (entry.check, entry.file, entry.hash) == (check, file, value_hash) and entry.expires >= self.today:
                return entry
        return None

    def problems(self) -> Iterator[str]:
        """Exceptions that are themselves violations: expired, unsuppressible, unknown rule, or unused.

        Use is known here for suppressions only; the checkov and secrets scans run after the rules, so their
        exceptions are audited for expiry here, and for use by ``tests/gate/test_checkov.py`` (every checkov
        exception is needed) and the secrets scan (an entry that matches no finding fails it)."""
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
        dated: list[CheckovSkip | SecretAllowance] = [e for e in self.checkov if e.holds_in(self.stack)]
        dated += self.secrets
        for other in dated:
            if other.expires < self.today:
                yield f"{other.label} expired on {other.expires.isoformat()} (owner {other.owner})"


_KINDS: dict[str, tuple[str, ...]] = {
    "suppressions": ("rule", "urn"),
    "checkov": ("check", "armType"),
    "secrets": ("check", "file", "hash"),
}
"""Per entry kind: the keys that say what it excepts (all required strings); every kind also needs ``reason``,
``owner`` and ``expires``, and may have ``stacks`` (not ``secrets``: a committed secret is in every stack)."""

_TOP_LEVEL = frozenset({"unsuppressible", *_KINDS})


def _entry(entry: Any, kind: str, index: int, path: Path) -> dict[str, Any]:
    """The fields of one entry of ``kind``, checked: every key known, every required string present, a reason
    that explains, an ISO expiry date and (where allowed) a list of stack names."""
    where = f"{path.name}: {kind}[{index}]"
    body = _mapping(entry, where)
    required = (*_KINDS[kind], "reason", "owner")
    allowed = {*required, "expires"} | ({"stacks"} if kind != "secrets" else set())
    unknown = sorted(str(key) for key in set(body) - allowed)
    if unknown:
        raise GovernanceFileError(f"{where}: unknown keys {', '.join(unknown)}")
    for key in required:
        if key not in body or body[key] is None:
            raise GovernanceFileError(f"{where}: '{key}' is required")
        if not isinstance(body[key], str) or not body[key].strip():
            raise GovernanceFileError(f"{where}: '{key}' must be a non-empty string")
    if len(body["reason"].strip()) < 20:
        raise GovernanceFileError(f"{where}: 'reason' must explain the exception (at least 20 characters)")
    expires = body.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise GovernanceFileError(f"{where}: 'expires' must be an ISO date (YYYY-MM-DD)") from None
    if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
        raise GovernanceFileError(f"{where}: 'expires' must be an ISO date (YYYY-MM-DD)")
    stacks = body.get("stacks", [])
    if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
        raise GovernanceFileError(f"{where}: 'stacks' must be a list of stack names")
    fields = {key: body[key].strip() for key in required}
    return {**fields, "expires": expires, "stacks": tuple(stacks), "index": index}


def _entries(document: dict[str, Any], kind: str, path: Path) -> list[dict[str, Any]]:
    listed = document.get(kind)
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise GovernanceFileError(f"{path.name}: '{kind}' must be a list")
    return [_entry(e, kind, i, path) for i, e in enumerate(listed)]


def load_suppressions(
    path: Path = SUPPRESSIONS_FILE,
    *,
    unsuppressible: Iterable[str] = (),
    known_rules: Iterable[str] = (),
    stack: str | None = None,
    today: dt.date | None = None,
) -> Suppressions:
    """Read the exception store for one run of ``stack`` on ``today`` (default: today, UTC).

    The file's schema is strict: a top-level key or an entry key it does not know, or a value of the wrong kind,
    is a :class:`GovernanceFileError` naming the file and the key."""
    document = _read(path)
    unknown = sorted(str(key) for key in set(document) - _TOP_LEVEL)
    if unknown:
        raise GovernanceFileError(
            f"{path.name}: unknown keys {', '.join(unknown)} (expected {', '.join(sorted(_TOP_LEVEL))})"
        )
    listed = document.get("unsuppressible") or []
    if not isinstance(listed, list) or not all(isinstance(r, str) for r in listed):
        raise GovernanceFileError(f"{path.name}: 'unsuppressible' must be a list of rule ids")
    checkov = [
        CheckovSkip(e["check"], e["armType"], e["reason"], e["owner"], e["expires"], e["stacks"] or ("*",), e["index"])
        for e in _entries(document, "checkov", path)
    ]
    secrets = [
        SecretAllowance(e["check"], e["file"], e["hash"], e["reason"], e["owner"], e["expires"], e["index"])
        for e in _entries(document, "secrets", path)
    ]
    return Suppressions(
        entries=[
            Suppression(e["rule"], e["urn"], e["reason"], e["owner"], e["expires"], e["stacks"], e["index"])
            for e in _entries(document, "suppressions", path)
        ],
        unsuppressible=frozenset(unsuppressible) | frozenset(listed),
        today=today or dt.datetime.now(dt.UTC).date(),
        stack=stack,
        known_rules=frozenset(known_rules),
        checkov=checkov,
        secrets=secrets,
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


def _unknown_types(stack: StackView) -> Iterator[tuple[str, str]]:
    for res in stack.resources:
        if unknown_type(res.type):
            yield (
                res.urn,
                (
                    f"{res.name} is a {res.type}, a type no rule of the catalog was written for: "
                    "it would pass unexamined"
                ),
            )


KNOWN_TYPES_ONLY = StackRule(
    id="MLSEC-GOV-002",
    name="Every Azure resource is of a type the rules were written for",
    severity=Severity.HIGH,
    threat=Threat.EVASION,
    rationale="The rules examine the azure-native types the blueprint creates. A resource of any other type "
    "(a new service added in a fork, or a type token the catalog does not know) would pass every rule unexamined. "
    "The offline gate refuses such a plan before any rule runs (exit 2); under pulumi preview this rule refuses it.",
    remediation="Add the type to ARM_TYPES in scripts/plan/arm_types.py (ARM type, ID segments, API version) and "
    "review the catalog's rules and diagnostic categories for it (policies/catalog/), with failing cases.",
    suppressible=False,
    check=_unknown_types,
)
"""The fail-closed counterpart, under CrossGuard, of the offline gate's refusal of unknown types."""
