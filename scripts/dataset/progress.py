"""Progress of long scans, anonymizations and uploads on a terminal; silence in pipelines.

Progress goes to standard error only, and only when standard error is a terminal and ``CI`` is not set, so
reports on standard output stay byte-identical and pipeline logs stay clean. Bars show rows (scans,
anonymizations) or bytes (uploads), the rate and the time left.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm  # type: ignore[import-untyped]

from .readers import Batch, DataReader

_SAMPLE_BYTES = 1 << 20
"""Bytes read from the head of a CSV or JSON Lines file to estimate its row count."""


def enabled(stream: TextIO | None = None) -> bool:
    """Whether progress should show: ``stream`` (standard error) is a terminal and ``CI`` is not set."""
    target = sys.stderr if stream is None else stream
    if os.environ.get("CI", ""):
        return False
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _bar(label: str, total: float | None, unit: str, stream: TextIO, *, scale: bool) -> Any:
    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        unit_scale=scale,
        unit_divisor=1024 if unit == "B" else 1000,
        file=stream,
        dynamic_ncols=True,
        mininterval=0.2,
        leave=False,
    )


def estimate_rows(reader: DataReader) -> int | None:
    """Rows in the file: exact for Parquet (its footer), estimated from the first MiB for text formats."""
    path: Path = reader.path
    try:
        if reader.format == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            return int(pq.ParquetFile(path).metadata.num_rows)
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_SAMPLE_BYTES)
    except OSError:
        return None
    lines = head.count(b"\n") + (0 if not head or head.endswith(b"\n") else 1)
    if len(head) < size and lines:
        lines = round(lines * size / len(head))
    return max(lines - (1 if reader.format == "csv" else 0), 0)


@contextlib.contextmanager
def rows(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show a bar of rows for every file a :class:`DataReader` reads inside the block.

    The first file read is labelled ``label``; any later one (the re-scan of an anonymized output) ``check``.
    """
    target = sys.stderr if stream is None else stream
    if not enabled(target):
        yield
        return
    original: Callable[[DataReader], Iterator[Batch]] = DataReader.batches
    calls = [0]

    def batches(reader: DataReader) -> Iterator[Batch]:
        name = label if calls[0] == 0 else "check"
        calls[0] += 1
        with _bar(name, estimate_rows(reader), "rows", target, scale=True) as bar:
            for batch in original(reader):
                bar.update(batch.num_rows)
                yield batch

    DataReader.batches = batches  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        DataReader.batches = original  # type: ignore[method-assign,assignment]


@contextlib.contextmanager
def transfer(label: str, total: int, stream: TextIO | None = None) -> Iterator[Callable[..., None] | None]:
    """A ``progress_hook`` for an Azure Storage upload of ``total`` bytes (None when progress is off).

    azure-storage-blob calls the hook with the bytes sent so far and the total
    (https://learn.microsoft.com/python/api/azure-storage-blob/azure.storage.blob.blobclient#azure-storage-blob-blobclient-upload-blob,
    ``progress_hook``).
    """
    target = sys.stderr if stream is None else stream
    if not enabled(target):
        yield None
        return
    with _bar(label, total, "B", target, scale=True) as bar:

        def hook(current: int, _total: int | None) -> None:
            bar.update(current - bar.n)

        yield hook
