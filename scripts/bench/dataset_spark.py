"""The Spark part of ``python -m scripts.bench.dataset``: the Spark runner's scan on 1 and 2 cores next to the
single-machine runner, and k-anonymity on generated rows, each measurement in its own process (its own
JVM), with the peak resident memory of that process tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from scripts.bench.dataset import HEADER
from scripts.common.paths import ROOT


def _tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants (the JVM and Python workers), in bytes."""
    children: dict[int, list[int]] = defaultdict(list)
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry.name))
        rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_spark_worker(*args: str) -> dict[str, Any]:
    """Run one Spark measurement in its own process (its own JVM); return its result and peak RSS."""
    import threading

    command = [sys.executable, "-m", "scripts.bench.dataset", "--spark-worker", *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"Spark worker {args[0]} failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 1e6
    return result


def _spark_session(master: str) -> Any:
    from scripts.dataset.spark_runner import session

    return session(
        master, **{"spark.ui.enabled": "false", "spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "8"}
    )


def spark_worker(kind: str, path: str, manifest: str, cores: str) -> None:
    """Inside the worker process: start Spark on ``local[cores]``, then time only the measurement."""
    from scripts.dataset.manifest import load_deny_list, load_manifest

    source = load_manifest(manifest)
    started = time.perf_counter()
    spark = _spark_session(f"local[{cores}]")
    startup = time.perf_counter() - started
    if kind == "scan":
        from scripts.dataset.spark_runner import scan_dataset

        runs = []
        for _ in range(2):  # the first run also starts the Python workers and warms the JVM up
            started = time.perf_counter()
            report = scan_dataset(path, source, deny_list=load_deny_list(source), spark=spark)
            runs.append(time.perf_counter() - started)
        findings = {f"{f.column}:{f.type}": f.count for f in report.findings}
        result = {"first": runs[0], "seconds": runs[1], "startup": startup, "rows": report.rows_scanned}
        print(json.dumps({**result, "findings": findings}))
        return
    from scripts.dataset.spark_runner import measure_risk, read

    privacy = source.manifest.privacy
    assert privacy is not None
    started = time.perf_counter()
    frame = read(spark, path, "parquet")
    names = [column.name for column in source.manifest.columns]
    risk = measure_risk(frame, "parquet", names, privacy)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "startup": startup, "risk": risk.to_dict()}))


def to_parquet(csv_path: Path, parquet_path: Path) -> None:
    """The CSV's rows as Parquet, every column text, row groups of 65,536 rows."""
    import pyarrow.csv as pacsv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    types = {name: "string" for name in HEADER}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=False)
    table = pacsv.read_csv(csv_path, parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=options)
    pq.write_table(table, parquet_path, row_group_size=65_536)


def generate_k_rows(path: Path, manifest: Path, rows: int) -> None:
    """``rows`` rows with 4 quasi-identifiers (zip3, birth year, sex, income band) and a diagnosis, Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    rng = np.random.default_rng(20240601)
    writer = None
    chunk = 1_000_000
    for start in range(0, rows, chunk):
        size = min(chunk, rows - start)
        table = pa.table(
            {
                "zip3": pa.array(rng.integers(100, 200, size).astype(str)),
                "birth_year": pa.array(rng.integers(1940, 2000, size).astype(str)),
                "sex": pa.array(rng.choice(np.array(["f", "m", "x"]), size, p=[0.49, 0.49, 0.02])),
                "income_band": pa.array(rng.integers(0, 12, size).astype(str)),
                "diagnosis": pa.array(rng.integers(0, 40, size).astype(str)),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    columns = [{"name": name, "pii": "none", "action": "keep"} for name in ("zip3", "birth_year", "sex", "income_band")]
    columns.append({"name": "diagnosis", "pii": "none", "action": "keep"})
    document = {
        "name": "kbench",
        "version": "1",
        "classification": "internal",
        "source": {"kind": "internal", "uri": "generated"},
        "columns": columns,
        "privacy": {
            "quasi_identifiers": ["zip3", "birth_year", "sex", "income_band"],
            "k": 5,
            "sensitive": "diagnosis",
            "l": 2,
        },
    }
    manifest.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def spark_figures(planted: Path, manifest: Path, report: Any, wall: float, work: Path, k_rows: int) -> None:
    """Print the Spark runner's scan figures next to the single-machine runner's (``report``, ``wall``) on the
    same rows as CSV and Parquet, then k-anonymity on ``k_rows`` generated rows."""
    from scripts.bench.dataset import run_scan

    size = planted.stat().st_size
    local_findings = {f"{f.column}:{f.type}": f.count for f in report.findings}
    # The same rows as Parquet too: a CSV file with quoted line breaks is one Spark task, a Parquet
    # file splits across tasks by row group.
    parquet = work / "orders-planted.parquet"
    to_parquet(planted, parquet)
    local_parquet, parquet_wall, _ = run_scan(parquet, manifest)
    for data, local_wall in ((planted, wall), (parquet, parquet_wall)):
        local_mb_s = size / 1e6 / local_wall
        print(
            f"Spark runner, {data.suffix[1:]} ({size / 1e6:.0f} MB of CSV text); single-machine runner on "
            f"the same file: {local_wall:.2f} s, {local_mb_s:.1f} MB/s on 1 core"
        )
        for cores in (1, 2):
            result = run_spark_worker("scan", str(data), str(manifest), str(cores))
            mb_s = size / 1e6 / result["seconds"]
            same = result["findings"] == local_findings
            print(
                f"  local[{cores}]: {result['seconds']:.2f} s warm ({mb_s:.1f} MB/s, {mb_s / cores:.1f} MB/s "
                f"per core = {mb_s / cores / local_mb_s:.2f}x the single-machine runner per core); first "
                f"run {result['first']:.2f} s; session start {result['startup']:.1f} s; peak RSS "
                f"{result['peak_rss_mb']:.0f} MB; findings {'equal' if same else 'DIFFER'}"
            )
    del local_parquet
    k_data, k_manifest = work / "people.parquet", work / "people.manifest.yaml"
    started = time.perf_counter()
    generate_k_rows(k_data, k_manifest, k_rows)
    print(
        f"k-anonymity: generated {k_rows} rows ({k_data.stat().st_size / 1e6:.0f} MB Parquet), "
        f"4 quasi-identifiers, in {time.perf_counter() - started:.1f} s"
    )
    result = run_spark_worker("risk", str(k_data), str(k_manifest), "2")
    risk = result["risk"]
    print(
        f"  Spark local[2]: {result['seconds']:.2f} s for {risk['rows']} rows, {risk['classes']} classes, "
        f"{risk['classes_below_k']} below k={risk['k']}, {risk['classes_below_l']} below l={risk['l']}; "
        f"peak RSS of driver, JVM and workers {result['peak_rss_mb']:.0f} MB (driver heap 1 GB)"
    )
    k_data.unlink()
