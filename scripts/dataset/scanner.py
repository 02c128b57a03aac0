"""Scan a data file against its manifest and report personal data where the manifest does not allow it.

Two modes:

* ``raw``: the file as it comes in. Columns the manifest declares as PII are skipped; every other
  column is searched.
* ``anonymized``: the file after ``anonymize``. Columns declared ``drop`` must be gone; hashed,
  masked and generalized columns must have the shape those actions produce and are searched too;
  only PII columns kept with a justification are skipped.

Findings name the column, the type, a count of rows and example row numbers (1-based data rows,
the header not counted); never the values.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .detectors import (
    BARE_DIGITS_PREFILTER,
    COLUMN_STAT_TYPES,
    DATE_VALUE_RE2,
    NAME_VALUE_RE2,
    Analyzer,
    ColumnHints,
    DenyList,
    column_hints,
    prefilter,
)
from .errors import UnusableInputError
from .manifest import Column, Manifest, ManifestSource, PiiType
from .readers import DataReader, Format, data_files

if TYPE_CHECKING:
    from .engine import RiskCounter, RiskReport

Mode = Literal["raw", "anonymized"]
NOT_ANONYMIZED = "not_anonymized"
EXAMPLE_ROWS = 5

# A bare number column is judged by its checksum pass rate once this many candidates were seen.
STAT_DECIDE_AFTER = 200
STAT_REJECT_BELOW = 0.5
STAT_ACCEPT_AT = 0.9
STAT_MIN_VALID = 3


def conformance_pattern(column: Column) -> str | None:
    """RE2 pattern that every non-empty value of an anonymized column must match."""
    if column.action == "hash":
        return r"^[0-9a-f]{64}$"
    if column.action == "mask":
        keep = column.mask.keep_last if column.mask is not None else 0
        return r"^[^\pL\pN]*(?:[\pL\pN][^\pL\pN]*){0," + str(keep) + r"}$"
    if column.action == "generalize" and column.generalize is not None:
        rule = column.generalize
        if rule.kind == "date":
            return r"^[0-9]{4}$" if rule.to == "year" else r"^[0-9]{4}-[0-9]{2}$"
        if rule.kind == "number":
            return r"^\[-?[0-9]+(?:\.[0-9]+)?, -?[0-9]+(?:\.[0-9]+)?\)$"
        return r"^[\pL\pN]{0," + str(rule.prefix_length) + r"}$"
    return None


_TYPE_ORDER = {kind.value: index for index, kind in enumerate(PiiType)}


@dataclass(slots=True)
class _Tally:
    count: int = 0
    rows: list[int] = field(default_factory=list)
    all_rows: list[int] | None = None

    def add(self, row: int) -> None:
        self.count += 1
        if len(self.rows) < EXAMPLE_ROWS:
            self.rows.append(row)
        if self.all_rows is not None:
            self.all_rows.append(row)

    def add_many(self, rows: Iterable[int]) -> None:
        for row in rows:
            self.add(row)


@dataclass(slots=True)
class _WeakStat:
    candidates: int = 0
    tally: _Tally = field(default_factory=_Tally)
    rejected: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    column: str
    type: str
    count: int
    rows: tuple[int, ...]
    all_rows: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "type": self.type, "count": self.count, "rows": list(self.rows)}


@dataclass(frozen=True, slots=True)
class ScanReport:
    file: str
    format: Format
    mode: Mode
    rows_scanned: int
    complete: bool
    findings: tuple[Finding, ...]
    columns_scanned: tuple[str, ...]
    columns_skipped: dict[str, str]
    risk: RiskReport | None = None

    @property
    def clean(self) -> bool:
        """No personal data found (the re-identification risk is judged apart: ``meets_privacy``)."""
        return not self.findings

    @property
    def meets_privacy(self) -> bool:
        """The declared k (and l) are met, or none is declared or measured."""
        return self.risk is None or self.risk.meets_target

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "mode": self.mode,
            "rows_scanned": self.rows_scanned,
            "complete": self.complete,
            "clean": self.clean,
            "columns_scanned": list(self.columns_scanned),
            "columns_skipped": dict(self.columns_skipped),
            "findings": [finding.to_dict() for finding in self.findings],
        } | ({"reidentification": self.risk.to_dict()} if self.risk is not None else {})


class _ColumnScan:
    def __init__(
        self,
        name: str,
        *,
        content: bool,
        heuristics: bool,
        conformance: str | None,
        collect_rows: bool,
    ) -> None:
        self.name = name
        self.hints: ColumnHints = column_hints(name)
        self.content = content
        self.person_name = heuristics and self.hints.person_name
        self.date_of_birth = heuristics and self.hints.date_of_birth
        self.conformance = conformance
        self.collect_rows = collect_rows
        self.tallies: dict[str, _Tally] = {}
        self.weak: dict[PiiType, _WeakStat] = {kind: _WeakStat() for kind in COLUMN_STAT_TYPES}
        self.bare_candidates = 0

    def _tally(self, kind: str) -> _Tally:
        tally = self.tallies.get(kind)
        if tally is None:
            tally = self.tallies[kind] = _Tally(all_rows=[] if self.collect_rows else None)
        return tally

    @property
    def bare_digits(self) -> bool:
        """Whether bare numbers are still worth a look in this column.

        A column whose name names an identifier always is. Otherwise, once enough whole-value
        numbers were seen and none of the checksum types reached a convincing pass rate, the column
        holds ordinary numbers (order ids, amounts) and only numbers next to a keyword are checked.
        """
        if self.hints.types:
            return True
        if self.bare_candidates < STAT_DECIDE_AFTER:
            return True
        return any(not stat.rejected and stat.candidates for stat in self.weak.values())

    def scan_shapes(self, values: pa.Array, row_offset: int) -> None:
        """Whole-column checks: output shape of transformed columns, name and birth-date columns."""
        first_row = row_offset + 1
        if self.conformance is not None:
            present = pc.and_(pc.is_valid(values), pc.not_equal(values, ""))
            conforms = pc.match_substring_regex(values, self.conformance)
            bad = pc.and_(present, pc.invert(pc.fill_null(conforms, True)))
            self._tally_mask(NOT_ANONYMIZED, bad, first_row)
        if self.person_name:
            self._tally_mask(PiiType.PERSON_NAME, pc.match_substring_regex(values, NAME_VALUE_RE2), first_row)
        if self.date_of_birth:
            self._tally_mask(PiiType.DATE_OF_BIRTH, pc.match_substring_regex(values, DATE_VALUE_RE2), first_row)

    def _analyze(self, text: str, row: int, analyzer: Analyzer) -> None:
        result = analyzer.analyze(text, self.hints.types)
        for kind in result.found:
            self._tally(kind).add(row)
        if result.whole_value:
            self.bare_candidates += 1
        for kind, valid in result.whole_value:
            stat = self.weak[kind]
            if stat.rejected:
                continue
            stat.candidates += 1
            if valid:
                stat.tally.add(row)
            if stat.candidates >= STAT_DECIDE_AFTER and stat.tally.count < STAT_REJECT_BELOW * stat.candidates:
                stat.rejected = True

    def _tally_mask(self, kind: str, mask: pa.Array, first_row: int) -> None:
        indices = pc.indices_nonzero(pc.fill_null(mask, False))
        if len(indices) == 0:
            return
        tally = self._tally(kind)
        tally.count += len(indices)
        room = EXAMPLE_ROWS - len(tally.rows)
        if room > 0:
            tally.rows.extend(first_row + index for index in indices.slice(0, room).to_pylist())
        if tally.all_rows is not None:
            tally.all_rows.extend(first_row + index for index in indices.to_pylist())

    def partial(self) -> ColumnPartial:
        """What this column found so far, as a result that merges with other slices of the data."""
        return ColumnPartial(
            tallies={str(kind): _frozen(tally) for kind, tally in self.tallies.items()},
            weak={
                str(kind): WeakPartial(stat.candidates, _frozen(stat.tally), stat.rejected)
                for kind, stat in self.weak.items()
                if stat.candidates or stat.rejected
            },
        )


@dataclass(frozen=True, slots=True)
class TallyPartial:
    """A count, the first example rows (1-based, counted from the start of the slice) and, for tests, all."""

    count: int
    rows: tuple[int, ...]
    all_rows: tuple[int, ...] | None = None

    def shifted(self, offset: int) -> TallyPartial:
        return TallyPartial(
            self.count,
            tuple(row + offset for row in self.rows),
            tuple(row + offset for row in self.all_rows) if self.all_rows is not None else None,
        )


@dataclass(frozen=True, slots=True)
class WeakPartial:
    """Checksum statistics of bare numbers: candidates seen, those that passed, and whether rejected."""

    candidates: int
    valid: TallyPartial
    rejected: bool


@dataclass(frozen=True, slots=True)
class ColumnPartial:
    tallies: dict[str, TallyPartial]
    weak: dict[str, WeakPartial]


def _frozen(tally: _Tally) -> TallyPartial:
    return TallyPartial(tally.count, tuple(tally.rows), tuple(tally.all_rows) if tally.all_rows is not None else None)


def _merge_tallies(parts: list[TallyPartial]) -> TallyPartial:
    rows = sorted(row for part in parts for row in part.rows)[:EXAMPLE_ROWS]
    every = [part.all_rows for part in parts]
    all_rows = (
        tuple(sorted(row for rows_ in every for row in rows_ or ())) if all(r is not None for r in every) else None
    )
    return TallyPartial(sum(part.count for part in parts), tuple(rows), all_rows)


def column_findings(name: str, parts: list[tuple[int, ColumnPartial]]) -> list[Finding]:
    """Findings of one column from its slices, each with the row offset of its first row.

    Counts add up and example rows are the first of the whole data. Bare numbers are a finding when
    their checksum pass rate over all slices reaches ``STAT_ACCEPT_AT`` and no slice rejected them as
    ordinary numbers. With one slice this is exactly the single-machine scan.
    """
    strong: dict[str, list[TallyPartial]] = {}
    weak: dict[str, list[WeakPartial]] = {}
    for offset, part in parts:
        for kind, tally in part.tallies.items():
            strong.setdefault(kind, []).append(tally.shifted(offset))
        for kind, stat in part.weak.items():
            weak.setdefault(kind, []).append(WeakPartial(stat.candidates, stat.valid.shifted(offset), stat.rejected))
    merged = {kind: _merge_tallies(tallies) for kind, tallies in strong.items()}
    for kind, stats in weak.items():
        valid = _merge_tallies([stat.valid for stat in stats])
        candidates = sum(stat.candidates for stat in stats)
        if any(stat.rejected for stat in stats) or valid.count < STAT_MIN_VALID:
            continue
        if valid.count < STAT_ACCEPT_AT * candidates:
            continue
        existing = merged.get(kind)
        merged[kind] = valid if existing is None else _merge_tallies([existing, valid])
    order = _TYPE_ORDER
    return [
        Finding(column=name, type=kind, count=tally.count, rows=tally.rows, all_rows=tally.all_rows)
        for kind, tally in sorted(merged.items(), key=lambda item: order.get(item[0], len(order)))
        if tally.count
    ]


# Columns of a batch are searched together, as one array of at most this many bytes: the prefilter runs
# once per group instead of once per column (compiling it costs about 2 ms), so a file with 100,000
# columns costs what a file with one long column does.
GROUP_BYTES = 64 << 20
_STRUCTURED = prefilter(bare_digits=False)


def _groups(arrays: list[pa.Array]) -> Iterable[list[int]]:
    group: list[int] = []
    size = 0
    for index, array in enumerate(arrays):
        nbytes = array.nbytes
        if group and size + nbytes > GROUP_BYTES:
            yield group
            group, size = [], 0
        group.append(index)
        size += nbytes
    if group:
        yield group


def _scan_content(
    columns: list[tuple[pa.Array, _ColumnScan]], row_offset: int, analyzer: Analyzer, deny_list: DenyList
) -> None:
    """Hand each value the prefilter selects to its column's precise analysis, in row order per column.

    Bare runs of digits are looked for only in columns that still find them worth a look at the start
    of the batch; within the batch ``_ColumnScan.bare_digits`` is re-evaluated value by value.
    """
    arrays = [array for array, _ in columns]
    for group in _groups(arrays):
        parts = [arrays[index] for index in group]
        joined, starts = _join(parts)
        strong = pc.fill_null(pc.match_substring_regex(joined, _STRUCTURED), False)
        if deny_list:
            strong = pc.or_(strong, deny_list.preselect(joined))
        selected = dict.fromkeys(pc.indices_nonzero(strong).to_pylist(), True)
        bare_slots = [slot for slot, index in enumerate(group) if columns[index][1].bare_digits]
        if bare_slots:
            bare_joined, bare_starts = _join([parts[slot] for slot in bare_slots])
            bare = pc.fill_null(pc.match_substring_regex(bare_joined, BARE_DIGITS_PREFILTER), False)
            for index in pc.indices_nonzero(bare).to_pylist():
                position = bisect_right(bare_starts, index) - 1
                slot = bare_slots[position]
                selected.setdefault(starts[slot] + index - bare_starts[position], False)
        if not selected:
            continue
        order = sorted(selected)
        texts = joined.take(pa.array(order, type=pa.int64())).to_pylist()
        slot, bare_wanted = -1, False
        column_scan = columns[group[0]][1]
        for index, text in zip(order, texts, strict=True):
            if slot < 0 or index >= (starts[slot + 1] if slot + 1 < len(starts) else len(joined)):
                slot = bisect_right(starts, index) - 1
                column_scan = columns[group[slot]][1]
                bare_wanted = column_scan.bare_digits
            if not selected[index] and not bare_wanted:
                continue
            column_scan._analyze(text, row_offset + 1 + index - starts[slot], analyzer)
            bare_wanted = column_scan.bare_digits


def _join(parts: list[pa.Array]) -> tuple[pa.Array, list[int]]:
    """The arrays as one, and where each starts in it."""
    starts: list[int] = []
    total = 0
    for part in parts:
        starts.append(total)
        total += len(part)
    return (pa.concat_arrays(parts) if len(parts) > 1 else parts[0]), starts


def expected_columns(manifest: Manifest, mode: Mode) -> list[Column]:
    if mode == "raw":
        return list(manifest.columns)
    return [column for column in manifest.columns if column.action != "drop"]


def check_schema(reader: DataReader, source: ManifestSource, mode: Mode) -> None:
    """Exit-2 errors for columns the manifest does not describe, or declared columns the file lacks."""
    check_columns(str(reader.path), reader.columns, source, mode)


def check_columns(where: str, columns: list[str], source: ManifestSource, mode: Mode) -> None:
    """Exit-2 errors for columns the manifest does not describe, or declared columns the data lacks.

    A column of the data that the manifest does not declare is named by its position only: its name
    may be a value (a CSV without a header line, a JSON Lines key that is an e-mail address).
    """
    declared = {column.name for column in source.manifest.columns}
    for position, name in enumerate(columns, start=1):
        if name not in declared:
            raise UnusableInputError(
                f"{where}: column {position} of the data is not declared in {source.path} (columns)"
            )
    present = set(columns)
    expected = {column.name for column in expected_columns(source.manifest, mode)}
    for index, column in enumerate(source.manifest.columns):
        if column.name in expected and column.name not in present:
            raise UnusableInputError(f"{source.path}: columns[{index}].name: column {column.name!r} is not in {where}")


def open_reader(path: str | Path, source: ManifestSource, **reader_options: Any) -> DataReader:
    """A reader of one data file that knows the manifest's columns (JSON Lines keys may be absent)."""
    return DataReader(path, known_columns=[column.name for column in source.manifest.columns], **reader_options)


