"""Manifest validation: a malformed manifest exits 2 with one line naming the file and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dataset_helpers import manifest_document, none_columns, write_csv, write_manifest

from scripts.dataset.manifest import Classification, PiiType, Zone, load_manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "datasets" / "customers.manifest.yaml"


def test_example_manifest_is_valid() -> None:
    manifest = load_manifest(EXAMPLE).manifest
    assert (manifest.name, manifest.version, manifest.classification) == (
        "customers",
        "2024.06.1",
        Classification.CONFIDENTIAL,
    )
    assert manifest.allows_zone(Zone.ANONYMIZED)
    assert not manifest.allows_zone(Zone.CURATED)
    assert manifest.column("signup_ip") is not None
    assert manifest.needs_key


def _base() -> dict[str, Any]:
    return manifest_document(none_columns(["id", "notes"]))


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = _base()
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_DELETE = object()

CASES = [
    (_with(("name",), _DELETE), "name: required field is missing"),
    (_with(("name",), "Customers/2024"), "name: expected text matching ^[a-z0-9][a-z0-9._-]{0,62}$"),
    (_with(("version",), 1.0), "version: expected a string (quote values such as 1.0 or yes)"),
    (
        _with(("classification",), "secret"),
        "classification: expected 'public', 'internal', 'confidential' or 'restricted'",
    ),
    (_with(("source", "kind"), "scraped"), "source.kind: expected 'internal', 'vendor' or 'public'"),
    (_with(("source",), {"kind": "vendor", "uri": "s3://x"}), "source.license: required when source.kind is vendor"),
    (
        _with(("source",), {"kind": "public", "uri": "https://data.example", "license": "CC-BY-4.0"}),
        "approved_by: required when source.kind is public",
    ),
    (_with(("owner",), "team"), "owner: unknown field (not part of the manifest format)"),
    (_with(("columns",), []), "columns: expected at least 1 item(s)"),
    (_with(("columns", 1, "pii"), "ssn"), "columns[1].pii: expected "),
    (
        _with(("columns", 1), {"name": "notes", "pii": "email", "action": "keep"}),
        "columns[1].justification: required when action is keep and pii is not none",
    ),
    (
        _with(("columns", 1), {"name": "notes", "pii": "none", "action": "generalize"}),
        "columns[1].generalize: required when action is generalize (kind: date, number or postcode)",
    ),
    (
        _with(
            ("columns", 1),
            {"name": "notes", "pii": "none", "action": "generalize", "generalize": {"kind": "date", "to": "week"}},
        ),
        "columns[1].generalize.to: expected 'year' or 'month'",
    ),
    (
        _with(
            ("columns", 1),
            {"name": "notes", "pii": "none", "action": "generalize", "generalize": {"kind": "colour"}},
        ),
        "columns[1].generalize: expected kind: 'date', 'number', 'postcode'",
    ),
    (
        _with(("columns", 1), {"name": "notes", "pii": "none", "action": "mask", "mask": {"keep_last": -1}}),
        "columns[1].mask.keep_last: Input should be greater than or equal to 0",
    ),
    (_with(("columns", 1, "action"), "encrypt"), "columns[1].action: expected 'drop', 'hash', 'mask', 'generalize'"),
    (_with(("columns", 1, "name"), "id"), "columns[1].name: duplicate column name 'id'"),
    (_with(("scan",), {"sample_rows": 0}), "scan.sample_rows: Input should be greater than 0"),
]


@pytest.mark.parametrize(("document", "message"), CASES, ids=[message.split(":")[0] for _, message in CASES])
def test_malformed_manifest_exits_2_naming_the_field(
    tmp_path: Path, run_cli, document: dict[str, Any], message: str
) -> None:
    data = write_csv(tmp_path / "d.csv", ["id", "notes"], [["1", "x"]])
    manifest = write_manifest(tmp_path / "bad.manifest.yaml", document)
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {manifest}: {message}"), err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed\n", "the manifest is not valid YAML at line 2, column 1"),
        ("- just\n- a list\n", "expected the manifest to be a mapping, found list"),
        ("", "expected the manifest to be a mapping, found nothing"),
    ],
)
def test_unparseable_manifest_exits_2(tmp_path: Path, run_cli, text: str, message: str) -> None:
    data = write_csv(tmp_path / "d.csv", ["id"], [["1"]])
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(text, encoding="utf-8")
    code, _, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert code == 2
    assert err.startswith(f"error: {manifest}: {message}"), err


def test_missing_manifest_and_deny_list(tmp_path: Path, run_cli) -> None:
    data = write_csv(tmp_path / "d.csv", ["id"], [["1"]])
    code, _, err = run_cli("scan", str(data), "--manifest", str(tmp_path / "nope.yaml"))
    assert (code, err) == (2, f"error: {tmp_path / 'nope.yaml'}: no such manifest\n")
    document = manifest_document(none_columns(["id"]))
    document["scan"] = {"deny_list": "missing.txt"}
    manifest = write_manifest(tmp_path / "m.yaml", document)
    code, _, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, err) == (2, f"error: {manifest}: scan.deny_list: file {tmp_path / 'missing.txt'} not found\n")


def test_module_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["id"], [["1"]])
    manifest = write_manifest(tmp_path / "m.yaml", _with(("classification",), "secret"))
    result = subprocess.run(
        [sys.executable, "-m", "scripts.dataset", "scan", str(data), "--manifest", str(manifest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {manifest}: classification: expected 'public', 'internal', 'confidential' or 'restricted'\n"
    )


def test_every_detected_type_can_be_declared() -> None:
    declared = {kind.value for kind in PiiType}
    assert {"email", "phone", "iban", "payment_card", "ip_address", "nl_bsn", "us_ssn", "uk_nino"} <= declared
    assert {"de_idnr", "fr_nir", "es_dni", "it_codice_fiscale", "date_of_birth", "person_name", "none"} <= declared
