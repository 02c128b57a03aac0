"""One column's search, the part of the engine contract that both runners share.

What to look for in a column (:func:`column_plan`: skip it, search its content, apply the name heuristics,
hold it to its anonymized shape), the search of a batch's columns (:func:`scan_content`, with the
prefilter run once per group of columns), and the per-slice results (:class:`ColumnPartial`) that merge
into findings (:func:`column_findings`) whatever the slices, as the single-machine scan would give them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

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
from .manifest import Column, PiiType

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


class ColumnScan:
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


def scan_content(
    columns: list[tuple[pa.Array, ColumnScan]], row_offset: int, analyzer: Analyzer, deny_list: DenyList
) -> None:
    """Hand each value the prefilter selects to its column's precise analysis, in row order per column.

    Bare runs of digits are looked for only in columns that still find them worth a look at the start
    of the batch; within the batch ``ColumnScan.bare_digits`` is re-evaluated value by value.
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


def column_plan(column: Column, mode: Mode) -> str | tuple[bool, bool, str | None]:
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
