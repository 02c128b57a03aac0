"""``python -m scripts.dataset``: scan, anonymize, publish and verify datasets."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from scripts.common.cli import EXIT_CANNOT_JUDGE
from scripts.common.safeload import InputError

from . import progress, submit
from .column_scan import Mode
from .errors import EXIT_FINDINGS, EXIT_OK, DatasetError, UnusableInputError
from .manifest import Zone, load_deny_list, load_manifest
from .scanner import ScanReport

PROG = "python -m scripts.dataset"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Move a dataset through the zones: scan for personal data, anonymize, publish, verify.",
        epilog="Exit codes: 0 ok; 1 findings or refused; 2 cannot judge (unusable input, storage out of reach).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = commands.add_parser("scan", help="check a CSV, JSON Lines or Parquet file against its manifest")
    scan.add_argument("data", metavar="DATA")
    scan.add_argument("--manifest", required=True, metavar="MANIFEST")
    scan.add_argument("--json", action="store_true", help="machine-readable output")
    sample = scan.add_mutually_exclusive_group()
    sample.add_argument("--sample", type=_positive, metavar="ROWS", help="scan only the first ROWS rows")
    sample.add_argument("--full", action="store_true", help="scan the whole file even if the manifest sets a sample")
    scan.add_argument(
        "--anonymized",
        action="store_true",
        help="check an anonymized file: dropped columns absent, transformed columns in their output shape",
    )
    scan.add_argument("--deny-list", metavar="FILE", help="names to flag, one per line (overrides scan.deny_list)")
    _engine_arguments(scan)

    anonymize = commands.add_parser("anonymize", help="apply each column's action, re-scan, then write OUT")
    anonymize.add_argument("data", metavar="DATA")
    anonymize.add_argument("--manifest", required=True, metavar="MANIFEST")
    anonymize.add_argument("--out", required=True, metavar="OUT", help="output file (.csv, .jsonl or .parquet)")
    anonymize.add_argument("--key-file", metavar="FILE", help="local HMAC key file (development)")
    anonymize.add_argument("--key-vault-url", metavar="URL", help="Key Vault holding the HMAC key")
    anonymize.add_argument("--key-name", metavar="NAME", help="name of the Key Vault secret")
    anonymize.add_argument("--force", action="store_true", help="replace OUT if it exists")
    anonymize.add_argument("--json", action="store_true", help="machine-readable output")
    anonymize.add_argument("--deny-list", metavar="FILE", help="names to flag, one per line")
    _engine_arguments(anonymize)

    publish = commands.add_parser("publish", help="upload a clean dataset version, content-addressed and immutable")
    publish.add_argument("data", metavar="DATA", nargs="+")
    publish.add_argument("--manifest", required=True, metavar="MANIFEST")
    publish.add_argument("--zone", required=True, choices=[zone.value for zone in Zone])
    _storage_arguments(publish)
    publish.add_argument("--json", action="store_true", help="machine-readable output")
    publish.add_argument("--deny-list", metavar="FILE", help="names to flag, one per line")

    verify = commands.add_parser("verify", help="re-hash every published file against its manifest")
    _storage_arguments(verify)
    verify.add_argument("--dataset", required=True, metavar="NAME")
    verify.add_argument("--version", required=True, metavar="V")
    verify.add_argument("--zone", choices=[zone.value for zone in Zone], help="look only in this zone")
    verify.add_argument("--manifest-sha256", metavar="HEX", help="also require the manifest itself to have this hash")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    submit.add_parser(commands)
    return parser


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local: stream on this machine (default); spark: every partition on Spark (pyspark, group spark)",
    )
    parser.add_argument(
        "--format",
        dest="data_format",
        choices=["csv", "jsonl", "parquet"],
        help="format of a DATA folder whose name has no .csv, .jsonl or .parquet suffix",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="URL", help="https://<account>.blob.core.windows.net (Entra ID)")
    parser.add_argument(
        "--connection-string",
        metavar="STRING",
        help="local emulator only (loopback BlobEndpoint); also read from DATASET_STORAGE_CONNECTION_STRING",
    )


def _print_report(report: ScanReport, out: TextIO) -> None:
    extent = "complete" if report.complete else "sample"
    out.write(f"{report.file}: {report.rows_scanned} rows scanned ({extent}, {report.mode} mode), ")
    if report.clean:
        out.write("no personal data found\n")
        _print_risk(report, out)
        return
    out.write(f"{len(report.findings)} finding(s)\n")
    header = ("COLUMN", "TYPE", "ROWS", "EXAMPLE ROWS")
    lines = [header] + [
        (f.column, f.type, str(f.count), ", ".join(str(row) for row in f.rows)) for f in report.findings
    ]
    widths = [max(len(line[index]) for line in lines) for index in range(3)]
    for line in lines:
        out.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)))
        out.write("  " + line[3] + "\n")
    _print_risk(report, out)


def _print_risk(report: ScanReport, out: TextIO) -> None:
    """k-anonymity and l-diversity as counts: classes and rows, never the values that form them."""
    risk = report.risk
    if risk is None:
        return
    verdict = "meets" if risk.classes_below_k == 0 else "BELOW"
    out.write(
        f"k-anonymity over {', '.join(risk.quasi_identifiers)}: smallest class {risk.smallest_class} row(s), "
        f"{verdict} k={risk.k}; {risk.classes} class(es), {risk.classes_below_k} below k "
        f"holding {risk.rows_below_k} row(s)\n"
    )
    if risk.l is not None:
        verdict = "meets" if risk.classes_below_l == 0 else "BELOW"
        out.write(
            f"l-diversity of {risk.sensitive}: lowest {risk.lowest_diversity} distinct value(s) in a class, "
            f"{verdict} l={risk.l}; {risk.classes_below_l} class(es) below l holding {risk.rows_below_l} row(s)\n"
        )


def _emit(payload: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def _scan(args: argparse.Namespace, out: TextIO) -> int:
    from .scanner import scan_file

    source = load_manifest(args.manifest)
    deny_list = load_deny_list(source, args.deny_list)
    mode: Mode = "anonymized" if args.anonymized else "raw"
    if args.engine == "spark":
        if args.sample:
            raise UnusableInputError(
                "--sample: the Spark runner scans every row (drop --sample, or use --engine local)"
            )
        from .spark_runner import scan_dataset

        report = scan_dataset(args.data, source, mode=mode, deny_list=deny_list, data_format=args.data_format)
    else:
        sample = None if args.full else (args.sample or source.manifest.scan.sample_rows)
        with progress.rows("scan"):
            report = scan_file(
                args.data, source, mode=mode, sample_rows=sample, deny_list=deny_list, data_format=args.data_format
            )
    if args.json:
        _emit(report.to_dict(), out)
    else:
        _print_report(report, out)
    return EXIT_OK if report.clean and report.meets_privacy else EXIT_FINDINGS


def _key(args: argparse.Namespace, needed: bool) -> bytes | None:
    from .keys import fetch_key_vault_secret, load_key_file

    if args.key_file and (args.key_vault_url or args.key_name):
        raise UnusableInputError("give either --key-file or --key-vault-url with --key-name, not both")
    if args.key_file:
        return load_key_file(args.key_file)
    if args.key_vault_url or args.key_name:
        if not (args.key_vault_url and args.key_name):
            raise UnusableInputError("--key-vault-url and --key-name go together")
        from azure.identity import DefaultAzureCredential

        return fetch_key_vault_secret(args.key_vault_url, args.key_name, DefaultAzureCredential())
    if needed:
        raise UnusableInputError(
            f"{args.manifest}: columns use action hash: give --key-vault-url and --key-name"
            " (or --key-file for development)"
        )
    return None


def _anonymize(args: argparse.Namespace, out: TextIO) -> int:
    from .anonymize import AnonymizationIncompleteError, anonymize_file

    source = load_manifest(args.manifest)
    deny_list = load_deny_list(source, args.deny_list)
    key = _key(args, source.manifest.needs_key)
    if args.engine == "spark":
        from .spark_runner import anonymize_dataset, require_pyspark

        require_pyspark()
        run_anonymize: Any = functools.partial(anonymize_dataset, data_format=args.data_format)
    else:
        _check_output(Path(args.out))
        run_anonymize = functools.partial(anonymize_file, data_format=args.data_format)
    try:
        with progress.rows("anonymize"):
            report = run_anonymize(args.data, source, args.out, key=key, deny_list=deny_list, force=args.force)
    except OSError as exc:  # the output folder turned unwritable or full while writing: nothing was kept
        raise UnusableInputError(
            f"{args.out}: cannot write the output ({exc.strerror or type(exc).__name__})"
        ) from None
    except AnonymizationIncompleteError as exc:
        if args.json:
            _emit({"written": False, "scan": exc.report.to_dict()}, out)
        else:
            _print_report(exc.report, out)
        raise
    if args.json:
        _emit({"written": True, "out": args.out, "scan": report.to_dict()}, out)
    else:
        _print_report(report, out)
        out.write(f"wrote {args.out}\n")
    return EXIT_OK


def _check_output(out: Path) -> None:
    """Refuse, before any work, an output that is a folder or sits in a folder this process cannot write."""
    if out.is_dir():
        raise UnusableInputError(f"{out}: is a folder, not an output file")
    folder = out.parent
    if not folder.is_dir():
        raise UnusableInputError(f"{folder}: output folder does not exist")
    try:  # a real write (not os.access, which a privileged process always passes)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UnusableInputError(
            f"{folder}: cannot write in the output folder ({exc.strerror or type(exc).__name__})"
        ) from None


def _connection(args: argparse.Namespace) -> tuple[Any, Any]:
    from .blobs import CONNECTION_STRING_ENV, connect

    connection_string = args.connection_string or (None if args.account else os.environ.get(CONNECTION_STRING_ENV))
    return connect(args.account, connection_string)


def _publish(args: argparse.Namespace, out: TextIO) -> int:
    from .storage import PrivacyRefusedError, ScanRefusedError, plan_publication, publish_dataset

    source = load_manifest(args.manifest)
    deny_list = load_deny_list(source, args.deny_list)
    zone = Zone(args.zone)
    try:
        planned = plan_publication(args.data, source, zone, deny_list)
    except ScanRefusedError as exc:
        if args.json:
            _emit({"published": False, "scan": [report.to_dict() for report in exc.reports]}, out)
        else:
            for report in exc.reports:
                _print_report(report, out)
        raise
    except PrivacyRefusedError as exc:
        if args.json:
            _emit({"published": False, "reidentification": exc.risk.to_dict()}, out)
        raise
    service, publisher = _connection(args)
    with service:
        result = publish_dataset(service, planned, source, zone, publisher)
    if args.json:
        _emit({"published": True, **result.to_dict()}, out)
    else:
        manifest = source.manifest
        for item in result.files:
            resumed = " (already uploaded, verified)" if item["path"] in result.resumed else ""
            out.write(f"uploaded {result.container}/{item['path']}{resumed}\n")
        out.write(
            f"published {manifest.name} {manifest.version} to {result.zone.value}: "
            f"{result.container}/{result.manifest_blob} sha256 {result.manifest_sha256}\n"
        )
    return EXIT_OK


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from .verify import verify_dataset

    zones = [Zone(args.zone)] if args.zone else list(Zone)
    service, _ = _connection(args)
    with service:
        result = verify_dataset(
            service, args.dataset, args.version, zones=zones, expect_manifest_sha256=args.manifest_sha256
        )
    if args.json:
        _emit(result.to_dict(), out)
    else:
        for item in result.files:
            out.write(f"{item['status']:<12} {item['zone']}/{item['path']}\n")
        for problem in result.problems:
            out.write(f"problem: {problem}\n")
        for leftover in result.leftovers:
            out.write(f"leftover: {leftover}\n")
        for zone, risk in result.reidentification.items():
            out.write(
                f"re-identification at publish ({zone}): k-anonymity over {', '.join(risk['quasi_identifiers'])}: "
                f"smallest class {risk['smallest_class']} row(s), k={risk['k']}, {risk['classes']} class(es)"
            )
            if "l" in risk:
                out.write(f"; l-diversity of {risk['sensitive']}: lowest {risk['lowest_diversity']}, l={risk['l']}")
            out.write("\n")
        verdict = "verified" if result.ok else "FAILED"
        zones_text = ", ".join(result.zones) or "no zone"
        out.write(f"{verdict}: {args.dataset} {args.version} in {zones_text}\n")
    return EXIT_OK if result.ok else EXIT_FINDINGS


_COMMANDS = {"scan": _scan, "anonymize": _anonymize, "publish": _publish, "verify": _verify, "submit": submit.run}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command. Failures the tool knows are one line on ``err``; anything else propagates to
    :func:`scripts.common.cli.run` (the module entry point), which turns it into exit 2."""
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, stdout)
    except DatasetError as exc:
        stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except InputError as exc:
        stderr.write(f"error: {exc}\n")
        return EXIT_CANNOT_JUDGE
