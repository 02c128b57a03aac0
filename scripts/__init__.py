"""The blueprint's commands, one package per pipeline stage, in the order a change goes through them.

- :mod:`scripts.plan`: the offline engine (``__main__.py`` under Pulumi's mock engine), the azure-native
  resource types it knows and the ARM export: ``python -m scripts.plan STACK`` writes ``build/STACK/plan.json``.
- :mod:`scripts.gate`: the policy gate over a plan (the rule catalog, checkov, the KQL check) and its
  reports: ``python -m scripts.gate --plan build/STACK/plan.json``.
- :mod:`scripts.ops`: everything that talks to live Azure: the ARM client, the preflight before
  ``pulumi up``, the live verification after it, and the gateway kill switch.
- :mod:`scripts.team`: scaffolding a new team's stacks: ``python -m scripts.team``.
- :mod:`scripts.dataset`: scanning, anonymizing, publishing and verifying datasets.
- :mod:`scripts.assess`: the model assessment before release (evasion, extraction, membership inference).
- :mod:`scripts.bench` and :mod:`scripts.docs`: the benchmarks and the generated pages.
- :mod:`scripts.common`: what every command shares: exit statuses, strict input reading, atomic writes.
"""
