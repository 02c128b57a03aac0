"""Writing output files so that a failure never leaves a half-written one behind.

The text goes to a new temporary file in the target folder, created exclusively (``O_EXCL``: a file or link
planted under that name is never opened or followed), flushed to disk, then renamed over the target in one
step (``os.replace``): readers see the old file or the new one, never a part. Every failure - a read-only or
missing folder, a folder where the file should be, a full disk - is an :class:`InputError` naming the target
(exit status 2 through :func:`scripts.common.cli.run`), and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from scripts.common.safeload import InputError

MODE = 0o644
"""Permissions of a written file: what ``open(path, "w")`` gives under the usual umask of 022."""


def check_folder(folder: Path, names: Sequence[str], *, what: str) -> None:
    """:class:`InputError` now, before a long run, if ``folder`` cannot take the files ``names``: it cannot be
    created, a file cannot be created in it, or one of ``names`` is a folder. Leaves nothing behind: folders
    it had to create for the check are removed again."""
    created = [p for p in (folder, *folder.parents) if not p.exists() and not p.is_symlink()]
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder}: cannot create the folder for the {what}: {exc.strerror}") from None
        for name in names:
            if (folder / name).is_dir():
                raise InputError(f"{folder / name}: is a folder, not a {what}")
        try:
            handle, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise InputError(f"{folder}: cannot write the {what} there: {exc.strerror}") from None
        os.close(handle)
        os.unlink(probe)
    finally:
        for made in created:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()


def write_text(path: Path, text: str, *, what: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) in one step; :class:`InputError` if it cannot be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the folder for the {what}: {exc.strerror}") from None
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a {what}")
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), MODE)  # mkstemp's 0600 would hide build output from other users
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        raise InputError(f"{path}: cannot write the {what}: {exc.strerror or type(exc).__name__}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return path
