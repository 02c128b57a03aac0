"""Fixtures for the dataset tooling: a real Azurite blob emulator on loopback, and data builders."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from dataset_helpers import HMAC_KEY

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
# The emulator's published development account key (not a secret).
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ZONES = ("anonymized", "curated")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Azurite did not listen on 127.0.0.1:{port} in time: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connection string of a fresh in-memory Azurite blob service with the zone containers."""
    if not AZURITE.exists():
        pytest.skip(f"Azurite is not installed at {AZURITE} (run `npm ci`)")
    workdir = tmp_path_factory.mktemp("azurite")
    port = _free_port()
    log = workdir / "azurite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(AZURITE),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log, time.monotonic() + 30)
        connection_string = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={DEV_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
        service = BlobServiceClient.from_connection_string(connection_string, retry_total=0)
        deadline = time.monotonic() + 30
        while True:
            try:
                for zone in ZONES:
                    service.create_container(zone)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield connection_string
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def service(azurite: str) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite, retry_total=0)
    with client:
        yield client


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "hmac.key"
    path.write_bytes(HMAC_KEY + b"\n")
    return path


Runner = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_cli() -> Runner:
    """Run the command line in-process; returns (exit code, stdout, stderr)."""
    import io

    from scripts.dataset.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    return run
