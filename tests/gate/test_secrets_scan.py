"""The repository's secrets scan (``python -m scripts.gate.secrets_scan``), run once per commit: the real checkov
on a planted secret, and the matching of findings against the reviewed ``secrets`` exceptions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.gate.checkov import CHECKOV_VERSION, CheckovRun, find_uv
from scripts.gate.secrets_scan import main

AZURITE_HASH = "6afa3951e98fd3a47f29f38483e4a22e41dc8a05"
ENTRY = {
    "check": "CKV_SECRET_3",
    "file": "scripts/dataset/emulator.py",
    "hash": AZURITE_HASH,
    "reason": "the storage emulator's published development key",
    "owner": "data-platform@contoso.com",
    "expires": "2099-01-31",
}
AZURITE = {
    "check_id": "CKV_SECRET_3",
    "check_name": "Azure Storage Account access key",
    "file_path": "/scripts/dataset/emulator.py",
    "file_line_range": [41, 42],
    "resource": AZURITE_HASH,
}
LEAK = {
    "check_id": "CKV_SECRET_2",
    "check_name": "AWS Access Key",
    "file_path": "/scripts/x.py",
    "file_line_range": [3, 4],
    "resource": "25910f981e85ca04baf359199dd0bd4a3ae738b6",
}


def _store(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    path = tmp_path / "suppressions.yaml"
    path.write_text(json.dumps({"secrets": list(entries)}))
    return path


def _found(*failed: dict[str, Any]) -> Callable[[list[list[str]]], list[CheckovRun]]:
    summary = {"resource_count": len(failed), "failed": len(failed), "parsing_errors": 0,
               "checkov_version": CHECKOV_VERSION}  # fmt: skip
    results = {"failed_checks": list(failed)}
    document = json.dumps({"check_type": "secrets", "results": results, "summary": summary})

    def runner(commands: list[list[str]]) -> list[CheckovRun]:
        [command] = commands
        assert command[command.index("--framework") + 1] == "secrets"
        assert "--enable-secret-scan-all-files" in command
        return [CheckovRun(1 if failed else 0, document, "")]

    return runner


def test_a_reviewed_secret_passes_and_an_unreviewed_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--suppressions", str(_store(tmp_path, ENTRY))]
    assert main(store, checkov_runner=_found(AZURITE)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "checkov 3.3.30 secrets: 1 found, 1 of them reviewed",
        "  reviewed  CKV_SECRET_3   scripts/dataset/emulator.py:41  Azure Storage Account access key "
        "(secrets exception #1 (CKV_SECRET_3 in scripts/dataset/emulator.py), owner data-platform@contoso.com)",
        "PASS",
    ]
    assert main(store, checkov_runner=_found(AZURITE, LEAK)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "checkov 3.3.30 secrets: 2 found, 1 of them reviewed"
    assert out[2:] == ["  SECRET    CKV_SECRET_2   scripts/x.py:3  AWS Access Key", "FAIL"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {**ENTRY, "expires": "2026-01-31"},
            "  exception secrets exception #1 (CKV_SECRET_3 in scripts/dataset/emulator.py) expired on 2026-01-31 "
            "(owner data-platform@contoso.com)",
        ),
        (
            {**ENTRY, "file": "scripts/dataset/other.py"},
            "  exception secrets exception #1 (CKV_SECRET_3 in scripts/dataset/other.py) matches no finding; remove it",
        ),
        (
            {**ENTRY, "hash": "0" * 40},
            "  exception secrets exception #1 (CKV_SECRET_3 in scripts/dataset/emulator.py) matches no finding; "
            "remove it",
        ),
    ],
)
def test_an_expired_or_unmatched_exception_fails_and_hides_nothing(
    entry: dict[str, Any], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--suppressions", str(_store(tmp_path, entry))], checkov_runner=_found(AZURITE)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("  SECRET    CKV_SECRET_3   scripts/dataset/emulator.py:41")
    assert out[2:] == [problem, "FAIL"]


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (CheckovRun(2, "", "No module named checkov\n"), "failed with exit status 2: No module named checkov"),
        (CheckovRun(0, "Traceback", ""), "printed no JSON report"),
        (CheckovRun(1, json.dumps({"summary": {"resource_count": 1, "parsing_errors": 2}}), ""), "2 parsing error"),
    ],
)
def test_a_scan_that_cannot_be_trusted_exits_2(
    run: CheckovRun, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--suppressions", str(_store(tmp_path))], checkov_runner=lambda commands: [run]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(find_uv() is None, reason="uv is neither at .tools/bin/uv nor on PATH: run `make env`")
def test_the_real_scan_fails_on_a_planted_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    key = "AKIA" + "Q3VZ7XK2LM4PN8RT"  # built here, so that this file holds no key-shaped text
    (root / "settings.py").write_text(f'REGION = "westeurope"\nAWS_ACCESS_KEY_ID = "{key}"\n')
    assert main(["--root", str(root), "--suppressions", str(_store(tmp_path))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "checkov 3.3.30 secrets: 1 found, 0 of them reviewed"
    assert out[1].startswith("  SECRET    CKV_SECRET_2   settings.py:2")
    assert out[-1] == "FAIL"
