"""What stops a run of the team scaffolding, by exit status (through :func:`scripts.common.cli.run`).

Invalid arguments are a :class:`scripts.common.cli.UsageError` and a file the tool cannot judge (unreadable,
not of the documented form) a :class:`scripts.common.safeload.InputError`: exit status 2.
"""

from __future__ import annotations

from scripts.common.cli import UsageError

__all__ = ["OverlapError", "RefusedError", "UsageError"]


class RefusedError(Exception):
    """The request conflicts with what the tool found; exit status 1."""


class OverlapError(RefusedError):
    """Ranges already in use overlap each other; one finding per line, exit status 1."""
