"""scripts/team/new_team.py run by two processes at once against one scratch stacks folder: distinct ranges, both
teams' allocations kept, and a run that waits for the lock reads what the other run wrote."""

from __future__ import annotations

import fcntl
import ipaddress
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from scripts.team import writer
from tests.conftest import ROOT
from tests.team.test_new_team_hostile import GROUP, REGISTRY, make_project

# Imports first (a second or more), then wait for the go on standard input: both runs start their work within
# a millisecond of each other instead of an import time apart.
DRIVER = """
import sys
from scripts.team import new_team
from scripts.common.cli import run
print("ready", flush=True)
sys.stdin.read(1)
sys.exit(run(new_team.main, sys.argv[1:]))
"""


def start(root: Path, team: str, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, team, "--data-scientist-group", GROUP, "--project-dir", str(root), *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def go(*processes: subprocess.Popen[str]) -> list[tuple[int, str, str]]:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("g")
        process.stdin.flush()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


def allocations(root: Path) -> list[dict[str, str]]:
    return list(yaml.safe_load((root / REGISTRY).read_text())["allocations"])


def address_space(root: Path, stack: str) -> str:
    config: dict[str, Any] = yaml.safe_load((root / stack).read_text())["config"]
    return str(config["secure-ml:network"]["addressSpace"])


def test_two_runs_at_once_take_distinct_ranges_and_keep_both_allocations(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    results = go(start(root, "alpha"), start(root, "beta"))
    assert [(code, err) for code, _, err in results] == [(0, ""), (0, "")]
    made = [a for a in allocations(root) if a["team"] in ("alpha", "beta")]
    assert sorted((a["team"], a["env"]) for a in made) == [
        ("alpha", "dev"),
        ("alpha", "prod"),
        ("beta", "dev"),
        ("beta", "prod"),
    ]
    ranges = [ipaddress.IPv4Network(a["cidr"]) for a in allocations(root)]
    assert not [(a, b) for a, b in itertools.combinations(ranges, 2) if a.overlaps(b)]
    assert {a["cidr"] for a in made} == {"10.32.0.0/16", "10.33.0.0/16", "10.48.0.0/16", "10.49.0.0/16"}
    for allocation in made:
        assert address_space(root, allocation["stack"]) == allocation["cidr"]
    assert sorted(p.name for p in (root / "stacks").iterdir() if p.name.startswith(".")) == [".address-registry.lock"]


def test_a_run_that_waits_for_the_lock_reads_what_the_holder_wrote(tmp_path: Path) -> None:
    """While the lock is held, a run does not read; the holder records 10.32.0.0/16 for another stack and
    releases the lock; the waiting run then reads the registry afresh and takes the next block."""
    root = make_project(tmp_path)
    fd = os.open(root / writer.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        process = start(root, "alpha", "--envs", "dev")
        assert process.stdin is not None
        process.stdin.write("g")
        process.stdin.flush()
        time.sleep(1.0)  # long enough to read and write many times over if it did not wait
        assert process.poll() is None
        held = {"team": "held", "env": "dev", "cidr": "10.32.0.0/16", "stack": "stacks/Pulumi.held-dev.yaml"}
        document = yaml.safe_load((root / REGISTRY).read_text())
        document["allocations"].append(held)
        (root / REGISTRY).write_text(yaml.safe_dump(document, sort_keys=False))
    finally:
        os.close(fd)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (0, "")
    assert out.splitlines()[1] == "dev: created stacks/Pulumi.alpha-dev.yaml for alpha (10.33.0.0/16, namePrefix alpha)"
    assert [a["team"] for a in allocations(root)][-2:] == ["held", "alpha"]


def test_a_run_that_cannot_get_the_lock_in_time_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = (root / REGISTRY).read_bytes()
    fd = os.open(root / writer.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        process = start(root, "alpha", "--lock-timeout", "0.5")
        [(code, out, err)] = go(process)
    finally:
        os.close(fd)
    assert (code, out) == (2, "")
    assert err == (
        "error: stacks/.address-registry.lock: another run of scripts.team has held the lock for 0.5 s; "
        "nothing was written, run again when it has finished\n"
    )
    assert (root / REGISTRY).read_bytes() == before
    assert not (root / "stacks" / "Pulumi.alpha-dev.yaml").exists()
