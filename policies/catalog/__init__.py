"""The rule catalog: every rule of the secure ML platform, in a stable order.

``RULES`` is what both runners use: the CrossGuard pack (``policies/mlsec``) and the offline gate
(``python -m scripts.gate``) build their pulumi-policy objects from it with
:func:`policies.catalog.pack.build_policies`.
"""

from __future__ import annotations

from policies.catalog.governance import KNOWN_TYPES_ONLY, SUPPRESSION_AUDIT
from policies.catalog.model import ResourceRule, Rule, StackRule
from policies.catalog.rules import (
    audit,
    data,
    gateway_headers,
    ml,
    naming,
    network,
    ops,
    plan_facts,
    serving,
    serving_access,
    spark,
    stealing,
    storage,
    telemetry,
    vault,
)
from policies.catalog.rules import diagnostics as diagnostic_rules

RULES: tuple[Rule, ...] = (
    *storage.RULES,
    *ml.RULES,
    *serving.RULES,
    *serving_access.RULES,
    *spark.RULES,
    *gateway_headers.RULES,
    *stealing.RULES,
    *vault.RULES,
    *network.RULES,
    *telemetry.RULES,
    *data.RULES,
    *ops.RULES,
    *audit.RULES,
    *plan_facts.RULES,
    *diagnostic_rules.RULES,
    *naming.RULES,
    KNOWN_TYPES_ONLY,
    SUPPRESSION_AUDIT,
)
"""Every rule; the suppression audit comes last so that it sees which suppressions the others used."""

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

UNSUPPRESSIBLE: frozenset[str] = frozenset(rule.id for rule in RULES if not rule.suppressible)

__all__ = ["RULES", "RULES_BY_ID", "UNSUPPRESSIBLE", "ResourceRule", "Rule", "StackRule"]
