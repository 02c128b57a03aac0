"""The engine contract: what a runner applies to each Arrow record batch, and how the results merge.

Both runners use exactly these functions:

* the single-machine runner (``scanner.scan_file``, ``anonymize.anonymize_file``) feeds the batches of
  one file, or of each file of a folder, in order;
* the Spark runner (``spark_runner``) feeds the batches of every partition inside ``mapInArrow``.

A slice of the data (a file, or the part of a file one Spark task reads) is scanned by one
:class:`BatchScanner`; its :class:`ScanPartial` holds counts and row numbers only, never values, and
partials merge in data order into the findings of the whole data set (:func:`merge_scan`).
Column actions are :func:`anonymize_batch` over a plan from :func:`plan_anonymize`. Re-identification
risk is counted over equivalence classes (:class:`RiskCounter` streams over batches; the Spark runner
groups the same text values in a ``groupBy``) and summarised by :class:`RiskReport`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .anonymize import _transform_batch, column_transform
from .column_scan import (
    ColumnPartial,
    ColumnScan,
    Finding,
    Mode,
    TallyPartial,
    WeakPartial,
    column_findings,
    column_plan,
    scan_content,
)
from .detectors import Analyzer, DenyList
from .manifest import Column, Manifest, Privacy
from .readers import Batch, Format

Transform = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True, slots=True)
class ScanColumn:
    """One column to search: its position in the text batch and what to look for."""

    position: int
    name: str
    content: bool
    heuristics: bool
    conformance: str | None


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """What to scan, decided once from the data's columns, the manifest and the mode."""

    columns: tuple[ScanColumn, ...]
    skipped: dict[str, str]
    deny_list: frozenset[str] = frozenset()
    collect_rows: bool = False


def plan_scan(
    columns: Sequence[str],
    manifest: Manifest,
    mode: Mode,
    deny_list: frozenset[str] = frozenset(),
    *,
    collect_rows: bool = False,
) -> ScanPlan:
    declared = {column.name: column for column in manifest.columns}
    skipped: dict[str, str] = {}
    scans: list[ScanColumn] = []
    for position, name in enumerate(columns):
        column = declared.get(name)
        if column is None:
            continue
        plan = column_plan(column, mode)
        if isinstance(plan, str):
            skipped[name] = plan
            continue
        content, heuristics, conformance = plan
        scans.append(ScanColumn(position, name, content, heuristics, conformance))
    return ScanPlan(tuple(scans), skipped, deny_list, collect_rows)


@dataclass(frozen=True, slots=True)
class ScanPartial:
    """The result of scanning one slice: its row count and, per scanned column, counts and example rows
    (1-based, counted from the slice's first row). Counts and row numbers only, never values."""

    rows: int
    columns: dict[str, ColumnPartial]

    def to_json(self) -> str:
        def tally(value: TallyPartial) -> list[Any]:
            return [value.count, list(value.rows)]

        return json.dumps(
            {
                "rows": self.rows,
                "columns": {
                    name: {
                        "tallies": {kind: tally(value) for kind, value in part.tallies.items()},
                        "weak": {
                            kind: [stat.candidates, tally(stat.valid), stat.rejected]
                            for kind, stat in part.weak.items()
                        },
                    }
                    for name, part in self.columns.items()
                },
            },
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str) -> ScanPartial:
        data = json.loads(text)

        def tally(value: list[Any]) -> TallyPartial:
            return TallyPartial(int(value[0]), tuple(int(row) for row in value[1]))

        return ScanPartial(
            rows=int(data["rows"]),
            columns={
                name: ColumnPartial(
                    tallies={kind: tally(value) for kind, value in part["tallies"].items()},
                    weak={
                        kind: WeakPartial(int(value[0]), tally(value[1]), bool(value[2]))
                        for kind, value in part["weak"].items()
                    },
                )
                for name, part in data["columns"].items()
            },
        )


class BatchScanner:
    """Scans the batches of one slice of the data, in order."""

    def __init__(self, plan: ScanPlan) -> None:
        self.plan = plan
        self.rows = 0
        self._scans = [
            (
                column.position,
                ColumnScan(
                    column.name,
                    content=column.content,
                    heuristics=column.heuristics,
                    conformance=column.conformance,
                    collect_rows=plan.collect_rows,
                ),
            )
            for column in plan.columns
        ]
        self._content = [(position, scan) for position, scan in self._scans if scan.content]
        self._names = DenyList(plan.deny_list)
        self._analyzer = Analyzer(self._names)

    def feed(self, batch: Batch) -> None:
        """Scan one batch; ``batch.row_offset`` counts from the start of the slice."""
        for position, column_scan in self._scans:
            column_scan.scan_shapes(batch.text.column(position), batch.row_offset)
        if self._content:
            scan_content(
                [(batch.text.column(position), column_scan) for position, column_scan in self._content],
                batch.row_offset,
                self._analyzer,
                self._names,
            )
        self.rows += batch.num_rows

    def partial(self) -> ScanPartial:
        return ScanPartial(self.rows, {scan.name: scan.partial() for _, scan in self._scans})


def merge_scan(plan: ScanPlan, parts: Sequence[ScanPartial]) -> tuple[int, list[Finding]]:
    """Rows scanned and findings of the whole data, from the partials of its slices in data order."""
    offsets: list[int] = []
    total = 0
    for part in parts:
        offsets.append(total)
        total += part.rows
    findings: list[Finding] = []
    for column in plan.columns:
        findings.extend(
            column_findings(
                column.name,
                [(offset, part.columns[column.name]) for offset, part in zip(offsets, parts, strict=True)],
            )
        )
    return total, findings


# --- Column actions -------------------------------------------------------------------------------------

