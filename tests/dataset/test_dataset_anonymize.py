"""anonymize: each action exactly, keyed hashing, and a re-scan that blocks incomplete output."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
from azure.core.pipeline.transport import HttpTransport
from dataset_helpers import HMAC_KEY, manifest_document, write_csv, write_jsonl, write_manifest, write_parquet

from scripts.dataset.errors import StorageError, UnusableInputError
from scripts.dataset.keys import fetch_key_vault_secret, key_vault_scope, load_key_file
from scripts.dataset.manifest import load_manifest
from scripts.dataset.scanner import scan_file

HEADER = ["id", "name", "email", "phone", "birth_date", "postcode", "income", "ip", "notes"]
ROWS = [
    [
        "1",
        "Anna de Vries",
        "anna@example.org",
        "+31 6 12345678",
        "1984-03-12",
        "1012 AB",
        "41250",
        "203.0.113.7",
        "fine",
    ],
    ["2", "Tom Jansen", "tom@example.org", "+44 20 7946 0958", "1990-11-02", "3511CE", "-120.5", "203.0.113.8", ""],
    ["3", "", "", "", "", "", "", "", "no contact"],
]
COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "pii": "none", "action": "keep"},
    {"name": "name", "pii": "person_name", "action": "drop"},
    {"name": "email", "pii": "email", "action": "hash"},
    {"name": "phone", "pii": "phone", "action": "mask", "mask": {"keep_last": 2}},
    {
        "name": "birth_date",
        "pii": "date_of_birth",
        "action": "generalize",
        "generalize": {"kind": "date", "to": "month"},
    },
    {
        "name": "postcode",
        "pii": "postcode",
        "action": "generalize",
        "generalize": {"kind": "postcode", "prefix_length": 2},
    },
    {"name": "income", "pii": "none", "action": "generalize", "generalize": {"kind": "number", "bin_width": 10000}},
    {"name": "ip", "pii": "ip_address", "action": "keep", "justification": "abuse detection, DPO ticket 7"},
    {"name": "notes", "pii": "none", "action": "keep"},
]


def _mac(value: str) -> str:
    return hmac.new(HMAC_KEY, value.encode(), hashlib.sha256).hexdigest()


EXPECTED = [
    {
        "id": "1",
        "email": _mac("anna@example.org"),
        "phone": "+** * ******78",
        "birth_date": "1984-03",
        "postcode": "10",
        "income": "[40000, 50000)",
        "ip": "203.0.113.7",
        "notes": "fine",
    },
    {
        "id": "2",
        "email": _mac("tom@example.org"),
        "phone": "+** ** **** **58",
        "birth_date": "1990-11",
        "postcode": "35",
        "income": "[-10000, 0)",
        "ip": "203.0.113.8",
        "notes": "",
    },
    {
        "id": "3",
        "email": "",
        "phone": "",
        "birth_date": "",
        "postcode": "",
        "income": "",
        "ip": "",
        "notes": "no contact",
    },
]


def _setup(tmp_path: Path, rows: list[list[str]] = ROWS, columns: list[dict[str, Any]] = COLUMNS) -> tuple[Path, Path]:
    data = write_csv(tmp_path / "people.csv", HEADER, rows)
    manifest = write_manifest(tmp_path / "people.manifest.yaml", manifest_document(columns))
    return data, manifest


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_anonymize_applies_every_action_then_scans_clean(tmp_path: Path, run_cli, key_file: Path) -> None:
    data, manifest = _setup(tmp_path)
    assert scan_file(data, load_manifest(manifest), mode="anonymized").findings != ()
    out = tmp_path / "people.anon.csv"
    code, stdout, err = run_cli(
        "anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key_file)
    )
    assert (code, err) == (0, "")
    assert stdout.endswith(f"wrote {out}\n")
    assert _read_csv(out) == EXPECTED
    report = scan_file(out, load_manifest(manifest), mode="anonymized")
    assert (report.findings, report.rows_scanned) == ((), 3)
    code, _, _ = run_cli("scan", str(out), "--manifest", str(manifest), "--anonymized")
    assert code == 0


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_anonymize_other_formats(tmp_path: Path, run_cli, key_file: Path, fmt: str) -> None:
    writer = write_jsonl if fmt == "jsonl" else write_parquet
    data = writer(tmp_path / f"people.{fmt}", HEADER, ROWS)
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS))
    out = tmp_path / f"out.{fmt}"
    code, _, err = run_cli(
        "anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key_file)
    )
    assert (code, err) == (0, "")
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    else:
        rows = pq.read_table(out).to_pylist()
    assert rows == EXPECTED


def test_hash_is_keyed(tmp_path: Path, run_cli, key_file: Path) -> None:
    data, manifest = _setup(tmp_path)
    other_key = tmp_path / "other.key"
    other_key.write_bytes(b"another-key-of-enough-length-0123456789")
    outs = []
    for name, key in (("a.csv", key_file), ("b.csv", other_key)):
        out = tmp_path / name
        assert (
            run_cli("anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key))[0]
            == 0
        )
        outs.append(_read_csv(out)[0]["email"])
    assert outs[0] == _mac("anna@example.org")
    assert outs[0] != outs[1]
    assert hashlib.sha256(b"anna@example.org").hexdigest() not in outs


def test_refuses_to_write_when_pii_remains(tmp_path: Path, run_cli, key_file: Path) -> None:
    rows = [row.copy() for row in ROWS]
    rows[1][8] = "please call +31 6 12345678 or mail tom@example.org"
    data, manifest = _setup(tmp_path, rows)
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli(
        "anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key_file), "--json"
    )
    assert code == 1
    assert err == "error: anonymized output still holds personal data; nothing was written\n"
    payload = json.loads(stdout)
    assert payload["written"] is False
    assert payload["scan"]["findings"] == [
        {"column": "notes", "type": "email", "count": 1, "rows": [2]},
        {"column": "notes", "type": "phone", "count": 1, "rows": [2]},
    ]
    assert not out.exists()
    assert list(tmp_path.glob(".out.csv*")) == []


def test_unparseable_value_is_named_without_its_content(tmp_path: Path, run_cli, key_file: Path) -> None:
    rows = [row.copy() for row in ROWS]
    rows[1][4] = "02/11/1990"
    data, manifest = _setup(tmp_path, rows)
    out = tmp_path / "out.csv"
    code, _, err = run_cli(
        "anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key_file)
    )
    assert (code, err) == (
        2,
        f"error: {data}: row 2, column 'birth_date': expected an ISO 8601 date (YYYY-MM-DD) to generalize\n",
    )
    assert not out.exists()


def test_hash_needs_a_key(tmp_path: Path, run_cli) -> None:
    data, manifest = _setup(tmp_path)
    code, _, err = run_cli("anonymize", str(data), "--manifest", str(manifest), "--out", str(tmp_path / "o.csv"))
    assert code == 2
    assert err.startswith(f"error: {manifest}: columns use action hash: give --key-vault-url and --key-name")


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"too-short")
    with pytest.raises(UnusableInputError, match="HMAC key has 9 bytes, expected at least 32"):
        load_key_file(short)


def test_existing_output_needs_force(tmp_path: Path, run_cli, key_file: Path) -> None:
    data, manifest = _setup(tmp_path)
    out = tmp_path / "out.csv"
    out.write_text("keep me", encoding="utf-8")
    argv = ["anonymize", str(data), "--manifest", str(manifest), "--out", str(out), "--key-file", str(key_file)]
    assert run_cli(*argv) == (2, "", f"error: {out}: output exists (use --force to replace it)\n")
    assert out.read_text(encoding="utf-8") == "keep me"
    assert run_cli(*argv, "--force")[0] == 0
    assert _read_csv(out) == EXPECTED


class _FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("fake-token", 4_102_444_800)


class _FakeTransport(HttpTransport):  # type: ignore[type-arg]
    """Answers Key Vault requests locally and records them."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        self.requests: list[Any] = []

    def __enter__(self) -> _FakeTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.requests.append(request)
        return _Response(request, self.status, self.body)


