"""The stealing budget: how many queries the gateway lets one caller make, against what stealing costs.

The arithmetic is the stealing-budget rule's (policies/catalog/rules/stealing.py, MLSEC-EPT-030), so the
command and the gate never disagree; its docstring gives the formulas and their sources.
"""

from __future__ import annotations

from policies.catalog.rules.stealing import (
    ALERT_WINDOW_SECONDS,
    Budget,
    Limits,
    budget,
    period_reach,
    stolen_unnoticed,
)

__all__ = ["ALERT_WINDOW_SECONDS", "Budget", "Limits", "budget", "period_reach", "stolen_unnoticed"]
