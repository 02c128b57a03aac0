"""The dataset tool against careless or hostile input: it never leaks a value, never misses disguised
personal data, never follows a planted link, never sends a key to a real account, and fails closed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dataset_helpers import HMAC_KEY, manifest_document, none_columns, write_csv, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.dataset.anonymize import anonymize_file
from scripts.dataset.blobs import connect, emulator_endpoint
from scripts.dataset.detectors import Analyzer, normalize
from scripts.dataset.emulator import DEV_ACCOUNT_KEY
from scripts.dataset.errors import UnusableInputError
from scripts.dataset.manifest import PiiType, load_manifest

EMULATOR_ONLY = "connection string: accepted only for a local emulator"
KEY = DEV_ACCOUNT_KEY  # any well-formed key: what matters is which endpoint the client would use


# --------------------------------------------------------------------------- connection strings


@pytest.mark.parametrize(
    "connection_string",
    [
        # The SDK honours UseDevelopmentStorage only as exactly "true": these talk to the real account.
        f"UseDevelopmentStorage=True;AccountName=prodacct;AccountKey={KEY}",
        f"UseDevelopmentStorage=TRUE;AccountName=prodacct;AccountKey={KEY}",
        f"  UseDevelopmentStorage=true;AccountName=prodacct;AccountKey={KEY}",
        f"UseDevelopmentStorage= true;AccountName=prodacct;AccountKey={KEY}",
        # A loopback-looking endpoint that the SDK does not read (key with a leading space).
        f"AccountName=prodacct;AccountKey={KEY}; BlobEndpoint=http://127.0.0.1:10000/prodacct",
        f"AccountName=prodacct;AccountKey={KEY};BlobEndpoint=http://127.0.0.1.evil.example:10000/x",
        f"AccountName=prodacct;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000@evil.example/x",
        # Primary on loopback, secondary on a real account: reads from the secondary carry the key.
        f"AccountName=prodacct;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/prodacct;"
        "BlobSecondaryEndpoint=https://prodacct-secondary.blob.core.windows.net",
    ],
)
def test_connection_strings_naming_a_real_account_are_refused(connection_string: str, run_cli) -> None:
    with pytest.raises(UnusableInputError, match=EMULATOR_ONLY):
        emulator_endpoint(connection_string)
    with pytest.raises(UnusableInputError, match=EMULATOR_ONLY):
        connect(None, connection_string)
    code, out, err = run_cli("verify", "--connection-string", connection_string, "--dataset", "x", "--version", "1")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {EMULATOR_ONLY}")
    assert KEY not in err


def test_a_secondary_endpoint_the_sdk_derives_from_the_account_name_is_refused() -> None:
    # On [::1] the SDK cannot tell the account from the host and derives prodacct-secondary.blob.core.windows.net.
    connection_string = f"AccountName=prodacct;AccountKey={KEY};BlobEndpoint=http://[::1]:10000/prodacct"
    with pytest.raises(UnusableInputError, match=EMULATOR_ONLY):
        connect(None, connection_string)


def test_malformed_connection_string_is_one_line_without_the_string() -> None:
    with pytest.raises(UnusableInputError) as caught:
        emulator_endpoint(f"AccountKey={KEY};garbage")
    assert str(caught.value) == "connection string: malformed (expected Key=Value pairs separated by ';')"


@pytest.mark.parametrize(
    ("connection_string", "endpoint"),
    [
        ("UseDevelopmentStorage=true", "http://127.0.0.1:10000/devstoreaccount1"),
        (
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
            "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "http://127.0.0.1:10000/devstoreaccount1",
        ),
        (
            f"AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint=http://localhost:10000/devstoreaccount1",
            "http://localhost:10000/devstoreaccount1",
        ),
    ],
)
def test_emulator_connection_strings_are_accepted(connection_string: str, endpoint: str) -> None:
    assert emulator_endpoint(connection_string) == endpoint
    client, publisher = connect(None, connection_string)
    with client:
        assert client.url.rstrip("/") == endpoint
    assert publisher.method == "emulator-connection-string"


# --------------------------------------------------------------------------- anonymize output


def _anonymize_inputs(tmp_path: Path, rows: list[list[str]] | None = None) -> tuple[Path, Path]:
    data = write_csv(
        tmp_path / "in.csv", ["id", "email"], rows or [["1", "anna@example.org"], ["2", "tom@example.org"]]
    )
    columns = [{"name": "id", "pii": "none", "action": "keep"}, {"name": "email", "pii": "email", "action": "hash"}]
    return data, write_manifest(tmp_path / "m.yaml", manifest_document(columns))


def test_anonymize_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    data, manifest = _anonymize_inputs(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    # Links at the names earlier versions used, and at a few a guesser would try.
    planted = [out_dir / f".a.csv.{os.getpid()}.partial.csv", out_dir / ".a.csv.partial.csv", out_dir / ".a.csv.tmp"]
    for link in planted:
        link.symlink_to(victim)
    report = anonymize_file(data, load_manifest(manifest), out_dir / "a.csv", key=HMAC_KEY)
    assert report.clean
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert all(link.is_symlink() and link.resolve() == victim for link in planted)
    written = (out_dir / "a.csv").read_text(encoding="utf-8").splitlines()
    assert written[0] == '"id","email"'
    assert len(written) == 3
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(["a.csv", *(link.name for link in planted)])


def test_anonymize_creates_its_temporary_file_exclusively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    data, manifest = _anonymize_inputs(tmp_path)
    created: list[tuple[str, str, str]] = []
    real = tempfile.mkstemp

    def spy(suffix: str | None = None, prefix: str | None = None, dir: str | Path | None = None) -> tuple[int, str]:
        created.append((str(dir), str(prefix), str(suffix)))
        return real(suffix=suffix, prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    anonymize_file(data, load_manifest(manifest), tmp_path / "a.csv", key=HMAC_KEY)
    assert created == [(str(tmp_path), ".a.csv.", ".partial.csv")]


def test_a_refused_anonymize_leaves_nothing_behind(tmp_path: Path, run_cli) -> None:
    data = write_csv(tmp_path / "in.csv", ["id", "notes"], [["1", "write to anna@example.org"]])
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"])))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, _ = run_cli("anonymize", str(data), "--manifest", str(manifest), "--out", str(out_dir / "a.csv"))
    assert code == 1
    assert list(out_dir.iterdir()) == []


def test_anonymize_to_a_folder_is_refused(tmp_path: Path, run_cli) -> None:
    data, manifest = _anonymize_inputs(tmp_path)
    key = tmp_path / "k"
    key.write_bytes(HMAC_KEY)
    target = tmp_path / "a.csv"
    target.mkdir()
    argv = ("anonymize", str(data), "--manifest", str(manifest), "--key-file", str(key), "--out", str(target))
    assert run_cli(*argv, "--force") == (2, "", f"error: {target}: is a folder, not an output file\n")
    assert list(target.iterdir()) == []


def test_a_huge_exponent_is_refused_not_expanded(tmp_path: Path, run_cli) -> None:
    data = write_csv(tmp_path / "in.csv", ["id", "income"], [["1", "41250"], ["2", "1e999999999"]])
    columns = [
        {"name": "id", "pii": "none", "action": "keep"},
        {"name": "income", "pii": "other", "action": "generalize", "generalize": {"kind": "number", "bin_width": 1000}},
    ]
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(columns))
    code, out, err = run_cli("anonymize", str(data), "--manifest", str(manifest), "--out", str(tmp_path / "o.csv"))
    assert (code, out) == (2, "")
    assert err == (
        f"error: {data}: row 2, column 'income': expected a number of at most 38 digits before the point"
        " to generalize\n"
    )
    assert not (tmp_path / "o.csv").exists()


# --------------------------------------------------------------------------- no value in any message

SECRET = "jan.devries@example.nl"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # A CSV without a header line: its first row is taken as the header.
        ("d.csv", f"1,{SECRET}\n2,tom@example.org\n", "{data}: column 1 of the data is not declared in {manifest}"),
        ("d.csv", f"id,text,{SECRET}\n1,a,b\n", "{data}: column 3 of the data is not declared in {manifest}"),
        ("d.csv", f"{SECRET},{SECRET}\n1,2\n", "{data}: columns 1 and 2 have the same name (names must be unique)"),
        ("d.jsonl", f'{{"{SECRET}": 1}}\n', "{data}: column 1 of the data is not declared in {manifest}"),
        (
            "d.jsonl",
            f'{{"id": 1, "text": "a"}}\n{{"id": 2, "{SECRET}": "x"}}\n',
            "{data}: line 2: key 2 of the object is not a declared column",
        ),
        (
            "d.jsonl",
            f'{{"id": 1, "text": "{SECRET}", "text": "clean"}}\n',
            "{data}: line 1: a key appears more than once in one object",
        ),
    ],
)
def test_messages_never_quote_a_key_or_a_value(tmp_path: Path, run_cli, name: str, content: str, message: str) -> None:
    data = tmp_path / name
    data.write_text(content, encoding="utf-8")
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, out) == (2, "")
    assert err.startswith("error: " + message.format(data=data, manifest=manifest))
    assert err.count("\n") == 1
    assert "jan.devries" not in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.csv", b"id,text\n1,ok\n2,caf\xe9 jan@example.nl\n", "{data}: data row 2, column 2: not UTF-8 text"),
        ("d.csv", b"id,te\xffxt\n1,ok\n", "{data}: not UTF-8 text in the header line"),
        (
            "d.jsonl",
            b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "caf\xe9 jan@example.nl"}\n',
            "{data}: line 2: not UTF-8 text",
        ),
        ("d.csv", "id,text\n1,ok\n".encode("utf-16"), "{data}: not UTF-8 text in the header line"),
    ],
)
def test_text_that_is_not_utf8_is_named_by_row_without_its_value(
    tmp_path: Path, run_cli, name: str, content: bytes, message: str
) -> None:
    data = tmp_path / name
    data.write_bytes(content)
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest))
    assert (code, out) == (2, "")
    assert err == "error: " + message.format(data=data) + "\n"


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path, run_cli) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(b"\xef\xbb\xbfid,text\n1,write to anna@example.org\n")
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "text"])))
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest), "--json")
    assert (code, err) == (1, "")
    assert json.loads(out)["findings"] == [{"column": "text", "type": "email", "count": 1, "rows": [1]}]


# --------------------------------------------------------------------------- disguised personal data

NBSP, THIN, NNBSP, ZWSP, NB_HYPHEN = "\u00a0", "\u2009", "\u202f", "\u200b", "\u2011"
DISGUISED: list[tuple[str, str]] = [
    ("mail jan@münchen.de today", "email"),
    ("mail jürgen@bücher.example please", "email"),
    ("mail maría@correo.es please", "email"),
    ("mail jan@xn--mnchen-3ya.de please", "email"),
    ("mail ｊａｎ＠ｅｘａｍｐｌｅ．ｃｏｍ please", "email"),
    (f"mail jan@exa{ZWSP}mple.com please", "email"),
    (f"card 4111{NBSP}1111{NBSP}1111{NBSP}1111 used", "payment_card"),
    (f"card 4111{THIN}1111{THIN}1111{THIN}1111 used", "payment_card"),
    (f"card 4111{NB_HYPHEN}1111{NB_HYPHEN}1111{NB_HYPHEN}1111 used", "payment_card"),
    ("card ４１１１ １１１１ １１１１ １１１１ used", "payment_card"),
    (
        "card \u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661",
        "payment_card",
    ),
    (f"IBAN NL91{NBSP}ABNA{NBSP}0417{NBSP}1643{NBSP}00 paid", "iban"),
    (f"IBAN NL91{NNBSP}ABNA{NNBSP}0417{NNBSP}1643{NNBSP}00 paid", "iban"),
    ("IBAN NL９１ABNA０４１７１６４３００ paid", "iban"),
    (f"call +31{NBSP}6{NBSP}1234{NBSP}5678 later", "phone"),
    (f"call +31{THIN}20{THIN}794{THIN}0958 later", "phone"),
    ("call ＋３１ ６ １２３４ ５６７８ later", "phone"),
    # Dutch mobile numbers in ranges that are possible but not allocated today.
    ("call +31 6 9999 9999 later", "phone"),
    ("call +31 6 0000 0000 later", "phone"),
    (f"SSN 536{NB_HYPHEN}90{NB_HYPHEN}4399 on file", "us_ssn"),
    ("Login from ２０３.０.１１３.７ twice", "ip_address"),
    ("Herr Ölmez rief an", "person_name"),
    ("spoke with José yesterday", "person_name"),
    ("spoke with ØSTERGÅRD yesterday", "person_name"),
    (f"met De{NBSP}Vries on site", "person_name"),
    ("met de\n vries on site", "person_name"),
    ("met Ｊａｎｓｅｎ on site", "person_name"),
    (f"met Jan{ZWSP}sen on site", "person_name"),
]
DENY = ("ölmez", "josé", "østergård", "de vries", "jansen")


def _scan_notes(tmp_path: Path, run_cli, notes: list[str], deny: tuple[str, ...] = DENY) -> list[dict[str, object]]:
    data = write_csv(tmp_path / "d.csv", ["id", "notes"], [[str(index), text] for index, text in enumerate(notes)])
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"])))
    deny_file = tmp_path / "deny.txt"
    deny_file.write_text("\n".join(deny) + "\n", encoding="utf-8")
    code, out, err = run_cli("scan", str(data), "--manifest", str(manifest), "--json", "--deny-list", str(deny_file))
    assert code in (0, 1), err
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


@pytest.mark.parametrize(("text", "kind"), DISGUISED)
def test_disguised_personal_data_is_found_end_to_end(tmp_path: Path, run_cli, text: str, kind: str) -> None:
    notes = ["nothing to see here", text, "all clear"]
    assert _scan_notes(tmp_path, run_cli, notes) == [{"column": "notes", "type": kind, "count": 1, "rows": [2]}]


@pytest.mark.parametrize(
    "text",
    [
        "Grüße aus München, Bestellung 12 versandt",
        "Ölpreis gestiegen, Lieferung verzögert",
        "日本語のテキスト、注文番号なし",
        "Zahlung erhalten — danke!",
        "café au lait, 3 € à emporter",
        "Mélanie-style josées and Jansens-like words",
        "ﬁle ﬂow ligatures only",
        "٣ items, ４ boxes",
    ],
)
def test_unicode_text_without_personal_data_stays_clean(tmp_path: Path, run_cli, text: str) -> None:
    assert _scan_notes(tmp_path, run_cli, ["nothing", text]) == []


def test_normalize_keeps_ascii_as_is_and_folds_the_rest() -> None:
    text = "plain ascii +31 6 1234 5678"
    assert normalize(text) is text
    assert normalize(f"４{NBSP}1{THIN}2{ZWSP}3\u0663{NB_HYPHEN}x") == "4 1 233-x"


def test_a_deny_list_far_beyond_any_regex_engine_limit_still_works(tmp_path: Path, run_cli) -> None:
    # 200,000 distinct names of letters only: far beyond what fits in one RE2 or Python pattern.
    letters = "abcdefghijklmnopqrstuvwxyz"
    generated = ("".join(letters[(index // 26**power) % 26] for power in range(4)) + "son" for index in range(200_000))
    names = (*generated, "van der berg", "ölmez")
    notes = ["nothing", "met bcdason here", "met Van der Berg here", "Frau Ölmez", "bcda son"]
    findings = _scan_notes(tmp_path, run_cli, notes, deny=names)
    assert findings == [{"column": "notes", "type": "person_name", "count": 3, "rows": [2, 3, 4]}]


def test_deny_list_names_match_whole_words_only() -> None:
    analyzer = Analyzer(frozenset({"jansen", "de vries", "ölmez"}))
    assert analyzer.analyze("Jansensstraat and Ölmezler and vriesde").found == set()
    assert analyzer.analyze("mr. de vries-smit").found == set()
    assert analyzer.analyze("(Ölmez)").found == {PiiType.PERSON_NAME}


# --------------------------------------------------------------------------- unusable inputs


def test_special_files_and_folders_are_refused_in_one_line(tmp_path: Path, run_cli) -> None:
    data = write_csv(tmp_path / "d.csv", ["id", "notes"], [["1", "ok"]])
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"])))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    scan = ("scan", str(data), "--manifest", str(manifest))
    assert run_cli(*scan, "--deny-list", "/dev/zero") == (
        2,
        "",
        "error: /dev/zero: is not a regular file (a device, pipe or socket), not a deny-list\n",
    )
    assert run_cli(*scan, "--deny-list", str(folder)) == (2, "", f"error: {folder}: is a folder, not a deny-list\n")
    latin1 = tmp_path / "deny.txt"
    latin1.write_bytes("Ölmez\n".encode("latin-1"))
    code, out, err = run_cli(*scan, "--deny-list", str(latin1))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {latin1}: the deny-list is not UTF-8 text")
    assert run_cli("scan", str(folder), "--manifest", str(manifest)) == (
        2,
        "",
        f"error: {folder}: the folder holds no data files\n",
    )
    (folder / "zero.csv").symlink_to("/dev/zero")
    assert run_cli("scan", str(folder), "--manifest", str(manifest)) == (
        2,
        "",
        f"error: {folder / 'zero.csv'}: is not a regular file (a device, pipe or socket), not a data file\n",
    )
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    assert run_cli("scan", str(zero), "--manifest", str(manifest)) == (
        2,
        "",
        f"error: {zero}: is not a regular file (a device, pipe or socket), not a data file\n",
    )
    anonymize = ("anonymize", str(data), "--manifest", str(manifest), "--out", str(tmp_path / "o.csv"))
    assert run_cli(*anonymize, "--key-file", "/dev/zero") == (
        2,
        "",
        "error: /dev/zero: is not a regular file (a device, pipe or socket), not a key file\n",
    )
    assert run_cli(*anonymize, "--key-file", str(folder)) == (2, "", f"error: {folder}: is a folder, not a key file\n")
    big = tmp_path / "big.key"
    big.write_bytes(b"k" * (64 * 1024 + 1))
    assert run_cli(*anonymize, "--key-file", str(big)) == (
        2,
        "",
        f"error: {big}: the key file is 65537 bytes, more than the 65536 accepted\n",
    )
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_wide_file_is_scanned_column_by_column_with_exact_rows(tmp_path: Path, run_cli, fmt: str) -> None:
    names = [f"c{index}" for index in range(1_200)]
    rows = [[f"v{row}x{index}" for index in range(1_200)] for row in range(3)]
    rows[2][1_199] = "mail anna@example.org"
    rows[1][0] = "call +31 6 1234 5678"
    if fmt == "csv":
        data = write_csv(tmp_path / "wide.csv", names, rows)
    else:
        # The first record names only half of the columns: the rest are known from the manifest.
        data = tmp_path / "wide.jsonl"
        records = [dict(zip(names[:600], rows[0][:600], strict=True))]
        records += [dict(zip(names, row, strict=True)) for row in rows[1:]]
        data.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(names)))
    code, out, _ = run_cli("scan", str(data), "--manifest", str(manifest), "--json")
    assert code == 1
    assert json.loads(out)["findings"] == [
        {"column": "c0", "type": "phone", "count": 1, "rows": [2]},
        {"column": "c1199", "type": "email", "count": 1, "rows": [3]},
    ]


# --------------------------------------------------------------------------- property-based

_VALID_CSV = 'id,notes\n1,hello world\n2,call +31 6 1234 5678\n3,"quoted, with comma"\n4,jan@example.nl\n'
_VALID_JSONL = '{"id": 1, "notes": "hello"}\n{"id": 2, "notes": "jan@example.nl"}\n{"id": 3, "notes": null}\n'
_SECRETS = ("jan@example.nl", "1234 5678", "hello world", "quoted, with comma")


@st.composite
def _corrupted(draw: st.DrawFn) -> tuple[str, bytes]:
    name, text = draw(st.sampled_from([("d.csv", _VALID_CSV), ("d.jsonl", _VALID_JSONL)]))
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        byte = draw(st.sampled_from([0x00, 0x0A, 0x22, 0x2C, 0x7B, 0x7D, 0x80, 0xC3, 0xE9, 0xFF, 0x40, 0x3A]))
        if action == "replace" and data:
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        elif action == "delete" and data:
            del data[position]
        elif action == "truncate":
            del data[position:]
    return name, bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_corrupted())
def test_corrupted_data_never_tracebacks_or_leaks(tmp_path: Path, run_cli, case: tuple[str, bytes]) -> None:
    name, content = case
    data = tmp_path / name
    data.write_bytes(content)
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(none_columns(["id", "notes"])))
    out_file = tmp_path / "o.csv"
    out_file.unlink(missing_ok=True)
    for argv in (
        ("scan", str(data), "--manifest", str(manifest)),
        ("anonymize", str(data), "--manifest", str(manifest), "--out", str(out_file), "--force"),
    ):
        code, out, err = run_cli(*argv)
        assert code in (0, 1, 2)
        assert "Traceback" not in err
        if code == 2:
            assert out == ""
            assert err.startswith("error: ") and err.count("\n") == 1
            assert not any(secret in err for secret in _SECRETS)
            assert not out_file.exists()
        if code == 1:
            assert not out_file.exists()
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []
