"""scripts/team/new_team.py against hostile or careless files: exit 2 with one line naming the file (and key), no
traceback, nothing written; overlapping ranges already in use are found on every run (exit 1).

Every test works on a scratch copy of the project (the real stacks/ is only read).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from scripts.team import writer
from tests.conftest import ROOT
from tests.team.scratch import copy_project, invoke

GROUP = "11111111-2222-4333-8444-555555555555"
REGISTRY = "stacks/address-registry.yaml"
DEV = "stacks/Pulumi.dev.yaml"
OTHER = "stacks/Pulumi.legacy.yaml"


def make_project(parent: Path) -> Path:
    """A scratch project: the program, the dev and prod templates, the registry, and a stack of another team
    (a copy of prod on 10.200.0.0/16, which the registry does not record)."""
    project = copy_project(parent)
    prod = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    other = prod.replace(": 10.50.", ": 10.200.").replace("namePrefix: mlsec", "namePrefix: legacy")
    assert other != prod
    (project / OTHER).write_text(other.replace("- name: churn", "- name: legacy"))
    return project


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry of stacks/ but the lock file (a folder as None; temporary files left behind would show)."""
    return {
        p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted((root / "stacks").iterdir())
        if p.name != ".address-registry.lock"
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def test_the_scratch_project_scaffolds(root, capsys):
    """The cases below differ from this one only by the hostile file."""
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")
    assert out.startswith("note: 10.200.0.0/16 of stacks/Pulumi.legacy.yaml is not recorded in")


# ---------------------------------------------------------------------------------------------
# Hostile files: exit 2, one line naming the file (and key), nothing written
# ---------------------------------------------------------------------------------------------


def _edit(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        text = (root / relative).read_text()
        assert old in text
        (root / relative).write_text(text.replace(old, new, 1))

    return apply


def _write(relative: str, data: bytes) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / relative).write_bytes(data)

    return apply


def _recode(relative: str, encoding: str, old: str = "", new: str = "") -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        text = (root / relative).read_text().replace(old, new, 1) if old else (root / relative).read_text()
        (root / relative).write_bytes(text.encode(encoding))

    return apply


def _folder(relative: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / relative
        if path.exists():
            path.unlink()
        path.mkdir()
        (path / "inside.txt").write_text("x")

    return apply


def _link(relative: str, target: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / relative).unlink()
        (root / relative).symlink_to(target)

    return apply


def _value(relative: str, keys: tuple[str | int, ...], value: object) -> Callable[[Path], None]:
    """Replace the value at ``keys`` (the whole document for no keys) and write the file back as YAML."""

    def apply(root: Path) -> None:
        document = yaml.safe_load((root / relative).read_text())
        if not keys:
            document = value
        else:
            node = document
            for key in keys[:-1]:
                node = node[key]
            node[keys[-1]] = value
        (root / relative).write_text(yaml.safe_dump(document, sort_keys=False))

    return apply


NET = "secure-ml:network"
CASES: list[tuple[str, Callable[[Path], None], str]] = [
    # duplicate keys: the last value would silently win
    (
        "registry-duplicate-top-level",
        _edit(REGISTRY, "blockPrefix: 16\n", "blockPrefix: 16\nblockPrefix: 20\n"),
        "stacks/address-registry.yaml: the address registry has duplicate key 'blockPrefix' at line 7",
    ),
    (
        "registry-duplicate-in-allocation",
        _edit(REGISTRY, "    cidr: 10.40.0.0/16\n", "    cidr: 10.40.0.0/16\n    cidr: 10.32.0.0/16\n"),
        "stacks/address-registry.yaml: the address registry has duplicate key 'cidr' at line 16",
    ),
    (
        "template-duplicate-key",
        _edit(
            DEV, "    addressSpace: 10.40.0.0/16\n", "    addressSpace: 10.40.0.0/16\n    addressSpace: 10.41.0.0/16\n"
        ),
        "stacks/Pulumi.dev.yaml: the stack file has duplicate key 'addressSpace'",
    ),
    (
        "template-namespaced-and-plain-key",
        _edit(DEV, "config:\n", "config:\n  namePrefix: other\n"),
        "stacks/Pulumi.dev.yaml: config.secure-ml:namePrefix: the same setting as config.namePrefix; "
        "the last value would silently win",
    ),
    (
        "other-duplicate-key",
        _edit(
            OTHER, "  secure-ml:location: westeurope\n", "  secure-ml:location: westeurope\n  secure-ml:location: x\n"
        ),
        "stacks/Pulumi.legacy.yaml: the stack file has duplicate key 'secure-ml:location'",
    ),
    # not UTF-8
    (
        "registry-latin-1",
        _recode(REGISTRY, "latin-1", "team: ml-platform", "team: ml-plätform"),
        "stacks/address-registry.yaml: the address registry is not UTF-8 text",
    ),
    (
        "registry-utf-16",
        _recode(REGISTRY, "utf-16"),
        "stacks/address-registry.yaml: the address registry starts with a byte-order mark",
    ),
    ("registry-binary", _write(REGISTRY, bytes(range(256))), "stacks/address-registry.yaml: the address registry"),
    (
        "template-utf-16-le",
        _recode(DEV, "utf-16-le"),  # NUL bytes are UTF-8; YAML refuses them
        "stacks/Pulumi.dev.yaml: the stack file is not valid YAML",
    ),
    (
        "other-latin-1",
        _recode(OTHER, "latin-1", "owner: ml-platform", "owner: ml-plätform"),
        "stacks/Pulumi.legacy.yaml: the stack file is not UTF-8 text",
    ),
    # null, list or text where a mapping belongs
    (
        "registry-null",
        _write(REGISTRY, b"# nothing\n"),
        "stacks/address-registry.yaml: (top level): expected a mapping with version, blockPrefix, pools and "
        "allocations, found nothing",
    ),
    ("registry-list", _write(REGISTRY, b"- 10.32.0.0/12\n"), "stacks/address-registry.yaml: (top level): expected"),
    ("registry-text", _write(REGISTRY, b"just text\n"), "stacks/address-registry.yaml: (top level): expected"),
    ("registry-pools-null", _value(REGISTRY, ("pools",), None), "stacks/address-registry.yaml: pools: expected"),
    (
        "registry-pool-text",
        _value(REGISTRY, ("pools", "dev"), "10.32.0.0/12"),
        "stacks/address-registry.yaml: pools.dev: expected a non-empty list of ranges, found '10.32.0.0/12'",
    ),
    (
        "registry-allocations-mapping",
        _value(REGISTRY, ("allocations",), {"team": "x"}),
        "stacks/address-registry.yaml: allocations: expected a list, found a mapping",
    ),
    (
        "registry-allocation-list",
        _value(REGISTRY, ("allocations", 1), ["x"]),
        "stacks/address-registry.yaml: allocations[1]: expected a mapping with exactly team, env, cidr and stack, "
        "found a list",
    ),
    (
        "registry-cidr-number",
        _value(REGISTRY, ("allocations", 0, "cidr"), 167772160),
        "stacks/address-registry.yaml: allocations[0].cidr: expected a private IPv4 network in CIDR notation such "
        "as 10.32.0.0/12, found a number",
    ),
    (
        "registry-version-true",
        _value(REGISTRY, ("version",), True),
        "stacks/address-registry.yaml: version: expected 1, found a boolean",
    ),
    (
        "registry-long-value-not-shown",
        _value(REGISTRY, ("allocations", 0, "team"), ["x" * 5000]),
        "stacks/address-registry.yaml: allocations[0].team: expected text, found a list",
    ),
    ("template-list", _value(DEV, (), ["config"]), "stacks/Pulumi.dev.yaml: (top level): expected a mapping"),
    (
        "template-config-text",
        _value(DEV, ("config",), "text"),
        "stacks/Pulumi.dev.yaml: config: expected a mapping of settings, found 'text'",
    ),
    (
        "template-network-null",
        _value(DEV, ("config", NET), None),
        "stacks/Pulumi.dev.yaml: config.secure-ml:network: expected a mapping, found nothing",
    ),
    (
        "template-tags-list",
        _value(DEV, ("config", "secure-ml:tags"), ["team"]),
        "stacks/Pulumi.dev.yaml: config.secure-ml:tags: expected a mapping, found a list",
    ),
    (
        "template-workspace-text",
        _value(DEV, ("config", "secure-ml:workspaces", 0), "fraud"),
        "stacks/Pulumi.dev.yaml: config.secure-ml:workspaces[0]: expected a mapping, found 'fraud'",
    ),
    (
        "template-subnets-null",
        _value(DEV, ("config", NET, "subnets"), None),
        "stacks/Pulumi.dev.yaml: invalid configuration: secure-ml:network.subnets:",
    ),
    (
        "template-subnet-garbage",
        _value(DEV, ("config", NET, "subnets", "compute"), "10.40.4.0/33"),
        "stacks/Pulumi.dev.yaml: invalid configuration: secure-ml:network.subnets.compute:",
    ),
    # a corrupt other stack file met while scaffolding
    (
        "other-config-list",
        _value(OTHER, ("config",), [1, 2]),
        "stacks/Pulumi.legacy.yaml: config: expected a mapping of settings, found a list",
    ),
    (
        "other-address-space-garbage",
        _value(OTHER, ("config", NET, "addressSpace"), "300.1.1.1/8"),
        "stacks/Pulumi.legacy.yaml: config.secure-ml:network.addressSpace: expected an IPv4 network in CIDR notation",
    ),
    (
        "other-address-space-ipv6",
        _value(OTHER, ("config", NET, "addressSpace"), "fd00::/48"),
        "stacks/Pulumi.legacy.yaml: config.secure-ml:network.addressSpace: expected an IPv4 network",
    ),
    (
        "other-address-space-missing",
        _value(OTHER, ("config", NET), {"subnets": {}}),
        "stacks/Pulumi.legacy.yaml: config.secure-ml:network.addressSpace: required key is missing",
    ),
    (
        "other-workspace-name-null",
        _value(OTHER, ("config", "secure-ml:workspaces", 0, "name"), None),
        "stacks/Pulumi.legacy.yaml: config.secure-ml:workspaces[0].name: expected text, found nothing",
    ),
    (
        "other-environment-mapping",
        _value(OTHER, ("config", "secure-ml:environment"), {"x": 1}),
        "stacks/Pulumi.legacy.yaml: config.secure-ml:environment: expected text, found a mapping",
    ),
    # a folder, a device or a missing file where a file belongs
    ("registry-folder", _folder(REGISTRY), "stacks/address-registry.yaml: is a folder, not a address registry"),
    ("stack-folder", _folder("stacks/Pulumi.odd.yaml"), "stacks/Pulumi.odd.yaml: is a folder, not a stack file"),
    (
        "registry-device",
        _link(REGISTRY, "/dev/zero"),
        "stacks/address-registry.yaml: is not a regular file (a device, pipe or socket)",
    ),
    ("other-device", _link(OTHER, "/dev/zero"), "stacks/Pulumi.legacy.yaml: is not a regular file"),
    (
        "registry-missing",
        lambda root: (root / REGISTRY).unlink(),
        "stacks/address-registry.yaml: no such file; it records every VNet range handed out",
    ),
    ("lock-folder", _folder(writer.LOCK), "stacks/.address-registry.lock: cannot open the lock file"),
]


@pytest.mark.parametrize(("mutate", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_files_exit_2_with_one_line_and_write_nothing(root, capsys, mutate, line):
    mutate(root)
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {line}"), err
    assert err.count("\n") == 1 and "Traceback" not in err and "xxxx" not in err
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("mutate", "line"), [c[1:] for c in CASES if "other" in c[0]], ids=[c[0] for c in CASES if "other" in c[0]]
)
def test_a_corrupt_stack_stops_a_join_too(root, capsys, mutate, line):
    mutate(root)
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "beta", "--join", "dev", "--data-scientist-group", GROUP)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith(f"error: {line}"), err
    assert snapshot(root) == before


def test_a_joined_stack_that_is_not_valid_cannot_be_judged(root, capsys):
    _value(OTHER, ("config", "secure-ml:dataStorage", "softDeleteRetentionDays"), "many")(root)
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "beta", "--join", "legacy", "--data-scientist-group", GROUP)
    assert (code, out) == (2, "")
    assert err.startswith(
        "error: stacks/Pulumi.legacy.yaml: invalid configuration: secure-ml:dataStorage.softDeleteRetentionDays:"
    )
    assert err.count("\n") == 1
    assert snapshot(root) == before


# ---------------------------------------------------------------------------------------------
# Folders that cannot be written
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="permission bits do not stop root; the fault-injection tests cover it")
def test_read_only_stacks_folder_exits_2_and_writes_nothing(root, capsys):
    invoke(root, capsys, "beta", "--envs", "dev", "--data-scientist-group", GROUP)  # the lock file exists now
    before = snapshot(root)
    (root / "stacks").chmod(0o555)
    try:
        code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    finally:
        (root / "stacks").chmod(0o755)
    assert (code, out) == (2, "")
    assert err == "error: stacks/address-registry.yaml: cannot write it in stacks/: Permission denied\n"
    assert snapshot(root) == before


