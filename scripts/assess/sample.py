"""The labelled sample an assessment attacks, and the feature types and ranges every query must respect.

A sample spec (YAML) names the data file (CSV or Parquet), the label column and, for each feature in the
model's input order, its type (``float`` or ``int``) and its range. It may name the dataset manifest the file
was published with (scripts/dataset/manifest.py); every feature and the label must then be a column of that
manifest that is kept (not dropped by anonymization), so the assessment attacks the data the model sees.
The dataset manifest describes columns' sensitivity and anonymization, not their numeric ranges, which is
why the ranges live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError, model_validator

from scripts.common.safeload import InputError, mapping, read_yaml

MAX_SAMPLE_BYTES = 256 * 1024 * 1024
"""Largest data file read for a sample."""
MAX_ROWS = 100_000
"""Most rows an assessment takes from the data file (the first ones, after a seeded shuffle)."""

Number = StrictInt | StrictFloat


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Feature(_Strict):
    """One model input, in the model's input order."""

    name: Annotated[StrictStr, Field(min_length=1)]
    type: Literal["float", "int"]
    min: Number
    max: Number

    @model_validator(mode="after")
    def _range(self) -> Feature:
        if not self.min < self.max:
            raise ValueError(f"feature {self.name}: min must be below max")
        return self


class SampleSpec(_Strict):
    """What the sample file holds."""

    data: Annotated[StrictStr, Field(min_length=1)]
    """CSV or Parquet file, relative to the spec."""
    label: Annotated[StrictStr, Field(min_length=1)]
    """Column holding the true class (integers 0..n-1)."""
    features: Annotated[tuple[Feature, ...], Field(min_length=1, max_length=4096)]
    manifest: Annotated[StrictStr, Field(min_length=1)] | None = None
    """Dataset manifest of the data file, relative to the spec (optional)."""

    @model_validator(mode="after")
    def _names(self) -> SampleSpec:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("features: duplicate feature name")
        if self.label in names:
            raise ValueError("label: the label column is also listed as a feature")
        return self


@dataclass(frozen=True)
class Sample:
    """A labelled sample and the box every query stays in."""

    spec: SampleSpec
    x: np.ndarray
    """Features, float32, shape (rows, features)."""
    y: np.ndarray
    """True classes, int64, shape (rows,)."""
    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray
    """Mask of integer features."""

    def project(self, x: np.ndarray) -> np.ndarray:
        """Queries moved into the feature box: integer features rounded, every feature clipped to its range."""
        out = np.asarray(x, dtype=np.float64).copy()
        out[:, self.integer] = np.rint(out[:, self.integer])
        return np.clip(out, self.low, self.high).astype(np.float32)

    @property
    def span(self) -> np.ndarray:
        """Width of each feature's range (perturbations are measured relative to it)."""
        return np.asarray(self.high - self.low, dtype=np.float64)


def load_spec(path: Path) -> SampleSpec:
    data = mapping(read_yaml(path, what="sample spec"), str(path), "sample spec")
    try:
        return SampleSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"{path}: {where}: {message}") from None


def _check_manifest(spec: SampleSpec, spec_path: Path) -> None:
    if spec.manifest is None:
        return
    from scripts.dataset.errors import DatasetError
    from scripts.dataset.manifest import load_manifest

    try:
        manifest = load_manifest(spec_path.parent / spec.manifest).manifest
    except DatasetError as exc:
        raise InputError(str(exc)) from None
    for name in (*(f.name for f in spec.features), spec.label):
        column = manifest.column(name)
        if column is None:
            raise InputError(f"{spec_path}: column {name} is not in the dataset manifest {spec.manifest}")
        if column.action == "drop":
            raise InputError(f"{spec_path}: column {name} is dropped by the dataset manifest {spec.manifest}")


def _read_table(path: Path) -> pa.Table:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the sample data: {exc.strerror}") from None
    if size > MAX_SAMPLE_BYTES:
        raise InputError(f"{path}: the sample data is {size} bytes, more than the {MAX_SAMPLE_BYTES} accepted")
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        if path.suffix.lower() == ".csv":
            return pa_csv.read_csv(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: the sample data cannot be read ({type(exc).__name__})") from None
    raise InputError(f"{path}: expected a .csv or .parquet sample file")


def _column(table: pa.Table, name: str, path: Path) -> np.ndarray:
    if name not in table.column_names:
        raise InputError(f"{path}: no column {name}")
    column = table.column(name)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise InputError(f"{path}: column {name} is not numeric")
    if column.null_count:
        raise InputError(f"{path}: column {name} has empty values")
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{path}: column {name} has values that are not finite numbers")
    return values


def load_sample(spec_path: Path, *, seed: int, rows: int | None = None) -> Sample:
    """The spec's sample, shuffled with ``seed`` and cut to ``rows``; every value checked against its range."""
    spec = load_spec(spec_path)
    _check_manifest(spec, spec_path)
    data_path = spec_path.parent / spec.data
    table = _read_table(data_path)
    if table.num_rows < 2:
        raise InputError(f"{data_path}: the sample has fewer than 2 rows")
    columns = []
    for feature in spec.features:
        values = _column(table, feature.name, data_path)
        if np.any(values < feature.min) or np.any(values > feature.max):
            raise InputError(f"{data_path}: column {feature.name} has values outside its range in {spec_path}")
        if feature.type == "int" and np.any(values != np.rint(values)):
            raise InputError(f"{data_path}: column {feature.name} is declared int but holds fractions")
        columns.append(values)
    labels = _column(table, spec.label, data_path)
    if np.any(labels != np.rint(labels)) or np.any(labels < 0):
        raise InputError(f"{data_path}: label column {spec.label} must hold class numbers 0, 1, ...")
    order = np.random.default_rng(seed).permutation(table.num_rows)[: min(rows or MAX_ROWS, MAX_ROWS)]
    x = np.stack(columns, axis=1)[order].astype(np.float32)
    return Sample(
        spec=spec,
        x=x,
        y=labels[order].astype(np.int64),
        low=np.array([f.min for f in spec.features], dtype=np.float64),
        high=np.array([f.max for f in spec.features], dtype=np.float64),
        integer=np.array([f.type == "int" for f in spec.features]),
    )