class _Response(LegacyHttpResponse):
    def __init__(self, request: Any, status: int, body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.reason = "OK" if status == 200 else "Error"
        self.headers = {"Content-Type": "application/json"}
        self.content_type = "application/json"
        self._body = body

    def body(self) -> bytes:
        return self._body


def test_key_vault_secret_is_read_with_a_bearer_token() -> None:
    secret = "s" * 48
    transport = _FakeTransport(200, json.dumps({"value": secret, "id": "x"}).encode())
    credential = _FakeCredential()
    key = fetch_key_vault_secret("https://kv-ml.vault.azure.net/", "dataset-hmac", credential, transport=transport)
    assert key == secret.encode()
    assert credential.scopes == ["https://vault.azure.net/.default"]
    (request,) = transport.requests
    assert request.method == "GET"
    assert request.url == "https://kv-ml.vault.azure.net/secrets/dataset-hmac?api-version=7.5"
    assert request.headers["Authorization"] == "Bearer fake-token"


def test_key_vault_errors_are_one_line() -> None:
    transport = _FakeTransport(403, b'{"error": {"code": "Forbidden"}}')
    with pytest.raises(StorageError, match=r"secrets/dataset-hmac: Key Vault answered HTTP 403$"):
        fetch_key_vault_secret("https://kv-ml.vault.azure.net", "dataset-hmac", _FakeCredential(), transport=transport)
    with pytest.raises(UnusableInputError, match="expected a Key Vault URL"):
        key_vault_scope("http://kv-ml.vault.azure.net")
    assert key_vault_scope("https://kv.vault.azure.cn") == "https://vault.azure.cn/.default"
