"""Property-based: registries and stack files derived from the real ones and made malformed (a wrong kind of
value where the tool reads one, a duplicate key anywhere, text that is not UTF-8) make scripts.team exit 2
with one line naming the file, no traceback, no output and nothing written."""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.common import cli
from scripts.team import new_team
from tests.team.test_new_team_hostile import DEV, GROUP, OTHER, REGISTRY, make_project, snapshot

PROD = "stacks/Pulumi.prod.yaml"
FILES = [REGISTRY, DEV, PROD, OTHER]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)  # capsys is drained before and read after every run

Path_ = tuple[str | int, ...]


@contextmanager
def project() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="new-team-") as folder:
        yield make_project(Path(folder))


@functools.cache
def base(relative: str) -> str:
    """The text of a file of the scratch project, before any change."""
    with project() as root:
        return (root / relative).read_text()


def outcome(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.run(new_team.main, ["alpha", "--data-scientist-group", GROUP, "--project-dir", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_cannot_judge(root: Path, capsys: pytest.CaptureFixture[str], relative: str, before: object) -> str:
    code, out, err = outcome(root, capsys)
    assert (code, out) == (2, ""), err
    assert err.startswith(f"error: {relative}: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert snapshot(root) == before
    return err


def test_the_unmutated_project_scaffolds(capsys: pytest.CaptureFixture[str]) -> None:
    """Each property below changes one thing in this project, which succeeds as it is."""
    with project() as root:
        assert outcome(root, capsys)[0] == 0


# ---------------------------------------------------------------------------------------------
# A wrong kind of value
# ---------------------------------------------------------------------------------------------


def _paths(value: Any, at: Path_ = ()) -> Iterator[Path_]:
    yield at
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*at, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*at, i))


def _get(document: Any, at: Path_) -> Any:
    for key in at:
        document = document[key]
    return document


def _replace(document: Any, at: Path_, value: object) -> Any:
    if not at:
        return value
    _get(document, at[:-1])[at[-1]] = value
    return document


def _kind(value: object) -> str:
    return "bool" if isinstance(value, bool) else type(value).__name__


REPLACEMENTS: list[object] = [None, "text", 7, True, ["x"], {"k": "v"}]
STACK_PATHS: list[Path_] = [
    (),
    ("config",),
    ("config", "secure-ml:environment"),
    ("config", "secure-ml:namePrefix"),
    ("config", "secure-ml:tags"),
    ("config", "secure-ml:network"),
    ("config", "secure-ml:network", "addressSpace"),
    ("config", "secure-ml:workspaces"),
    ("config", "secure-ml:workspaces", 0),
    ("config", "secure-ml:workspaces", 0, "name"),
]
"""Every place of a stack file the tool reads (the templates are validated in full besides)."""


@st.composite
def wrong_kind(draw: st.DrawFn, relative: str, paths: list[Path_] | None) -> tuple[Path_, object]:
    document = yaml.safe_load(base(relative))
    at = draw(st.sampled_from(paths if paths is not None else list(_paths(document))))
    original = _get(document, at)
    choices = [r for r in REPLACEMENTS if _kind(r) != _kind(original)]
    if len(at) <= 1:  # an empty stack file, or an empty config:, has no settings and is not an error
        choices = [r for r in choices if r is not None or relative == REGISTRY]
    return at, draw(st.sampled_from(choices))


@SETTINGS
@given(case=wrong_kind(REGISTRY, None))
def test_any_value_of_the_registry_of_the_wrong_kind(capsys: pytest.CaptureFixture[str], case) -> None:
    at, value = case
    with project() as root:
        document = _replace(yaml.safe_load((root / REGISTRY).read_text()), at, value)
        (root / REGISTRY).write_text(yaml.safe_dump(document, sort_keys=False))
        err = assert_cannot_judge(root, capsys, REGISTRY, snapshot(root))
        assert "expected" in err


@SETTINGS
@given(relative=st.sampled_from([DEV, PROD, OTHER]), data=st.data())
def test_a_stack_value_the_tool_reads_of_the_wrong_kind(capsys: pytest.CaptureFixture[str], relative, data) -> None:
    at, value = data.draw(wrong_kind(relative, STACK_PATHS))
    with project() as root:
        document = _replace(yaml.safe_load((root / relative).read_text()), at, value)
        (root / relative).write_text(yaml.safe_dump(document, sort_keys=False))
        assert_cannot_judge(root, capsys, relative, snapshot(root))


# ---------------------------------------------------------------------------------------------
# A duplicate key anywhere
# ---------------------------------------------------------------------------------------------

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[A-Za-z][\w:.-]*):(?P<rest>.*)$")


def _duplicable(text: str) -> list[int]:
    """Lines holding a key of a block mapping (for a list item's first key, only with a value on the line)."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if match and (not match["dash"] or match["rest"].split("#")[0].strip()):
            found.append(i)
    return found


def _with_duplicate(text: str, index: int) -> str:
    lines = text.splitlines(keepends=True)
    match = _KEY_LINE.match(lines[index].rstrip("\n"))
    assert match is not None
    if match["dash"]:  # the next key of the item's mapping, after the item's first line
        lines.insert(index + 1, " " * (len(match["indent"]) + 2) + f"{match['key']}: 1\n")
    else:  # the same key just before, at the same indentation
        lines.insert(index, f"{match['indent']}{match['key']}: 1\n")
    return "".join(lines)


@SETTINGS
@given(relative=st.sampled_from(FILES), data=st.data())
def test_a_duplicate_key_anywhere(capsys: pytest.CaptureFixture[str], relative, data) -> None:
    text = base(relative)
    index = data.draw(st.sampled_from(_duplicable(text)))
    with project() as root:
        original = (root / relative).read_text()
        (root / relative).write_text(_with_duplicate(original, index))
        err = assert_cannot_judge(root, capsys, relative, snapshot(root))
        assert "has duplicate key" in err, err


# ---------------------------------------------------------------------------------------------
# Text that is not UTF-8
# ---------------------------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff", b"\x80", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]


@st.composite
def not_utf8(draw: st.DrawFn, text: str) -> bytes:
    how = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "bytes"]))
    if how == "latin-1":
        at = draw(st.integers(0, len(text)))
        return (text[:at] + "é" + text[at:]).encode("latin-1")
    if how == "bytes":
        data = text.encode()
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    return text.encode(how)


@SETTINGS
@given(relative=st.sampled_from(FILES), data=st.data())
def test_text_that_is_not_utf8(capsys: pytest.CaptureFixture[str], relative, data) -> None:
    encoded = data.draw(not_utf8(base(relative)))
    with project() as root:
        (root / relative).write_bytes(encoded)
        assert_cannot_judge(root, capsys, relative, snapshot(root))
