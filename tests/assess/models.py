"""Small test models trained here on generated tabular data and converted to ONNX (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import yaml

FEATURES = 6


def dataset(separation: float, *, rows: int = 1200, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of Gaussian records ``separation`` apart along every feature; feature 5 is an integer 0..9."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=rows)
    x = rng.normal(0.0, 1.0, size=(rows, FEATURES)) + np.outer(y, np.full(FEATURES, separation))
    x = np.clip(x, -5.0, 5.0 + separation)
    x[:, 5] = np.clip(np.rint(x[:, 5] + 4), 0, 9)
    return x.astype(np.float32), y.astype(np.int64)


def ranges(separation: float) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = [
        {"name": f"f{i}", "type": "float", "min": -5.0, "max": 5.0 + separation} for i in range(FEATURES - 1)
    ]
    features.append({"name": f"f{FEATURES - 1}", "type": "int", "min": 0, "max": 9})
    return features


def write_sample(folder: Path, x: np.ndarray, y: np.ndarray, separation: float, **extra: Any) -> Path:
    columns: dict[str, Any] = {f"f{i}": x[:, i] for i in range(FEATURES)}
    columns["label"] = y
    pa_csv.write_csv(pa.table(columns), folder / "sample.csv")
    spec = {"data": "sample.csv", "label": "label", "features": ranges(separation), **extra}
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder / "spec.yaml"


def to_onnx_file(model: Any, x: np.ndarray, path: Path, *, zipmap: bool = False) -> Path:
    from skl2onnx import to_onnx

    onnx = to_onnx(model, x[:1], options={id(model): {"zipmap": zipmap}}, target_opset=17)
    path.write_bytes(onnx.SerializeToString())
    return path


def weak(folder: Path) -> tuple[Path, Path]:
    """A deep decision tree on overlapping classes: every record sits near a jagged boundary."""
    from sklearn.tree import DecisionTreeClassifier

    x, y = dataset(0.6)
    model = DecisionTreeClassifier(random_state=0).fit(x[:600], y[:600])
    return to_onnx_file(model, x, folder / "weak.onnx"), write_sample(folder, x[600:], y[600:], 0.6)


def robust(folder: Path) -> tuple[Path, Path]:
    """A logistic regression on well-separated classes: a record must move far to change class."""
    from sklearn.linear_model import LogisticRegression

    x, y = dataset(4.0)
    model = LogisticRegression(C=0.01).fit(x[:600], y[:600])
    return to_onnx_file(model, x, folder / "robust.onnx"), write_sample(folder, x[600:], y[600:], 4.0)


def members(folder: Path, separation: float) -> Path:
    """The sample spec of the 600 training records of :func:`weak` or :func:`robust` (same seed)."""
    x, y = dataset(separation)
    sub = folder / "members"
    sub.mkdir(exist_ok=True)
    return write_sample(sub, x[:600], y[:600], separation)
