"""Errors that the command line turns into a one-line message and an exit code.

The exit codes mean what they mean for every command of the project (scripts/common/cli.py): 0 ok, 1 the check
found something or the request was refused, 2 the tool cannot judge (unusable input, storage or Key Vault
out of reach).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2
EXIT_STORAGE = EXIT_UNUSABLE


class DatasetError(Exception):
    """A user-facing failure: printed as one line, never as a traceback."""

    exit_code = EXIT_UNUSABLE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UnusableInputError(DatasetError):
    """A missing file, a malformed manifest or unreadable data (exit 2)."""

    exit_code = EXIT_UNUSABLE


class RefusedError(DatasetError):
    """The data or the request breaks a rule: findings, policy, an existing version (exit 1)."""

    exit_code = EXIT_FINDINGS


class StorageError(DatasetError):
    """The storage account or Key Vault could not be reached or answered with an error (exit 2)."""

    exit_code = EXIT_STORAGE
