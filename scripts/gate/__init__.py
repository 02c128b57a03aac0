"""Stage 2, the gate: the MLSEC rule catalog, checkov and the KQL check over a plan, and their reports.

``python -m scripts.gate --plan build/STACK/plan.json`` exits 0 (pass), 1 (a mandatory violation) or 2
(cannot judge the plan).
"""
