"""The scanner: planted PII of every type is found exactly, clean data yields nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dataset_helpers import manifest_document, none_columns, write_csv, write_jsonl, write_manifest, write_parquet

from scripts.dataset.detectors import Analyzer, prefilter
from scripts.dataset.manifest import PiiType, load_manifest
from scripts.dataset.scanner import scan_file
from scripts.dataset.synthetic import PLANTABLE, Synthetic

# Free text with one planted value per row; formats with spaces, dashes and dots.
NOTES: list[tuple[str, set[str]]] = [
    ("Customer wrote from jan.devries@example.nl about the invoice", {"email"}),
    ("Call back on +31 6 1234 5678 tomorrow", {"phone"}),
    ("Refund to IBAN NL91 ABNA 0417 1643 00 please", {"iban"}),
    ("Paid with card 4111-1111-1111-1111 yesterday", {"payment_card"}),
    ("Login from 203.0.113.7 and later 2001:db8::8a2e:370:7334", {"ip_address"}),
    ("BSN 1112.22.333 checked", {"nl_bsn"}),
    ("Her SSN is 536-90-4399.", {"us_ssn"}),
    ("NINO AB 12 34 56 C on file", {"uk_nino"}),
    ("Steuer-ID 36 574 261 809 received", {"de_idnr"}),
    ("NIR 2 84 12 76 451 089 93 transmis", {"fr_nir"}),
    ("DNI 54362315-K y NIE X-1234567-L", {"es_dni"}),
    ("Codice fiscale RCCMNL83S18D969H allegato", {"it_codice_fiscale"}),
    ("DOB: 12/03/1984 confirmed", {"date_of_birth"}),
    ("Spoke with Mrs Jansen on the phone", {"person_name"}),
    ("Nothing personal here, order 100000123 shipped 2024-03-01 10:30:00", set()),
    ("Second mail ANNA@EXAMPLE.COM, phone +44 20 7946 0958", {"email", "phone"}),
    ("card 5500 0000 0000 0004 and ip fe80::1ff:fe23:4567:890a", {"payment_card", "ip_address"}),
    ("bsn: 123456782, ssn 536904399", {"nl_bsn", "us_ssn"}),
]

# Values that look like identifiers but are not: wrong checksums, dates, amounts, codes.
CLEAN_TEXT = [
    "Order 100000123 shipped on 2024-03-01 at 10:30:00",
    "Invoice total 1234567.89 EUR, VAT 21%",
    "IBAN NL91 ABNA 0417 1643 01 rejected",  # bad checksum
    "card 4111 1111 1111 1112 declined",  # fails Luhn
    "SSN 000-12-3456 is not issued",
    "BSN 1112.22.334 typo",
    "version 10.2.3 released, build 2024.03.01",
    "Meeting at 12:30:45 in room B2",
    "MAC 00:1a:2b:3c:4d:5e replaced",
    "std::vector and a::b are C++",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "SKU-ABC-123456 x 3, postcode 1012 AB",
    "call the desk on extension 4521",
    "tracking 1Z999AA10123456784 delivered",
    "the word born appears but no date, and a DOB field left empty",
    "quantity 123456789012345678901234 is too long to be anything",
    "NL12 ABCD is not an IBAN",
]


def _notes_csv(tmp_path: Path) -> tuple[Path, Path]:
    rows = [[str(index), text, "ok"] for index, (text, _) in enumerate(NOTES, start=1)]
    data = write_csv(tmp_path / "notes.csv", ["id", "notes", "status"], rows)
    document = manifest_document(none_columns(["id", "notes", "status"]))
    (tmp_path / "names.txt").write_text("# surnames to flag\njansen\nde vries\n", encoding="utf-8")
    document["scan"] = {"deny_list": "names.txt"}
    return data, write_manifest(tmp_path / "notes.manifest.yaml", document)


def _expected_notes() -> list[dict[str, object]]:
    rows: dict[str, list[int]] = {}
    for row, (_, kinds) in enumerate(NOTES, start=1):
        for kind in kinds:
            rows.setdefault(kind, []).append(row)
    order = [kind.value for kind in PiiType]
    return [
        {"column": "notes", "type": kind, "count": len(found), "rows": found[:5]}
        for kind, found in sorted(rows.items(), key=lambda item: order.index(item[0]))
    ]


def test_planted_free_text_is_flagged_exactly(tmp_path: Path) -> None:
    data, manifest = _notes_csv(tmp_path)
    source = load_manifest(manifest)
    from scripts.dataset.manifest import load_deny_list

    report = scan_file(data, source, deny_list=load_deny_list(source))
    assert [finding.to_dict() for finding in report.findings] == _expected_notes()
    assert report.rows_scanned == len(NOTES)
    assert report.complete


def test_scan_cli_json_names_columns_and_rows_never_values(tmp_path: Path, run_cli) -> None:
    data, manifest = _notes_csv(tmp_path)
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest), "--json")
    assert (code, err) == (1, "")
    payload = json.loads(out)
    assert payload["findings"] == _expected_notes()
    assert payload["clean"] is False
    for secret in ("jan.devries", "4111", "NL91", "536-90", "RCCMNL", "Jansen", "203.0.113.7"):
        assert secret not in out


def test_scan_cli_human_table(tmp_path: Path, run_cli) -> None:
    data, manifest = _notes_csv(tmp_path)
    code, out, _ = run_cli("scan", str(data), "--manifest", str(manifest))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{data}: 18 rows scanned (complete, raw mode), 14 finding(s)"
    assert lines[1].split() == ["COLUMN", "TYPE", "ROWS", "EXAMPLE", "ROWS"]
    assert lines[2].split() == ["notes", "email", "2", "1,", "16"]


@pytest.mark.parametrize("text", CLEAN_TEXT)
def test_near_misses_are_not_pii(text: str) -> None:
    assert Analyzer(frozenset({"jansen"})).analyze(text).found == set()


def test_prefilter_selects_every_planted_value() -> None:
    synthetic = Synthetic(11)
    texts = [synthetic.sentence(kind) for _ in range(40) for kind in PLANTABLE]
    texts += [text for text, kinds in NOTES if kinds and kinds != {"person_name"}]
    selected = pc.match_substring_regex(pa.array(texts), prefilter(bare_digits=False))
    assert selected.to_pylist() == [True] * len(texts)


def test_synthetic_sentences_are_each_found_as_their_type() -> None:
    synthetic = Synthetic(5)
    analyzer = Analyzer()
    for kind in PLANTABLE:
        for _ in range(25):
            assert analyzer.analyze(synthetic.sentence(kind)).found == {kind}


STRUCTURED_HEADER = [
    "contact",
    "mobile",
    "account",
    "pan",
    "ref",
    "ssn",
    "steuer_id",
    "insee",
    "ni_number",
    "dni",
    "cf",
    "host",
    "birth_date",
    "first_name",
    "order_id",
]
STRUCTURED_ROWS = [
    [
        "a.b@example.com",
        "+31612345678",
        "NL91ABNA0417164300",
        "4111111111111111",
        "111222333",
        "536904399",
        "36574261809",
        "284127645108993",
        "AB123456C",
        "54362315K",
        "RCCMNL83S18D969H",
        "10.1.2.3",
        "1984-03-12",
        "Anna",
        "100000001",
    ],
    [
        "c@example.org",
        "+442079460958",
        "DE89370400440532013000",
        "378282246310005",
        "123456782",
        "",
        "",
        "",
        "",
        "",
        "",
        "2001:db8::1",
        "12/03/1984",
        "",
        "100000002",
    ],
    ["", "", "", "", "999999990", "", "", "", "", "", "", "", "", "Bob", "100000003"],
]
EXPECTED_STRUCTURED = [
    ("contact", "email", 2, [1, 2]),
    ("mobile", "phone", 2, [1, 2]),
    ("account", "iban", 2, [1, 2]),
    ("pan", "payment_card", 2, [1, 2]),
    ("ref", "nl_bsn", 3, [1, 2, 3]),
    ("ssn", "us_ssn", 1, [1]),
    ("steuer_id", "de_idnr", 1, [1]),
    ("insee", "fr_nir", 1, [1]),
    ("ni_number", "uk_nino", 1, [1]),
    ("dni", "es_dni", 1, [1]),
    ("cf", "it_codice_fiscale", 1, [1]),
    ("host", "ip_address", 2, [1, 2]),
    ("birth_date", "date_of_birth", 2, [1, 2]),
    ("first_name", "person_name", 2, [1, 3]),
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_compact_values_in_named_columns_across_formats(tmp_path: Path, fmt: str) -> None:
    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    data = writer(tmp_path / f"people.{fmt}", STRUCTURED_HEADER, STRUCTURED_ROWS)
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(STRUCTURED_HEADER)))
    report = scan_file(data, load_manifest(manifest))
    found = [(f.column, f.type, f.count, list(f.rows)) for f in report.findings]
    assert found == EXPECTED_STRUCTURED
    assert report.format == fmt


def test_declared_pii_columns_are_skipped(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "people.csv", STRUCTURED_HEADER, STRUCTURED_ROWS)
    columns = none_columns(STRUCTURED_HEADER)
    columns[0] = {"name": "contact", "pii": "email", "action": "hash"}
    columns[12] = {"name": "birth_date", "pii": "date_of_birth", "action": "drop"}
    report = scan_file(data, load_manifest(write_manifest(tmp_path / "m.yaml", manifest_document(columns))))
    assert [(f.column, f.type) for f in report.findings] == [
        (column, kind) for column, kind, _, _ in EXPECTED_STRUCTURED if column not in ("contact", "birth_date")
    ]
    assert report.columns_skipped == {"contact": "declared pii: email", "birth_date": "declared pii: date_of_birth"}


def test_bare_numbers_need_name_keyword_or_a_convincing_column(tmp_path: Path) -> None:
    synthetic = Synthetic(3)
    rows = [[str(100_000_000 + n), synthetic.bsn(), str(4_000_000_000_000_000 + n)] for n in range(400)]
    rows[250][0] = "111222333"  # a valid BSN among sequential order ids stays unflagged
    data = write_csv(tmp_path / "ids.csv", ["order_id", "customer_ref", "tracking"], rows)
    manifest = write_manifest(
        tmp_path / "m.yaml", manifest_document(none_columns(["order_id", "customer_ref", "tracking"]))
    )
    report = scan_file(data, load_manifest(manifest))
    assert [(f.column, f.type, f.count, list(f.rows)) for f in report.findings] == [
        ("customer_ref", "nl_bsn", 400, [1, 2, 3, 4, 5])
    ]


def test_clean_dataset_has_no_false_positive(tmp_path: Path) -> None:
    header = ["order_id", "created_at", "amount", "currency", "sku", "postcode", "status", "comment", "checksum"]
    rows = []
    for n in range(1500):
        rows.append(
            [
                str(500_000_000 + n * 7),
                f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
                f"{(n * 37) % 100000 / 100:.2f}",
                "EUR",
                f"SKU-{n:06d}",
                f"{1000 + n % 8999} AB",
                ["open", "shipped", "returned"][n % 3],
                CLEAN_TEXT[n % len(CLEAN_TEXT)],
                f"{n * 2654435761 % 2**64:016x}",
            ]
        )
    data = write_csv(tmp_path / "orders.csv", header, rows)
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(header)))
    report = scan_file(data, load_manifest(manifest))
    assert report.findings == ()
    assert report.rows_scanned == 1500


def test_row_numbers_are_exact_across_small_batches(tmp_path: Path) -> None:
    rows = [[str(n), "plain text"] for n in range(1, 1001)]
    for row in (1, 333, 334, 999, 1000):
        rows[row - 1][1] = f"mail x{row}@example.com"
    data = write_csv(tmp_path / "big.csv", ["id", "text"], rows)
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"]))))
    for options in ({"batch_rows": 7}, {"block_size": 1 << 10}, {}):
        report = scan_file(data, manifest, collect_rows=True, **options)
        (finding,) = report.findings
        assert (finding.count, finding.rows, finding.all_rows) == (
            5,
            (1, 333, 334, 999, 1000),
            (1, 333, 334, 999, 1000),
        )


def test_sample_limits_the_rows_and_says_so(tmp_path: Path, run_cli) -> None:
    rows = [[str(n), "plain"] for n in range(1, 101)]
    rows[9][1] = "mail a@example.com"
    rows[49][1] = "mail b@example.com"
    data = write_csv(tmp_path / "s.csv", ["id", "text"], rows)
    document = manifest_document(none_columns(["id", "text"]))
    document["scan"] = {"sample_rows": 20}
    manifest = write_manifest(tmp_path / "m.yaml", document)
    code, out, _ = run_cli("scan", str(data), "--manifest", str(manifest), "--json")
    payload = json.loads(out)
    assert (code, payload["rows_scanned"], payload["complete"]) == (1, 20, False)
    assert payload["findings"] == [{"column": "text", "type": "email", "count": 1, "rows": [10]}]
    code, out, _ = run_cli("scan", str(data), "--manifest", str(manifest), "--json", "--full")
    payload = json.loads(out)
    assert (code, payload["rows_scanned"], payload["complete"]) == (1, 100, True)
    assert payload["findings"] == [{"column": "text", "type": "email", "count": 2, "rows": [10, 50]}]


def test_clean_file_exits_zero(tmp_path: Path, run_cli) -> None:
    data = write_csv(tmp_path / "c.csv", ["id", "text"], [["1", "hello"], ["2", "world"]])
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, err) == (0, "")
    assert out == f"{data}: 2 rows scanned (complete, raw mode), no personal data found\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{data}: data file not found"),
        (b"id,text\n1,caf\xe9\n", "{data}: data row 1, column 2: not UTF-8 text"),
        ("id,text\n1,a,b\n", "{data}: unreadable CSV after data row 0 (expected 2 columns, got 3)"),
        ("", "{data}: empty file, expected a CSV header line"),
        ("id,text,extra\n1,a,b\n", "{data}: column 3 of the data is not declared in {manifest} (columns)"),
        ("id\n1\n", "{manifest}: columns[1].name: column 'text' is not in {data}"),
    ],
)
def test_unusable_data_exits_2_naming_file_and_field(
    tmp_path: Path, run_cli, content: str | bytes | None, message: str
) -> None:
    data = tmp_path / "d.csv"
    if content is not None:
        data.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, out) == (2, "")
    assert err.startswith("error: " + message.format(data=data, manifest=manifest))
    assert err.count("\n") == 1


def test_jsonl_bad_line_is_named(tmp_path: Path, run_cli) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": 1, "text": "a"}\n{"id": 2, "text": \n', encoding="utf-8")
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, _, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert code == 2
    assert err.startswith(f"error: {data}: line 2: not valid JSON")
