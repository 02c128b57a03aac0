"""Scan a data file against its manifest and report personal data where the manifest does not allow it.

Two modes:

* ``raw``: the file as it comes in. Columns the manifest declares as PII are skipped; every other
  column is searched.
* ``anonymized``: the file after ``anonymize``. Columns declared ``drop`` must be gone; hashed,
  masked and generalized columns must have the shape those actions produce and are searched too;
  only PII columns kept with a justification are skipped.

Findings name the column, the type, a count of rows and example row numbers (1-based data rows,
the header not counted); never the values.

This module reads the files, holds their columns to the manifest and assembles the report; the search of
each column, shared with the Spark runner, is ``column_scan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .column_scan import Finding, Mode
from .errors import UnusableInputError
from .manifest import Column, Manifest, ManifestSource
from .readers import DataReader, Format, data_files

if TYPE_CHECKING:
    from .engine import RiskCounter, RiskReport


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
