"""Careless or hostile input to scripts.plan, scripts.ops.kill_switch, scripts.ops.verify_deployment and
scripts.ops.preflight: every malformed document derived from the real dev stack file, dev plan and dev stack
outputs is exit status 2 with one line on standard error naming the file, no traceback, nothing on standard
output and no output file left behind (whole or half-written).

Each command runs in-process through its ``main`` via :func:`scripts.common.cli.run` (the entry point of
``python -m``), and a few end to end in a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.catalog.governance import GovernanceFileError, load_enforcement, load_suppressions
from scripts.common.cli import run
from scripts.common.safeload import MAX_ALIASES, MAX_DEPTH, InputError
from scripts.common.safewrite import check_folder, write_text
from scripts.ops import kill_switch, preflight, verify_deployment
from scripts.ops.azure_mgmt import ArmBodyError, ArmClient
from scripts.plan import cli as plan
from tests.commands import commands, python_m

ROOT = Path(__file__).resolve().parents[2]
DEV_STACK = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
REASON = "INC-4711: scoring answers leak data, stop all traffic"
TENANT = "33333333-3333-4333-8333-333333333333"

HOSTILE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# ---------------------------------------------------------------------------------------------
# Running a command and judging the result
# ---------------------------------------------------------------------------------------------


class NoCredential:
    """A credential that must never be asked: a refused input sends nothing."""

    def __init__(self) -> None:
        self.asked = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.asked += 1
        raise AssertionError("a refused input must not ask for a token")


def call(main: Callable[..., int], argv: Sequence[str]) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of ``python -m <command> argv``, in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(main, list(argv))
    return code, out.getvalue(), err.getvalue()


def refused(result: tuple[int, str, str], *names: str) -> str:
    """Assert exit 2, nothing on standard output, one line on standard error naming ``names`` (and for invalid
    configuration an indented line per key); the message."""
    code, out, err = result
    assert (code, out) == (2, ""), err
    first, *details = err.splitlines()
    assert first.startswith("error: ") and err.endswith("\n"), err
    # invalid configuration lists every key at fault, one indented line each, under the line naming the file
    assert all(line.startswith("  ") for line in details) and (not details or "invalid configuration" in first), err
    assert "Traceback" not in err
    for name in names:
        assert name in first, err
    return err


def offline_commands(credential: NoCredential) -> dict[str, Callable[..., int]]:
    return {
        "kill_switch": lambda argv: kill_switch.main(argv, credential=credential),
        "verify": lambda argv: verify_deployment.main(argv, credential=credential),
        "preflight": lambda argv: preflight.main(argv, credential=credential),
    }


# ---------------------------------------------------------------------------------------------
# Malformed documents derived from valid ones
# ---------------------------------------------------------------------------------------------


def containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every mapping and list in ``value``, the root first."""
    found = [path] if isinstance(value, dict | list) else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found += containers(child, (*path, key))
    return found


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced (the root if ``path`` is empty)."""
    if not path:
        return new
    copied = copy.deepcopy(document)
    at(copied, path[:-1])[path[-1]] = new
    return copied


MARKER = "zz-marker-7f3c"


def with_duplicate(
    document: Any, path: tuple[Any, ...], dump: Callable[[Any], str], quote: Callable[[str], str]
) -> str:
    """The text of ``document`` whose mapping at ``path`` names one of its keys twice."""
    copied = copy.deepcopy(document)
    target = at(copied, path)
    key = sorted(target, key=str)[0]
    target[MARKER] = "second value"
    text = dump(copied)
    assert text.count(MARKER) == 1
    return text.replace(quote(MARKER), quote(str(key)), 1)


def nested(depth: int) -> str:
    """``depth`` lists in one another, as JSON and YAML flow text (a dumper would recurse too deep itself)."""
    return "[" * depth + "1" + "]" * depth


def byte_mutations(text: str) -> st.SearchStrategy[bytes]:
    """Text that is not UTF-8: Latin-1 bytes, UTF-16 (with and without a byte-order mark), a UTF-8 byte-order
    mark, binary noise, each at a position drawn from the document."""
    data = text.encode()
    positions = st.integers(0, len(data))
    return st.one_of(
        positions.map(lambda i: data[:i] + "é".encode("latin-1") + data[i:]),
        st.sampled_from(["utf-16", "utf-16-be", "utf-32"]).map(text.encode),
        st.just(b"\xef\xbb\xbf" + data),
        st.tuples(positions, st.binary(min_size=1, max_size=64)).map(
            lambda p: data[: p[0]] + b"\xff" + p[1] + data[p[0] :]
        ),
    )


def json_mutations(document: Any, required: Sequence[tuple[Any, ...]]) -> st.SearchStrategy[bytes]:
    """Malformed JSON documents derived from ``document``; ``required`` are paths whose value must be an
    object or text for the command to use it (replaced by null, a list, text or a number)."""
    text = json.dumps(document, indent=2)
    paths = containers(document)
    objects = [p for p in paths if isinstance(at(document, p), dict) and at(document, p)]

    def dup(path: tuple[Any, ...]) -> bytes:
        return with_duplicate(document, path, lambda d: json.dumps(d, indent=2), json.dumps).encode()

    def typed(choice: tuple[tuple[Any, ...], Any]) -> bytes:
        path, new = choice
        if type(new) is type(at(document, path)):
            new = None
        return json.dumps(replaced(document, path, new)).encode()

    return st.one_of(
        byte_mutations(text),
        st.integers(1, len(text) - 1).map(lambda i: text[:i].encode()),  # truncated: the root never closes
        st.sampled_from(objects).map(dup),
        st.tuples(st.sampled_from(paths), st.integers(MAX_DEPTH + 1, 3000)).map(
            lambda p: json.dumps(replaced(document, p[0], MARKER)).replace(f'"{MARKER}"', nested(p[1]), 1).encode()
        ),
        st.tuples(st.sampled_from(paths), st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000])).map(
            lambda p: json.dumps(replaced(document, p[0], MARKER)).replace(f'"{MARKER}"', p[1], 1).encode()
        ),
        st.tuples(st.sampled_from([(), *required]), st.sampled_from([None, [1, 2], "text", 7, {"a": 1}])).map(typed),
    )


# ---------------------------------------------------------------------------------------------
# scripts.plan: the stack file
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose stack files the tests write; its build folder must stay empty."""
    root = tmp_path_factory.mktemp("hostile")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    (root / "components").symlink_to(ROOT / "components")
    (root / "stacks").mkdir()
    return root


