"""The stack file as the assessment reads it: the settings the program validates, or one line naming the fault."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.config import Settings


def stack_settings(stack: str, root: Path) -> Settings:
    """The validated settings of ``stacks/Pulumi.<stack>.yaml``; an unusable or invalid file is an input error."""
    from components.config import ConfigError
    from scripts.common.cli import UsageError
    from scripts.common.safeload import InputError
    from scripts.ops.kill_switch import load_settings

    try:
        settings = load_settings(stack, root)
    except UsageError as exc:
        raise InputError(str(exc)) from None
    except ConfigError as exc:
        raise InputError(str(exc).splitlines()[0] + " (run the offline plan for every problem)") from None
    return settings
