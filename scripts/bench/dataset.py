"""Benchmark of the dataset scanner and publisher, with Microsoft Presidio as a yardstick.

    python -m scripts.bench.dataset [--mb 200] [--presidio-python /tmp/presidio-venv/bin/python]

1. Generates a CSV of about --mb megabytes with made-up PII planted in a free-text column (and a
   clean twin of the same size, with the e-mail column already hashed).
2. Scans the planted file in full on one core: MB/s (wall and CPU) and recall on the planted values.
3. Publishes the clean twin to a local Azurite (started here, in memory): scan + hash, upload,
   read-back verification and manifest: MB/s.
4. Scans the same file with the Spark runner (``--engine spark``) in local mode on 1 and 2 cores
   (``local[1]``, ``local[2]``): MB/s and MB/s per core next to the single-machine runner, and whether
   the findings are the same.
5. Measures k-anonymity and l-diversity with Spark on --k-rows generated rows (default 10 million) with
   4 quasi-identifiers: wall time and the peak memory (RSS) of the driver, its JVM and Python workers.
6. Runs Presidio's pattern recognizers (no NLP model, offline) on the first --presidio-rows rows of
   the same file, and this scanner on the same rows: recall of both and the speed ratio.

Presidio is not a dependency of the project: install it into a throwaway environment from
scripts/bench/presidio-requirements.txt and point --presidio-python at that interpreter. This file doubles
as the worker that runs inside that environment (``python -m scripts.bench.dataset --presidio-worker`` from
the checkout), importing only Presidio, PyYAML and the standard library there.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from scripts.common.paths import ROOT

HEADER = ["id", "email", "created_at", "amount", "country", "status", "sku", "order_ref", "notes"]
PLANT_EVERY = 97
DENY_LIST = ("jansen", "de vries", "dubois", "rossi", "garcia")

# Presidio entity -> the PII type it stands for here.
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "payment_card",
    "IP_ADDRESS": "ip_address",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_nino",
    "DE_TAX_ID": "de_idnr",
    "ES_NIF": "es_dni",
    "ES_NIE": "es_dni",
    "IT_FISCAL_CODE": "it_codice_fiscale",
    "DATE_TIME": "date_of_birth",
}

WORDS = tuple(
    re.findall(
        r"[a-z]+",
        "the order was shipped late and the customer asked for a refund about delivery status invoice payment "
        "received thanks please check warehouse stock item replaced courier box damaged colour size exchange "
        "weekend voucher applied discount ticket closed reopened escalated",
    )
)


# --------------------------------------------------------------------------- data


def generate(planted_path: Path, clean_path: Path, target_bytes: int) -> dict[int, set[str]]:
    """Write both files; return the planted types per row of the notes column."""
    import hashlib
    import random

    from scripts.dataset.manifest import PiiType
    from scripts.dataset.synthetic import PLANTABLE, Synthetic

    rng = random.Random(20240601)  # noqa: S311 - reproducible made-up data, not secrets
    synthetic = Synthetic(99)
    plant_kinds = [*PLANTABLE, PiiType.PERSON_NAME]
    truth: dict[int, set[str]] = {}
    countries = ("NL", "DE", "FR", "ES", "IT", "GB", "US")
    statuses = ("open", "shipped", "returned", "closed")
    with (
        planted_path.open("w", encoding="utf-8", newline="") as planted_handle,
        clean_path.open("w", encoding="utf-8", newline="") as clean_handle,
    ):
        planted = csv.writer(planted_handle)
        clean = csv.writer(clean_handle)
        planted.writerow(HEADER)
        clean.writerow(HEADER)
        row = 0
        while planted_handle.tell() < target_bytes:
            row += 1
            email = f"user{row}@example.org"
            base = [
                str(row),
                email,
                f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
                f"{rng.random() * 5000:.2f}",
                rng.choice(countries),
                rng.choice(statuses),
                f"SKU-{rng.randint(0, 999_999):06d}",
                str(300_000_000 + row),
            ]
            notes = " ".join(rng.choices(WORDS, k=rng.randint(6, 24)))
            planted_notes = notes
            if row % PLANT_EVERY == 0:
                kind = plant_kinds[(row // PLANT_EVERY) % len(plant_kinds)]
                if kind is PiiType.PERSON_NAME:
                    sentence = f"spoke with mrs {rng.choice(DENY_LIST).title()} at the desk"
                else:
                    sentence = synthetic.sentence(kind)
                planted_notes = f"{notes}, {sentence}"
                truth[row] = {kind.value}
            planted.writerow([*base, planted_notes])
            clean.writerow([base[0], hashlib.sha256(email.encode()).hexdigest(), *base[2:], notes])
    return truth


def write_manifest(path: Path, names_path: Path) -> None:
    names_path.write_text("\n".join(DENY_LIST) + "\n", encoding="utf-8")
    columns = [{"name": name, "pii": "none", "action": "keep"} for name in HEADER]
    columns[1] = {"name": "email", "pii": "email", "action": "hash"}
    document = {
        "name": "bench-orders",
        "version": f"1.0.{int(time.time())}",
        "classification": "internal",
        "source": {"kind": "internal", "uri": "bench://generated"},
        "scan": {"deny_list": names_path.name},
        "columns": columns,
    }
    import yaml

    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------- measurements


def recall(truth: dict[int, set[str]], found: dict[int, set[str]], rows: int | None = None) -> dict[str, Any]:
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, kinds in truth.items():
        if rows is not None and row > rows:
            continue
        for kind in kinds:
            per_type[kind][0] += 1
            if kind in found.get(row, set()):
                per_type[kind][1] += 1
    planted = sum(total for total, _ in per_type.values())
    hits = sum(hit for _, hit in per_type.values())
    return {
        "planted": planted,
        "found": hits,
        "recall": hits / planted if planted else 1.0,
        "per_type": {kind: {"planted": total, "found": hit} for kind, (total, hit) in sorted(per_type.items())},
    }


def scan_rows(report: Any, column: str = "notes") -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for finding in report.findings:
        if finding.column != column:
            continue
        for row in finding.all_rows or ():
            found[row].add(finding.type)
    return found


def extra_findings(report: Any) -> list[str]:
    return [
        f"{finding.column}:{finding.type}={finding.count}" for finding in report.findings if finding.column != "notes"
    ]


def run_scan(path: Path, manifest: Path, sample_rows: int | None = None) -> tuple[Any, float, float]:
    from scripts.dataset.manifest import load_deny_list, load_manifest
    from scripts.dataset.scanner import scan_file

    source = load_manifest(manifest)
    deny_list = load_deny_list(source)
    wall, cpu = time.perf_counter(), time.process_time()
    report = scan_file(path, source, sample_rows=sample_rows, deny_list=deny_list, collect_rows=True)
    return report, time.perf_counter() - wall, time.process_time() - cpu


def run_publish(path: Path, manifest: Path) -> dict[str, float]:
    from azure.storage.blob import BlobServiceClient

    from scripts.dataset.blobs import Publisher
    from scripts.dataset.emulator import AZURITE, running_azurite
    from scripts.dataset.manifest import Zone, load_deny_list, load_manifest
    from scripts.dataset.storage import plan_publication, publish_dataset

    if not AZURITE.exists():
        raise SystemExit(f"Azurite not found at {AZURITE}: run `npm ci`")
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir), [Zone.ANONYMIZED.value]) as connection,
        BlobServiceClient.from_connection_string(connection, retry_total=0) as service,
    ):
        source = load_manifest(manifest)
        started = time.perf_counter()
        planned = plan_publication([path], source, Zone.ANONYMIZED, load_deny_list(source))
        scanned = time.perf_counter()
        publish_dataset(service, planned, source, Zone.ANONYMIZED, Publisher("bench", "emulator-connection-string"))
        done = time.perf_counter()
    return {"scan_and_hash_s": scanned - started, "upload_verify_commit_s": done - scanned, "total_s": done - started}


def run_presidio(python: str, path: Path, rows: int) -> dict[str, Any]:
    env = dict(os.environ, TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    # As a module of the checkout (its own folder is not a package root, and the module imports scripts.common).
    command = [python, "-m", "scripts.bench.dataset", "--presidio-worker", str(path), str(rows)]
    result = subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"Presidio worker failed:\n{result.stderr[-3000:]}")
    payload: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return payload


def presidio_worker(path: str, rows: int) -> None:
    """Runs inside the Presidio environment: pattern recognizers only, no NLP model, no network.

    Every predefined pattern recognizer is loaded for English, whatever country it is for, plus the
    phone recognizer (phonenumbers, no model). Each row's scanned cells go to analyze() as one text,
    which costs Presidio fewer calls than one call per cell.
    """
    import inspect
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import importlib

    presidio: Any = importlib.import_module("presidio_analyzer")
    predefined: Any = importlib.import_module("presidio_analyzer.predefined_recognizers")
    nlp: Any = importlib.import_module("presidio_analyzer.nlp_engine")
    AnalyzerEngine, PatternRecognizer, RecognizerRegistry = (  # noqa: N806
        presidio.AnalyzerEngine,
        presidio.PatternRecognizer,
        presidio.RecognizerRegistry,
    )

    registry = RecognizerRegistry(supported_languages=["en"])
    loaded = []
    classes: list[tuple[str, Any]] = inspect.getmembers(predefined, inspect.isclass)
    for name, cls in classes:
        pattern_based = issubclass(cls, PatternRecognizer) and cls is not PatternRecognizer
        if not pattern_based and cls is not predefined.PhoneRecognizer:
            continue
        try:
            registry.add_recognizer(cls(supported_language="en"))
        except TypeError:
            continue
        loaded.append(name)
    engine = nlp.NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    engine.load()
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    scanned = [index for index, name in enumerate(HEADER) if name != "email"]
    found: list[list[Any]] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        texts = [" | ".join(record[i] for i in scanned) for _, record in zip(range(rows), reader, strict=False)]
    size = sum(len(text.encode("utf-8")) for text in texts)
    started = time.perf_counter()
    for row, text in enumerate(texts, start=1):
        for result in analyzer.analyze(text=text, language="en"):
            kind = PRESIDIO_TYPES.get(result.entity_type)
            if kind is not None:
                found.append([row, kind, result.score])
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "rows": len(texts), "bytes": size, "found": found, "recognizers": loaded}))


# --------------------------------------------------------------------------- main


def _ratio(result: dict[str, Any]) -> str:
    return f"{result['found']}/{result['planted']} = {result['recall']:.4f}"


def bench(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="size of the generated file in MB (default 200)")
    parser.add_argument(
        "--presidio-python",
        default=str(Path(tempfile.gettempdir()) / "presidio-venv" / "bin" / "python"),
        help="interpreter of the environment with Presidio (default: <tmp>/presidio-venv/bin/python)",
    )
    parser.add_argument("--presidio-rows", type=int, default=20_000, help="rows compared with Presidio")
    parser.add_argument("--skip-publish", action="store_true")
    parser.add_argument("--workdir", help="directory for the generated files (default: a temporary one)")
    parser.add_argument("--skip-spark", action="store_true", help="leave out the Spark runner and k-anonymity")
    parser.add_argument("--k-rows", type=int, default=10_000_000, help="rows of the k-anonymity benchmark")
    parser.add_argument("--presidio-worker", nargs=2, metavar=("FILE", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--spark-worker", nargs=4, metavar=("KIND", "DATA", "MANIFEST", "CORES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.presidio_worker:
        presidio_worker(args.presidio_worker[0], int(args.presidio_worker[1]))
        return
    if args.spark_worker:
        sys.path.insert(0, str(ROOT))
        from scripts.bench.dataset_spark import spark_worker

        spark_worker(*args.spark_worker)
        return

    sys.path.insert(0, str(ROOT))
    import pyarrow as pa  # type: ignore[import-untyped]

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        planted, clean = work / "orders-planted.csv", work / "orders-clean.csv"
        manifest = work / "orders.manifest.yaml"
        write_manifest(manifest, work / "names.txt")
        started = time.perf_counter()
        truth = generate(planted, clean, args.mb * 1_000_000)
        size = planted.stat().st_size
        print(f"generated {size / 1e6:.1f} MB and its clean twin in {time.perf_counter() - started:.1f} s")
        print(f"  planted values: {len(truth)} in column notes, one every {PLANT_EVERY} rows, 14 types")

        report, wall, cpu = run_scan(planted, manifest)
        full = recall(truth, scan_rows(report))
        print(f"scan: {report.rows_scanned} rows, {size / 1e6:.1f} MB in {wall:.2f} s wall / {cpu:.2f} s CPU")
        print(f"  scan throughput: {size / 1e6 / wall:.1f} MB/s (wall), {size / 1e6 / cpu:.1f} MB/s per CPU second")
        print(f"  recall on planted values: {full['found']}/{full['planted']} = {full['recall']:.4f}")
        print(f"  findings outside the planted column: {extra_findings(report) or 'none'}")

        if not args.skip_spark:
            from scripts.bench.dataset_spark import spark_figures

            spark_figures(planted, manifest, report, wall, work, args.k_rows)

        if not args.skip_publish:
            clean_size = clean.stat().st_size
            timings = run_publish(clean, manifest)
            print(f"publish to Azurite ({clean_size / 1e6:.1f} MB clean twin): {timings['total_s']:.2f} s")
            print(f"  publish throughput: {clean_size / 1e6 / timings['total_s']:.1f} MB/s end to end")
            storage_s = timings["upload_verify_commit_s"]
            print(
                f"  of which scan + sha256: {timings['scan_and_hash_s']:.2f} s; upload, read-back, manifest: "
                f"{storage_s:.2f} s ({clean_size / 1e6 / storage_s:.1f} MB/s)"
            )

        if not Path(args.presidio_python).exists():
            print(
                f"Presidio comparison skipped: {args.presidio_python} not found"
                " (see scripts/bench/presidio-requirements.txt)"
            )
            return
        rows = args.presidio_rows
        presidio = run_presidio(args.presidio_python, planted, rows)
        ours, ours_wall, _ = run_scan(planted, manifest, sample_rows=rows)
        theirs_found: dict[int, set[str]] = defaultdict(set)
        for row, kind, _score in presidio["found"]:
            theirs_found[row].add(kind)
        ours_recall = recall(truth, scan_rows(ours), rows)
        theirs_recall = recall(truth, theirs_found, rows)
        common = set(PRESIDIO_TYPES.values())
        ours_common = recall({r: k & common for r, k in truth.items() if k & common}, scan_rows(ours), rows)
        theirs_common = recall({r: k & common for r, k in truth.items() if k & common}, theirs_found, rows)
        sample_mb = presidio["bytes"] / 1e6
        print(f"Presidio comparison on the first {rows} rows ({sample_mb:.1f} MB of scanned text):")
        print(f"  this scanner: {ours_wall:.3f} s, recall {_ratio(ours_recall)}")
        loaded = len(presidio["recognizers"])
        print(
            f"  Presidio pattern recognizers ({loaded} loaded, no NLP): {presidio['seconds']:.2f} s, "
            f"recall {_ratio(theirs_recall)}"
        )
        print(f"  on the types both cover: this scanner {_ratio(ours_common)}, Presidio {_ratio(theirs_common)}")
        print(f"  speed ratio: {presidio['seconds'] / ours_wall:.0f}x faster than Presidio")
        print("  per type (planted / found by this scanner / found by Presidio):")
        for kind, numbers in ours_recall["per_type"].items():
            theirs = theirs_recall["per_type"].get(kind, {"found": 0})["found"]
            print(f"    {kind:<18} {numbers['planted']:>4} {numbers['found']:>6} {theirs:>6}")
        extra = sum(1 for row, kinds in theirs_found.items() if not (kinds & truth.get(row, set())))
        print(f"  Presidio rows flagged without a planted value of that type: {extra} of {rows}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; a failure is exit status 2 (scripts.common.cli), the figures are printed."""
    bench(argv)
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
