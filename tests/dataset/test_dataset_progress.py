"""Progress of scans, anonymizations and uploads: shown on a terminal, silent in pipelines."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from scripts.dataset import progress
from scripts.dataset.readers import DataReader
from tests.dataset.dataset_helpers import manifest_document, none_columns, write_csv, write_jsonl, write_manifest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["id", "colour", "size"]


def _dataset(tmp_path: Path, rows: int) -> tuple[Path, Path]:
    data = write_jsonl(
        tmp_path / "big.jsonl", HEADER, [[str(i), ("red", "green", "blue")[i % 3], str(i % 7)] for i in range(rows)]
    )
    manifest = write_manifest(tmp_path / "manifest.yaml", manifest_document(none_columns(HEADER)))
    return data, manifest


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(extra)
    return env


def _run_on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run with standard error on a pseudo-terminal and standard output on a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a size
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    captured = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            captured += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    return proc.wait(timeout=60), stdout, bytes(captured)


def _scan_argv(data: Path, manifest: Path) -> list[str]:
    return [sys.executable, "-m", "scripts.dataset", "scan", str(data), "--manifest", str(manifest), "--full"]


def test_a_pipeline_gets_no_progress_and_the_same_report(tmp_path: Path) -> None:
    data, manifest = _dataset(tmp_path, 2000)
    piped = subprocess.run(_scan_argv(data, manifest), cwd=ROOT, env=_env(), capture_output=True, check=False)
    assert piped.returncode == 0
    assert piped.stderr == b""
    assert piped.stdout == f"{data}: 2000 rows scanned (complete, raw mode), no personal data found\n".encode()


def test_a_terminal_shows_rows_rate_and_time_left_on_stderr_only(tmp_path: Path) -> None:
    data, manifest = _dataset(tmp_path, 300_000)
    code, stdout, terminal = _run_on_pty(_scan_argv(data, manifest), _env())
    assert code == 0
    assert stdout == f"{data}: 300000 rows scanned (complete, raw mode), no personal data found\n".encode()
    text = terminal.decode("utf-8", "replace")
    assert "scan:" in text
    assert re.search(r"\| \d+(\.\d+)?k?/3\d\dk \[", text), text[-400:]  # rows done of the estimated total
    assert re.search(r"\d+(\.\d+)?k? ?rows/s", text), text[-400:]  # the rate
    assert re.search(r"<\d\d:\d\d", text), text[-400:]  # the time left


def test_ci_silences_a_terminal(tmp_path: Path) -> None:
    data, manifest = _dataset(tmp_path, 20_000)
    code, stdout, terminal = _run_on_pty(_scan_argv(data, manifest), _env(CI="true"))
    assert code == 0
    assert terminal == b""
    assert stdout.endswith(b"20000 rows scanned (complete, raw mode), no personal data found\n")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_enabled_needs_a_terminal_and_no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert progress.enabled(_Tty()) is True
    assert progress.enabled(io.StringIO()) is False
    monkeypatch.setenv("CI", "1")
    assert progress.enabled(_Tty()) is False


def test_rows_restores_the_reader_and_counts_every_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    data = write_csv(tmp_path / "d.csv", HEADER, [[str(i), "red", "1"] for i in range(50)])
    original = DataReader.batches
    stream = _Tty()
    with progress.rows("scan", stream):
        assert DataReader.batches is not original
        total = sum(batch.num_rows for batch in DataReader(data).batches())
    assert DataReader.batches is original
    assert total == 50
    assert "scan:" in stream.getvalue()


def test_estimate_is_exact_for_a_small_csv(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", HEADER, [[str(i), "red", "1"] for i in range(123)])
    assert progress.estimate_rows(DataReader(data)) == 123


def test_upload_hook_reports_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    stream = _Tty()
    with progress.transfer("upload d.csv", 4096, stream) as hook:
        assert hook is not None
        hook(1024, 4096)
        hook(4096, 4096)
    assert "upload d.csv:" in stream.getvalue()
    with progress.transfer("upload d.csv", 4096, io.StringIO()) as quiet:
        assert quiet is None
