"""Membership inference: can an attacker tell the records a model was trained on from others?

ART's MembershipInferenceBlackBox trains an attack model (a random forest, seeded) on the target's
probabilities and the true labels of known members (training records) and known non-members (held-out
records), then guesses membership of records it has not seen. ART's rule-based attack
(MembershipInferenceBlackBoxRuleBased: "a member if the model answers it correctly") is the baseline.

The members and non-members are balanced and split in two halves: the first trains the attack, the second
measures it. The **attack advantage** is true-positive rate minus false-positive rate on the second half
(0: no better than a coin; 1: every member found and no non-member mistaken). A model that memorized its
training data (an overfit tree) leaks membership; one that generalizes does not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from scripts.assess.sample import Sample
from scripts.assess.target import Counted
from scripts.common.safeload import InputError

MAX_RECORDS = 1000
"""Most members (and as many non-members) used."""


@dataclass(frozen=True)
class MembershipResult:
    attack: str
    records: int
    """Members (and non-members) the attack was measured on."""
    advantage: float
    true_positive_rate: float
    false_positive_rate: float
    baseline_advantage: float
    """Advantage of the rule-based attack (member if classified correctly)."""
    queries: int


def _advantage(guess_members: np.ndarray, guess_others: np.ndarray) -> tuple[float, float, float]:
    tpr = float(np.mean(guess_members == 1))
    fpr = float(np.mean(guess_others == 1))
    return tpr - fpr, tpr, fpr


def run_membership(target: Counted, members: Sample, others: Sample, *, seed: int) -> MembershipResult:
    """ART's black-box membership inference with ``members`` (training records) and ``others`` (held out)."""
    with warnings.catch_warnings():  # ART warns at import that PyTorch (never installed here) is missing
        warnings.simplefilter("ignore", UserWarning)
        from art.attacks.inference.membership_inference import (
            MembershipInferenceBlackBox,
            MembershipInferenceBlackBoxRuleBased,
        )
        from art.estimators.classification import BlackBoxClassifier

    if members.x.shape[1] != others.x.shape[1]:
        raise InputError("the members' sample spec and the sample spec describe different features")
    target.attack("membership")
    n = min(members.x.shape[0], others.x.shape[0], MAX_RECORDS) // 2 * 2
    if n < 20:
        raise InputError("membership inference needs at least 20 members and 20 held-out records")
    half = n // 2
    mx, my = members.x[:n], members.y[:n]
    ox, oy = others.x[:n], others.y[:n]
    classifier = BlackBoxClassifier(target.predict_proba, input_shape=(mx.shape[1],), nb_classes=target.nb_classes)
    # Ask the model once per record; the attacks get its answers, so no record is queried twice.
    member_pred = classifier.predict(mx)
    other_pred = classifier.predict(ox)
    # ART's own random forest (an unfitted forest passed as attack_model trips ART's `if self.attack_model`,
    # which asks the forest its length); unseeded, it draws from numpy's global generator, seeded here.
    attack = MembershipInferenceBlackBox(classifier, input_type="prediction", attack_model_type="rf")
    np.random.seed(seed)
    attack.fit(
        x=mx[:half],
        y=my[:half],
        test_x=ox[:half],
        test_y=oy[:half],
        pred=member_pred[:half],
        test_pred=other_pred[:half],
    )
    advantage, tpr, fpr = _advantage(
        np.asarray(attack.infer(mx[half:], my[half:], pred=member_pred[half:])).ravel(),
        np.asarray(attack.infer(ox[half:], oy[half:], pred=other_pred[half:])).ravel(),
    )
    rule_based = MembershipInferenceBlackBoxRuleBased(classifier)
    baseline, _, _ = _advantage(
        np.asarray(rule_based.infer(mx[half:], my[half:])).ravel(),
        np.asarray(rule_based.infer(ox[half:], oy[half:])).ravel(),
    )
    return MembershipResult(
        attack="MembershipInferenceBlackBox(rf)",
        records=n - half,
        advantage=advantage,
        true_positive_rate=tpr,
        false_positive_rate=fpr,
        baseline_advantage=baseline,
        queries=target.per_attack["membership"],
    )
