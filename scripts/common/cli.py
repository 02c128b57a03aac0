"""The one entry point every command runs through: exit statuses that mean the same everywhere.

- 0: done; for a check, nothing found.
- 1: a check found something (a mandatory policy violation, drift, a missing permission).
- 2: the command cannot judge its input: unreadable, malformed, hostile or unusable input, a missing tool,
  or an unexpected failure. One line on standard error names the file (and the key or row where it can);
  a traceback only with ``--debug``.
- 130: interrupted.

A security tool fails closed: an exception this wrapper does not know is exit 2 as well, never a pass.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from scripts.common.safeload import InputError

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_CANNOT_JUDGE = 2
EXIT_INTERRUPTED = 130

DEBUG_FLAG = "--debug"


class UsageError(Exception):
    """Wrong or missing arguments, or input a command cannot use: exit status 2, one line on standard error."""


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of printing usage and exiting, so a command
    reports a wrong argument in the same one line as any other input it cannot use."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def describe(exc: BaseException) -> str:
    """One line for an exception, naming the file where the exception knows it, never a value read."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or type(exc).__name__}"
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not UTF-8 text (invalid byte at offset {exc.start})"
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "input too large to hold in memory"
    return f"unexpected {type(exc).__name__}; run again with {DEBUG_FLAG} for the traceback"


def run(main: Callable[[list[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a command's ``main`` and map every failure to an exit status (see the module docstring).

    ``--debug`` anywhere in the arguments is taken out before ``main`` sees them and shows tracebacks.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    try:
        return main(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        code = exc.code
        if isinstance(code, str):  # sys.exit("message"): Python would print it, so must the wrapper
            print(f"error: {' '.join(code.split())}", file=sys.stderr)
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_CANNOT_JUDGE)
    except BaseException as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {describe(exc)}", file=sys.stderr)
        return EXIT_CANNOT_JUDGE
