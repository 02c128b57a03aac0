"""Time the dataset scanner on hostile shapes of input: huge cells, huge records, very many columns.

    python -m scripts.bench.dataset_hostile [--timeout 120] [--root CHECKOUT] [--only NAME ...]

Each case writes its file and manifest to a scratch folder and, in a child process with a time limit
(so a case that does not finish is reported as such instead of hanging the benchmark), reads the
manifest and scans the file with the functions ``python -m scripts.dataset scan`` uses. Prints one line
per case: wall seconds in total (or ``>LIMIT``), then reading the manifest and scanning, separately.
``--root`` times another checkout (for figures before and after a change).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from scripts.common.paths import ROOT


def _manifest(folder: Path, names: list[str], deny_list: str | None = None) -> Path:
    document: dict[str, object] = {
        "name": "bench",
        "version": "1.0.0",
        "classification": "internal",
        "source": {"kind": "internal", "uri": "https://example.internal/bench"},
        "columns": [{"name": name, "pii": "none", "action": "keep"} for name in names],
    }
    if deny_list is not None:
        document["scan"] = {"deny_list": deny_list}
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _letters(size: int) -> str:
    return ("abcdefghij" * (size // 10 + 1))[:size]


def cell_with_email(size: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        data = folder / "cell.csv"
        data.write_text(f"id,text\n1,{_letters(size)} someone@example.com {_letters(size)}\n", encoding="utf-8")
        return data, _manifest(folder, ["id", "text"])

    return build


def cell_of_letters(size: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        data = folder / "letters.csv"
        data.write_text(f"id,text\n1,{_letters(size)}@{_letters(64)}\n", encoding="utf-8")
        return data, _manifest(folder, ["id", "text"])

    return build


def jsonl_record(size: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        data = folder / "record.jsonl"
        record = {"id": 1, "text": f"{_letters(size)} +31 6 1234 5678 {_letters(size)}"}
        data.write_text(json.dumps(record) + "\n", encoding="utf-8")
        return data, _manifest(folder, ["id", "text"])

    return build


def cell_of_digits(size: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        data = folder / "digits.csv"
        data.write_text(f"id,text\n1,mail a@example.org {('word 12 ' * (size // 8))}\n", encoding="utf-8")
        return data, _manifest(folder, ["id", "text"])

    return build


def deny_list(count: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        letters = "abcdefghijklmnopqrstuvwxyz"
        names = ("".join(letters[(index // 26**power) % 26] for power in range(4)) + "son" for index in range(count))
        (folder / "names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
        data = folder / "notes.csv"
        rows = "".join(f"{index},met bcdason about order {index}\n" for index in range(1_000))
        data.write_text("id,text\n" + rows, encoding="utf-8")
        return data, _manifest(folder, ["id", "text"], deny_list="names.txt")

    return build


def columns(count: int) -> Callable[[Path], tuple[Path, Path]]:
    def build(folder: Path) -> tuple[Path, Path]:
        names = [f"c{index}" for index in range(count)]
        data = folder / "wide.csv"
        with data.open("w", encoding="utf-8") as handle:
            handle.write(",".join(names) + "\n")
            for row in range(3):
                handle.write(",".join(f"v{row}x{index}" for index in range(count)) + "\n")
        return data, _manifest(folder, names)

    return build


CASES: dict[str, Callable[[Path], tuple[Path, Path]]] = {
    "cell-80KB-email": cell_with_email(40_000),
    "cell-4MB-email": cell_with_email(2_000_000),
    "cell-4MB-letters-at": cell_of_letters(4_000_000),
    "jsonl-4MB-record-phone": jsonl_record(2_000_000),
    "cell-4MB-dense-digits": cell_of_digits(4_000_000),
    "deny-list-200000-names": deny_list(200_000),
    "columns-10000": columns(10_000),
    "columns-100000": columns(100_000),
}


# Run in the child: time reading the manifest and scanning the file separately (the same functions the
# command line calls), and print both as JSON.
_CHILD = """
import json, sys, time
from scripts.dataset.manifest import load_deny_list, load_manifest
from scripts.dataset.scanner import scan_file
start = time.perf_counter()
source = load_manifest(sys.argv[2])
loaded = time.perf_counter()
report = scan_file(sys.argv[1], source, deny_list=load_deny_list(source))
done = time.perf_counter()
print(json.dumps({"manifest": loaded - start, "scan": done - loaded, "findings": len(report.findings)}))
"""


def run(name: str, timeout: float, root: Path = ROOT) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        data, manifest = CASES[name](Path(scratch))
        command = [sys.executable, "-c", _CHILD, str(data), str(manifest)]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, timeout=timeout, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            return f"{name:<26} >{timeout:.0f} s (did not finish)"
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return f"{name:<26} {elapsed:8.2f} s  failed: {' '.join(last)}"
        times = json.loads(done.stdout)
        return (
            f"{name:<26} {elapsed:8.2f} s total, manifest {times['manifest']:7.2f} s, scan {times['scan']:7.2f} s,"
            f" {times['findings']} finding(s)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as unfinished")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose scripts.dataset is timed")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    args = parser.parse_args(argv)
    for name in args.only or list(CASES):
        print(run(name, args.timeout, args.root), flush=True)
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
