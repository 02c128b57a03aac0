"""Hostile and careless input to ``python -m scripts.dataset``: exit 2, one line naming the file (and the key),
never a value from the input, never a traceback, and no output file left behind."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dataset_helpers import manifest_document, write_csv, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.common.cli import run
from scripts.dataset import blobs
from scripts.dataset.cli import main
from scripts.dataset.emulator import connection_string, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "ana.secret@example.org"
HEADER = ["id", "notes"]


def _columns() -> list[dict[str, Any]]:
    return [{"name": "id", "pii": "none", "action": "keep"}, {"name": "notes", "pii": "none", "action": "mask"}]


def _valid() -> dict[str, Any]:
    return manifest_document(_columns())


def _cli(*argv: str) -> tuple[int, str, str]:
    """The module entry point in-process: scripts.common.cli.run around the dataset command line."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(main, list(argv))
    return code, out.getvalue(), err.getvalue()


def _assert_refused(code: int, out: str, err: str, *, names: str) -> None:
    assert (code, out) == (2, ""), (code, out, err)
    assert err.startswith(f"error: {names}"), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and "unexpected" not in err and SECRET not in err, err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "d.csv", HEADER, [["1", "x"], ["2", "y"]])


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


HOSTILE_TEXT = [
    (
        "duplicate-top",
        _yaml(_valid()) + f"name: {SECRET}\n",
        "the manifest has duplicate key 'name' at line 14 (first at line 1)",
    ),
    (
        "duplicate-nested",
        _yaml(_valid()).replace("  action: keep\n", f"  action: keep\n  action: '{SECRET}'\n", 1),
        "the manifest has duplicate key 'action' at line 11 (first at line 10)",
    ),
    ("alias-bomb", _alias_bomb(), "the manifest has more than 32 aliases"),
    ("deep", "description: " + "[" * 200 + "]" * 200 + "\n", "the manifest has nesting deeper than 64 levels"),
    ("null", "~\n", "expected the manifest to be a mapping, found nothing"),
    ("list", f"- {SECRET}\n", "expected the manifest to be a mapping, found list"),
    ("string", f"{SECRET}\n", "expected the manifest to be a mapping, found str"),
    ("source-null", _yaml({**_valid(), "source": None}), "source: expected a mapping"),
    ("source-list", _yaml({**_valid(), "source": [SECRET]}), "source: expected a mapping"),
    ("columns-string", _yaml({**_valid(), "columns": SECRET}), "columns: expected a list"),
    ("column-null", _yaml({**_valid(), "columns": [None]}), "columns[0]: expected a mapping"),
    ("scan-list", _yaml({**_valid(), "scan": [SECRET]}), "scan: expected a mapping"),
    ("python-tag", f"name: !!python/object/apply:os.system ['{SECRET}']\n", "the manifest is not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), [case[1:] for case in HOSTILE_TEXT], ids=[c[0] for c in HOSTILE_TEXT])
def test_hostile_manifest_text_exits_2_naming_file_and_key(tmp_path: Path, data: Path, text: str, message: str) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text, encoding="utf-8")
    _assert_refused(*_cli("scan", str(data), "--manifest", str(manifest)), names=f"{manifest}: {message}")


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (f"name: caf\xe9 {SECRET}\n".encode("latin-1"), "the manifest is not UTF-8 text (invalid byte at offset 9)"),
        (_yaml(_valid()).encode("utf-16"), "the manifest starts with a byte-order mark"),
        (b"\x00\xff\xfe" + os.urandom(64), "the manifest is not UTF-8 text"),
    ],
    ids=["latin-1", "utf-16", "binary"],
)
def test_manifest_that_is_not_utf8_exits_2(tmp_path: Path, data: Path, encoded: bytes, message: str) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_bytes(encoded)
    _assert_refused(*_cli("scan", str(data), "--manifest", str(manifest)), names=f"{manifest}: {message}")


