"""The rule catalog: every rule of the secure ML platform, in a stable order.

``RULES`` is what both runners use: the CrossGuard pack (``policies/mlsec``) and the offline gate
(``python -m scripts.check``) build their pulumi-policy objects from it with
:func:`policies.catalog.pack.build_policies`.
"""

from __future__ import annotations

from policies.catalog.governance import SUPPRESSION_AUDIT
from policies.catalog.model import ResourceRule, Rule, StackRule
from policies.catalog.rules import data, ml, naming, network, ops, serving, storage, vault

RULES: tuple[Rule, ...] = (
    *storage.RULES,
    *ml.RULES,
    *serving.RULES,
    *vault.RULES,
    *network.RULES,
    *data.RULES,
    *ops.RULES,
    *naming.RULES,
    SUPPRESSION_AUDIT,
)
"""Every rule; the suppression audit comes last so that it sees which suppressions the others used."""

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

UNSUPPRESSIBLE: frozenset[str] = frozenset(rule.id for rule in RULES if not rule.suppressible)

__all__ = ["RULES", "RULES_BY_ID", "UNSUPPRESSIBLE", "ResourceRule", "Rule", "StackRule"]