def plan_refuses(root: Path, content: bytes, *names: str) -> str:
    (root / "stacks" / "Pulumi.hostile.yaml").write_bytes(content)
    out = root / "out"
    line = refused(call(plan.main, ["hostile", "--project-dir", str(root), "--out", str(out)]), *names)
    assert not out.exists(), "a refused plan must write nothing, not even its folder"
    return line


DEV_CONFIG = yaml.safe_load(DEV_STACK)


def yaml_mutations() -> st.SearchStrategy[bytes]:
    """Malformed stack files derived from the dev stack file."""
    paths = containers(DEV_CONFIG)
    mappings = [p for p in paths if isinstance(at(DEV_CONFIG, p), dict) and at(DEV_CONFIG, p)]

    def dump(document: Any) -> str:
        return yaml.safe_dump(document, sort_keys=False, width=10_000)

    def typed(choice: tuple[tuple[Any, ...], Any]) -> bytes:
        path, new = choice
        if type(new) is type(at(DEV_CONFIG, path)):
            new = "text"
        return dump(replaced(DEV_CONFIG, path, new)).encode()

    def scalar(choice: tuple[tuple[Any, ...], str]) -> bytes:
        path, raw = choice
        return dump(replaced(DEV_CONFIG, path, MARKER)).replace(MARKER, raw, 1).encode()

    bomb = "\n".join(
        ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    )
    return st.one_of(
        byte_mutations(DEV_STACK),
        st.sampled_from(mappings).map(lambda p: with_duplicate(DEV_CONFIG, p, dump, lambda k: k).encode()),
        st.tuples(st.sampled_from(paths), st.integers(MAX_DEPTH + 1, 3000)).map(lambda p: scalar((p[0], nested(p[1])))),
        st.tuples(
            st.sampled_from(paths),
            st.sampled_from(
                [
                    *("9" * 5000, "0x" + "f" * 2000, "0b" + "1" * 5000, "1:" * 3000 + "1"),
                    *("1.0e+999", ".nan", "-.inf", "!!binary aGVsbG8=", "!!set {a, b}"),
                    "!!python/object/apply:os.system [id]",
                ]
            ),
        ).map(scalar),
        # every mapping and list of the stack file, in the place of another kind: null, a list, text, a number
        st.tuples(st.sampled_from(paths), st.sampled_from([None, [1], "text", 7, {"zz": 1}])).map(typed),
        st.just(f"{bomb}\n{DEV_STACK}".encode()),
    )


