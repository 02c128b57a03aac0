"""Models under assessment, seen only through their answers, with every query counted.

A model file is loaded only in a format that holds no code: ONNX, run by onnxruntime. Pickle-based formats
(joblib, .pkl, MLflow's sklearn flavour) execute code while loading and are refused, whatever their name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scripts.common.safeload import InputError

MAX_MODEL_BYTES = 512 * 1024 * 1024
"""Largest model file loaded."""
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


class Target(Protocol):
    """What an attack may ask of a model: class probabilities for a batch of queries."""

    nb_classes: int
    nb_features: int
    gradients: bool
    """Whether the model exposes loss gradients (white-box attacks need them)."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...


@dataclass
class Counted:
    """A target that counts the rows it is asked about (one row is one scoring call's worth of queries)."""

    target: Target
    queries: int = 0
    per_attack: dict[str, int] = field(default_factory=dict)
    _current: str | None = None

    @property
    def nb_classes(self) -> int:
        return self.target.nb_classes

    @property
    def nb_features(self) -> int:
        return self.target.nb_features

    @property
    def gradients(self) -> bool:
        return self.target.gradients

    def attack(self, name: str) -> None:
        """Count the following queries against ``name``."""
        self._current = name
        self.per_attack.setdefault(name, 0)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        rows = int(np.asarray(x).shape[0])
        self.queries += rows
        if self._current is not None:
            self.per_attack[self._current] += rows
        return self.target.predict_proba(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.argmax(self.predict_proba(x), axis=1))


class OnnxTarget:
    """A classifier in an ONNX file: one float tensor input (rows, features), class probabilities out.

    skl2onnx classifiers answer a label and probabilities, the latter either as a tensor (``zipmap=False``)
    or as a list of {class: probability} maps (the default ZipMap); both are read. A model with only a
    label output answers one-hot probabilities.
    """

    gradients = False  # onnxruntime runs inference only: no loss gradients for white-box attacks

    def __init__(self, path: Path, *, nb_classes: int | None = None) -> None:
        import onnxruntime as ort

        self.path = path
        _refuse_unsafe(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # deterministic answers, and one core of a shared machine
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise InputError(f"{path}: not a model onnxruntime can load ({type(exc).__name__})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 2 or inputs[0].type != "tensor(float)":
            raise InputError(f"{path}: expected one float input of shape (rows, features)")
        self.input_name = inputs[0].name
        width = inputs[0].shape[1]
        if not isinstance(width, int):
            raise InputError(f"{path}: the model input does not state its number of features")
        self.nb_features = width
        outputs = self.session.get_outputs()
        self._proba = next((o.name for o in outputs if "prob" in o.name.lower()), None)
        self._label = next((o.name for o in outputs if "label" in o.name.lower()), outputs[0].name)
        probe = self._raw(np.zeros((1, width), dtype=np.float32))
        found = probe.shape[1] if probe.ndim == 2 else None
        if nb_classes is None and found is None:
            raise InputError(f"{path}: the model answers labels only; give the number of classes")
        self.nb_classes = int(nb_classes or found or 0)

    def _raw(self, x: np.ndarray) -> np.ndarray:
        if self._proba is None:
            labels = np.asarray(self.session.run([self._label], {self.input_name: x})[0]).astype(np.int64)
            return labels
        out: Any = self.session.run([self._proba], {self.input_name: x})[0]
        if isinstance(out, list):  # ZipMap: one {class: probability} mapping per row
            keys = sorted(out[0]) if out else []
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(x, dtype=np.float32)
        raw = self._raw(batch)
        if raw.ndim == 1:  # labels only
            proba = np.zeros((batch.shape[0], self.nb_classes))
            proba[np.arange(batch.shape[0]), raw] = 1.0
            return proba
        return raw


def _refuse_unsafe(path: Path) -> None:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model file: {exc.strerror}") from None
    if path.suffix.lower() != ".onnx":
        raise InputError(f"{path}: expected an ONNX model (.onnx); pickle-based formats run code when loaded")
    if head.startswith(_PICKLE_MAGIC) or head.startswith(b"PK"):
        raise InputError(f"{path}: the file is a pickle or an archive, not ONNX; it is not loaded")
    if size > MAX_MODEL_BYTES:
        raise InputError(f"{path}: the model is {size} bytes, more than the {MAX_MODEL_BYTES} accepted")


def load_target(path: Path) -> Target:
    """The model in ``path`` (ONNX only)."""
    return OnnxTarget(path)
