"""Extraction (model stealing): how well a surrogate trained on the model's answers copies it.

ART's extraction attacks do not fit tabular scikit-learn surrogates: CopycatCNN and KnockoffNets train the
thieved classifier with ``fit(x, y, batch_size=..., nb_epochs=...)``, which ART's scikit-learn wrapper
passes on to scikit-learn's ``fit`` (a TypeError), and FunctionallyEquivalentExtraction recovers two-layer
ReLU networks only (art/attacks/extraction/copycat_cnn.py ``extract``, knockoff_nets.py,
functionally_equivalent_extraction.py in adversarial-robustness-toolbox 1.20.1). So the attack follows
Copycat's random strategy with a scikit-learn surrogate: the attacker holds in-distribution records without
labels (half of the sample), makes queries from them by adding noise (10 % of each range, projected onto
the feature types and ranges), asks the model for its class and trains a surrogate on the answers.

Fidelity is the share of the other half of the sample (never queried) on which the surrogate answers like
the model. The result gives fidelity at each query budget and the fewest queries that reached the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scripts.assess.sample import Sample
from scripts.assess.target import Counted

DEFAULT_QUERIES = (50, 100, 200, 500, 1000, 2000, 5000)
NOISE = 0.1
"""Standard deviation of the noise added to the attacker's records, as a fraction of each feature's range."""


@dataclass(frozen=True)
class ExtractionResult:
    surrogate: str
    queries: tuple[int, ...]
    fidelity: tuple[float, ...]
    """Agreement of surrogate and model on the held-out half, at each query budget."""
    target_fidelity: float
    queries_to_target: int | None
    """Fewest of the budgets that reached target_fidelity (None: none did)."""
    evaluated_on: int
    total_queries: int


def _surrogate(seed: int) -> object:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def run_extraction(
    target: Counted,
    sample: Sample,
    *,
    seed: int,
    queries: tuple[int, ...] = DEFAULT_QUERIES,
    target_fidelity: float = 0.9,
) -> ExtractionResult:
    """Train a surrogate on ``max(queries)`` answers and report its fidelity at each budget."""
    target.attack("extraction")
    rng = np.random.default_rng(seed)
    half = sample.x.shape[0] // 2
    pool, held_out = sample.x[:half], sample.x[half:]
    budgets = tuple(sorted(set(queries)))
    largest = budgets[-1]
    base = pool[rng.integers(0, pool.shape[0], size=largest)]
    stolen_x = sample.project(base + rng.normal(0.0, NOISE, size=base.shape) * sample.span)
    stolen_y = target.predict(stolen_x)
    truth = target.predict(held_out)
    fidelity = []
    for budget in budgets:
        model = _surrogate(seed)
        y = stolen_y[:budget]
        if np.unique(y).size < 2:  # one class answered so far: the surrogate can only say that class
            agreement = float(np.mean(truth == y[0]))
        else:
            model.fit(stolen_x[:budget], y)  # type: ignore[attr-defined]
            agreement = float(np.mean(model.predict(held_out) == truth))  # type: ignore[attr-defined]
        fidelity.append(agreement)
    reached = next((b for b, f in zip(budgets, fidelity, strict=True) if f >= target_fidelity), None)
    return ExtractionResult(
        surrogate="RandomForestClassifier(n_estimators=100)",
        queries=budgets,
        fidelity=tuple(fidelity),
        target_fidelity=target_fidelity,
        queries_to_target=reached,
        evaluated_on=int(held_out.shape[0]),
        total_queries=target.per_attack["extraction"],
    )
