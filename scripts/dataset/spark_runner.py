"""The Spark runner: the engine contract (``engine``) applied to every partition with ``mapInArrow``.

Spark reads the data where it is (any Hadoop path pyspark can read: a local path, ``abfss://...``), a
single file or a folder of files (partitioned data sets; hidden ``_``/``.`` names skipped), and hands each
task's rows to the same per-batch functions as the single-machine runner, as Arrow record batches: no
row-by-row Python UDF. Each slice of the input (one Spark file split: ``_metadata.file_path`` and
``file_block_start``) is scanned as one :class:`~.engine.ScanPartial`; only those partials (counts and
row numbers, never values) come back to the driver, where they merge in file and byte order, so example
rows are numbered as in the single-machine runner's scan of the same files.

Reading the data and handing each task's rows over as the single-machine reader gives them is
``spark_partitions``.

k-anonymity and l-diversity are a ``groupBy`` over the quasi-identifiers (never collected): only the
summary counts reach the driver.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .anonymize import AnonymizationIncompleteError
from .column_scan import Mode
from .engine import (
    AnonymizePlan,
    BatchScanner,
    RiskReport,
    ScanPartial,
    ScanPlan,
    anonymize_batch,
    merge_scan,
    plan_anonymize,
    plan_scan,
)
from .errors import UnusableInputError
from .manifest import ManifestSource, Privacy
from .readers import _SUFFIXES, Format
from .scanner import ScanReport, check_columns
from .spark_partitions import (
    INSTALL_HINT,
    Slice,
    data_columns,
    format_of,
    guarded,
    quoted,
    read,
    require_pyspark,
    session,
    slices,
    spark_error,
)

_PARTIAL_SCHEMA = "file string, block long, partial string"


def _scan_task(
    plan: ScanPlan, fmt: Format, names: list[str]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        done: list[tuple[Slice, BatchScanner]] = []
        for part, batch in slices(batches, fmt, names):
            if batch is None:
                done.append((part, BatchScanner(plan)))
            else:
                done[-1][1].feed(batch)
        if done:
            yield pa.RecordBatch.from_pydict(
                {
                    "file": [part.file for part, _ in done],
                    "block": [part.block for part, _ in done],
                    "partial": [scanner.partial().to_json() for _, scanner in done],
                },
                schema=pa.schema([("file", pa.string()), ("block", pa.int64()), ("partial", pa.string())]),
            )

    return guarded(run)


def scan_dataset(
    uri: str,
    source: ManifestSource,
    *,
    mode: Mode = "raw",
    deny_list: frozenset[str] = frozenset(),
    data_format: Format | None = None,
    spark: Any = None,
) -> ScanReport:
    """The Spark runner's scan of a file or folder: every row, findings as the single-machine scan gives."""
    spark = spark if spark is not None else session()
    fmt = format_of(uri, data_format)
    frame = read(spark, uri, fmt)
    names = data_columns(frame, fmt, source)
    check_columns(uri, names, source, mode)
    plan = plan_scan(names, source.manifest, mode, deny_list)
    try:
        rows = frame.mapInArrow(_scan_task(plan, fmt, names), _PARTIAL_SCHEMA).collect()
    except Exception as exc:
        raise spark_error(uri, exc) from None
    ordered = sorted((row["file"], row["block"], row["partial"]) for row in rows)
    total, findings = merge_scan(plan, [ScanPartial.from_json(partial) for _, _, partial in ordered])
    privacy = source.manifest.privacy
    risk = None
    if mode == "anonymized" and privacy is not None:
        risk = measure_risk(frame, fmt, names, privacy)
    return ScanReport(
        file=uri,
        format=fmt,
        mode=mode,
        rows_scanned=total,
        complete=True,
        findings=tuple(findings),
        columns_scanned=tuple(column.name for column in plan.columns),
        columns_skipped=plan.skipped,
        risk=risk,
    )


