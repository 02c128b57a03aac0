"""Builders for test data files and manifests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HMAC_KEY = b"test-only-hmac-key-0123456789abcdef-0123456789"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(dict(zip(header, row, strict=True))) + "\n")
    return path


def write_parquet(path: Path, header: list[str], rows: list[list[str]], row_group_size: int = 1000) -> Path:
    table = pa.table({name: [row[index] for row in rows] for index, name in enumerate(header)})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def manifest_document(columns: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "customers",
        "version": "1.0.0",
        "classification": "confidential",
        "source": {"kind": "internal", "uri": "https://crm.example.internal/exports/customers"},
        "columns": columns,
    }
    document.update(overrides)
    return document


def write_manifest(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def none_columns(header: list[str]) -> list[dict[str, Any]]:
    return [{"name": name, "pii": "none", "action": "keep"} for name in header]