def scan_file(
    path: str | Path,
    source: ManifestSource,
    *,
    mode: Mode = "raw",
    sample_rows: int | None = None,
    deny_list: frozenset[str] = frozenset(),
    collect_rows: bool = False,
    data_format: Format | None = None,
    risk_counter: RiskCounter | None = None,
    **reader_options: Any,
) -> ScanReport:
    """Scan a file, or every file of a folder (each a slice of the engine contract, merged in path order).

    In ``anonymized`` mode, a manifest that declares ``privacy`` also gets its re-identification risk
    measured over all the rows scanned, into the report; or into ``risk_counter`` when given (a data set
    of several files is judged as a whole), and then the report has none.
    """
    from .engine import BatchScanner, RiskCounter, merge_scan, plan_scan

    files, fmt = data_files(Path(path), data_format)
    readers = [open_reader(file, source, data_format=fmt, **reader_options) for file in files]
    plans = []
    for reader in readers:
        check_schema(reader, source, mode)
        plans.append(plan_scan(reader.columns, source.manifest, mode, deny_list, collect_rows=collect_rows))
        if set(reader.columns) != set(readers[0].columns):
            raise UnusableInputError(f"{reader.path}: its columns differ from those of {readers[0].path}")
    privacy = source.manifest.privacy
    risk = RiskCounter(privacy) if mode == "anonymized" and privacy is not None else None
    if risk is not None and risk_counter is not None:
        risk = risk_counter
    parts = []
    rows = 0
    complete = True
    for reader, plan in zip(readers, plans, strict=True):
        scanner = BatchScanner(plan)
        for full_batch in reader.batches():
            batch = full_batch
            if sample_rows is not None and rows + batch.num_rows > sample_rows:
                complete = False
                batch = full_batch.head(sample_rows - rows)
                if batch.num_rows == 0:
                    break
            scanner.feed(batch)
            if risk is not None:
                risk.feed(batch.text)
            rows += batch.num_rows
            if not complete:
                break
        parts.append(scanner.partial())
        if not complete:
            break
    rows, findings = merge_scan(plans[0], parts)
    return ScanReport(
        file=str(path) if len(files) > 1 or files[0] != Path(path) else str(readers[0].path),
        format=fmt,
        mode=mode,
        rows_scanned=rows,
        complete=complete,
        findings=tuple(findings),
        columns_scanned=tuple(column.name for column in plans[0].columns),
        columns_skipped=plans[0].skipped,
        risk=risk.report() if risk is not None and risk_counter is None else None,
    )


def _plan(column: Column, mode: Mode) -> str | tuple[bool, bool, str | None]:
    """A reason to skip the column, or (search content, apply name heuristics, conformance pattern)."""
    if mode == "raw":
        if column.is_pii:
            return f"declared pii: {column.pii}"
        return True, True, None
    if column.action == "drop":
        return True, False, r"^$"
    if column.action == "keep":
        if column.is_pii:
            return f"kept pii: {column.pii} (justified)"
        return True, True, None
    return True, False, conformance_pattern(column)
