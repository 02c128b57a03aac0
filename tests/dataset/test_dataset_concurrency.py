"""Two publishes of the same dataset version at the same time, as two processes against Azurite.

The manifest is created with If-None-Match: *, so exactly one publish commits; the other removes the data
blobs it uploaded (or, where storage refuses the delete, quarantines them with the tag ``kind: abandoned``),
and ``verify`` passes the committed version. Azurite enforces conditional creates and tags (what this relies
on); it does not enforce immutability, so a refused delete is simulated in-process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, BlobServiceClient
from dataset_helpers import manifest_document, write_csv, write_manifest

from scripts.dataset.blobs import Publisher
from scripts.dataset.errors import RefusedError
from scripts.dataset.manifest import Zone, load_manifest
from scripts.dataset.storage import plan_publication, publish_dataset

ROOT = Path(__file__).resolve().parents[2]
RACER = Path(__file__).with_name("publish_racer.py")
HEADER = ["id", "country", "notes"]
COLUMNS: list[dict[str, Any]] = [{"name": name, "pii": "none", "action": "keep"} for name in HEADER]
PUBLISHER = Publisher(principal="tester@localhost", method="emulator-connection-string")


def _contenders(tmp_path: Path, count: int) -> tuple[str, Path, list[Path]]:
    """One manifest, ``count`` data files of different content for the same dataset version."""
    name = f"race-{uuid.uuid4().hex[:10]}"
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document(COLUMNS, name=name))
    files = []
    for index in range(count):
        folder = tmp_path / f"publisher{index}"
        folder.mkdir()
        files.append(write_csv(folder / "part-0.csv", HEADER, [[str(n), "NL", f"batch {index}"] for n in range(50)]))
    return name, manifest, files


def _names(service: BlobServiceClient, name: str) -> list[str]:
    container = service.get_container_client("anonymized")
    return sorted(blob.name for blob in container.list_blobs(name_starts_with=f"datasets/{name}/"))


def _address(name: str, data: Path) -> str:
    return f"datasets/{name}/1.0.0/{hashlib.sha256(data.read_bytes()).hexdigest()}/part-0.csv"


def _winner_commits_while_the_loser_uploads(azurite: str, winner_plan: list[Any], source: Any) -> Any:
    """A request hook for the loser: after its checks, before its first data upload, the winner publishes."""
    done: list[bool] = []

    def hook(request: Any) -> None:
        http = request.http_request
        if not done and http.method == "PUT" and http.url.split("?")[0].endswith("/part-0.csv"):
            done.append(True)
            with BlobServiceClient.from_connection_string(azurite, retry_total=0) as other:
                publish_dataset(other, winner_plan, source, Zone.ANONYMIZED, PUBLISHER)

    return hook


def _verify(azurite: str, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.dataset", "verify", "--dataset", name, "--version", "1.0.0"],
        cwd=ROOT,
        env={**os.environ, "DATASET_STORAGE_CONNECTION_STRING": azurite},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("barrier", [True, False], ids=["meeting-at-the-commit-point", "started-together"])
def test_two_publishes_of_one_version_at_once_leave_one_verified_version(
    tmp_path: Path, azurite: str, service: BlobServiceClient, barrier: bool
) -> None:
    name, manifest, files = _contenders(tmp_path, 2)
    gate = tmp_path / "barrier"
    gate.mkdir()
    env = {**os.environ, "DATASET_STORAGE_CONNECTION_STRING": azurite}
    processes = []
    for data in files:
        command = [sys.executable, str(RACER), str(gate), "2" if barrier else "1"]
        command += ["publish", str(data), "--manifest", str(manifest), "--zone", "anonymized"]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        outcomes.append((process.returncode, out.decode(), err.decode()))

    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    winner = next(index for index, (code, _, _) in enumerate(outcomes) if code == 0)
    _, _, loser_err = outcomes[1 - winner]
    label = f"{name} 1.0.0"
    manifest_name = f"datasets/{name}/1.0.0/manifest.yaml"
    if barrier:
        # Both uploaded their data and met at the conditional create: the loser removes what it uploaded.
        assert loser_err == (
            f"error: publish refused: {label} was published in the anonymized zone by another publish while this one "
            f"ran ({manifest_name} exists); published versions are immutable, publish a new version; "
            "removed 1 blob(s) this publish had uploaded\n"
        )
    else:
        assert loser_err.startswith("error: publish refused: "), loser_err
        assert "Traceback" not in loser_err
    assert _names(service, name) == sorted([_address(name, files[winner]), manifest_name])
    verified = _verify(azurite, name)
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stdout
    assert verified.stdout == (
        f"ok           anonymized/{_address(name, files[winner])}\nverified: {label} in anonymized\n"
    )


def test_a_loser_whose_delete_is_refused_quarantines_and_verify_passes(
    tmp_path: Path, azurite: str, service: BlobServiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, manifest, files = _contenders(tmp_path, 2)
    source = load_manifest(manifest)
    winner_plan = plan_publication([files[0]], source, Zone.ANONYMIZED, frozenset())
    loser_plan = plan_publication([files[1]], source, Zone.ANONYMIZED, frozenset())

    winner_commits = _winner_commits_while_the_loser_uploads(azurite, winner_plan, source)

    def refused_delete(self: BlobClient, *args: Any, **kwargs: Any) -> None:
        raise HttpResponseError(message="This operation is not permitted as the blob is immutable due to a policy.")

    monkeypatch.setattr(BlobClient, "delete_blob", refused_delete)
    with (
        BlobServiceClient.from_connection_string(azurite, retry_total=0, raw_request_hook=winner_commits) as racing,
        pytest.raises(RefusedError) as refused,
    ):
        publish_dataset(racing, loser_plan, source, Zone.ANONYMIZED, PUBLISHER)
    leftover = _address(name, files[1])
    assert str(refused.value).endswith(
        "; storage refused to delete 1 blob(s) this publish had uploaded; tagged them kind=abandoned "
        f"(verify reports them as leftovers): anonymized/{leftover}"
    )
    tags = service.get_blob_client("anonymized", leftover).get_blob_tags()
    assert tags == {
        "dataset": name,
        "version": "1.0.0",
        "classification": "confidential",
        "sha256": loser_plan[0].sha256,
        "zone": "anonymized",
        "kind": "abandoned",
    }
    monkeypatch.undo()
    verified = _verify(azurite, name)
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stdout
    assert verified.stdout == (
        f"ok           anonymized/{_address(name, files[0])}\n"
        f"leftover: anonymized/{leftover}: quarantined by a publish of this version that lost the commit point to "
        "the published one; not part of the version\n"
        f"verified: {name} 1.0.0 in anonymized\n"
    )


def test_a_loser_whose_delete_and_retag_are_refused_names_what_it_left(
    tmp_path: Path, azurite: str, service: BlobServiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, manifest, files = _contenders(tmp_path, 2)
    source = load_manifest(manifest)
    winner_plan = plan_publication([files[0]], source, Zone.ANONYMIZED, frozenset())
    loser_plan = plan_publication([files[1]], source, Zone.ANONYMIZED, frozenset())

    def refused(self: BlobClient, *args: Any, **kwargs: Any) -> None:
        raise HttpResponseError(message="This request is not authorized to perform this operation.")

    monkeypatch.setattr(BlobClient, "delete_blob", refused)
    monkeypatch.setattr(BlobClient, "set_blob_tags", refused)
    hook = _winner_commits_while_the_loser_uploads(azurite, winner_plan, source)
    with (
        BlobServiceClient.from_connection_string(azurite, retry_total=0, raw_request_hook=hook) as racing,
        pytest.raises(RefusedError) as refusal,
    ):
        publish_dataset(racing, loser_plan, source, Zone.ANONYMIZED, PUBLISHER)
    leftover = _address(name, files[1])
    assert str(refusal.value).endswith(
        "; could neither remove nor quarantine 1 blob(s) (storage refused); verify reports them as problems until "
        f"they are removed: anonymized/{leftover}"
    )
    assert service.get_blob_client("anonymized", leftover).get_blob_tags()["kind"] == "data"
    monkeypatch.undo()
    verified = _verify(azurite, name)
    assert verified.returncode == 1
    assert f"problem: anonymized/{leftover}: not listed in the manifest: a data blob of this version" in verified.stdout


def test_verify_explains_a_stopped_losers_leftover_and_its_rerun_removes_it(
    tmp_path: Path, azurite: str, service: BlobServiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, manifest, files = _contenders(tmp_path, 2)
    source = load_manifest(manifest)
    loser_plan = plan_publication([files[1]], source, Zone.ANONYMIZED, frozenset())
    winner_plan = plan_publication([files[0]], source, Zone.ANONYMIZED, frozenset())
    winner_commits = _winner_commits_while_the_loser_uploads(azurite, winner_plan, source)

    class StoppedError(Exception):
        pass

    def stopped(*args: Any, **kwargs: Any) -> None:
        raise StoppedError  # the process ends after losing, before it cleans up

    monkeypatch.setattr("scripts.dataset.storage.clear_leftovers", stopped)
    with (
        BlobServiceClient.from_connection_string(azurite, retry_total=0, raw_request_hook=winner_commits) as racing,
        pytest.raises(StoppedError),
    ):
        publish_dataset(racing, loser_plan, source, Zone.ANONYMIZED, PUBLISHER)
    monkeypatch.undo()
    leftover = _address(name, files[1])
    verified = _verify(azurite, name)
    assert verified.returncode == 1
    assert (
        f"problem: anonymized/{leftover}: not listed in the manifest: a data blob of this version at another content "
        "address, as a publish that lost the commit point leaves when it is stopped before it cleans up; run that "
        "publish again to remove it\n"
    ) in verified.stdout

    command = [sys.executable, "-m", "scripts.dataset", "publish", str(files[1]), "--manifest", str(manifest)]
    rerun = subprocess.run(
        [*command, "--zone", "anonymized", "--connection-string", azurite],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert rerun.returncode == 1
    assert rerun.stderr.endswith("; removed 1 blob(s) this publish had uploaded\n"), rerun.stderr
    assert _names(service, name) == sorted([_address(name, files[0]), f"datasets/{name}/1.0.0/manifest.yaml"])
    assert _verify(azurite, name).returncode == 0
