"""Fixtures for the dataset tooling: a real Azurite blob emulator on loopback, and data builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from dataset_helpers import HMAC_KEY

from scripts.dataset.emulator import AZURITE, running_azurite

ZONES = ("anonymized", "curated")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connection string of a fresh in-memory Azurite blob service with the zone containers."""
    if not AZURITE.exists():
        pytest.skip(f"Azurite is not installed at {AZURITE} (run `npm ci`)")
    with running_azurite(tmp_path_factory.mktemp("azurite"), ZONES) as connection:
        yield connection


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


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] Spark session for every test of the Spark runner; files are split into tiny slices
    (``spark.sql.files.maxPartitionBytes``), so even small data is read by several tasks."""
    from scripts.dataset import spark_runner

    session = spark_runner.session(
        "local[2]",
        **{
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.files.maxPartitionBytes": "2048",
            "spark.sql.files.openCostInBytes": "0",
        },
    )
    yield session
    session.stop()
