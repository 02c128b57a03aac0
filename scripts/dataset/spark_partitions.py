"""The Spark side of the engine contract: the session, a dataset read as a DataFrame that carries each row's
file split, and each task's Arrow batches turned back into the batches the single-machine reader gives.

Formats, read so that every value reaches the detectors as the single-machine reader gives it:

* CSV: Spark's CSV source with a header, quoted line breaks (``multiLine``), RFC 4180 quotes, every column
  as text, malformed lines failing the job (``FAILFAST``); an empty field is an empty string.
* JSON Lines: Spark's text source, one line per row, each line parsed by the tool's own JSON reader
  (duplicate keys, undeclared keys and non-objects refused as on one machine).
* Parquet: Spark's Parquet source; text and numbers become text as on one machine (timestamps arrive in
  the session's time zone).

Errors a task raises reach the driver as the tool's own one-line message (:func:`guarded`,
:func:`spark_error`); Spark's own messages may quote the data and are reduced to their error class.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .errors import DatasetError, UnusableInputError
from .manifest import ManifestSource
from .readers import _SUFFIXES, Batch, Format, as_text, check_jsonl_keys, jsonl_batch, parse_jsonl_line

INSTALL_HINT = (
    "--engine spark needs pyspark, which is not installed here: install the spark dependency group "
    "(`uv sync --group spark`; `make test` installs it)"
)
FILE_COLUMN = "__dataset_file__"
BLOCK_COLUMN = "__dataset_block__"
_ERROR = re.compile(r"<<dataset-error (\d)>>(.*?)<</dataset-error>>", re.DOTALL)
_ERROR_CLASS = re.compile(r"\[([A-Z][A-Z0-9_]+(?:\.[A-Z0-9_]+)*)\]")


def require_pyspark() -> None:
    """Exit 2 with how to install pyspark, before any work, when it is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UnusableInputError(INSTALL_HINT) from None


def session(master: str | None = None, **config: str) -> Any:
    """The active Spark session (inside a Spark job), or a new one (``local[*]`` unless ``master``)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None and not config:
        return active
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Not launched by spark-submit: this process starts its own local JVM, whose Python workers must be
        # this interpreter (it has pyarrow and this tool). Under spark-submit the cluster's setting stands.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("scripts.dataset").config("spark.ui.showConsoleProgress", "false")
    if master is not None:
        builder = builder.master(master)
    for name, value in config.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("OFF")
    return spark


def format_of(uri: str, given: Format | None) -> Format:
    """The given format, else the suffix of the file's or folder's name."""
    if given is not None:
        return given
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        raise UnusableInputError(f"{uri}: give the data format (--format csv, jsonl or parquet)")
    return fmt


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def spark_error(where: str, exc: BaseException) -> DatasetError:
    """A one-line error from a failed Spark job: the tool's own message if a task raised one, else the
    Spark error class only (Spark's messages may quote the data)."""
    text = str(exc)
    found = _ERROR.search(text)
    if found is not None:
        return DatasetError(found.group(2), int(found.group(1)))
    error_class = _ERROR_CLASS.search(text)
    reason = error_class.group(1) if error_class else type(exc).__name__
    return UnusableInputError(f"{where}: Spark could not read or write the data ({reason})")


def guarded(
    function: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Tasks raise the tool's one-line message in a form the driver finds in Spark's error."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            yield from function(batches)
        except DatasetError as exc:
            raise RuntimeError(f"<<dataset-error {exc.exit_code}>>{exc}<</dataset-error>>") from None

    return run


def read(spark: Any, uri: str, fmt: Format) -> Any:
    """The data as a DataFrame with each row's file and split (``_metadata``), folders read recursively."""
    reader = spark.read.option("recursiveFileLookup", "true")
    try:
        if fmt == "csv":
            frame = reader.options(
                header="true",
                multiLine="true",
                quote='"',
                escape='"',
                inferSchema="false",
                enforceSchema="false",
                mode="FAILFAST",
            ).csv(uri)
        elif fmt == "parquet":
            frame = reader.parquet(uri)
        else:
            frame = reader.text(uri)
    except Exception as exc:
        raise spark_error(uri, exc) from None
    from pyspark.sql import functions as F  # noqa: N812

    return frame.select(
        *[F.col(quoted(name)) for name in frame.columns],
        F.col("_metadata.file_path").alias(FILE_COLUMN),
        F.col("_metadata.file_block_start").alias(BLOCK_COLUMN),
    )


def data_columns(frame: Any, fmt: Format, source: ManifestSource) -> list[str]:
    if fmt == "jsonl":
        return [column.name for column in source.manifest.columns]
    return [name for name in frame.columns if name not in (FILE_COLUMN, BLOCK_COLUMN)]


@dataclasses.dataclass(slots=True)
class Slice:
    """The rows of one file split seen so far in a task: records and, for JSON Lines, lines."""

    file: str
    block: int
    rows: int = 0
    lines: int = 0

    @property
    def where(self) -> str:
        return self.file if self.block == 0 else f"{self.file} (from byte {self.block})"


def runs(batch: pa.RecordBatch) -> Iterator[tuple[str, int, int, int]]:
    """(file, split start, first row, row count) of each run of rows from one file split."""
    count = batch.num_rows
    if count == 0:
        return
    files = batch.column(batch.schema.get_field_index(FILE_COLUMN))
    blocks = batch.column(batch.schema.get_field_index(BLOCK_COLUMN))
    first_file, first_block = files[0].as_py(), blocks[0].as_py()
    if pc.all(pc.equal(files, first_file)).as_py() and pc.all(pc.equal(blocks, first_block)).as_py():
        yield first_file, first_block, 0, count
        return
    start = 0
    file_values, block_values = files.to_pylist(), blocks.to_pylist()
    for index in range(1, count + 1):
        if index == count or (file_values[index], block_values[index]) != (file_values[start], block_values[start]):
            yield file_values[start], block_values[start], start, index - start
            start = index


def to_batch(fmt: Format, names: list[str], piece: pa.RecordBatch, part: Slice) -> Batch:
    """The rows as the single-machine reader gives them: text for scanning, values for rewriting."""
    if fmt == "jsonl":
        lines = piece.column(0).to_pylist()
        known = frozenset(names)
        records = []
        for index, line in enumerate(lines, start=part.lines + 1):
            if line is None or not line.strip():
                continue
            where = f"{part.where}: line {index}"
            record = parse_jsonl_line(line, where)
            check_jsonl_keys(record, known, where)
            records.append(record)
        part.lines += len(lines)
        return jsonl_batch(records, names, part.rows)
    columns = [piece.column(index) for index in range(len(names))]
    if fmt == "csv":
        # Spark reads an empty CSV field as null; the single-machine reader as an empty string.
        text = pa.RecordBatch.from_arrays([pc.fill_null(as_text(column), "") for column in columns], names=names)
        return Batch(row_offset=part.rows, text=text, original=text)
    text = pa.RecordBatch.from_arrays([as_text(column) for column in columns], names=names)
    return Batch(row_offset=part.rows, text=text, original=pa.RecordBatch.from_arrays(columns, names=names))


def slices(batches: Iterator[pa.RecordBatch], fmt: Format, names: list[str]) -> Iterator[tuple[Slice, Batch | None]]:
    """Each task's batches as (slice, batch); a new slice starts with (slice, None)."""
    current: Slice | None = None
    for batch in batches:
        for file, block, start, count in runs(batch):
            if current is None or (current.file, current.block) != (file, block):
                current = Slice(file, block)
                yield current, None
            piece = to_batch(fmt, names, batch.slice(start, count), current)
            yield current, piece
            current.rows += piece.num_rows
