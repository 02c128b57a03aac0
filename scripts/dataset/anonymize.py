"""Apply each column's declared action, then re-scan the output before it is allowed to exist."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from .errors import RefusedError, UnusableInputError
from .manifest import Column, DateGeneralization, ManifestSource, NumberGeneralization, PostcodeGeneralization
from .readers import Batch, Format, data_files, detect_format
from .scanner import ScanReport, check_schema, open_reader, scan_file

_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z]*)?\s*$")
_NOT_ALNUM = re.compile(r"[\W_]+")
MAX_NUMBER_DIGITS = 38


class TransformError(Exception):
    def __init__(self, index: int, expected: str) -> None:
        super().__init__(expected)
        self.index = index
        self.expected = expected


def hmac_sha256(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _map(values: pa.Array, function: Callable[[str], str]) -> pa.Array:
    out: list[str | None] = []
    for index, value in enumerate(values.to_pylist()):
        if value is None or value == "":
            out.append(value)
            continue
        try:
            out.append(function(value))
        except (ValueError, InvalidOperation) as exc:
            raise TransformError(index, str(exc)) from None
    return pa.array(out, type=pa.string())


def _generalize_date(rule: DateGeneralization) -> Callable[[str], str]:
    def apply(value: str) -> str:
        match = _ISO_DATE.match(value)
        if match is None:
            raise ValueError("an ISO 8601 date (YYYY-MM-DD)")
        year, month, day = (int(part) for part in match.groups())
        try:
            dt.date(year, month, day)
        except ValueError:
            raise ValueError("an ISO 8601 date (YYYY-MM-DD)") from None
        return f"{year:04d}" if rule.to == "year" else f"{year:04d}-{month:02d}"

    return apply


def _format_number(number: Decimal) -> str:
    return str(int(number)) if number == number.to_integral_value() else format(number.normalize(), "f")


def _generalize_number(rule: NumberGeneralization) -> Callable[[str], str]:
    width = Decimal(rule.bin_width)

    def apply(value: str) -> str:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("a number") from None
        if not number.is_finite():
            raise ValueError("a finite number")
        if number and number.adjusted() > MAX_NUMBER_DIGITS:
            # 1e999999999 is a valid decimal whose integer part would take gigabytes to build.
            raise ValueError(f"a number of at most {MAX_NUMBER_DIGITS} digits before the point")
        low = Decimal(math.floor(number / width)) * width
        return f"[{_format_number(low)}, {_format_number(low + width)})"

    return apply


def _generalize_postcode(rule: PostcodeGeneralization) -> Callable[[str], str]:
    def apply(value: str) -> str:
        return _NOT_ALNUM.sub("", value).upper()[: rule.prefix_length]

    return apply


def _mask(column: Column) -> Callable[[pa.Array], pa.Array]:
    keep = column.mask.keep_last if column.mask is not None else 0
    char = column.mask.char if column.mask is not None else "*"
    if keep == 0:
        return lambda values: pc.replace_substring_regex(values, r"[\pL\pN]", char)

    def apply(value: str) -> str:
        head, tail = value[:-keep], value[-keep:]
        return re.sub(r"[^\W_]", char, head) + tail

    return lambda values: _map(values, apply)


def column_transform(column: Column, key: bytes | None) -> Callable[[pa.Array], pa.Array] | None:
    """A function over a text column, or None for ``keep`` (and ``drop``, handled by the caller)."""
    if column.action == "hash":
        if key is None:
            raise UnusableInputError(
                f"column {column.name!r} is hashed: an HMAC key is required (--key-file or --key-vault-url)"
            )
        secret = key
        return lambda values: _map(values, lambda value: hmac_sha256(secret, value))
    if column.action == "mask":
        return _mask(column)
    if column.action == "generalize" and column.generalize is not None:
        rule = column.generalize
        if isinstance(rule, DateGeneralization):
            function = _generalize_date(rule)
        elif isinstance(rule, NumberGeneralization):
            function = _generalize_number(rule)
        else:
            function = _generalize_postcode(rule)
        return lambda values: _map(values, function)
    return None


class _Writer:
    """Writes one output file through an already open binary handle (never by path, so never via a link)."""

    def __init__(self, handle: IO[bytes], fmt: Format) -> None:
        self.handle = handle
        self.format = fmt
        self._csv: pacsv.CSVWriter | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, names: list[str], arrays: list[pa.Array], records: list[dict[str, Any]] | None) -> None:
        if self.format == "jsonl":
            rows = records if records is not None else pa.RecordBatch.from_arrays(arrays, names=names).to_pylist()
            for row in rows:
                self.handle.write((json.dumps(row, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
            return
        if self.format == "csv":
            arrays = [array if pa.types.is_string(array.type) else pc.cast(array, pa.string()) for array in arrays]
        batch = pa.RecordBatch.from_arrays(arrays, names=names)
        if self._schema is None:
            self._open(batch.schema)
        if self._csv is not None:
            self._csv.write_batch(batch)
        elif self._parquet is not None:
            self._parquet.write_batch(batch.cast(self._schema))

    def _open(self, schema: pa.Schema) -> None:
        self._schema = schema
        if self.format == "csv":
            self._csv = pacsv.CSVWriter(self.handle, schema)
        else:
            self._parquet = pq.ParquetWriter(self.handle, schema)

    def close(self, names: list[str]) -> None:
        if self._schema is None and self.format != "jsonl":
            self._open(pa.schema([(name, pa.string()) for name in names]))
        for writer in (self._csv, self._parquet):
            if writer is not None:
                writer.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())


def _create_temporary(out_path: Path) -> tuple[Path, IO[bytes], os.stat_result]:
    """A new, empty file next to ``out_path``, created exclusively (``O_CREAT | O_EXCL``, mode 0600).

    ``tempfile.mkstemp`` picks an unpredictable name and refuses to open anything that already exists,
    a symbolic link included, so a link planted in the output folder cannot redirect the write.
    """
    try:
        descriptor, name = tempfile.mkstemp(
            dir=out_path.parent, prefix=f".{out_path.name}.", suffix=f".partial{out_path.suffix}"
        )
    except OSError as exc:
        raise UnusableInputError(f"{out_path.parent}: cannot create a file there ({exc.strerror})") from None
    handle = os.fdopen(descriptor, "wb")
    return Path(name), handle, os.fstat(descriptor)


def _same_file(path: Path, opened: os.stat_result) -> bool:
    """Whether ``path`` is still the very file created (not replaced, not a link)."""
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(now.st_mode) and (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)


def _transform_batch(
    batch: Batch,
    where: str,
    plan: list[tuple[int, Column, Callable[[pa.Array], pa.Array] | None]],
    out_format: Format,
) -> tuple[list[str], list[pa.Array], list[dict[str, Any]] | None]:
    names: list[str] = []
    arrays: list[pa.Array] = []
    for position, column, transform in plan:
        names.append(column.name)
        if transform is None:
            source = batch.original if batch.original is not None and out_format != "csv" else batch.text
            arrays.append(source.column(position))
            continue
        try:
            arrays.append(transform(batch.text.column(position)))
        except TransformError as exc:
            row = batch.row_offset + exc.index + 1
            raise UnusableInputError(
                f"{where}: row {row}, column {column.name!r}: expected {exc.expected} to {column.action}"
            ) from None
    records: list[dict[str, Any]] | None = None
    if out_format == "jsonl" and batch.raw is not None:
        records = []
        transformed = {
            name: array.to_pylist()
            for (_, _, transform), name, array in zip(plan, names, arrays, strict=True)
            if transform is not None
        }
        for index, raw in enumerate(batch.raw):
            records.append(
                {
                    column.name: transformed[column.name][index] if transform is not None else raw.get(column.name)
                    for _, column, transform in plan
                }
            )
    return names, arrays, records


def anonymize_file(
    data: str | Path,
    source: ManifestSource,
    out: str | Path,
    *,
    key: bytes | None,
    deny_list: frozenset[str] = frozenset(),
    force: bool = False,
    data_format: Format | None = None,
    **reader_options: Any,
) -> ScanReport:
    """Write the anonymized file to ``out`` only if its re-scan is clean; return that scan.

    ``data`` is a file or a folder of files (read in path order into the one output file).
    """
    from .engine import plan_anonymize

    out_path = Path(out)
    out_format = detect_format(out_path)
    files, fmt = data_files(Path(data), data_format)
    readers = [open_reader(file, source, data_format=fmt, **reader_options) for file in files]
    for reader in readers:
        check_schema(reader, source, "raw")
    if out_path.is_dir():
        raise UnusableInputError(f"{out_path}: is a folder, not an output file")
    if out_path.exists() and not force:
        raise UnusableInputError(f"{out_path}: output exists (use --force to replace it)")
    if any(out_path.resolve() == reader.path.resolve() for reader in readers):
        raise UnusableInputError(f"{out_path}: output must not be the input file")
    if not out_path.parent.is_dir():
        raise UnusableInputError(f"{out_path.parent}: output directory does not exist")

    plans = [plan_anonymize(reader.columns, source.manifest, key) for reader in readers]
    names = [column.name for _, column, _ in plans[0]]
    order = {name: index for index, name in enumerate(names)}
    for reader, plan in zip(readers, plans, strict=True):
        if sorted(column.name for _, column, _ in plan) != sorted(names):
            raise UnusableInputError(f"{reader.path}: its columns differ from those of {readers[0].path}")
        plan.sort(key=lambda step: order[step[1].name])

    temporary, handle, created = _create_temporary(out_path)
    try:
        with handle:
            writer = _Writer(handle, out_format)
            try:
                for reader, plan in zip(readers, plans, strict=True):
                    for batch in reader.batches():
                        writer.write(*_transform_batch(batch, str(reader.path), plan, out_format))
            finally:
                writer.close(names)
        if not _same_file(temporary, created):
            raise UnusableInputError(f"{out_path.parent}: the temporary output was replaced while writing")
        report = scan_file(temporary, source, mode="anonymized", deny_list=deny_list)
        if not report.clean:
            raise AnonymizationIncompleteError(dataclasses.replace(report, file=str(out_path)))
        if not _same_file(temporary, created):
            raise UnusableInputError(f"{out_path.parent}: the temporary output was replaced while writing")
        os.replace(temporary, out_path)
    finally:
        if _same_file(temporary, created):
            temporary.unlink(missing_ok=True)
    return dataclasses.replace(report, file=str(out_path))


class AnonymizationIncompleteError(RefusedError):
    """The re-scan of the anonymized output still found personal data; nothing was written."""

    def __init__(self, report: ScanReport) -> None:
        super().__init__("anonymized output still holds personal data; nothing was written")
        self.report = report
