"""Streaming readers: CSV in blocks, JSON Lines line by line, Parquet by row group.

Every reader yields :class:`Batch` objects whose ``text`` record batch holds each column as UTF-8
text (nulls stay null), so that the detectors see the same thing whatever the format. Memory stays
bounded by one block or row group, whatever the size of the file.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from .errors import UnusableInputError

Format = Literal["csv", "jsonl", "parquet"]

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

CSV_BLOCK_SIZE = 8 << 20
JSONL_BATCH_ROWS = 16_384
PARQUET_BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Batch:
    """A slice of rows: text for scanning, and the values as read, for rewriting."""

    row_offset: int
    text: pa.RecordBatch
    original: pa.RecordBatch | None = None
    raw: list[dict[str, Any]] | None = None

    @property
    def num_rows(self) -> int:
        return int(self.text.num_rows)

    def head(self, rows: int) -> Batch:
        return Batch(
            row_offset=self.row_offset,
            text=self.text.slice(0, rows),
            original=self.original.slice(0, rows) if self.original is not None else None,
            raw=self.raw[:rows] if self.raw is not None else None,
        )


def detect_format(path: Path) -> Format:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_SUFFIXES))
        raise UnusableInputError(f"{path}: unknown data format (file name must end in one of {known})")
    return fmt


def is_hidden(name: str) -> bool:
    """Files Spark and Hadoop skip in a folder: ``_SUCCESS``, ``.crc`` checksums, temporary files."""
    return name.startswith((".", "_"))


def data_files(path: Path, fmt: Format | None = None) -> tuple[list[Path], Format]:
    """The files of a data set and their format: one file, or every file under a folder (a partitioned
    data set such as ``year=2024/part-0.parquet``), in path order, hidden names skipped as Spark does.

    A folder's format is ``fmt`` or its name's suffix (``events.parquet/``); the files in it are read in
    that format whatever their own suffix (Spark's JSON Lines output ends in ``.txt``). Anything that is
    not a regular file (a device, a dangling link) is listed, so that reading it is refused.
    """
    if not path.is_dir():
        return [path], fmt or detect_format(path)
    if fmt is None:
        fmt = _SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise UnusableInputError(f"{path}: a folder: give its format (--format csv, jsonl or parquet)")
    files = sorted(
        candidate
        for candidate in path.rglob("*")
        if not candidate.is_dir() and not any(is_hidden(part) for part in candidate.relative_to(path).parts)
    )
    if not files:
        raise UnusableInputError(f"{path}: the folder holds no data files")
    return files, fmt


class DataReader:
    """Opens a data file; ``columns`` is known before the first batch is read."""

    def __init__(
        self,
        path: str | Path,
        *,
        known_columns: list[str] | None = None,
        block_size: int = CSV_BLOCK_SIZE,
        batch_rows: int | None = None,
        data_format: Format | None = None,
    ) -> None:
        self.path = Path(path)
        self.format: Format = data_format or detect_format(self.path)
        if self.path.is_dir():
            raise UnusableInputError(f"{self.path}: is a folder, not a data file")
        if not self.path.exists():
            raise UnusableInputError(f"{self.path}: data file not found")
        if not self.path.is_file():
            raise UnusableInputError(f"{self.path}: is not a regular file (a device, pipe or socket), not a data file")
        self._block_size = block_size
        self._batch_rows = batch_rows
        self.columns: list[str] = self._read_columns()
        if self.format == "jsonl" and known_columns:
            # In JSON Lines an absent key is a null: known columns missing from the first record still exist.
            present = set(self.columns)
            self.columns += [name for name in known_columns if name not in present]

    def _read_columns(self) -> list[str]:
        if self.format == "csv":
            columns = self._csv_header()
        elif self.format == "parquet":
            columns = self._parquet_schema().names
        else:
            columns = self._jsonl_first_keys()
        # Column names are data too (a headerless CSV puts a row in the header line, a JSON Lines key may
        # be an e-mail address): messages name columns by position, never by name.
        seen: dict[str, int] = {}
        for position, name in enumerate(columns, start=1):
            if name in seen:
                raise UnusableInputError(
                    f"{self.path}: columns {seen[name]} and {position} have the same name (names must be unique)"
                )
            seen[name] = position
        return columns

    def _csv_header(self) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                # Decode line by line: only the lines of the header are decoded here. A UTF-8 byte-order
                # mark is dropped, as Arrow's CSV reader drops it.
                lines = (line.decode("utf-8-sig" if number == 0 else "utf-8") for number, line in enumerate(handle))
                header = next(csv.reader(lines), None)
        except UnicodeDecodeError:
            raise UnusableInputError(f"{self.path}: not UTF-8 text in the header line") from None
        except csv.Error:
            raise UnusableInputError(f"{self.path}: unreadable CSV header line") from None
        except OSError as exc:
            raise UnusableInputError(f"{self.path}: cannot read the data file ({exc.strerror})") from None
        if not header:
            raise UnusableInputError(f"{self.path}: empty file, expected a CSV header line")
        return header

    def _parquet_schema(self) -> pa.Schema:
        try:
            return pq.ParquetFile(self.path).schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise UnusableInputError(f"{self.path}: unreadable Parquet ({_arrow_reason(exc)})") from None

    def _jsonl_first_keys(self) -> list[str]:
        for _, record in self._jsonl_records():
            return list(record)
        raise UnusableInputError(f"{self.path}: empty file, expected JSON objects, one per line")

    def batches(self) -> Iterator[Batch]:
        """Yield batches in file order."""
        source = {"csv": self._csv_batches, "jsonl": self._jsonl_batches, "parquet": self._parquet_batches}
        yield from source[self.format]()

    def _csv_batches(self) -> Iterator[Batch]:
        read_options = pacsv.ReadOptions(use_threads=False, block_size=self._block_size)
        parse_options = pacsv.ParseOptions(newlines_in_values=True)
        # Read as bytes and decode here, so that invalid UTF-8 is reported with its row (Arrow's own
        # conversion error names neither the row nor the column).
        convert_options = pacsv.ConvertOptions(
            column_types={name: pa.binary() for name in self.columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        offset = 0
        try:
            reader = pacsv.open_csv(
                self.path, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
            for raw_batch in reader:
                record_batch = self._decode(raw_batch, offset)
                yield from self._rebatch(record_batch, offset)
                offset += record_batch.num_rows
        except pa.ArrowException as exc:
            raise UnusableInputError(
                f"{self.path}: unreadable CSV after data row {offset} ({_arrow_reason(exc)})"
            ) from None

    def _decode(self, raw_batch: pa.RecordBatch, offset: int) -> pa.RecordBatch:
        columns = []
        for position, column in enumerate(raw_batch.columns, start=1):
            try:
                columns.append(column.cast(pa.string()))
            except pa.ArrowInvalid:
                row = _first_invalid_utf8(column)
                raise UnusableInputError(
                    f"{self.path}: data row {offset + row + 1}, column {position}: not UTF-8 text"
                ) from None
        return pa.RecordBatch.from_arrays(columns, names=raw_batch.schema.names)

    def _rebatch(self, record_batch: pa.RecordBatch, offset: int) -> Iterator[Batch]:
        if self._batch_rows is None:
            yield Batch(row_offset=offset, text=record_batch, original=record_batch)
            return
        for start in range(0, record_batch.num_rows, self._batch_rows):
            piece = record_batch.slice(start, self._batch_rows)
            yield Batch(row_offset=offset + start, text=piece, original=piece)

    def _parquet_batches(self) -> Iterator[Batch]:
        offset = 0
        try:
            parquet = pq.ParquetFile(self.path)
            for record_batch in parquet.iter_batches(batch_size=self._batch_rows or PARQUET_BATCH_ROWS):
                text = pa.RecordBatch.from_arrays(
                    [as_text(column) for column in record_batch.columns], names=record_batch.schema.names
                )
                yield Batch(row_offset=offset, text=text, original=record_batch)
                offset += record_batch.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise UnusableInputError(
                f"{self.path}: unreadable Parquet after data row {offset} ({_arrow_reason(exc)})"
            ) from None

    def _jsonl_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise UnusableInputError(f"{self.path}: cannot read the data file ({exc.strerror})") from None
        with handle:
            for line_number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise UnusableInputError(f"{self.path}: line {line_number}: not UTF-8 text") from None
                if not line.strip():
                    continue
                record = parse_jsonl_line(line, f"{self.path}: line {line_number}")
                yield line_number, record

    def _jsonl_batches(self) -> Iterator[Batch]:
        names = list(self.columns)
        known = set(names)
        rows: list[dict[str, Any]] = []
        offset = 0
        size = self._batch_rows or JSONL_BATCH_ROWS
        for line_number, record in self._jsonl_records():
            check_jsonl_keys(record, known, f"{self.path}: line {line_number}")
            rows.append(record)
            if len(rows) == size:
                yield jsonl_batch(rows, names, offset)
                offset += len(rows)
                rows = []
        if rows:
            yield jsonl_batch(rows, names, offset)


def parse_jsonl_line(line: str, where: str) -> dict[str, Any]:
    """One JSON Lines record; ``where`` names the file and line in messages (never the content)."""
    try:
        record = json.loads(line, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError:
        raise UnusableInputError(f"{where}: a key appears more than once in one object") from None
    except json.JSONDecodeError as exc:
        raise UnusableInputError(f"{where}: not valid JSON ({exc.msg})") from None
    except (RecursionError, ValueError):
        raise UnusableInputError(f"{where}: unreadable JSON") from None
    if not isinstance(record, dict):
        raise UnusableInputError(f"{where}: expected a JSON object")
    return record


def check_jsonl_keys(record: dict[str, Any], known: set[str] | frozenset[str], where: str) -> None:
    for position, key in enumerate(record, start=1):
        if key not in known:
            raise UnusableInputError(f"{where}: key {position} of the object is not a declared column")


class _DuplicateKeyError(Exception):
    """A JSON object with the same key twice: the last value would hide the first from the scan."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError
        found[key] = value
    return found


def _first_invalid_utf8(column: pa.Array) -> int:
    """Index of the first value of a binary column that is not UTF-8 (found only after a failed cast)."""
    for index, value in enumerate(column.to_pylist()):
        if value is None:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return index
    return 0


def jsonl_batch(rows: list[dict[str, Any]], names: list[str], offset: int) -> Batch:
    arrays = [pa.array([_json_text(row.get(name)) for row in rows], type=pa.string()) for name in names]
    return Batch(row_offset=offset, text=pa.RecordBatch.from_arrays(arrays, names=names), raw=rows)


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def as_text(column: pa.Array) -> pa.Array:
    kind = column.type
    if pa.types.is_string(kind):
        return column
    if pa.types.is_large_string(kind) or pa.types.is_dictionary(kind) or pa.types.is_string_view(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array([_json_text(value) for value in column.to_pylist()], type=pa.string())
    return pc.cast(column, pa.string())


_ARROW_NOISE = re.compile(r"^(?:CSV parse error|Invalid|In CSV column #\d+): ?")


def _arrow_reason(exc: BaseException) -> str:
    """Arrow's message without the row contents it sometimes quotes."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    expected = re.search(r"Expected \d+ columns, got \d+", text)
    if expected:
        return expected.group().replace("Expected", "expected")
    if "UTF8" in text or "utf8" in text.lower():
        return "text is not valid UTF-8"
    text = _ARROW_NOISE.sub("", text)
    return text.split(":", 1)[0].strip() or exc.__class__.__name__
