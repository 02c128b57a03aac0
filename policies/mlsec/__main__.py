"""The MLSEC CrossGuard policy pack: ``pulumi preview --policy-pack policies/mlsec``.

It runs the rule catalog of ``policies/catalog`` (the repository root is put on ``sys.path``), with the
enforcement levels of ``policies/enforcement.yaml`` for the stack the CLI names in ``PULUMI_STACK``
(the file's default level when it is not set) and the suppressions of ``policies/suppressions.yaml``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, Policy, PolicyPack  # noqa: E402

from policies.catalog import RULES_BY_ID, UNSUPPRESSIBLE  # noqa: E402
from policies.catalog.governance import load_enforcement, load_suppressions  # noqa: E402
from policies.catalog.pack import PACK_NAME, build_policies, pack_level  # noqa: E402


def policies(stack: str | None) -> tuple[list[Policy], EnforcementLevel]:
    """The pack's policies for ``stack`` and the pack's default enforcement level."""
    enforcement = load_enforcement(known_rules=RULES_BY_ID)
    suppressions = load_suppressions(unsuppressible=UNSUPPRESSIBLE, known_rules=RULES_BY_ID, stack=stack)
    return build_policies(stack, enforcement, suppressions), pack_level(enforcement, stack)


def main() -> None:
    stack = os.environ.get("PULUMI_STACK") or None
    built, level = policies(stack)
    PolicyPack(
        name=PACK_NAME,
        policies=built,
        enforcement_level=level,
        description=f"Secure ML platform rules; stack {stack or '(not set)'}: {level.value} by default",
    )


if __name__ == "__main__":
    main()
