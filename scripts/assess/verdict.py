"""What an assessment concludes: the thresholds a model must meet, one finding per threshold, and the result
document the reports are written from (with the shadow deployment's transferability when one is attacked)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scripts.assess.evasion import EvasionResult
from scripts.assess.extraction import ExtractionResult
from scripts.assess.membership import MembershipResult
from scripts.assess.sample import Sample
from scripts.assess.stack import stack_settings
from scripts.assess.target import Counted


@dataclass(frozen=True)
class Thresholds:
    """What a model must withstand to pass."""

    evasion_budget: float = 0.05
    """Perturbation budget (RMS fraction of each feature's range) at which evasion success is judged."""
    max_evasion_success: float = 0.5
    """Largest share of records an attacker may flip within evasion_budget."""
    fidelity_target: float = 0.9
    """Surrogate fidelity that counts as a stolen model."""
    min_queries_to_fidelity: int = 1000
    """Fewest queries the extraction may need to reach fidelity_target."""
    max_membership_advantage: float = 0.1
    """Largest membership-inference advantage (true-positive minus false-positive rate) allowed."""


def stack_thresholds(stack: str, deployment: str, root: Path) -> Thresholds:
    """The assessment thresholds of ``endpoint/deployment`` in the stack file."""
    from scripts.common.safeload import InputError

    settings = stack_settings(stack, root)
    endpoint_name, _, deployment_name = deployment.partition("/")
    for workspace in settings.workspaces:
        for endpoint in workspace.endpoints:
            for candidate in endpoint.deployments:
                if endpoint.name == endpoint_name and candidate.name == deployment_name:
                    a = candidate.assessment
                    return Thresholds(
                        a.evasion_budget,
                        a.max_evasion_success,
                        a.fidelity_target,
                        a.min_queries_to_fidelity,
                        a.max_membership_advantage,
                    )
    raise InputError(f"stacks/Pulumi.{stack}.yaml: no deployment {deployment} (expected ENDPOINT/DEPLOYMENT)")


def judge(
    thresholds: Thresholds,
    evasion: EvasionResult | None,
    extraction: ExtractionResult | None,
    membership: MembershipResult | None = None,
) -> list[dict[str, Any]]:
    """One finding per threshold checked: its name, the measured value, the limit and whether it passed."""
    findings: list[dict[str, Any]] = []
    if evasion is not None:
        rate = evasion.success_at(thresholds.evasion_budget)
        findings.append(
            {
                "id": "evasion-success",
                "passed": rate <= thresholds.max_evasion_success,
                "measured": rate,
                "limit": thresholds.max_evasion_success,
                "message": f"{evasion.attack} fooled the model on {rate:.1%} of {evasion.records} records within a "
                f"budget of {thresholds.evasion_budget} (at most {thresholds.max_evasion_success:.1%} allowed)",
            }
        )
    if extraction is not None:
        needed = extraction.queries_to_target
        passed = needed is None or needed >= thresholds.min_queries_to_fidelity
        shown = f"{needed} queries" if needed is not None else f"more than {max(extraction.queries)} queries"
        findings.append(
            {
                "id": "extraction-cost",
                "passed": passed,
                "measured": needed,
                "limit": thresholds.min_queries_to_fidelity,
                "message": f"a surrogate reached {thresholds.fidelity_target:.0%} fidelity after {shown} "
                f"(at least {thresholds.min_queries_to_fidelity} required)",
            }
        )
    if membership is not None:
        findings.append(
            {
                "id": "membership-advantage",
                "passed": membership.advantage <= thresholds.max_membership_advantage,
                "measured": round(membership.advantage, 6),
                "limit": thresholds.max_membership_advantage,
                "message": f"membership inference told training records from held-out ones with an advantage of "
                f"{membership.advantage:.2f} on {membership.records} of each (at most "
                f"{thresholds.max_membership_advantage:.2f} allowed)",
            }
        )
    return findings


def _number(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 6)


def result_document(
    *,
    model: Path | str,
    seed: int,
    rows: int,
    thresholds: Thresholds,
    evasion: EvasionResult | None,
    extraction: ExtractionResult | None,
    findings: list[dict[str, Any]],
    queries: int,
    membership: MembershipResult | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "model": str(model),
        "seed": seed,
        "sampleRows": rows,
        "queries": queries,
        "thresholds": {
            "evasionBudget": thresholds.evasion_budget,
            "maxEvasionSuccess": thresholds.max_evasion_success,
            "fidelityTarget": thresholds.fidelity_target,
            "minQueriesToFidelity": thresholds.min_queries_to_fidelity,
            "maxMembershipAdvantage": thresholds.max_membership_advantage,
        },
        "passed": all(f["passed"] for f in findings),
        "findings": findings,
    }
    if evasion is not None:
        document["evasion"] = {
            "attack": evasion.attack,
            "records": evasion.records,
            "queries": evasion.queries,
            "budgets": list(evasion.budgets),
            "successRate": [round(s, 6) for s in evasion.success],
            "distances": [_number(d) for d in evasion.distances],
            "whiteBox": evasion.white_box,
        }
    if extraction is not None:
        document["extraction"] = {
            "surrogate": extraction.surrogate,
            "queries": list(extraction.queries),
            "fidelity": [round(f, 6) for f in extraction.fidelity],
            "fidelityTarget": extraction.target_fidelity,
            "queriesToTarget": extraction.queries_to_target,
            "evaluatedOn": extraction.evaluated_on,
            "totalQueries": extraction.total_queries,
        }
    if membership is not None:
        document["membership"] = {
            "attack": membership.attack,
            "records": membership.records,
            "advantage": round(membership.advantage, 6),
            "truePositiveRate": round(membership.true_positive_rate, 6),
            "falsePositiveRate": round(membership.false_positive_rate, 6),
            "baselineAdvantage": round(membership.baseline_advantage, 6),
            "queries": membership.queries,
        }
    return document


TRANSFER_NOTE = (
    "Share of the adversarial records that fool the live model and also fool the shadow. Low transfer is what "
    "makes the shadow useful: an input crafted against the live model that the shadow still answers correctly "
    "shows up as a disagreement between the two, which the platform can watch for; high transfer means the "
    "shadow fails with the live model and adds no detection."
)


def transferability(evasion: EvasionResult, sample: Sample, shadow: Counted) -> dict[str, Any]:
    """How many of the evasions that fooled the live model also fool the shadow (against the true class)."""
    shadow.attack("transferability")
    count = int(evasion.adversarial.shape[0])
    if count == 0:
        return {"adversarial": 0, "transferred": 0, "rate": None, "note": TRANSFER_NOTE}
    fooled = shadow.predict(evasion.adversarial) != sample.y[evasion.fooled]
    clean = shadow.predict(sample.x[evasion.fooled]) == sample.y[evasion.fooled]
    return {
        "adversarial": count,
        "transferred": int(np.sum(fooled)),
        "rate": round(float(np.mean(fooled)), 6),
        "shadowCorrectOnOriginals": int(np.sum(clean)),
        "note": TRANSFER_NOTE,
    }
