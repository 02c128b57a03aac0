"""The team scaffolding's lock and writer.

One run at a time per project: an exclusive ``flock`` on :data:`LOCK` is held for the whole run, and the
registry and every stack file are read only once it is held.

A run writes several files (the registry and a stack file per environment) and must write all of them or
none, so it does not use :func:`scripts.common.safewrite.write_text`, which replaces one file: every file is
staged as a new temporary file in its own folder (created exclusively, so a planted link is never followed),
and only once all are staged is each renamed over its target; a failed rename puts back what was there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from scripts.common.safeload import InputError

LOCK = "stacks/.address-registry.lock"
"""Held (flock, exclusive) for the whole of a run; never removed, so every run locks the same file."""
LOCK_TIMEOUT = 60.0
"""Seconds a run waits for another run against the same project to finish."""


@contextlib.contextmanager
def locked(root: Path, timeout: float) -> Iterator[None]:
    """Hold the project's registry lock (an exclusive ``flock`` on :data:`LOCK`) for the ``with`` block.

    The lock file is opened without following a link and never removed (removing it would let two runs lock
    two different files). The lock goes with the process, so a run that dies leaves nothing to clean up.
    """
    path = root / LOCK
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise InputError(f"{LOCK}: cannot open the lock file: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError(
                        f"{LOCK}: another run of scripts.team has held the lock for {timeout:g} s; "
                        "nothing was written, run again when it has finished"
                    ) from None
                time.sleep(0.02)
            except OSError as exc:
                raise InputError(f"{LOCK}: cannot lock the lock file: {exc.strerror}") from None
        yield
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_files(root: Path, files: Sequence[tuple[str, str]]) -> None:
    """Write every file or none: each to a new temporary file in its own folder (created exclusively, so a
    planted link is never followed), then, once all are staged, each renamed over its target in the order
    given. A failure while staging removes the temporary files and leaves every target as it was."""
    staged: list[tuple[str, Path, Path]] = []
    try:
        for relative, text in files:
            target = root / relative
            try:
                mode = target.stat().st_mode & 0o777 if target.is_file() else _new_file_mode()
                fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
                staged.append((relative, Path(name), target))
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(name, mode)
            except OSError as exc:
                folder = Path(relative).parent
                raise InputError(f"{relative}: cannot write it in {folder}/: {exc.strerror}") from None
        previous = {t: (t.read_bytes() if t.is_file() else None) for _, _, t in staged}
        done: list[Path] = []
        try:
            for relative, temporary, target in staged:
                try:
                    os.replace(temporary, target)
                except OSError as exc:
                    raise InputError(f"{relative}: cannot replace it: {exc.strerror}") from None
                done.append(target)
        except BaseException:
            for target in reversed(done):  # best effort: put back what was there
                with contextlib.suppress(OSError):
                    before = previous[target]
                    if before is None:
                        target.unlink()
                    else:
                        target.write_bytes(before)
            raise
    finally:
        for _, temporary, _ in staged:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
