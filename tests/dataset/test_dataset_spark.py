"""The Spark runner against the single-machine runner: the same findings, rows and k/l on the same input.

pyspark runs in local mode (``local[2]``) on the machine's Java. Spark splits files into tiny slices here
(``spark.sql.files.maxPartitionBytes``), so JSON Lines and Parquet files are read by several tasks and the
merge of per-slice results (row numbering across slices included) is exercised on small data.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from dataset_helpers import HMAC_KEY, manifest_document, write_csv, write_jsonl, write_manifest
from spark_data import COLUMNS, HEADER, PRIVACY, WRITERS, dataset, findings, sample_rows, text_rows

from scripts.dataset import spark_runner
from scripts.dataset.anonymize import AnonymizationIncompleteError, anonymize_file
from scripts.dataset.errors import DatasetError, UnusableInputError
from scripts.dataset.manifest import ManifestSource, load_manifest
from scripts.dataset.scanner import scan_file


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> ManifestSource:
    folder = tmp_path_factory.mktemp("manifest")
    return load_manifest(write_manifest(folder / "m.yaml", manifest_document(COLUMNS, privacy=PRIVACY)))


LAYOUTS = [(fmt, layout) for fmt in ("csv", "jsonl", "parquet") for layout in ("file", "folder")]


@pytest.mark.parametrize(("fmt", "layout"), LAYOUTS)
def test_scan_findings_equal_the_single_machine_runner(
    tmp_path: Path, spark: Any, manifest: ManifestSource, fmt: str, layout: str
) -> None:
    data = dataset(tmp_path, fmt, layout, sample_rows())
    local = scan_file(data, manifest, data_format=fmt)  # type: ignore[arg-type]
    distributed = spark_runner.scan_dataset(str(data), manifest, spark=spark)
    assert distributed.rows_scanned == local.rows_scanned == 90
    assert findings(distributed) == findings(local)
    # The planted values, found at their row numbers (1-based, across the files of a folder in path order).
    assert ("notes", "email", 9, (1, 12, 23, 34, 45)) in findings(local)
    assert ("notes", "iban", 9, (2, 13, 24, 35, 46)) in findings(local)
    assert ("notes", "payment_card", 8, (4, 15, 26, 37, 48)) in findings(local)
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
    rows = [[*row[:7], f"visit {index}", *row[8:]] for index, row in enumerate(sample_rows())]
    data = dataset(tmp_path, fmt, layout, rows)
    local_out = tmp_path / f"local.{fmt}"
    spark_out = tmp_path / f"spark.{fmt}"
    local = anonymize_file(data, manifest, local_out, key=HMAC_KEY, data_format=fmt)  # type: ignore[arg-type]
    distributed = spark_runner.anonymize_dataset(str(data), manifest, str(spark_out), key=HMAC_KEY, spark=spark)
    assert spark_out.is_dir() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    expected = text_rows(local_out, fmt)
    assert len(expected) == 90
    assert text_rows(spark_out, fmt) == expected
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
    data = dataset(tmp_path, "jsonl", "folder", sample_rows())
    out = tmp_path / "out.jsonl"
    with pytest.raises(AnonymizationIncompleteError) as caught:
        spark_runner.anonymize_dataset(str(data), manifest, str(out), key=HMAC_KEY, spark=spark)
    # Example rows count the rows of the output Spark wrote (its part files in path order).
    found = {(column, kind, count) for column, kind, count, _ in findings(caught.value.report)}
    assert found == {("notes", "email", 9), ("notes", "iban", 9), ("notes", "payment_card", 8)}
    assert caught.value.report.file == str(out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.jsonl"]


def test_spark_task_errors_are_one_line_naming_file_and_line(
    tmp_path: Path, spark: Any, manifest: ManifestSource
) -> None:
    data = tmp_path / "d.jsonl"
    write_jsonl(data, HEADER, sample_rows(3))
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
    bad_csv = write_csv(tmp_path / "bad.csv", HEADER, [row[:5] for row in sample_rows(2)])
    with pytest.raises(DatasetError) as caught:
        spark_runner.scan_dataset(str(bad_csv), manifest, spark=spark)
    assert "example.org" not in str(caught.value)
    assert str(caught.value).startswith(f"{bad_csv}: ")


def test_spark_engine_on_the_command_line(tmp_path: Path, spark: Any, run_cli: Any, key_file: Path) -> None:
    """The command line's --engine spark uses the running session (as inside a Spark job)."""
    data = dataset(tmp_path, "csv", "folder", sample_rows())
    manifest_path = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy=PRIVACY))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest_path), "--engine", "spark", "--json")
    assert (code, err) == (1, "")
    assert '"type": "email"' in out and "example.org" not in out
    code, out, err = run_cli("scan", str(tmp_path), "--manifest", str(manifest_path), "--engine", "spark")
    assert (code, out, err) == (2, "", f"error: {tmp_path}: give the data format (--format csv, jsonl or parquet)\n")
    clean = dataset(tmp_path / "clean", "parquet", "folder", [[*row[:7], "ok", row[8]] for row in sample_rows()])
    out = tmp_path / "out.parquet"
    argv = ["anonymize", str(clean), "--manifest", str(manifest_path), "--key-file", str(key_file), "--out", str(out)]
    code, stdout, err = run_cli(*argv, "--engine", "spark")
    assert (code, err) == (0, ""), err
    assert stdout.endswith(f"wrote {out}\n") and "k-anonymity over birth_date, postcode, age" in stdout
    written = [dict(row) for row in text_rows(out, "parquet")]
    assert len(written) == 90 and all(re.fullmatch("[0-9a-f]{64}", str(row["email"])) for row in written)
    assert run_cli(*argv, "--engine", "spark") == (2, "", f"error: {out}: output exists (use --force to replace it)\n")
    shutil.rmtree(data)


