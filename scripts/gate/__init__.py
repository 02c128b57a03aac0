"""Stage 2, the gate: the MLSEC rule catalog, checkov and the KQL check over a plan, and their reports.

``python -m scripts.gate --plan build/STACK/plan.json`` exits 0 (pass), 1 (a mandatory violation) or 2
(cannot judge the plan). One module per job:

- :mod:`.evaluate`: reading and validating a plan, the rules over it, :class:`~.evaluate.Finding` and
  :class:`~.evaluate.Report` (what rule tests import);
- :mod:`.checkov`: checkov on the plan's ARM template; :mod:`.kql_check`: the alert queries;
- :mod:`.reports`: the table, JSON, SARIF and JUnit reports; :mod:`.cli`: the command line;
- :mod:`.secrets_scan`: the repository's secrets, scanned once per commit (``make secrets``), not per plan.
"""
