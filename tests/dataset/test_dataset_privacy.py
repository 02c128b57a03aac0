"""Re-identification risk on one machine: the manifest's privacy keys, k/l in scan, the publish gate.

Also: folders as data sets, and ``--engine spark`` without pyspark.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from dataset_helpers import manifest_document, none_columns, write_csv, write_jsonl, write_manifest

from scripts.dataset.errors import UnusableInputError
from scripts.dataset.manifest import Zone, load_manifest
from scripts.dataset.scanner import scan_file
from scripts.dataset.spark_runner import INSTALL_HINT
from scripts.dataset.storage import PrivacyRefusedError, plan_publication

HEADER = ["zip", "year", "sex", "diagnosis", "notes"]
COLUMNS: list[dict[str, Any]] = [
    *none_columns(["zip", "year", "sex", "diagnosis"]),
    {"name": "notes", "pii": "none", "action": "drop"},
]
PRIVACY = {"quasi_identifiers": ["zip", "year", "sex"], "k": 3, "sensitive": "diagnosis", "l": 2}
# Classes over (zip, year, sex): 4 rows (2 diagnoses), 2 rows (1 diagnosis), 1 row with an empty zip.
ROWS = [
    ["10", "1980", "f", "flu", ""],
    ["10", "1980", "f", "asthma", ""],
    ["10", "1980", "f", "flu", ""],
    ["10", "1980", "f", "flu", ""],
    ["11", "1981", "m", "gout", ""],
    ["11", "1981", "m", "gout", ""],
    ["", "1981", "m", "gout", ""],
]
ANONYMIZED_HEADER = HEADER[:4]


def _anonymized(rows: list[list[str]]) -> list[list[str]]:
    return [row[:4] for row in rows]


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"quasi_identifiers": ["zip"], "k": 1}, "privacy.k: expected an integer of at least 2, got 1"),
        ({"quasi_identifiers": ["zip"], "k": "5"}, "privacy.k: expected an integer"),
        ({"quasi_identifiers": [], "k": 2}, "privacy.quasi_identifiers: expected at least 1 item(s)"),
        (
            {"quasi_identifiers": ["zip", "town"], "k": 2},
            "privacy.quasi_identifiers[1]: column 'town' is not declared in columns",
        ),
        (
            {"quasi_identifiers": ["notes"], "k": 2},
            "privacy.quasi_identifiers[0]: column 'notes' is dropped, so it is not in the published data",
        ),
        ({"quasi_identifiers": ["zip", "zip"], "k": 2}, "privacy.quasi_identifiers[1]: column 'zip' is listed twice"),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "l": 2},
            "privacy.l: requires privacy.sensitive (the column whose values must be diverse)",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "sensitive": "diagnosis"},
            "privacy.sensitive: requires privacy.l (the least number of distinct values per class)",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "sensitive": "diagnosis", "l": 1},
            "privacy.l: expected an integer of at least 2, got 1",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "sensitive": "gene", "l": 2},
            "privacy.sensitive: column 'gene' is not declared in columns",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "sensitive": "notes", "l": 2},
            "privacy.sensitive: column 'notes' is dropped, so it is not in the published data",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "sensitive": "zip", "l": 2},
            "privacy.sensitive: column 'zip' is also a quasi-identifier",
        ),
        (
            {"quasi_identifiers": ["zip"], "k": 2, "kk": 3},
            "privacy.kk: unknown field (not part of the manifest format)",
        ),
    ],
)
def test_privacy_keys_are_validated(tmp_path: Path, privacy: dict[str, Any], message: str) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy=privacy))
    with pytest.raises(UnusableInputError) as caught:
        load_manifest(path)
    assert str(caught.value) == f"{path}: {message}"


def test_scan_anonymized_reports_k_and_l_as_counts_and_exits_1_below_target(tmp_path: Path, run_cli: Any) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy=PRIVACY))
    data = write_csv(tmp_path / "d.csv", ANONYMIZED_HEADER, _anonymized(ROWS))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest), "--anonymized", "--json")
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["clean"] is True
    assert report["reidentification"] == {
        "quasi_identifiers": ["zip", "year", "sex"],
        "k": 3,
        "rows": 7,
        "classes": 3,
        "smallest_class": 1,
        "classes_below_k": 2,
        "rows_below_k": 3,
        "sensitive": "diagnosis",
        "l": 2,
        "lowest_diversity": 1,
        "classes_below_l": 2,
        "rows_below_l": 3,
        "meets_target": False,
    }
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest), "--anonymized")
    assert (code, err) == (1, "")
    assert out.splitlines()[1:] == [
        "k-anonymity over zip, year, sex: smallest class 1 row(s), BELOW k=3; 3 class(es), 2 below k holding 3 row(s)",
        "l-diversity of diagnosis: lowest 1 distinct value(s) in a class, BELOW l=2; 2 class(es) below l holding "
        "3 row(s)",
    ]
    for value in ("gout", "asthma", "1981"):
        assert value not in out
    # Raw mode does not measure the risk (columns may still be dropped or transformed).
    raw = write_csv(tmp_path / "raw.csv", HEADER, ROWS)
    code, out, _ = run_cli("scan", str(raw), "--manifest", str(manifest), "--json")
    assert code == 0 and "reidentification" not in json.loads(out)


def test_empty_and_missing_quasi_identifiers_are_one_class_of_their_own(tmp_path: Path) -> None:
    """An empty CSV field and an absent JSON Lines key are the same value, distinct from every real value."""
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy={**PRIVACY, "k": 2}))
    source = load_manifest(manifest)
    rows = [["10", "1980", "f", "flu"], ["10", "1980", "f", "flu"], ["", "1980", "f", "flu"]]
    csv_report = scan_file(write_csv(tmp_path / "d.csv", ANONYMIZED_HEADER, rows), source, mode="anonymized")
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(
        '{"zip": "10", "year": "1980", "sex": "f", "diagnosis": "flu"}\n' * 2
        + '{"year": "1980", "sex": "f", "diagnosis": "flu"}\n',
        encoding="utf-8",
    )
    jsonl_report = scan_file(jsonl, source, mode="anonymized")
    assert csv_report.risk is not None and csv_report.risk == jsonl_report.risk
    assert (csv_report.risk.classes, csv_report.risk.smallest_class, csv_report.risk.classes_below_k) == (2, 1, 1)


def test_publish_refuses_a_dataset_below_k_before_any_request(tmp_path: Path, run_cli: Any) -> None:
    manifest = write_manifest(
        tmp_path / "m.yaml", manifest_document(COLUMNS, privacy={"quasi_identifiers": ["zip", "year", "sex"], "k": 3})
    )
    data = write_csv(tmp_path / "d.csv", ANONYMIZED_HEADER, _anonymized(ROWS))
    # A connection string to a port nobody listens on: the refusal must come before any request.
    argv = ["publish", str(data), "--manifest", str(manifest), "--zone", "anonymized"]
    unreachable = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1"
    code, out, err = run_cli(*argv, "--connection-string", unreachable)
    assert (code, out) == (1, "")
    assert err == (
        f"error: publish refused: {manifest}: privacy: 2 class(es) over the quasi-identifiers hold fewer than "
        "k=3 rows (smallest 1, 3 row(s) in all)\n"
    )
    code, out, err = run_cli(*argv, "--connection-string", unreachable, "--json")
    assert code == 1 and json.loads(out)["reidentification"]["classes_below_k"] == 2


def test_publish_judges_the_files_of_a_version_together(tmp_path: Path) -> None:
    """Two files, each below k alone, together meet it: classes span the files of the data set."""
    privacy = {"quasi_identifiers": ["zip", "year", "sex"], "k": 2}
    source = load_manifest(write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, privacy=privacy)))
    first = write_csv(tmp_path / "a.csv", ANONYMIZED_HEADER, [["10", "1980", "f", "flu"]])
    second = write_jsonl(tmp_path / "b.jsonl", ANONYMIZED_HEADER, [["10", "1980", "f", "gout"]])
    planned = plan_publication([first, second], source, Zone.ANONYMIZED, frozenset())
    assert [item.name for item in planned] == ["a.csv", "b.jsonl"]
    with pytest.raises(PrivacyRefusedError) as caught:
        plan_publication([first], source, Zone.ANONYMIZED, frozenset())
    assert caught.value.risk.rows_below_k == 1


def test_a_folder_is_scanned_as_its_files_in_path_order(tmp_path: Path) -> None:
    source = load_manifest(write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"]))))
    folder = tmp_path / "parts"
    (folder / "day=2").mkdir(parents=True)
    (folder / "day=1").mkdir()
    write_csv(folder / "day=1" / "p.csv", ["id", "notes"], [["1", "ok"], ["2", "mail x@example.org"]])
    write_csv(folder / "day=2" / "p.csv", ["id", "notes"], [["3", "x@example.org"], ["4", "ok"]])
    (folder / "_SUCCESS").write_text("")
    with pytest.raises(UnusableInputError, match="give its format"):
        scan_file(folder, source)
    report = scan_file(folder, source, data_format="csv")
    assert report.rows_scanned == 4
    assert [(f.column, f.type, f.count, f.rows) for f in report.findings] == [("notes", "email", 2, (2, 3))]
    write_csv(folder / "day=2" / "q.csv", ["id", "other"], [["5", "ok"]])
    with pytest.raises(UnusableInputError, match=r"q\.csv: column 2 of the data is not declared"):
        scan_file(folder, source, data_format="csv")


@pytest.mark.parametrize("command", ["scan", "anonymize"])
def test_spark_engine_without_pyspark_exits_2_saying_how_to_install_it(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, key_file: Path, command: str
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"])))
    data = write_csv(tmp_path / "d.csv", ["id", "notes"], [["1", "ok"]])
    argv = [command, str(data), "--manifest", str(manifest), "--engine", "spark"]
    if command == "anonymize":
        argv += ["--out", str(tmp_path / "out.csv"), "--key-file", str(key_file)]
    assert run_cli(*argv) == (2, "", f"error: {INSTALL_HINT}\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.csv", "hmac.key", "m.yaml"]


def test_the_published_record_carries_k_and_l_and_verify_reports_them(
    tmp_path: Path, run_cli: Any, azurite: str, service: Any
) -> None:
    name = f"kl-{uuid.uuid4().hex[:12]}"
    privacy = {**PRIVACY, "k": 2}
    document = manifest_document(COLUMNS, privacy=privacy, name=name, classification="internal")
    manifest = write_manifest(tmp_path / "m.yaml", document)
    rows = [
        ["10", "1980", "f", "flu"],
        ["10", "1980", "f", "gout"],
        ["11", "1981", "m", "flu"],
        ["11", "1981", "m", "cold"],
    ]
    data = write_csv(tmp_path / "d.csv", ANONYMIZED_HEADER, rows)
    argv = ["publish", str(data), "--manifest", str(manifest), "--zone", "anonymized", "--connection-string", azurite]
    code, out, err = run_cli(*argv)
    assert (code, err) == (0, ""), err
    container = service.get_container_client("anonymized")
    record_blob = container.get_blob_client(f"datasets/{name}/1.0.0/manifest.yaml")
    record = yaml.safe_load(record_blob.download_blob().readall())
    assert record["reidentification"] == {
        "quasi_identifiers": ["zip", "year", "sex"],
        "k": 2,
        "rows": 4,
        "classes": 2,
        "smallest_class": 2,
        "classes_below_k": 0,
        "rows_below_k": 0,
        "sensitive": "diagnosis",
        "l": 2,
        "lowest_diversity": 2,
        "classes_below_l": 0,
        "rows_below_l": 0,
        "meets_target": True,
    }
    verify = ["verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0"]
    code, out, err = run_cli(*verify, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["reidentification"] == {"anonymized": record["reidentification"]}
    code, out, err = run_cli(*verify)
    assert (code, err) == (0, "")
    assert (
        "re-identification at publish (anonymized): k-anonymity over zip, year, sex: smallest class 2 row(s), k=2, "
        "2 class(es); l-diversity of diagnosis: lowest 2, l=2\n"
    ) in out
    # A record whose counts no longer meet the version's own target is a problem.
    record["reidentification"] |= {"k": 1, "meets_target": False}
    record_blob.upload_blob(yaml.safe_dump(record, sort_keys=False), overwrite=True)
    code, out, err = run_cli(*verify)
    assert code == 1
    assert (
        f"problem: anonymized/datasets/{name}/1.0.0/manifest.yaml: the recorded re-identification risk does not "
        "meet the version's own privacy target\n"
    ) in out