def test_read_only_mounted_stacks_folder_exits_2_and_writes_nothing(root, capsys):
    """The stacks folder bind-mounted read-only in a private mount namespace (root only): even root cannot
    write there, so the run stops at the lock file."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private read-only mount")
    invoke(root, capsys, "beta", "--envs", "dev", "--data-scientist-group", GROUP)  # the lock file exists now
    before = snapshot(root)
    stacks = str(root / "stacks")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    command = [sys.executable, "-m", "scripts.team", "alpha", "--data-scientist-group", GROUP]
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, stacks, *command, "--project-dir", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if result.stderr.startswith(("unshare:", "mount:")):
        pytest.skip(f"no private mount here: {result.stderr.strip()}")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: stacks/.address-registry.lock: cannot open the lock file: Read-only file system\n"
    assert snapshot(root) == before


@pytest.mark.parametrize("failing", [1, 2, 3])
def test_a_folder_that_refuses_a_file_midway_leaves_every_file_as_it_was(root, capsys, monkeypatch, failing):
    """The registry and two stack files are staged; the nth temporary file cannot be created (a read-only or
    full file system): nothing is renamed into place and no temporary file stays behind."""
    before = snapshot(root)
    real = tempfile.mkstemp
    calls: list[str] = []

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        calls.append(str(kwargs.get("prefix")))
        if len(calls) == failing:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(writer.tempfile, "mkstemp", mkstemp)
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    target = ["stacks/address-registry.yaml", "stacks/Pulumi.alpha-dev.yaml", "stacks/Pulumi.alpha-prod.yaml"]
    assert (code, out) == (2, "")
    assert err == f"error: {target[failing - 1]}: cannot write it in stacks/: Read-only file system\n"
    assert snapshot(root) == before


def test_a_rename_that_fails_midway_puts_back_what_was_there(root, capsys, monkeypatch):
    before = snapshot(root)
    real = os.replace
    calls: list[str] = []

    def replace(source: str, target: str) -> None:
        calls.append(str(target))
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(source, target)

    monkeypatch.setattr(writer.os, "replace", replace)
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, out) == (2, "")
    assert err == "error: stacks/Pulumi.alpha-dev.yaml: cannot replace it: Input/output error\n"
    assert snapshot(root) == before


def test_a_link_planted_at_a_temporary_name_is_not_followed(root, capsys):
    """Temporary files get fresh random names created exclusively: a link at the old fixed name stays as it
    was and its target is untouched."""
    victim = root / "victim.txt"
    victim.write_text("keep")
    (root / "stacks" / ".Pulumi.alpha-dev.yaml.tmp").symlink_to(victim)
    code, _, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")
    assert victim.read_text() == "keep"
    assert (root / "stacks" / ".Pulumi.alpha-dev.yaml.tmp").is_symlink()
    assert sorted(p.name for p in (root / "stacks").iterdir() if p.name.startswith(".")) == [
        ".Pulumi.alpha-dev.yaml.tmp",
        ".address-registry.lock",
    ]


def test_a_link_planted_as_the_lock_file_is_refused(root, capsys):
    victim = root / "victim.txt"
    victim.write_text("keep")
    (root / writer.LOCK).symlink_to(victim)
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, out) == (2, "")
    assert err.startswith("error: stacks/.address-registry.lock: cannot open the lock file: ")
    assert victim.read_text() == "keep" and snapshot(root) == before


# ---------------------------------------------------------------------------------------------
# Overlapping ranges already in use: found on every run (exit 1), nothing written
# ---------------------------------------------------------------------------------------------


def test_two_stack_files_on_overlapping_ranges_are_reported_and_nothing_is_written(root, capsys):
    _edit(OTHER, "addressSpace: 10.200.0.0/16", "addressSpace: 10.40.0.0/15")(root)  # covers dev's 10.40.0.0/16
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, out) == (1, "")
    assert err == (
        "error: stacks/Pulumi.dev.yaml: network.addressSpace 10.40.0.0/16 overlaps 10.40.0.0/15 of "
        "stacks/Pulumi.legacy.yaml; give one of them a free range (see docs/new-team.md)\n"
        "error: nothing was written while ranges in use overlap\n"
    )
    assert snapshot(root) == before
    # a rerun of a team already in place, and a join, find it as well
    assert invoke(root, capsys, "beta", "--join", "prod", "--data-scientist-group", GROUP)[:2] == (1, "")
    assert snapshot(root) == before


def test_a_stack_on_a_range_recorded_for_another_stack_is_reported(root, capsys):
    assert invoke(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    (root / "stacks" / "Pulumi.alpha-dev.yaml").unlink()  # recorded 10.32.0.0/16; the file is restored on a rerun
    _edit(OTHER, "addressSpace: 10.200.0.0/16", "addressSpace: 10.32.0.0/16")(root)
    before = snapshot(root)
    code, out, err = invoke(root, capsys, "gamma", "--envs", "dev", "--data-scientist-group", GROUP)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: stacks/Pulumi.legacy.yaml: network.addressSpace 10.32.0.0/16 overlaps 10.32.0.0/16, which "
        "stacks/address-registry.yaml records for stacks/Pulumi.alpha-dev.yaml; give one of them a free range "
        "(see docs/new-team.md)"
    )
    assert snapshot(root) == before


def test_stacks_on_the_same_existing_vnet_share_its_range(root, capsys):
    vnet = (
        "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/hub/providers/Microsoft.Network/"
        "virtualNetworks/spoke"
    )
    for relative, prefix in (("stacks/Pulumi.spokea.yaml", "spokea"), ("stacks/Pulumi.spokeb.yaml", "spokeb")):
        document = yaml.safe_load((root / OTHER).read_text())
        config = document["config"]
        config["secure-ml:namePrefix"] = prefix
        config["secure-ml:workspaces"][0]["name"] = prefix
        config[NET]["addressSpace"] = "10.210.0.0/16"
        config[NET]["existing"] = {"virtualNetworkId": vnet.upper() if prefix == "spokeb" else vnet}
        (root / relative).write_text(yaml.safe_dump(document))
    code, _, err = invoke(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")


def test_the_command_line_goes_through_the_shared_entry_point(root):
    """``python -m scripts.team``: one line and exit 2 for a hostile file; the traceback only with --debug."""
    _edit(REGISTRY, "blockPrefix: 16\n", "blockPrefix: 16\nblockPrefix: 20\n")(root)
    command = [sys.executable, "-m", "scripts.team", "alpha", "--data-scientist-group", GROUP]
    command += ["--project-dir", str(root)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    plain = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert (plain.returncode, plain.stdout) == (2, "")
    assert plain.stderr == (
        "error: stacks/address-registry.yaml: the address registry has duplicate key 'blockPrefix' at line 7 "
        "(first at line 6); the last value would silently win\n"
    )
    debug = subprocess.run([*command, "--debug"], cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert debug.returncode == 2 and "Traceback" in debug.stderr