def _text_task(
    fmt: Format, names: list[str], wanted: list[str]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for _, batch in slices(batches, fmt, names):
            if batch is not None:
                yield pa.RecordBatch.from_arrays(
                    [batch.text.column(names.index(name)) for name in wanted],
                    names=[f"c{index}" for index in range(len(wanted))],
                )

    return guarded(run)


def measure_risk(frame: Any, fmt: Format, names: list[str], privacy: Privacy) -> RiskReport:
    """k-anonymity and l-diversity with a ``groupBy`` over the quasi-identifiers' text (empty is null)."""
    from pyspark.sql import functions as F  # noqa: N812

    wanted = list(privacy.quasi_identifiers)
    diverse = privacy.l is not None and privacy.sensitive is not None
    if diverse and privacy.sensitive is not None:
        wanted.append(privacy.sensitive)
    aliases = [f"c{index}" for index in range(len(wanted))]
    if fmt == "jsonl":
        schema = ", ".join(f"{alias} string" for alias in aliases)
        text = frame.mapInArrow(_text_task(fmt, names, wanted), schema)
    else:
        text = frame.select(
            *[F.col(quoted(name)).cast("string").alias(alias) for name, alias in zip(wanted, aliases, strict=True)]
        )
    text = text.select(*[F.when(F.col(alias) == "", None).otherwise(F.col(alias)).alias(alias) for alias in aliases])
    qi = aliases[: len(privacy.quasi_identifiers)]
    if diverse:
        # One aggregation: rows per class and the set of its non-null sensitive values (collect_set skips
        # nulls and aggregates partially before the shuffle, so only one entry per class and task moves).
        classes = text.groupBy(*qi).agg(F.count(F.lit(1)).alias("n"), F.size(F.collect_set(aliases[-1])).alias("d"))
    else:
        classes = text.groupBy(*qi).agg(F.count(F.lit(1)).alias("n"))
    k = privacy.k
    summary = [
        F.count(F.lit(1)).alias("classes"),
        F.coalesce(F.sum("n"), F.lit(0)).alias("rows"),
        F.coalesce(F.min("n"), F.lit(0)).alias("smallest"),
        F.coalesce(F.sum(F.when(F.col("n") < k, 1).otherwise(0)), F.lit(0)).alias("classes_below_k"),
        F.coalesce(F.sum(F.when(F.col("n") < k, F.col("n")).otherwise(0)), F.lit(0)).alias("rows_below_k"),
    ]
    if diverse:
        low = F.col("d") < F.lit(privacy.l)
        summary += [
            F.coalesce(F.min("d"), F.lit(0)).alias("lowest"),
            F.coalesce(F.sum(F.when(low, 1).otherwise(0)), F.lit(0)).alias("classes_below_l"),
            F.coalesce(F.sum(F.when(low, F.col("n")).otherwise(0)), F.lit(0)).alias("rows_below_l"),
        ]
    try:
        row = classes.agg(*summary).first()
    except Exception as exc:
        raise spark_error("re-identification risk", exc) from None
    report = RiskReport(
        quasi_identifiers=tuple(privacy.quasi_identifiers),
        k=k,
        rows=int(row["rows"]),
        classes=int(row["classes"]),
        smallest_class=int(row["smallest"]),
        classes_below_k=int(row["classes_below_k"]),
        rows_below_k=int(row["rows_below_k"]),
    )
    if not diverse:
        return report
    return dataclasses.replace(
        report,
        sensitive=privacy.sensitive,
        l=privacy.l,
        lowest_diversity=int(row["lowest"]),
        classes_below_l=int(row["classes_below_l"]),
        rows_below_l=int(row["rows_below_l"]),
    )


def _anonymize_task(
    plan: AnonymizePlan, fmt: Format, names: list[str], out_format: Format, out_types: list[pa.DataType]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    out_names = [column.name for _, column, _ in plan]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for part, batch in slices(batches, fmt, names):
            if batch is None or batch.num_rows == 0:
                continue
            _, arrays, records = anonymize_batch(batch, plan, out_format, part.where)
            if out_format == "jsonl":
                rows = (
                    records if records is not None else pa.RecordBatch.from_arrays(arrays, names=out_names).to_pylist()
                )
                lines = [json.dumps(row, ensure_ascii=False, default=str) for row in rows]
                yield pa.RecordBatch.from_arrays([pa.array(lines, type=pa.string())], names=["value"])
                continue
            yield pa.RecordBatch.from_arrays(
                [
                    array if array.type == kind else pc.cast(array, kind)
                    for array, kind in zip(arrays, out_types, strict=True)
                ],
                names=out_names,
            )

    return guarded(run)


def _hadoop_path(spark: Any, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _empty_folder(filesystem: Any, path: Any) -> bool:
    """A folder with nothing in it (as Azure ML may create for a job's output before it starts)."""
    return bool(filesystem.getFileStatus(path).isDirectory()) and not filesystem.listStatus(path)


def partial_path(spark: Any, out: str) -> Any:
    """The hidden folder Spark writes into before the clean output is renamed to ``out``: ``.<name>.partial-<id>``
    in ``out``'s parent folder (created as needed: object storage has no empty folders), so on the same file
    system and, for ``abfss://container@account/...``, in the same container."""
    path_class = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    out_path = path_class(out)
    parent = out_path.getParent()
    if parent is None:
        raise UnusableInputError(f"{out}: the output must be below a root folder, not the root itself")
    return path_class(parent, f".{out_path.getName()}.partial-{uuid.uuid4().hex}")


def anonymize_dataset(
    data: str,
    source: ManifestSource,
    out: str,
    *,
    key: bytes | None,
    deny_list: frozenset[str] = frozenset(),
    force: bool = False,
    data_format: Format | None = None,
    spark: Any = None,
) -> ScanReport:
    """Write the anonymized data set as the folder ``out`` only if its re-scan (on Spark) is clean.

    The output's format is ``out``'s suffix (``customers.parquet``), else the input's. Spark writes into a
    hidden folder next to ``out`` (:func:`partial_path`); the re-scan reads it back, and only a clean output
    is renamed to ``out``. An existing ``out`` is refused unless ``force``, except an empty folder.
    """
    spark = spark if spark is not None else session()
    fmt = format_of(data, data_format)
    out_name = out.rstrip("/").rsplit("/", 1)[-1]
    out_format = _SUFFIXES.get("." + out_name.rsplit(".", 1)[-1].lower() if "." in out_name else "", fmt)
    frame = read(spark, data, fmt)
    names = data_columns(frame, fmt, source)
    check_columns(data, names, source, "raw")
    plan = plan_anonymize(names, source.manifest, key)

    from pyspark.sql.pandas.types import to_arrow_type
    from pyspark.sql.types import StringType, StructField, StructType

    if out_format == "jsonl":
        schema = StructType([StructField("value", StringType())])
        out_types: list[pa.DataType] = []
    else:
        fields = []
        for _, column, transform in plan:
            kind = StringType()
            if transform is None and out_format == "parquet" and fmt == "parquet":
                kind = frame.schema[column.name].dataType
            fields.append(StructField(column.name, kind))
        schema = StructType(fields)
        out_types = [to_arrow_type(field.dataType) for field in fields]

    filesystem, out_path = _hadoop_path(spark, out)
    _, data_path = _hadoop_path(spark, data)
    if filesystem.exists(out_path) and not force and not _empty_folder(filesystem, out_path):
        raise UnusableInputError(f"{out}: output exists (use --force to replace it)")
    qualified = out_path.makeQualified(filesystem.getUri(), filesystem.getWorkingDirectory())
    source_path = data_path.makeQualified(filesystem.getUri(), filesystem.getWorkingDirectory())
    if qualified.equals(source_path):
        raise UnusableInputError(f"{out}: output must not be the input")
    inner, outer = qualified.toString().rstrip("/") + "/", source_path.toString().rstrip("/") + "/"
    if inner.startswith(outer) or outer.startswith(inner):
        # Replacing OUT deletes it as a whole, and a folder is read with everything below it.
        raise UnusableInputError(f"{out}: output must not be inside the input, nor hold it")
    temporary_path = partial_path(spark, qualified.toString())
    try:
        result = frame.mapInArrow(_anonymize_task(plan, fmt, names, out_format, out_types), schema)
        try:
            if out_format == "csv":
                result.write.options(
                    header="true",
                    quote='"',
                    escape='"',
                    ignoreLeadingWhiteSpace="false",
                    ignoreTrailingWhiteSpace="false",
                ).csv(temporary_path.toString())
            elif out_format == "parquet":
                result.write.parquet(temporary_path.toString())
            else:
                result.write.text(temporary_path.toString())
        except Exception as exc:
            raise spark_error(data, exc) from None
        report = scan_dataset(
            temporary_path.toString(),
            source,
            mode="anonymized",
            deny_list=deny_list,
            data_format=out_format,
            spark=spark,
        )
        report = dataclasses.replace(report, file=out)
        if not report.clean:
            raise AnonymizationIncompleteError(report)
        if filesystem.exists(out_path):
            filesystem.delete(out_path, True)
        if not filesystem.rename(temporary_path, out_path):
            raise UnusableInputError(f"{out}: could not move the output into place")
    finally:
        if filesystem.exists(temporary_path):
            filesystem.delete(temporary_path, True)
    return report


__all__ = [
    "INSTALL_HINT",
    "anonymize_dataset",
    "format_of",
    "measure_risk",
    "partial_path",
    "read",
    "require_pyspark",
    "scan_dataset",
    "session",
]
