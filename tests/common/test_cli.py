"""The shared entry point: exit statuses and one-line errors, tracebacks only with --debug."""

from __future__ import annotations

import pytest

from scripts.common.cli import run
from scripts.common.safeload import InputError


def _raising(exc: BaseException):  # type: ignore[no-untyped-def]
    def main(argv: list[str] | None) -> int:
        raise exc

    return main


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (InputError("stacks/x.yaml: the stack file has duplicate key 'locks'"), "stacks/x.yaml: the stack file has"),
        (FileNotFoundError(2, "No such file or directory", "plan.json"), "plan.json: No such file or directory"),
        (PermissionError(13, "Permission denied", "out/report.json"), "out/report.json: Permission denied"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), "input is not UTF-8 text (invalid byte at offset 0)"),
        (RecursionError(), "input nested too deeply to read"),
        (KeyError("secret-value"), "unexpected KeyError; run again with --debug for the traceback"),
    ],
)
def test_failures_exit_2_with_one_line(exc: BaseException, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_raising(exc), []) == 2
    err = capsys.readouterr().err
    assert err == f"error: {line}" + err.split(line, 1)[1] and err.count("\n") == 1
    assert "Traceback" not in err and "secret-value" not in err


def test_debug_shows_the_traceback_and_is_not_passed_on(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[list[str] | None] = []

    def main(argv: list[str] | None) -> int:
        seen.append(argv)
        raise ValueError("boom")

    assert run(main, ["dev", "--debug"]) == 2
    assert seen == [["dev"]]
    assert "Traceback" in capsys.readouterr().err


def test_exit_codes_pass_through_and_argparse_usage_is_2() -> None:
    assert run(lambda argv: 1, []) == 1
    assert run(lambda argv: 0, []) == 0
    assert run(_raising(SystemExit(2)), []) == 2
    assert run(_raising(SystemExit(None)), []) == 0
    assert run(_raising(KeyboardInterrupt()), []) == 130


def test_an_exit_with_a_message_prints_it_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_raising(SystemExit("Azurite not found:\n run npm ci")), []) == 2
    assert capsys.readouterr().err == "error: Azurite not found: run npm ci\n"
