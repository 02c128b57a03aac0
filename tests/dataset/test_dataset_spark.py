"""The Spark runner against the single-machine runner: the same findings, rows and k/l on the same input.

pyspark runs in local mode (``local[2]``) on the machine's Java. Spark splits files into tiny slices here
(``spark.sql.files.maxPartitionBytes``), so JSON Lines and Parquet files are read by several tasks and the
merge of per-slice results (row numbering across slices included) is exercised on small data.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dataset_helpers import HMAC_KEY, manifest_document, write_csv, write_jsonl, write_manifest, write_parquet

from scripts.dataset import spark_runner
from scripts.dataset.anonymize import AnonymizationIncompleteError, anonymize_file
from scripts.dataset.errors import DatasetError
from scripts.dataset.manifest import ManifestSource, load_manifest
from scripts.dataset.readers import DataReader, data_files
from scripts.dataset.scanner import ScanReport, scan_file

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


def _notes(index: int) -> str:
    """Free text: personal data in some rows (several types), quotes, commas and line breaks in others."""
    planted = {
        0: "write to ana.lima@example.org",
        1: "IBAN NL91ABNA0417164300 for refunds",
        2: 'said "call me", then left\nsecond line, with a comma',
        3: "card 4111 1111 1111 1111 on file",
        4: "",
    }
    return planted.get(index % 11, f"visit {index}")


def _rows(count: int = 90) -> list[list[str]]:
    rows = []
    for index in range(count):
        rows.append(
            [
                str(index),
                f"person{index}@example.org",
                f"+31 6 {10000000 + index}",
                f"19{60 + index % 4}-0{1 + index % 9}-1{index % 10}",
                ["1012 AB", "3511CE", "9711 LM", ""][index % 4],
                str(20 + (index * 7) % 50),
                ["flu", "asthma", "", "flu"][index % 4] if index % 9 else "asthma",
                _notes(index),
                f"r-{index}",
            ]
        )
    return rows


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_runner.session(
        "local[2]",
        **{
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.files.maxPartitionBytes": "2048",
            "spark.sql.files.openCostInBytes": "0",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> ManifestSource:
    folder = tmp_path_factory.mktemp("manifest")
    return load_manifest(write_manifest(folder / "m.yaml", manifest_document(COLUMNS, privacy=PRIVACY)))


def _dataset(folder: Path, fmt: str, layout: str, rows: list[list[str]]) -> Path:
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


def _findings(report: ScanReport) -> list[tuple[str, str, int, tuple[int, ...]]]:
    return sorted((f.column, f.type, f.count, f.rows) for f in report.findings)


def _text_rows(path: Path, fmt: str) -> list[tuple[tuple[str, str | None], ...]]:
    """Every row of a file or folder as (column, text) pairs, in no particular order."""
    files, data_format = data_files(path, fmt)  # type: ignore[arg-type]
    rows = []
    for file in files:
        reader = DataReader(file, data_format=data_format)
        for batch in reader.batches():
            for record in batch.text.to_pylist():
                rows.append(tuple(sorted((name, value or None) for name, value in record.items())))
    return sorted(rows, key=repr)


LAYOUTS = [(fmt, layout) for fmt in ("csv", "jsonl", "parquet") for layout in ("file", "folder")]


@pytest.mark.parametrize(("fmt", "layout"), LAYOUTS)
def test_scan_findings_equal_the_single_machine_runner(
    tmp_path: Path, spark: Any, manifest: ManifestSource, fmt: str, layout: str
) -> None:
    data = _dataset(tmp_path, fmt, layout, _rows())
    local = scan_file(data, manifest, data_format=fmt)  # type: ignore[arg-type]
    distributed = spark_runner.scan_dataset(str(data), manifest, spark=spark)
    assert distributed.rows_scanned == local.rows_scanned == 90
    assert _findings(distributed) == _findings(local)
    # The planted values, found at their row numbers (1-based, across the files of a folder in path order).
    assert ("notes", "email", 9, (1, 12, 23, 34, 45)) in _findings(local)
    assert ("notes", "iban", 9, (2, 13, 24, 35, 46)) in _findings(local)
    assert ("notes", "payment_card", 8, (4, 15, 26, 37, 48)) in _findings(local)
    assert (
        sorted(distributed.columns_skipped)
        == sorted(local.columns_skipped)
        == [
            "birth_date",
            "email",
            "phone",
            "postcode",
        ]
    )


@pytest.mark.parametrize(("fmt", "layout"), LAYOUTS)
def test_anonymized_rows_and_risk_equal_the_single_machine_runner(
    tmp_path: Path, spark: Any, manifest: ManifestSource, fmt: str, layout: str
) -> None:
    rows = [[*row[:7], f"visit {index}", *row[8:]] for index, row in enumerate(_rows())]
    data = _dataset(tmp_path, fmt, layout, rows)
    local_out = tmp_path / f"local.{fmt}"
    spark_out = tmp_path / f"spark.{fmt}"
    local = anonymize_file(data, manifest, local_out, key=HMAC_KEY, data_format=fmt)  # type: ignore[arg-type]
    distributed = spark_runner.anonymize_dataset(str(data), manifest, str(spark_out), key=HMAC_KEY, spark=spark)
    assert spark_out.is_dir() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    expected = _text_rows(local_out, fmt)
    assert len(expected) == 90
    assert _text_rows(spark_out, fmt) == expected
    assert "ref" not in dict(expected[0])
    assert distributed.clean and local.clean
    assert distributed.risk is not None and local.risk is not None
    assert distributed.risk == local.risk
    assert distributed.risk.to_dict()["rows"] == 90


def test_risk_counts_equal_and_match_the_classes(tmp_path: Path, spark: Any) -> None:
    """Both runners on anonymized data: classes by hand; an empty quasi-identifier is a value of its own;
    an empty sensitive value adds no diversity."""
    header = ["zip", "year", "sex", "band", "diagnosis"]
    rows = (
        [["10", "1980", "f", "a", "flu"]] * 3
        + [["10", "1980", "f", "a", "asthma"]] * 2  # class of 5, 2 diagnoses
        + [["10", "1981", "m", "a", "flu"]] * 2  # class of 2, 1 diagnosis
        + [["", "1981", "m", "a", ""]] * 2  # empty zip: its own class of 2; no diagnosis at all
        + [["11", "", "", "b", "flu"], ["11", "", "", "b", "cold"], ["11", "", "", "b", "gout"]]  # class of 3
    )
    columns = [{"name": name, "pii": "none", "action": "keep"} for name in header]
    privacy = {"quasi_identifiers": ["zip", "year", "sex", "band"], "k": 3, "sensitive": "diagnosis", "l": 2}
    source = load_manifest(write_manifest(tmp_path / "m.yaml", manifest_document(columns, privacy=privacy)))
    for fmt, write in WRITERS.items():
        data = write(tmp_path / f"d.{fmt}", header, rows)
        local = scan_file(data, source, mode="anonymized")
        distributed = spark_runner.scan_dataset(str(data), source, mode="anonymized", spark=spark)
        assert local.risk is not None
        assert local.risk.to_dict() == {
            "quasi_identifiers": ["zip", "year", "sex", "band"],
            "k": 3,
            "rows": 12,
            "classes": 4,
            "smallest_class": 2,
            "classes_below_k": 2,
            "rows_below_k": 4,
            "sensitive": "diagnosis",
            "l": 2,
            "lowest_diversity": 0,
            "classes_below_l": 2,
            "rows_below_l": 4,
            "meets_target": False,
        }, fmt
        assert distributed.risk == local.risk, fmt


def test_spark_anonymize_refuses_output_that_still_holds_personal_data(
    tmp_path: Path, spark: Any, manifest: ManifestSource
) -> None:
    data = _dataset(tmp_path, "jsonl", "folder", _rows())
    out = tmp_path / "out.jsonl"
    with pytest.raises(AnonymizationIncompleteError) as caught:
        spark_runner.anonymize_dataset(str(data), manifest, str(out), key=HMAC_KEY, spark=spark)
    # Example rows count the rows of the output Spark wrote (its part files in path order).
    found = {(column, kind, count) for column, kind, count, _ in _findings(caught.value.report)}
    assert found == {("notes", "email", 9), ("notes", "iban", 9), ("notes", "payment_card", 8)}
    assert caught.value.report.file == str(out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.jsonl"]


def test_spark_task_errors_are_one_line_naming_file_and_line(
    tmp_path: Path, spark: Any, manifest: ManifestSource
) -> None:
    data = tmp_path / "d.jsonl"
    write_jsonl(data, HEADER, _rows(3))
    with data.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "4", "secret@example.org": "x"}\n')
    with pytest.raises(DatasetError) as caught:
        spark_runner.scan_dataset(str(data), manifest, spark=spark)
    # Lines count from the start of the file split that holds them (here a split of a few hundred bytes).
    assert re.fullmatch(
        rf"file:{re.escape(str(data))}(?: \(from byte \d+\))?: line [1-4]: "
        "key 2 of the object is not a declared column",
        str(caught.value),
    ), str(caught.value)
    assert caught.value.exit_code == 2
    bad_csv = write_csv(tmp_path / "bad.csv", HEADER, [row[:5] for row in _rows(2)])
    with pytest.raises(DatasetError) as caught:
        spark_runner.scan_dataset(str(bad_csv), manifest, spark=spark)
    assert "example.org" not in str(caught.value)
    assert str(caught.value).startswith(f"{bad_csv}: ")


def test_spark_engine_on_the_command_line(tmp_path: Path, spark: Any, run_cli: Any, key_file: Path) -> None:
    """The command line's --engine spark uses the running session (as inside a Spark job)."""
    data = _dataset(tmp_path, "csv", "folder", _rows())
    manifest_path = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy=PRIVACY))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest_path), "--engine", "spark", "--json")
    assert (code, err) == (1, "")
    assert '"type": "email"' in out and "example.org" not in out
    code, out, err = run_cli("scan", str(tmp_path), "--manifest", str(manifest_path), "--engine", "spark")
    assert (code, out, err) == (2, "", f"error: {tmp_path}: give the data format (--format csv, jsonl or parquet)\n")
    clean = _dataset(tmp_path / "clean", "parquet", "folder", [[*row[:7], "ok", row[8]] for row in _rows()])
    out = tmp_path / "out.parquet"
    argv = ["anonymize", str(clean), "--manifest", str(manifest_path), "--key-file", str(key_file), "--out", str(out)]
    code, stdout, err = run_cli(*argv, "--engine", "spark")
    assert (code, err) == (0, ""), err
    assert stdout.endswith(f"wrote {out}\n") and "k-anonymity over birth_date, postcode, age" in stdout
    written = [dict(row) for row in _text_rows(out, "parquet")]
    assert len(written) == 90 and all(re.fullmatch("[0-9a-f]{64}", str(row["email"])) for row in written)
    assert run_cli(*argv, "--engine", "spark") == (2, "", f"error: {out}: output exists (use --force to replace it)\n")
    shutil.rmtree(data)