@pytest.mark.parametrize(
    ("out", "parent"),
    [
        ("abfss://anonymized@acct.dfs.core.windows.net/customers/2026-11/", "/customers"),
        ("abfss://anonymized@acct.dfs.core.windows.net/customers/2026-11", "/customers"),
        ("abfss://anonymized@acct.dfs.core.windows.net/x.parquet", "/"),
        ("abfss://anonymized@acct.dfs.core.windows.net/x/", "/"),
    ],
)
def test_the_partial_output_is_a_hidden_folder_beside_the_output_in_its_container(
    spark: Any, out: str, parent: str
) -> None:
    """The step identity's role is on the zone's container: the folder Spark writes first stays in it."""
    partial = spark_runner.partial_path(spark, out)
    uri = partial.toUri()
    assert (uri.getScheme(), uri.getAuthority()) == ("abfss", "anonymized@acct.dfs.core.windows.net")
    assert partial.getParent().toUri().getPath() == parent
    name = out.rstrip("/").rsplit("/", 1)[-1]
    assert re.fullmatch(rf"\.{re.escape(name)}\.partial-[0-9a-f]{{32}}", partial.getName())


def test_the_root_of_a_container_is_no_output(spark: Any) -> None:
    with pytest.raises(UnusableInputError, match="must be below a root folder"):
        spark_runner.partial_path(spark, "abfss://anonymized@acct.dfs.core.windows.net/")


def test_an_empty_output_folder_counts_as_absent(tmp_path: Path, spark: Any, manifest: ManifestSource) -> None:
    """As Azure ML may create a job's output folder before the job starts; a folder with files is refused."""
    data = dataset(tmp_path, "parquet", "folder", [[*row[:7], "ok", row[8]] for row in sample_rows()])
    out = tmp_path / "out"
    out.mkdir()
    spark_runner.anonymize_dataset(str(data), manifest, str(out), key=HMAC_KEY, spark=spark)
    assert len(text_rows(out, "parquet")) == 90
    with pytest.raises(UnusableInputError, match="output exists"):
        spark_runner.anonymize_dataset(str(data), manifest, str(out), key=HMAC_KEY, spark=spark)


def test_an_output_inside_the_input_or_holding_it_is_refused(
    tmp_path: Path, spark: Any, manifest: ManifestSource
) -> None:
    data = dataset(tmp_path / "lake", "parquet", "folder", [[*row[:7], "ok", row[8]] for row in sample_rows()])
    for out in (data / "out.parquet", tmp_path / "lake"):
        with pytest.raises(UnusableInputError) as caught:
            spark_runner.anonymize_dataset(str(data), manifest, str(out), key=HMAC_KEY, force=True, spark=spark)
        assert str(caught.value) == f"{out}: output must not be inside the input, nor hold it"
    assert len(text_rows(data, "parquet")) == 90