@pytest.mark.parametrize("option", ["--manifest", "--deny-list", "--key-file"])
@pytest.mark.parametrize("kind", ["endless", "folder"])
def test_endless_streams_and_folders_as_input_files_exit_2(tmp_path: Path, data: Path, option: str, kind: str) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", manifest_document([*_columns()[:1], _hash_notes()]))
    hostile = Path("/dev/zero") if kind == "endless" else tmp_path / "a-folder"
    hostile.mkdir(exist_ok=True) if kind == "folder" else None
    argv = {"--manifest": str(manifest), "--key-file": str(tmp_path / "k.key"), "--deny-list": None}
    argv[option] = str(hostile)
    (tmp_path / "k.key").write_bytes(b"k" * 40)
    command = ["anonymize", str(data), "--out", str(tmp_path / "out" / "a.csv")]
    for name, value in argv.items():
        if value is not None:
            command += [name, value]
    (tmp_path / "out").mkdir()
    what = {"--manifest": "manifest", "--deny-list": "deny-list", "--key-file": "key file"}[option]
    expected = "is not a regular file (a device, pipe or socket)" if kind == "endless" else "is a folder"
    _assert_refused(*_cli(*command), names=f"{hostile}: {expected}, not a {what}")
    assert list((tmp_path / "out").iterdir()) == []


