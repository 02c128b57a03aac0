"""publish and verify against a real blob service (Azurite on loopback).

Azurite implements conditional writes, tags and metadata, which is what these tests rely on. It
accepts but does not enforce versioning, soft delete and immutability, so nothing here claims them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.storage.blob import BlobServiceClient
from dataset_helpers import manifest_document, write_csv, write_manifest

from scripts.dataset.blobs import Publisher, emulator_endpoint, principal_from_token
from scripts.dataset.errors import UnusableInputError
from scripts.dataset.manifest import Zone, load_manifest
from scripts.dataset.storage import plan_publication, publish_dataset
from scripts.dataset.verify import verify_dataset

HEADER = ["id", "email_hash", "country", "notes"]
COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "pii": "none", "action": "keep"},
    {"name": "email_hash", "pii": "email", "action": "hash"},
    {"name": "country", "pii": "none", "action": "keep"},
    {"name": "notes", "pii": "none", "action": "keep"},
]
PUBLISHER = Publisher(principal="tester@localhost", method="emulator-connection-string")


class InjectedFaultError(Exception):
    """Raised from a request hook to cut a publish short."""


def _dataset(tmp_path: Path, rows: int = 40, *, notes: str = "ok", **overrides: Any) -> tuple[str, Path, Path]:
    name = f"ds-{uuid.uuid4().hex[:10]}"
    data = write_csv(
        tmp_path / "part-0.csv",
        HEADER,
        [[str(n), hashlib.sha256(f"user{n}".encode()).hexdigest(), "NL", notes] for n in range(rows)],
    )
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, name=name, **overrides))
    return name, data, manifest


def _names(service: BlobServiceClient, zone: str, name: str) -> list[str]:
    return sorted(
        blob.name for blob in service.get_container_client(zone).list_blobs(name_starts_with=f"datasets/{name}/")
    )


def test_publish_then_verify(tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient) -> None:
    name, data, manifest = _dataset(tmp_path)
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    code, out, err = run_cli(
        "publish",
        str(data),
        "--manifest",
        str(manifest),
        "--zone",
        "anonymized",
        "--connection-string",
        azurite,
        "--json",
    )
    assert (code, err) == (0, "")
    result = json.loads(out)
    data_blob = f"datasets/{name}/1.0.0/{sha}/part-0.csv"
    manifest_blob = f"datasets/{name}/1.0.0/manifest.yaml"
    assert result["files"] == [{"name": "part-0.csv", "path": data_blob, "sha256": sha, "size": data.stat().st_size}]
    assert _names(service, "anonymized", name) == sorted([data_blob, manifest_blob])
    assert _names(service, "curated", name) == []

    blob = service.get_blob_client("anonymized", data_blob)
    assert blob.get_blob_tags() == {
        "dataset": name,
        "version": "1.0.0",
        "classification": "confidential",
        "sha256": sha,
        "zone": "anonymized",
        "kind": "data",
    }
    properties = blob.get_blob_properties()
    assert properties.metadata == {
        "dataset": name,
        "version": "1.0.0",
        "classification": "confidential",
        "sha256": sha,
        "rows": "40",
        "format": "csv",
    }
    assert properties.content_settings.content_type == "text/csv"
    found = list(service.find_blobs_by_tags(f"\"dataset\" = '{name}' AND \"kind\" = 'data'"))
    assert [item.name for item in found] == [data_blob]

    body = service.get_blob_client("anonymized", manifest_blob).download_blob().readall()
    assert hashlib.sha256(body).hexdigest() == result["manifest_sha256"]
    published = yaml.safe_load(body)
    assert published["dataset"]["name"] == name
    assert published["files"] == [
        {
            "name": "part-0.csv",
            "path": data_blob,
            "sha256": sha,
            "size": data.stat().st_size,
            "rows": 40,
            "format": "csv",
        }
    ]
    assert published["rows"] == 40
    assert published["scan"][0]["clean"] is True
    assert published["scan"][0]["mode"] == "anonymized"
    assert published["provenance"]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert published["provenance"]["source_uri"] == "https://crm.example.internal/exports/customers"
    assert published["publication"]["published_by"]["method"] == "emulator-connection-string"
    assert published["publication"]["zone"] == "anonymized"

    code, out, err = run_cli(
        "verify",
        "--connection-string",
        azurite,
        "--dataset",
        name,
        "--version",
        "1.0.0",
        "--manifest-sha256",
        result["manifest_sha256"],
    )
    assert (code, err) == (0, "")
    assert out == f"ok           anonymized/{data_blob}\nverified: {name} 1.0.0 in anonymized\n"


def test_publish_twice_is_refused_and_the_original_stays(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path)
    argv = ["publish", str(data), "--manifest", str(manifest), "--zone", "anonymized", "--connection-string", azurite]
    assert run_cli(*argv)[0] == 0
    container = service.get_container_client("anonymized")
    before = {
        n: (
            container.get_blob_client(n).download_blob().readall(),
            container.get_blob_client(n).get_blob_properties().etag,
        )
        for n in _names(service, "anonymized", name)
    }

    write_csv(data, HEADER, [["1", "0" * 64, "DE", "changed"]])
    code, out, err = run_cli(*argv)
    assert (code, out) == (1, "")
    assert err == (
        f"error: publish refused: {name} 1.0.0 is already published in the anonymized zone "
        f"(datasets/{name}/1.0.0/manifest.yaml exists); published versions are immutable, publish a new version\n"
    )
    after = {
        n: (
            container.get_blob_client(n).download_blob().readall(),
            container.get_blob_client(n).get_blob_properties().etag,
        )
        for n in _names(service, "anonymized", name)
    }
    assert after == before
    assert run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0")[0] == 0


def _faulty_client(azurite: str, should_fail: Any) -> BlobServiceClient:
    def hook(request: Any) -> None:
        if should_fail(request.http_request):
            raise InjectedFaultError(request.http_request.url)

    return BlobServiceClient.from_connection_string(
        azurite, retry_total=0, max_single_put_size=1024, max_block_size=1024, raw_request_hook=hook
    )


def test_interrupted_upload_leaves_no_version_and_a_retry_completes(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path, rows=200)
    assert data.stat().st_size > 5 * 1024
    source = load_manifest(manifest)
    planned = plan_publication([data], source, Zone.ANONYMIZED, frozenset())
    blocks = []

    def third_block(request: Any) -> bool:
        if "comp=block" in request.url and "blocklist" not in request.url:
            blocks.append(request.url)
            return len(blocks) == 3
        return False

    with _faulty_client(azurite, third_block) as faulty, pytest.raises(InjectedFaultError):
        publish_dataset(faulty, planned, source, Zone.ANONYMIZED, PUBLISHER)
    assert len(blocks) == 3
    assert _names(service, "anonymized", name) == []
    code, out, _ = run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0")
    assert code == 1
    assert f"problem: {name} 1.0.0: no published manifest in anonymized, curated" in out

    with BlobServiceClient.from_connection_string(
        azurite, retry_total=0, max_single_put_size=1024, max_block_size=1024
    ) as client:
        result = publish_dataset(client, planned, source, Zone.ANONYMIZED, PUBLISHER)
    assert result.resumed == []
    assert run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0")[0] == 0


def test_interrupted_before_the_manifest_resumes_without_reupload(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path)
    source = load_manifest(manifest)
    planned = plan_publication([data], source, Zone.ANONYMIZED, frozenset())

    def manifest_put(request: Any) -> bool:
        return request.method == "PUT" and request.url.split("?")[0].endswith("/manifest.yaml")

    with _faulty_client(azurite, manifest_put) as faulty, pytest.raises(InjectedFaultError):
        publish_dataset(faulty, planned, source, Zone.ANONYMIZED, PUBLISHER)
    data_blob = f"datasets/{name}/1.0.0/{planned[0].sha256}/part-0.csv"
    assert _names(service, "anonymized", name) == [data_blob]
    assert run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0")[0] == 1

    code, out, err = run_cli(
        "publish", str(data), "--manifest", str(manifest), "--zone", "anonymized", "--connection-string", azurite
    )
    assert (code, err) == (0, "")
    assert f"uploaded anonymized/{data_blob} (already uploaded, verified)\n" in out
    assert run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0")[0] == 0


def test_a_planted_blob_at_the_content_address_blocks_the_retry(
    tmp_path: Path, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path)
    source = load_manifest(manifest)
    planned = plan_publication([data], source, Zone.ANONYMIZED, frozenset())
    data_blob = f"datasets/{name}/1.0.0/{planned[0].sha256}/part-0.csv"
    service.get_blob_client("anonymized", data_blob).upload_blob(b"poisoned rows\n")
    from scripts.dataset.errors import RefusedError

    with pytest.raises(RefusedError, match="exists with content that does not match its address"):
        publish_dataset(service, planned, source, Zone.ANONYMIZED, PUBLISHER)
    assert _names(service, "anonymized", name) == [data_blob]


@pytest.mark.parametrize("attack", ["tamper", "delete", "plant", "manifest"])
def test_verify_detects_tampering(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient, attack: str
) -> None:
    name, data, manifest = _dataset(tmp_path)
    code, out, _ = run_cli(
        "publish",
        str(data),
        "--manifest",
        str(manifest),
        "--zone",
        "anonymized",
        "--connection-string",
        azurite,
        "--json",
    )
    assert code == 0
    published = json.loads(out)
    data_blob = published["files"][0]["path"]
    container = service.get_container_client("anonymized")
    if attack == "tamper":
        container.get_blob_client(data_blob).upload_blob(data.read_bytes() + b"999,poison,NL,x\n", overwrite=True)
        expected = f"problem: anonymized/{data_blob}: sha256 "
    elif attack == "delete":
        container.get_blob_client(data_blob).delete_blob()
        expected = f"problem: anonymized/{data_blob}: missing"
    elif attack == "plant":
        container.get_blob_client(f"datasets/{name}/1.0.0/extra.csv").upload_blob(b"id\n1\n")
        expected = f"problem: anonymized/datasets/{name}/1.0.0/extra.csv: not listed in the manifest (unexpected blob)"
    else:
        expected = (
            f"problem: anonymized/datasets/{name}/1.0.0/manifest.yaml: sha256 {published['manifest_sha256']} differs"
        )
    argv = ["verify", "--connection-string", azurite, "--dataset", name, "--version", "1.0.0"]
    if attack == "manifest":
        argv += ["--manifest-sha256", "0" * 64]
    code, out, err = run_cli(*argv)
    assert (code, err) == (1, "")
    assert expected in out
    assert out.endswith(f"FAILED: {name} 1.0.0 in anonymized\n")


def test_dirty_data_is_refused_before_any_upload(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path, notes="call +31 6 12345678")
    code, out, err = run_cli(
        "publish", str(data), "--manifest", str(manifest), "--zone", "anonymized", "--connection-string", azurite
    )
    assert code == 1
    assert err == "error: publish refused: the scan of part-0.csv found personal data\n"
    assert "  notes   phone  40    1, 2, 3, 4, 5" in out
    assert _names(service, "anonymized", name) == []


def test_raw_data_with_unhashed_column_is_refused(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name, data, manifest = _dataset(tmp_path)
    write_csv(data, HEADER, [["1", "anna@example.org", "NL", "ok"], ["2", "tom@example.org", "NL", "ok"]])
    code, out, _ = run_cli(
        "publish",
        str(data),
        "--manifest",
        str(manifest),
        "--zone",
        "anonymized",
        "--connection-string",
        azurite,
        "--json",
    )
    assert code == 1
    findings = json.loads(out)["scan"][0]["findings"]
    assert findings == [
        {"column": "email_hash", "type": "email", "count": 2, "rows": [1, 2]},
        {"column": "email_hash", "type": "not_anonymized", "count": 2, "rows": [1, 2]},
    ]
    assert _names(service, "anonymized", name) == []


@pytest.mark.parametrize(
    ("classification", "zone", "allowed"),
    [("restricted", "anonymized", "none: it stays in the raw zone"), ("confidential", "curated", "anonymized")],
)
def test_classification_decides_the_zone(
    tmp_path: Path, run_cli, azurite: str, service: BlobServiceClient, classification: str, zone: str, allowed: str
) -> None:
    name, data, manifest = _dataset(tmp_path, classification=classification)
    code, _, err = run_cli(
        "publish", str(data), "--manifest", str(manifest), "--zone", zone, "--connection-string", azurite
    )
    assert code == 1
    assert err == (
        f"error: publish refused: {manifest}: classification {classification} may not be published to the {zone} zone "
        f"(allowed: {allowed})\n"
    )
    assert _names(service, zone, name) == []


def test_connection_strings_only_for_a_loopback_emulator(tmp_path: Path, run_cli) -> None:
    real = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=AAAA;EndpointSuffix=core.windows.net"
    with pytest.raises(UnusableInputError, match="accepted only for a local emulator"):
        emulator_endpoint(real)
    with pytest.raises(UnusableInputError, match="accepted only for a local emulator"):
        emulator_endpoint("AccountName=x;AccountKey=AAAA;BlobEndpoint=http://10.0.0.5:10000/x")
    assert emulator_endpoint("UseDevelopmentStorage=true") == "http://127.0.0.1:10000/devstoreaccount1"
    assert emulator_endpoint("AccountKey=k;BlobEndpoint=http://[::1]:10000/dev") == "http://[::1]:10000/dev"
    code, _, err = run_cli("verify", "--connection-string", real, "--dataset", "x", "--version", "1")
    assert code == 2
    assert err.startswith("error: connection string: accepted only for a local emulator")
    code, _, err = run_cli(
        "verify", "--account", "http://acct.blob.core.windows.net", "--dataset", "x", "--version", "1"
    )
    assert (code, err) == (
        2,
        "error: --account http://acct.blob.core.windows.net: expected https://<account>.blob.core.windows.net\n",
    )


def test_publisher_is_read_from_the_token_claims() -> None:
    claims = {"upn": "ana@contoso.com", "oid": "1111", "tid": "2222"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert principal_from_token(f"e30.{payload}.sig") == ("ana@contoso.com", "1111", "2222")
    app = base64.urlsafe_b64encode(json.dumps({"appid": "abc", "oid": "9"}).encode()).decode().rstrip("=")
    assert principal_from_token(f"e30.{app}.sig") == ("abc", "9", None)
    assert principal_from_token("not-a-jwt") == ("unknown", None, None)


def test_verify_reports_an_unpublished_version(run_cli, azurite: str, service: BlobServiceClient) -> None:
    result = verify_dataset(service, "never-published", "1", zones=[Zone.CURATED])
    assert (result.ok, result.problems) == (
        False,
        ["never-published 1: no published manifest in curated (datasets/never-published/1/manifest.yaml missing)"],
    )


def test_a_concurrent_publisher_wins_the_commit_point(tmp_path: Path, azurite: str, service: BlobServiceClient) -> None:
    name, data, manifest = _dataset(tmp_path)
    source = load_manifest(manifest)
    planned = plan_publication([data], source, Zone.ANONYMIZED, frozenset())
    manifest_blob = service.get_blob_client("anonymized", f"datasets/{name}/1.0.0/manifest.yaml")

    def other_publisher_first(request: Any) -> None:
        http = request.http_request
        if http.method == "PUT" and http.url.split("?")[0].endswith("/manifest.yaml"):
            manifest_blob.upload_blob(b"format: other\n")

    from scripts.dataset.errors import RefusedError

    with (
        BlobServiceClient.from_connection_string(
            azurite, retry_total=0, raw_request_hook=other_publisher_first
        ) as racing,
        pytest.raises(RefusedError) as refused,
    ):
        publish_dataset(racing, planned, source, Zone.ANONYMIZED, PUBLISHER)
    assert manifest_blob.download_blob().readall() == b"format: other\n"
    data_blob = f"datasets/{name}/1.0.0/{planned[0].sha256}/part-0.csv"
    # The winner's manifest cannot be read, so nothing can be proven unlisted: the loser removes nothing.
    assert str(refused.value) == (
        f"publish refused: {name} 1.0.0 was published in the anonymized zone by another publish while this one ran "
        f"(datasets/{name}/1.0.0/manifest.yaml exists); published versions are immutable, publish a new version; "
        f"could neither remove nor quarantine 1 blob(s) (the committed manifest is unreadable); verify reports them "
        f"as problems until they are removed: anonymized/{data_blob}"
    )
    assert _names(service, "anonymized", name) == sorted([data_blob, f"datasets/{name}/1.0.0/manifest.yaml"])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            b"a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
            + b"".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n".encode() for i in range(1, 10)),
            "not a valid published manifest (the published manifest has more than 32 aliases (line 5))",
        ),
        (b"format: x\nformat: y\n", "not a valid published manifest (the published manifest has duplicate key"),
        (b"\xff\xfe\x00", "not a valid published manifest (not UTF-8 text at byte 0)"),
        (b"- a list\n", "not a valid published manifest (top level: Input should be a valid dictionary"),
    ],
    ids=["alias-bomb", "duplicate-key", "not-utf8", "list"],
)
def test_verify_reads_a_hostile_published_manifest_with_the_fail_closed_reader(
    run_cli, azurite: str, service: BlobServiceClient, body: bytes, problem: str
) -> None:
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    service.get_blob_client("curated", f"datasets/{name}/1/manifest.yaml").upload_blob(body)
    code, out, err = run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1")
    assert (code, err) == (1, "")
    assert out.startswith(f"problem: curated/datasets/{name}/1/manifest.yaml: {problem}"), out
    assert out.endswith(f"FAILED: {name} 1 in curated\n")


def test_verify_refuses_an_oversized_published_manifest_without_reading_it(
    run_cli, azurite: str, service: BlobServiceClient
) -> None:
    name = f"huge-{uuid.uuid4().hex[:8]}"
    service.get_blob_client("curated", f"datasets/{name}/1/manifest.yaml").upload_blob(b"#" * (1024 * 1024 + 1))
    code, out, _ = run_cli("verify", "--connection-string", azurite, "--dataset", name, "--version", "1")
    assert code == 1
    assert out == (
        f"problem: curated/datasets/{name}/1/manifest.yaml: 1048577 bytes, more than the 1048576 a published "
        f"manifest may have\nFAILED: {name} 1 in curated\n"
    )