@HOSTILE
@given(content=yaml_mutations())
def test_plan_refuses_malformed_stack_files(scratch: Path, content: bytes) -> None:
    plan_refuses(scratch, content, "stacks/Pulumi.hostile.yaml")


def test_a_later_duplicate_key_does_not_win(scratch: Path) -> None:
    twice = DEV_STACK + "  secure-ml:locks:\n    enabled: true\n"
    line = plan_refuses(scratch, twice.encode(), "stacks/Pulumi.hostile.yaml")
    assert "duplicate key 'secure-ml:locks' at line 84 (first at line 81)" in line


def test_an_alias_bomb_is_refused_before_it_expands(scratch: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    used = DEV_STACK.replace("config:\n", "config:\n  secure-ml:lol: *a9\n", 1)  # a config value: the engine gets it
    line = plan_refuses(scratch, ("\n".join(lines) + "\n" + used).encode(), "stacks/Pulumi.hostile.yaml")
    assert f"more than {MAX_ALIASES} aliases" in line


def test_values_the_engine_cannot_pass_are_refused(scratch: Path) -> None:
    dated = DEV_STACK.replace("  secure-ml:locks:\n", "  secure-ml:reviewed: 2026-11-30\n  secure-ml:locks:\n", 1)
    line = plan_refuses(scratch, dated.encode(), "stacks/Pulumi.hostile.yaml", "config.secure-ml:reviewed")
    assert "cannot pass as JSON" in line


def test_a_null_top_level_value_is_empty_text_as_the_cli_reads_it(tmp_path: Path) -> None:
    from scripts.plan.engine import read_stack_config

    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: secure-ml\nruntime: python\n")
    (tmp_path / "stacks" / "Pulumi.s.yaml").write_text("config:\n  secure-ml:namePrefix: null\n  secure-ml:n: 5\n")
    assert read_stack_config("s", tmp_path) == ({"secure-ml:namePrefix": "", "secure-ml:n": "5"}, [])


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), "is a folder, not a stack file"),
        (lambda p: p.symlink_to("/dev/zero"), "is not a regular file"),
        (os.mkfifo, "is not a regular file"),
        (lambda p: p.write_bytes(b"#" * (1024 * 1024 + 1)), "more than the 1048576 accepted"),
    ],
)
def test_plan_refuses_a_stack_file_that_is_no_file(scratch: Path, make: Callable[[Path], None], problem: str) -> None:
    path = scratch / "stacks" / "Pulumi.odd.yaml"
    make(path)
    try:
        out = scratch / "out"
        refused(call(plan.main, ["odd", "--project-dir", str(scratch), "--out", str(out)]), "Pulumi.odd.yaml", problem)
        assert not out.exists()
    finally:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