def _hash_notes() -> dict[str, Any]:
    return {"name": "notes", "pii": "none", "action": "hash"}


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """A folder no write can go into, even for a privileged process (the immutable attribute where root)."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False, capture_output=True).returncode:
            folder.chmod(0o755)
            pytest.skip("running as root without chattr: no folder is read-only")
    try:
        yield
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr") or "chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_read_only_output_folder_exits_2_and_writes_nothing(tmp_path: Path, data: Path) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", _valid())
    out = tmp_path / "locked"
    out.mkdir()
    with _read_only(out):
        code, stdout, err = _cli("anonymize", str(data), "--manifest", str(manifest), "--out", str(out / "a.csv"))
        assert list(out.iterdir()) == []
    _assert_refused(code, stdout, err, names=f"{out}: cannot write in the output folder (")


@pytest.mark.parametrize("where", ["out", "data"])
def test_a_folder_where_a_file_is_expected_or_without_data_exits_2(tmp_path: Path, data: Path, where: str) -> None:
    """An output folder is refused; an input folder is a partitioned data set, and one with no data file
    (only names Spark skips) is refused."""
    manifest = write_manifest(tmp_path / "m.yaml", _valid())
    folder = tmp_path / "a.csv"
    folder.mkdir()
    (tmp_path / "out").mkdir()
    if where == "data":
        (folder / "_SUCCESS").write_text("")
    if where == "out":
        argv = [str(data), "--out", str(folder), "--force"]
        names = f"{folder}: is a folder, not an output file"
    else:
        argv = [str(folder), "--out", str(tmp_path / "out" / "a.csv")]
        names = f"{folder}: the folder holds no data files"
    _assert_refused(*_cli("anonymize", *argv, "--manifest", str(manifest)), names=names)
    assert [path.name for path in folder.iterdir()] == (["_SUCCESS"] if where == "data" else []) and list(
        (tmp_path / "out").iterdir()
    ) == []


def test_unreachable_storage_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs, "connect", functools.partial(blobs.connect, retry_total=0))
    unreachable = connection_string(free_port())
    code, out, err = _cli("verify", "--connection-string", unreachable, "--dataset", "x", "--version", "1")
    assert (code, out) == (2, "")
    assert err.startswith("error: verify x 1: "), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_module_entry_point_goes_through_the_shared_wrapper(tmp_path: Path, data: Path) -> None:
    command = [sys.executable, "-m", "scripts.dataset", "scan", str(data), "--manifest", "/dev/zero"]
    quiet = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert (quiet.returncode, quiet.stdout) == (2, "")
    assert quiet.stderr == "error: /dev/zero: is not a regular file (a device, pipe or socket), not a manifest\n"
    usage = subprocess.run([*command[:3], "scan"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


# --------------------------------------------------------------------------- property-based


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a document (mapping keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


VALID_PATHS = _paths(_valid())
WRONG_SHAPES = st.sampled_from([None, [], [SECRET], {}, {"x": SECRET}, SECRET + "\u00e9", -1, 10**30, 1.5, True])
OBJECT_PATHS = [
    path for path in VALID_PATHS if isinstance(functools.reduce(lambda d, p: d[p], path, _valid()), dict | list)
]
MAPPING_PATHS = [path for path in VALID_PATHS if isinstance(functools.reduce(lambda d, p: d[p], path, _valid()), dict)]


@st.composite
def malformed_manifests(draw: st.DrawFn) -> bytes:
    """A malformed manifest derived from a valid one: a wrong shape where an object belongs, a duplicated
    key, an unknown key, deep nesting, an alias bomb, a non-UTF-8 encoding, or a truncated document."""
    document = _valid()
    kind = draw(st.sampled_from(["shape", "top", "duplicate", "unknown", "deep", "bomb", "encoding", "truncate"]))
    if kind == "shape":
        path = draw(st.sampled_from(OBJECT_PATHS))
        value = draw(WRONG_SHAPES.filter(lambda v: not isinstance(v, dict)))
        return _yaml(_set(document, path, value)).encode()
    if kind == "top":
        return _yaml(draw(WRONG_SHAPES.filter(lambda v: not isinstance(v, dict)))).encode()  # type: ignore[arg-type]
    text = _yaml(document)
    lines = text.splitlines(keepends=True)
    if kind == "duplicate":
        keyed = [index for index, line in enumerate(lines) if ":" in line]
        index = draw(st.sampled_from(keyed))
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip(" -"))].replace("-", " ")
        key = lines[index].strip(" -").split(":", 1)[0]
        duplicate = f"{indent}{key}: {SECRET}\n"
        return "".join([*lines[: index + 1], duplicate, *lines[index + 1 :]]).encode()
    if kind == "unknown":
        path = draw(st.sampled_from([*MAPPING_PATHS, ()]))
        target = functools.reduce(lambda d, p: d[p], path, document)
        target[draw(st.sampled_from(["owner", "Name", "clasification", "extra"]))] = SECRET
        return _yaml(document).encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=65, max_value=3000))
        return (text + "description: " + "[" * depth + "]" * depth + "\n").encode()
    if kind == "bomb":
        return (text + _alias_bomb().replace("a", "description_a", 1)).encode()
    if kind == "encoding":
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1"]))
        return text.replace("confidential", "confidentiél").replace("name: ", "name: café", 1).encode(codec)
    cut = draw(st.integers(min_value=0, max_value=len(text) - 20))
    return (text[:cut] + "\n" + "  - {name: [").encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed_manifests(), st.sampled_from(["scan", "anonymize", "publish"]))
def test_malformed_manifests_derived_from_a_valid_one_exit_2_without_output(body: bytes, command: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = write_csv(folder / "d.csv", HEADER, [["1", "x"], ["2", "y"]])
        manifest = folder / "m.yaml"
        manifest.write_bytes(body)
        out = folder / "out"
        out.mkdir()
        extra = {
            "scan": ["--json"],
            "anonymize": ["--out", str(out / "a.csv")],
            # the manifest is judged before any connection is made: nothing listens on this endpoint
            "publish": ["--zone", "anonymized", "--connection-string", connection_string(free_port())],
        }[command]
        code, stdout, err = _cli(command, str(data), "--manifest", str(manifest), *extra)
        assert (code, stdout) == (2, ""), (body, err)
        assert err.startswith(f"error: {manifest}: "), err
        assert err.count("\n") == 1 and "Traceback" not in err and "unexpected" not in err, err
        assert SECRET not in err, err
        assert list(out.iterdir()) == []


def test_read_bytes_caps_key_files_and_keeps_their_bytes(tmp_path: Path) -> None:
    from scripts.common.safeload import InputError, read_bytes

    raw = tmp_path / "raw.key"
    raw.write_bytes(b"\xff\x00" * 20)
    assert read_bytes(raw, what="key file") == b"\xff\x00" * 20
    with pytest.raises(InputError, match=r"raw\.key: the key file is 40 bytes, more than the 39 accepted"):
        read_bytes(raw, what="key file", max_bytes=39)
    with pytest.raises(InputError, match="is not a regular file"):
        read_bytes(Path("/dev/zero"), what="key file")