AnonymizePlan = list[tuple[int, Column, Transform | None]]


def plan_anonymize(columns: Sequence[str], manifest: Manifest, key: bytes | None) -> AnonymizePlan:
    """Per kept column of the data: its position, its declaration and its transform (None for keep)."""
    declared = {column.name: column for column in manifest.columns}
    plan: AnonymizePlan = []
    for position, name in enumerate(columns):
        column = declared.get(name)
        if column is None or column.action == "drop":
            continue
        plan.append((position, column, column_transform(column, key)))
    return plan


def anonymize_batch(
    batch: Batch, plan: AnonymizePlan, out_format: Format, where: str
) -> tuple[list[str], list[pa.Array], list[dict[str, Any]] | None]:
    """The batch with every column's action applied: names, arrays and, for JSON Lines, the records.

    A value the action cannot take is :class:`~.errors.UnusableInputError` naming ``where``, the row
    (``batch.row_offset`` + index, 1-based) and the column, never the value.
    """
    return _transform_batch(batch, where, plan, out_format)


# --- Re-identification risk -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskReport:
    """k-anonymity and l-diversity over the quasi-identifiers: counts only, never values.

    An equivalence class is the set of rows that share one combination of quasi-identifier values. A null
    or empty value is a value of its own (it matches other nulls, never a real value). l counts the
    distinct non-empty values of the sensitive column in a class: an empty value adds no diversity.
    """

    quasi_identifiers: tuple[str, ...]
    k: int
    rows: int
    classes: int
    smallest_class: int
    classes_below_k: int
    rows_below_k: int
    sensitive: str | None = None
    l: int | None = None  # noqa: E741 - the name of the measure
    lowest_diversity: int | None = None
    classes_below_l: int = 0
    rows_below_l: int = 0

    @property
    def meets_target(self) -> bool:
        return self.classes_below_k == 0 and self.classes_below_l == 0

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "rows": self.rows,
            "classes": self.classes,
            "smallest_class": self.smallest_class,
            "classes_below_k": self.classes_below_k,
            "rows_below_k": self.rows_below_k,
        }
        if self.l is not None:
            result |= {
                "sensitive": self.sensitive,
                "l": self.l,
                "lowest_diversity": self.lowest_diversity,
                "classes_below_l": self.classes_below_l,
                "rows_below_l": self.rows_below_l,
            }
        result["meets_target"] = self.meets_target
        return result

    @staticmethod
    def from_classes(privacy: Privacy, sizes: Sequence[int], diversity: Sequence[int] | None) -> RiskReport:
        """The summary of per-class row counts and (with l) per-class distinct sensitive values."""
        k = privacy.k
        below_k = [size for size in sizes if size < k]
        report = RiskReport(
            quasi_identifiers=tuple(privacy.quasi_identifiers),
            k=k,
            rows=sum(sizes),
            classes=len(sizes),
            smallest_class=min(sizes, default=0),
            classes_below_k=len(below_k),
            rows_below_k=sum(below_k),
        )
        if privacy.l is None or diversity is None:
            return report
        low = [(size, distinct) for size, distinct in zip(sizes, diversity, strict=True) if distinct < privacy.l]
        return RiskReport(
            **{name: getattr(report, name) for name in _RISK_K_FIELDS},
            sensitive=privacy.sensitive,
            l=privacy.l,
            lowest_diversity=min(diversity, default=0),
            classes_below_l=len(low),
            rows_below_l=sum(size for size, _ in low),
        )


_RISK_K_FIELDS = ("quasi_identifiers", "k", "rows", "classes", "smallest_class", "classes_below_k", "rows_below_k")


def _empty_as_null(values: pa.Array) -> pa.Array:
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


@dataclass(slots=True)
class RiskCounter:
    """Streaming, mergeable class counts over text batches (memory: one entry per class)."""

    privacy: Privacy
    sizes: dict[tuple[Any, ...], int] = field(default_factory=dict)
    sensitive: dict[tuple[Any, ...], set[str]] = field(default_factory=dict)

    def feed(self, text: pa.RecordBatch) -> None:
        names = list(self.privacy.quasi_identifiers)
        columns = {name: _empty_as_null(text.column(text.schema.get_field_index(name))) for name in names}
        table = pa.table(columns)
        counts = table.group_by(names, use_threads=False).aggregate([([], "count_all")])
        keys = [counts.column(name).to_pylist() for name in names]
        for key, count in zip(zip(*keys, strict=True), counts.column("count_all").to_pylist(), strict=True):
            self.sizes[key] = self.sizes.get(key, 0) + count
        sensitive = self.privacy.sensitive
        if sensitive is None or self.privacy.l is None:
            return
        values = _empty_as_null(text.column(text.schema.get_field_index(sensitive)))
        pairs = table.append_column("__sensitive", values).filter(pc.is_valid(values))
        distinct = pairs.group_by([*names, "__sensitive"], use_threads=False).aggregate([])
        keys = [distinct.column(name).to_pylist() for name in names]
        for key, value in zip(zip(*keys, strict=True), distinct.column("__sensitive").to_pylist(), strict=True):
            self.sensitive.setdefault(key, set()).add(value)

    def merge(self, other: RiskCounter) -> None:
        for key, count in other.sizes.items():
            self.sizes[key] = self.sizes.get(key, 0) + count
        for key, values in other.sensitive.items():
            self.sensitive.setdefault(key, set()).update(values)

    def report(self) -> RiskReport:
        keys = list(self.sizes)
        sizes = [self.sizes[key] for key in keys]
        diversity = None
        if self.privacy.l is not None:
            diversity = [len(self.sensitive.get(key, ())) for key in keys]
        return RiskReport.from_classes(self.privacy, sizes, diversity)