def test_plan_refuses_a_stack_name_that_names_a_folder(scratch: Path) -> None:
    (scratch / "Pulumi.escape.yaml").write_text(DEV_STACK)
    refused(call(plan.main, ["../escape", "--project-dir", str(scratch)]), "'../escape' is not a stack name")
    assert not (scratch / "escape").exists()


def test_plan_refuses_an_unusable_project_file(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(DEV_STACK)
    (tmp_path / "Pulumi.yaml").write_bytes(b"name: secure-ml\nname: other\n")
    refused(call(plan.main, ["dev", "--project-dir", str(tmp_path)]), "Pulumi.yaml", "duplicate key 'name'")


# ---------------------------------------------------------------------------------------------
# scripts.plan: output it cannot write
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plan-output")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    (root / "components").symlink_to(ROOT / "components")
    (root / "stacks").mkdir()
    (root / "stacks" / "Pulumi.dev.yaml").write_text(DEV_STACK)
    return root


def test_plan_output_where_a_file_is_refused_and_nothing_is_left(dev_project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    refused(call(plan.main, ["dev", "--project-dir", str(dev_project), "--out", str(blocker)]), str(blocker))
    assert blocker.read_text() == "not a folder"

    out = tmp_path / "out"
    (out / "dev" / "plan.json").mkdir(parents=True)
    refused(
        call(plan.main, ["dev", "--project-dir", str(dev_project), "--out", str(out), "--quiet"]),
        str(out / "dev" / "plan.json"),
        "is a folder, not a plan",
    )
    assert sorted(p.name for p in (out / "dev").iterdir()) == ["plan.json"]


def test_plan_output_in_a_folder_nobody_may_write(dev_project: Path) -> None:
    # /proc refuses new files even to root, so this holds wherever the tests run
    refused(call(plan.main, ["dev", "--project-dir", str(dev_project), "--out", "/proc/self"]), "/proc/self/dev")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_plan_output_in_a_read_only_folder(dev_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        refused(call(plan.main, ["dev", "--project-dir", str(dev_project), "--out", str(out)]), str(out))
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(InputError, match=r"plan\.json: cannot write the plan: No space left on device"):
        write_text(target, "new", what="plan")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert target.read_text() == "old"


def test_the_folder_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_folder(tmp_path / "a" / "b", ("plan.json",), what="plan")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "c" / "plan.json").mkdir(parents=True)
    with pytest.raises(InputError, match=r"c/plan\.json: is a folder, not a plan"):
        check_folder(tmp_path / "c", ("plan.json",), what="plan")
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["plan.json"]


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "plan.json"
    write_text(target, "first", what="plan")
    write_text(target, "second", what="plan")
    assert (target.read_text(), [p.name for p in target.parent.iterdir()]) == ("second", ["plan.json"])
    assert target.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------------------------------------
# kill switch and verify: `pulumi stack output --json`
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs(dev_plan: Any) -> dict[str, Any]:
    return dict(dev_plan.outputs)


KILL_SWITCH_REQUIRED = [("gatewayId",)]
VERIFY_REQUIRED = [
    ("dataAccountId",),
    ("logAnalyticsWorkspaceId",),
    ("keyVaultId",),
    ("workspaces",),
    ("endpoints",),
    ("gatewayId",),
    ("gatewayPolicy",),
    ("securityOptOuts",),
]


def outputs_file(tmp: Path, content: bytes) -> Path:
    path = tmp / "outputs.json"
    path.write_bytes(content)
    return path


@HOSTILE
@given(data=st.data())
def test_kill_switch_refuses_malformed_stack_outputs(
    outputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    content = data.draw(json_mutations(outputs, KILL_SWITCH_REQUIRED))
    path = outputs_file(tmp_path_factory.mktemp("ks"), content)
    credential = NoCredential()
    argv = ["dev", "--reason", REASON, "--from-outputs", str(path), "--tenant", TENANT]
    refused(call(offline_commands(credential)["kill_switch"], argv), f"--from-outputs {path}")
    assert credential.asked == 0


@HOSTILE
@given(data=st.data())
def test_verify_refuses_malformed_stack_outputs(
    outputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    content = data.draw(json_mutations(outputs, VERIFY_REQUIRED))
    path = outputs_file(tmp_path_factory.mktemp("vd"), content)
    credential = NoCredential()
    refused(
        call(offline_commands(credential)["verify"], ["dev", "--from-outputs", str(path)]), f"--from-outputs {path}"
    )
    assert credential.asked == 0


def special_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Inputs that are no regular file, or are too large to read: path and the problem named."""
    fifo = tmp / "fifo.json"
    os.mkfifo(fifo)
    sparse = tmp / "huge.json"
    with sparse.open("wb") as handle:
        handle.truncate(257 * 1024 * 1024)  # sparse: larger than the cap without using the disk
    (tmp / "folder.json").mkdir()
    return {
        "dev-zero": (Path("/dev/zero"), "is not a regular file"),
        "fifo": (fifo, "is not a regular file"),
        "folder": (tmp / "folder.json", "is a folder"),
        "missing": (tmp / "missing.json", "no such"),
        "huge": (sparse, "more than the 268435456 accepted"),
    }


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder", "missing", "huge"])
def test_outputs_and_plans_that_are_no_file_are_refused(kind: str, tmp_path: Path) -> None:
    path, problem = special_files(tmp_path)[kind]
    credential = NoCredential()
    commands = offline_commands(credential)
    refused(call(commands["verify"], ["dev", "--from-outputs", str(path)]), f"--from-outputs {path}", problem)
    argv = ["dev", "--reason", REASON, "--from-outputs", str(path), "--tenant", TENANT]
    refused(call(commands["kill_switch"], argv), f"--from-outputs {path}", problem)
    refused(call(commands["preflight"], ["dev", "--plan", str(path)]), f"--plan {path}", problem)
    assert credential.asked == 0


def test_the_kill_switch_refuses_a_stack_file_with_a_duplicate_key(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(DEV_STACK + "  secure-ml:locks:\n    enabled: true\n")
    credential = NoCredential()
    argv = ["dev", "--reason", REASON, "--project-dir", str(tmp_path), "--dry-run"]
    refused(call(offline_commands(credential)["kill_switch"], argv), "stacks/Pulumi.dev.yaml", "duplicate key")
    argv = ["dev", "--from-outputs", str(tmp_path / "any.json"), "--project-dir", str(tmp_path)]
    refused(call(offline_commands(credential)["verify"], argv), "stacks/Pulumi.dev.yaml", "duplicate key")
    assert credential.asked == 0


# ---------------------------------------------------------------------------------------------
# preflight: plan.json
# ---------------------------------------------------------------------------------------------

PLAN_REQUIRED = [("project",), ("resources",), ("resources", 0), ("resources", 0, "type")]


@HOSTILE
@given(data=st.data())
def test_preflight_refuses_malformed_plans(
    dev_plan: Any, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    document = dev_plan.document
    assignment = next(
        i for i, r in enumerate(document["resources"]) if r["type"] == "azure-native:authorization:RoleAssignment"
    )
    required = [*PLAN_REQUIRED, ("resources", assignment, "inputs")]
    content = data.draw(json_mutations(document, required))
    path = tmp_path_factory.mktemp("pf") / "plan.json"
    path.write_bytes(content)
    credential = NoCredential()
    argv = ["dev", "--plan", str(path), "--print-condition"]
    refused(call(offline_commands(credential)["preflight"], argv), f"--plan {path}")
    assert credential.asked == 0


# ---------------------------------------------------------------------------------------------
# governance files and ARM answers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"default: mandatory\ndefault: advisory\n", "duplicate key 'default'"),
        ("default: mandatory # é\n".encode("latin-1"), "not UTF-8"),
        (b"- default\n", "expected a mapping, found list"),
        (b"a: &a [x]\n" + b"".join(b"b%d: *a\n" % i for i in range(MAX_ALIASES + 1)), "aliases"),
    ],
)
def test_governance_files_are_read_strictly(content: bytes, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "governance.yaml"
    path.write_bytes(content)
    with pytest.raises(GovernanceFileError, match=problem):
        load_enforcement(path)
    with pytest.raises(GovernanceFileError, match=problem):
        load_suppressions(path)


class _Answer:
    status_code = 200

    def __init__(self, body: str) -> None:
        self.body = body

    def text(self) -> str:
        return self.body


class _Pipeline:
    def __init__(self, body: str) -> None:
        self.body = body

    def run(self, request: Any) -> Any:
        return type("Done", (), {"http_response": _Answer(self.body)})()


@pytest.mark.parametrize(
    "body", ["[" * 100_000 + "]" * 100_000, '{"value": [], "value": [1]}', '{"n": NaN}', '{"n": ' + "9" * 5000 + "}"]
)
def test_arm_answers_that_cannot_be_trusted_are_body_errors(body: str) -> None:
    client = ArmClient(_Pipeline(body), "test", {})  # type: ignore[arg-type]
    with pytest.raises(ArmBodyError, match="HTTP 200 with a body that is not JSON"):
        client.get_json("https://management.azure.com/x")


# ---------------------------------------------------------------------------------------------
# End to end: a fresh interpreter, as a user or a pipeline runs the commands
# ---------------------------------------------------------------------------------------------


def test_end_to_end_plan_refuses_duplicate_keys_and_alias_bombs(scratch: Path) -> None:
    (scratch / "stacks" / "Pulumi.twice.yaml").write_text(DEV_STACK + "  secure-ml:locks:\n    enabled: true\n")
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    (scratch / "stacks" / "Pulumi.bomb.yaml").write_text("\n".join(lines) + "\n" + DEV_STACK)
    for stack, problem in (("twice", "duplicate key 'secure-ml:locks'"), ("bomb", "aliases")):
        done = python_m("scripts.plan", stack, "--project-dir", str(scratch), "--out", str(scratch / "e2e"))
        refused((done.returncode, done.stdout, done.stderr), f"stacks/Pulumi.{stack}.yaml", problem)
    assert not (scratch / "e2e").exists()


def test_end_to_end_endless_streams_and_foreign_encodings(tmp_path: Path) -> None:
    latin = tmp_path / "outputs.json"
    latin.write_bytes('{"gatewayId": "é"}'.encode("latin-1"))
    for module, argv, name in (
        ("scripts.ops.preflight", ["dev", "--plan", "/dev/zero"], "--plan /dev/zero"),
        (
            "scripts.ops.kill_switch",
            ["dev", "--reason", REASON, "--from-outputs", "/dev/zero"],
            "--from-outputs /dev/zero",
        ),
        ("scripts.ops.verify_deployment", ["dev", "--from-outputs", str(latin)], f"--from-outputs {latin}: "),
    ):
        done = python_m(module, *argv)
        refused((done.returncode, done.stdout, done.stderr), name)


# ---------------------------------------------------------------------------------------------
# Every command goes through the one entry point and is in the exit-status table
# ---------------------------------------------------------------------------------------------


COMMANDS = commands()


def test_the_stage_commands_are_found() -> None:
    expected = {"scripts.plan", "scripts.gate", "scripts.team", "scripts.dataset", "scripts.assess"}
    assert expected | {"scripts.ops.preflight", "scripts.ops.kill_switch", "scripts.ops.verify_deployment"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_the_command_runs_through_the_one_entry_point(module: str) -> None:
    text = COMMANDS[module].read_text()
    if COMMANDS[module].name == "__main__.py":
        assert text.rstrip().splitlines()[-1].strip() in {"sys.exit(run(main))", "sys.exit(cli.run(main))"}
    else:
        block = text.split('if __name__ == "__main__":\n', 1)[1]
        assert block in {
            "    from scripts.common import cli\n\n    sys.exit(cli.run(main))\n",
            "    sys.exit(run(main))\n",
        }


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_every_command_is_in_the_exit_status_table(module: str) -> None:
    assert f"`python -m {module}" in (ROOT / "docs" / "commands.md").read_text(), module


def test_a_value_quoted_in_a_message_is_cut_short(outputs: dict[str, Any], tmp_path: Path) -> None:
    path = outputs_file(tmp_path, json.dumps({**outputs, "gatewayId": "x" * 1_000_000}).encode())
    credential = NoCredential()
    argv = ["dev", "--reason", REASON, "--from-outputs", str(path), "--tenant", TENANT]
    line = refused(call(offline_commands(credential)["kill_switch"], argv), "gatewayId is not an API Management")
    assert line.endswith(f"found '{'x' * 296}...\n")
    line = refused(call(offline_commands(credential)["verify"], ["dev", "--from-outputs", str(path)]), "gatewayId")
    assert line.endswith("...\n") and len(line) < 600


def test_end_to_end_the_gate_refuses_a_governance_file_with_a_duplicate_key(dev_plan: Any, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(dev_plan.document))
    enforcement = tmp_path / "enforcement.yaml"
    enforcement.write_text((ROOT / "policies" / "enforcement.yaml").read_text() + "default: advisory\n")
    argv = ["--plan", str(plan_path), "--no-checkov", "--no-kql", "--enforcement", str(enforcement)]
    done = python_m("scripts.gate", *argv)
    refused((done.returncode, done.stdout, done.stderr), str(enforcement), "duplicate key 'default'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enforcement.yaml", "plan.json"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_inputs_are_refused(scratch: Path, outputs: dict[str, Any], tmp_path: Path) -> None:
    stack = scratch / "stacks" / "Pulumi.locked.yaml"
    stack.write_text(DEV_STACK)
    path = outputs_file(tmp_path, json.dumps(outputs).encode())
    stack.chmod(0)
    path.chmod(0)
    try:
        refused(call(plan.main, ["locked", "--project-dir", str(scratch)]), "Pulumi.locked.yaml", "Permission denied")
        credential = NoCredential()
        argv = ["dev", "--from-outputs", str(path)]
        refused(call(offline_commands(credential)["verify"], argv), str(path), "Permission denied")
        refused(call(offline_commands(credential)["preflight"], ["dev", "--plan", str(path)]), "Permission denied")
    finally:
        stack.chmod(0o644)
        path.chmod(0o644)


EARLIER_NAMES = {
    "scripts.check": "scripts.gate.cli",
    "scripts.new_team": "scripts.team.new_team",
    "scripts.kill_switch": "scripts.ops.kill_switch",
    "scripts.verify_deployment": "scripts.ops.verify_deployment",
}
"""The commands' earlier names, kept for pipelines and forks that call them: each runs the stage command's main."""


@pytest.mark.parametrize("old", sorted(EARLIER_NAMES))
def test_an_earlier_command_name_runs_the_same_command(old: str) -> None:
    import importlib

    assert importlib.import_module(old).main is importlib.import_module(EARLIER_NAMES[old]).main
    assert old in COMMANDS


def test_the_gate_under_its_earlier_name_judges_as_the_gate(dev_plan: Any, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(dev_plan.document))
    runs = {
        name: python_m(name, "--plan", str(plan_path), "--no-checkov", "--no-kql", "--out", str(tmp_path / name))
        for name in ("scripts.gate", "scripts.check")
    }
    assert [r.returncode for r in runs.values()] == [0, 0]
    assert runs["scripts.check"].stdout.replace("scripts.check", "scripts.gate") == runs["scripts.gate"].stdout
    assert (tmp_path / "scripts.check" / "policy-report.json").is_file()
