"""The local Azure Storage emulator (Azurite, npm) for tests and benchmarks.

Azurite implements uploads, conditional writes, metadata and blob index tags, but not versioning,
soft delete, immutability or access logs: nothing proven against it may claim those.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from scripts.common.paths import ROOT

AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The emulator's published development account key (not a secret)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEV_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


@contextmanager
def running_azurite(workdir: Path, containers: Sequence[str], timeout: float = 30) -> Iterator[str]:
    """Start an in-memory Azurite blob service on loopback, create ``containers``, yield its
    connection string, and stop it afterwards. Its output goes to ``workdir/azurite.log``."""
    if not AZURITE.exists():
        raise FileNotFoundError(f"Azurite is not installed at {AZURITE} (run `npm ci`)")
    port = free_port()
    log = workdir / "azurite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed local binary and arguments)
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
        connection = connection_string(port)
        deadline = time.monotonic() + timeout
        with BlobServiceClient.from_connection_string(connection, retry_total=0) as service:
            pending = list(containers)
            while pending:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"Azurite exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}"
                    )
                try:
                    service.create_container(pending[0])
                    pending.pop(0)
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        yield connection
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
