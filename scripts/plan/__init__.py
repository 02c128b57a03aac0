"""Stage 1, the plan: the real Pulumi program run offline, and what it would ask Azure Resource Manager for.

- :mod:`~scripts.plan.engine`: runs ``__main__.py`` in-process under Pulumi's mock engine and records every
  registration as the engine would receive it, with the provider's auto-naming and defaults;
- :mod:`~scripts.plan.arm_types`: the ARM type, ID segments and API version of each azure-native type used;
- :mod:`~scripts.plan.arm_export`: the plan as a flat ARM template, for ARM scanners;
- :mod:`~scripts.plan.cli`: ``python -m scripts.plan STACK`` (writes ``build/STACK/plan.json`` and
  ``template.json``).
"""
