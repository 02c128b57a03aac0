"""Data for the Spark runner's tests: a table with personal data of several kinds, as one file or a
partitioned folder in each format, and how to compare the two runners' results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataset_helpers import write_csv, write_jsonl, write_parquet

from scripts.dataset.readers import DataReader, data_files
from scripts.dataset.scanner import ScanReport

HEADER = ["id", "email", "phone", "birth_date", "postcode", "age", "diagnosis", "notes", "ref"]
WRITERS: dict[str, Callable[[Path, list[str], list[list[str]]], Path]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "parquet": lambda path, header, rows: write_parquet(path, header, rows, row_group_size=7),
}
COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "pii": "none", "action": "keep"},
    {"name": "email", "pii": "email", "action": "hash"},
    {"name": "phone", "pii": "phone", "action": "mask", "mask": {"keep_last": 2}},
    {
        "name": "birth_date",
        "pii": "date_of_birth",
        "action": "generalize",
        "generalize": {"kind": "date", "to": "year"},
    },
    {
        "name": "postcode",
        "pii": "postcode",
        "action": "generalize",
        "generalize": {"kind": "postcode", "prefix_length": 2},
    },
    {"name": "age", "pii": "none", "action": "generalize", "generalize": {"kind": "number", "bin_width": 10}},
    {"name": "diagnosis", "pii": "none", "action": "keep"},
    {"name": "notes", "pii": "none", "action": "keep"},
    {"name": "ref", "pii": "none", "action": "drop"},
]
PRIVACY = {"quasi_identifiers": ["birth_date", "postcode", "age"], "k": 3, "sensitive": "diagnosis", "l": 2}


def notes(index: int) -> str:
    """Free text: personal data in some rows (several types), quotes, commas and line breaks in others."""
    planted = {
        0: "write to ana.lima@example.org",
        1: "IBAN NL91ABNA0417164300 for refunds",
        2: 'said "call me", then left\nsecond line, with a comma',
        3: "card 4111 1111 1111 1111 on file",
        4: "",
    }
    return planted.get(index % 11, f"visit {index}")


def sample_rows(count: int = 90) -> list[list[str]]:
    table = []
    for index in range(count):
        table.append(
            [
                str(index),
                f"person{index}@example.org",
                f"+31 6 {10000000 + index}",
                f"19{60 + index % 4}-0{1 + index % 9}-1{index % 10}",
                ["1012 AB", "3511CE", "9711 LM", ""][index % 4],
                str(20 + (index * 7) % 50),
                ["flu", "asthma", "", "flu"][index % 4] if index % 9 else "asthma",
                notes(index),
                f"r-{index}",
            ]
        )
    return table


def dataset(folder: Path, fmt: str, layout: str, rows: list[list[str]]) -> Path:
    """One file, or a partitioned folder (nested partitions, uneven sizes, files Spark and the tool skip)."""
    write = WRITERS[fmt]
    if layout == "file":
        return write(folder / f"data.{fmt}", HEADER, rows)
    root = folder / f"data.{fmt}"
    for name, part in (
        ("region=a/part-0", rows[:40]),
        ("region=a/part-1", rows[40:47]),
        ("region=b/part-0", rows[47:]),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write(root / f"{name}.{fmt}", HEADER, part)
    (root / "_SUCCESS").write_text("")
    (root / "region=b" / ".part-0.crc").write_bytes(b"\x00\x01")
    return root


def findings(report: ScanReport) -> list[tuple[str, str, int, tuple[int, ...]]]:
    return sorted((f.column, f.type, f.count, f.rows) for f in report.findings)


def text_rows(path: Path, fmt: str) -> list[tuple[tuple[str, str | None], ...]]:
    """Every row of a file or folder as (column, text) pairs, in no particular order."""
    files, data_format = data_files(path, fmt)  # type: ignore[arg-type]
    rows = []
    for file in files:
        reader = DataReader(file, data_format=data_format)
        for batch in reader.batches():
            for record in batch.text.to_pylist():
                rows.append(tuple(sorted((name, value or None) for name, value in record.items())))
    return sorted(rows, key=repr)
