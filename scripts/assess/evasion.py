"""Evasion: how small a change to a correctly classified record makes the model answer wrongly.

ART's HopSkipJump (a decision-based black-box attack: it sees only the predicted class) searches, for each
correctly classified record of the sample, the smallest L2 change that flips the answer. It works in the
range-normalized space (every feature scaled to [0, 1] by its range in the sample spec), so it never leaves
the declared ranges; the adversarial record is then projected onto the feature types (integer features
rounded, every feature clipped) and asked again: only a projected record that still fools the model counts.

The budget of a perturbation is its root-mean-square change per feature, as a fraction of the features'
ranges: ``||x' - x||_2 / sqrt(features)`` in normalized units (0.05 = on average 5 % of each range).
The success rate at a budget is the share of correctly classified records with a counted adversarial
record within that budget.

White-box attacks need loss gradients; an ONNX model run by onnxruntime exposes none (and tree ensembles
have none at all), so only decision-based attacks run against model files.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from scripts.assess.sample import Sample
from scripts.assess.target import Counted
from scripts.common.safeload import InputError

DEFAULT_BUDGETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


@dataclass(frozen=True)
class EvasionResult:
    attack: str
    records: int
    """Records attacked (correctly classified by the model)."""
    budgets: tuple[float, ...]
    success: tuple[float, ...]
    """Success rate at each budget."""
    distances: tuple[float, ...]
    """Budget each attacked record needed (inf: not fooled)."""
    queries: int
    adversarial: np.ndarray
    """Projected adversarial records (rows of attacked records that fooled the model), in feature units."""
    fooled: np.ndarray
    """Indices into the sample of the records whose adversarial record fooled the model."""
    white_box: str

    def success_at(self, budget: float) -> float:
        return float(np.mean([d <= budget for d in self.distances])) if self.distances else 0.0


def run_evasion(
    target: Counted,
    sample: Sample,
    *,
    seed: int,
    records: int = 50,
    budgets: tuple[float, ...] = DEFAULT_BUDGETS,
    max_iter: int = 20,
    max_eval: int = 1000,
) -> EvasionResult:
    """HopSkipJump on up to ``records`` correctly classified records of ``sample``."""
    with warnings.catch_warnings():  # ART warns at import that PyTorch (never installed here) is missing
        warnings.simplefilter("ignore", UserWarning)
        from art.attacks.evasion import HopSkipJump
        from art.estimators.classification import BlackBoxClassifier

    logging.getLogger("art").setLevel(logging.WARNING)
    target.attack("evasion")
    low, span = sample.low, sample.span
    clean = target.predict(sample.x)
    correct = np.flatnonzero(clean == sample.y)[:records]
    if correct.size == 0:
        return EvasionResult(
            "HopSkipJump",
            0,
            budgets,
            tuple(0.0 for _ in budgets),
            (),
            target.per_attack["evasion"],
            np.empty((0, sample.x.shape[1]), dtype=np.float32),
            np.empty(0, dtype=np.int64),
            _white_box(target),
        )

    def predict(z: np.ndarray) -> np.ndarray:
        return target.predict_proba((low + np.asarray(z, dtype=np.float64) * span).astype(np.float32))

    classifier = BlackBoxClassifier(
        predict, input_shape=(sample.x.shape[1],), nb_classes=target.nb_classes, clip_values=(0.0, 1.0)
    )
    attack = HopSkipJump(
        classifier,
        norm=2,
        max_iter=max_iter,
        max_eval=max_eval,
        init_eval=50,
        init_size=100,
        batch_size=256,
        verbose=False,
    )
    z_all = ((sample.x - low) / span).astype(np.float32)
    z = z_all[correct]
    # HopSkipJump draws its starting points from an unseeded numpy RandomState (hop_skip_jump.py,
    # _init_sample), so it would not be deterministic: start it instead from the nearest sample record the
    # model classifies differently, a real record inside the feature box.
    start = np.empty_like(z)
    for row, index in enumerate(correct):
        other = np.flatnonzero(clean != clean[index])
        if other.size == 0:
            raise InputError("the model answers one class for the whole sample: no starting point for evasion")
        nearest = other[np.argmin(np.sum((z_all[other] - z[row]) ** 2, axis=1))]
        start[row] = z_all[nearest]
    np.random.seed(seed)  # ART draws its step directions from numpy's global generator
    z_adv = attack.generate(x=z, y=None, x_adv_init=start)
    x_adv = sample.project(low + np.asarray(z_adv, dtype=np.float64) * span)
    fooled = target.predict(x_adv) != sample.y[correct]
    rms = np.sqrt(np.mean(((x_adv - sample.x[correct]) / span) ** 2, axis=1))
    distances = tuple(float(d) if f else float("inf") for d, f in zip(rms, fooled, strict=True))
    success = tuple(float(np.mean([d <= b for d in distances])) for b in budgets)
    return EvasionResult(
        attack="HopSkipJump",
        records=int(correct.size),
        budgets=budgets,
        success=success,
        distances=distances,
        queries=target.per_attack["evasion"],
        adversarial=x_adv[fooled],
        fooled=correct[fooled],
        white_box=_white_box(target),
    )


def _white_box(target: Counted) -> str:
    if target.gradients:
        return "available"
    return "not run: the target exposes no gradients (ONNX run by onnxruntime answers classes and probabilities)"
