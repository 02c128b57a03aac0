"""The readers of configuration-like input fail closed: every hostile or careless input is an InputError
whose message names the file and holds no value from it."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.common.safeload import (
    MAX_ALIASES,
    MAX_DEPTH,
    InputError,
    load_json,
    load_yaml,
    mapping,
    read_json,
    read_text,
    read_yaml,
)

SECRET = "s3cr3t-value@example.com"


def test_plain_documents_load(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("config:\n  a: 1\n  b: [x, y]\n  anchor: &x {k: v}\n  ref: *x\n")
    assert read_yaml(path, what="stack file") == {
        "config": {"a": 1, "b": ["x", "y"], "anchor": {"k": "v"}, "ref": {"k": "v"}}
    }
    (tmp_path / "a.json").write_text('{"a": [1, 2.5, null, true]}')
    assert read_json(tmp_path / "a.json", what="plan") == {"a": [1, 2.5, None, True]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("config:\n  locks: true\n  locks: false\n", "duplicate key 'locks' at line 3 (first at line 2)"),
        ("a:\n  b:\n    c: 1\n    c: 2\n", "duplicate key 'c' at line 4 (first at line 3)"),
        ("? [a]\n: 1\n", "a mapping key that is not text"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
        ("a: [unclosed\n", "not valid YAML at line 2"),
        ("a: 0x" + "f" * 1025 + "\n", "an integer too large to use (line 1)"),
        ("a: " + "1:" * 3000 + "1\n", "an integer too large to use (line 1)"),
        ("a: 1.0e+999\n", "a number that is infinite or not a number (line 1)"),
        ("a:\n  - .nan\n", "a number that is infinite or not a number (line 2)"),
        ("a: !!binary aGVsbG8=\n", "a tag:yaml.org,2002:binary value, which is not plain data (line 1)"),
        ("a: !!set {x, y}\n", "a tag:yaml.org,2002:set value, which is not plain data (line 1)"),
    ],
)
def test_bad_yaml_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=r"stacks/x\.yaml: the stack file ") as info:
        load_yaml(text, "stacks/x.yaml", "stack file")
    assert problem in str(info.value)


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    with pytest.raises(InputError, match=f"more than {MAX_ALIASES} aliases"):
        load_yaml("\n".join(lines) + "\n", "bomb.yaml", "stack file")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(InputError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        load_yaml("[" * 5000 + "]" * 5000, "deep.yaml", "manifest")
    with pytest.raises(InputError, match=r"deep\.json: the plan "):
        load_json("[" * 100_000 + "]" * 100_000, "deep.json", "plan")
    with pytest.raises(InputError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "deep.json", "plan")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "the non-standard number NaN"),
        ('{"a": -Infinity}', "the non-standard number -Infinity"),
        ('{"a": 1e999}', "a number too large for a float"),
        ('{"a": ' + "9" * 5000 + "}", "not valid JSON (ValueError)"),
        ('{"a": ', "not valid JSON (line 1, column 7)"),
    ],
)
def test_bad_json_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=r"plan\.json: the plan ") as info:
        load_json(text, "plan.json", "plan")
    assert problem in str(info.value)


def test_files_that_are_not_text_or_not_files_are_refused(tmp_path: Path) -> None:
    cases = {
        "latin1.yaml": "café: 1\n".encode("latin-1"),
        "utf16.yaml": "a: 1\n".encode("utf-16"),
        "bom.yaml": b"\xef\xbb\xbfa: 1\n",
        "binary.yaml": bytes(range(256)),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=f"{name}: the stack file "):
            read_yaml(tmp_path / name, what="stack file")
    with pytest.raises(InputError, match="is a folder, not a stack file"):
        read_text(tmp_path, what="stack file")
    with pytest.raises(InputError, match="no such stack file"):
        read_text(tmp_path / "missing.yaml", what="stack file")
    with pytest.raises(InputError, match="is not a regular file"):
        read_text(Path("/dev/zero"), what="manifest")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is not a regular file"):
        read_text(fifo, what="manifest")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 1000)
    with pytest.raises(InputError, match="5000 bytes, more than the 100 accepted"):
        read_text(big, what="stack file", max_bytes=100)


def test_messages_never_quote_values() -> None:
    for text in (f"a: {SECRET}\na: {SECRET}\n", f"a: [{SECRET}\n"):
        with pytest.raises(InputError) as info:
            load_yaml(text, "m.yaml", "manifest")
        assert SECRET not in str(info.value)
    with pytest.raises(InputError) as info:
        load_json(f'{{"a": "{SECRET}", "a": 1}}', "m.json", "plan")
    assert SECRET not in str(info.value)
    with pytest.raises(InputError, match="expected the plan to be a mapping, found list"):
        mapping([SECRET], "p.json", "plan")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_load_or_fail_closed(data: bytes) -> None:
    for loader in (load_yaml, load_json):
        with contextlib.suppress(InputError):
            loader(data.decode("utf-8", errors="replace"), "fuzz", "document")
