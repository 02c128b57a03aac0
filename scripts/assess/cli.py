"""``python -m scripts.assess``: attack a candidate model and judge it against thresholds.

Exit 0: every threshold met; 1: a threshold missed; 2: the input cannot be judged (see scripts/common/cli.py).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from policies.catalog.rules.stealing import RECORDS_FILE, RecordsError, parse_records
from scripts.assess.budget import Limits, budget, stolen_unnoticed
from scripts.assess.evasion import DEFAULT_BUDGETS, EvasionResult, run_evasion
from scripts.assess.extraction import DEFAULT_QUERIES, ExtractionResult, run_extraction
from scripts.assess.live import EndpointTarget
from scripts.assess.membership import MembershipResult, run_membership
from scripts.assess.reports import write_reports
from scripts.assess.sample import Sample, load_sample
from scripts.assess.target import Counted, Target, load_target
from scripts.common.cli import EXIT_FOUND, EXIT_OK

ATTACKS = ("evasion", "extraction", "membership")


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


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("expected a number from 0 to 1")
    return value


def _budgets(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected whole numbers separated by commas") from None
    if not values or min(values) < 1 or max(values) > 1_000_000:
        raise argparse.ArgumentTypeError("expected budgets from 1 to 1000000")
    return values


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m scripts.assess", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    model = common
    model.add_argument("--sample", type=Path, required=True, help="sample spec (YAML): data file, label, features")
    model.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    model.add_argument("--rows", type=_positive, default=1000, help="sample rows used (default 1000)")
    model.add_argument(
        "--attacks",
        default=None,
        help="comma-separated: evasion,extraction,membership (default: all; membership only with --members)",
    )
    model.add_argument("--members", type=Path, help="sample spec of training records (for membership inference)")
    model.add_argument("--max-membership-advantage", type=_fraction)
    model.add_argument("--evasion-records", type=_positive, default=50, help="records attacked by evasion")
    model.add_argument("--evasion-budget", type=_fraction)
    model.add_argument("--max-evasion-success", type=_fraction)
    model.add_argument("--fidelity-target", type=_fraction)
    model.add_argument("--min-queries-to-fidelity", type=_positive)
    model.add_argument("--stack", help="take the thresholds from this stack's deployment (with --deployment)")
    model.add_argument("--deployment", help="ENDPOINT/DEPLOYMENT in the stack whose assessment thresholds apply")
    model.add_argument(
        "--extraction-queries",
        type=_budgets,
        default=DEFAULT_QUERIES,
        help="comma-separated query budgets of the extraction (default 50,...,5000); reach past what one caller "
        "may make unnoticed (see the budget command)",
    )
    model.add_argument("--out", type=Path, default=Path("build/assess"), help="folder for assessment.json")
    model.add_argument("--shadow", type=Path, help="shadow model file (.onnx): how many evasions transfer to it")
    model.add_argument("--shadow-url", help="shadow deployment's scoring URL (same scope): transferability")
    target = commands.add_parser("model", parents=[common], help="attack a model file (ONNX)")
    target.add_argument("--model", type=Path, required=True, help="the candidate model (.onnx)")
    live = commands.add_parser("endpoint", parents=[common], help="attack a live scoring URL (Entra token)")
    live.add_argument("--url", required=True, help="scoring URL of the endpoint or the gateway's model API")
    live.add_argument("--scope", default="https://ml.azure.com/.default", help="token scope (gateway: its jwtAudience)")
    live.add_argument("--classes", type=_positive, required=True, help="number of classes the model answers")
    live.add_argument("--max-request-bytes", type=_positive, default=65_536, help="largest request body (gateway)")
    cost = commands.add_parser("budget", help="compare a stack's gateway limits with a measured extraction cost")
    cost.add_argument("--stack", required=True, help="stack name: reads stacks/Pulumi.<stack>.yaml")
    cost.add_argument("--assessment", type=Path, required=True, help="assessment.json of the model (extraction)")
    cost.add_argument("--project-dir", type=Path, default=Path("."), help="project root (default: here)")
    record = commands.add_parser("record", help="write a model's measured extraction cost to the records file")
    record.add_argument("--assessment", type=Path, required=True, help="assessment.json of the model")
    record.add_argument("--model-ref", required=True, help="the reference deployments name: azureml:<name>:<version>")
    record.add_argument("--report-location", required=True, help="where the reviewed assessment.json is kept")
    record.add_argument("--records", type=Path, default=RECORDS_FILE, help="records file (policies/assessments.yaml)")
    return root


def record_main(args: argparse.Namespace) -> int:
    """Add or replace one model's record, keeping the file's header comment; the gate reads it."""
    import re

    import yaml

    from scripts.common.safeload import InputError, read_text

    if not re.fullmatch(r"azureml:[A-Za-z0-9][A-Za-z0-9_.-]{0,254}:[0-9]+", args.model_ref):
        raise InputError("--model-ref: expected azureml:<name>:<version>, as a deployment's model names it")
    needed, target, largest = measured_cost(args.assessment)
    text = read_text(args.records, what="records file")
    try:
        records = parse_records(yaml.safe_load(text), str(args.records))
    except (RecordsError, yaml.YAMLError) as exc:
        raise InputError(f"{args.records}: cannot be read ({type(exc).__name__})") from None
    document = {
        model: {
            "fidelityTarget": r.fidelity_target,
            "queriesToTarget": r.queries_to_target,
            "maxQueries": r.max_queries,
        }
        for model, r in records.items()
    }
    old = yaml.safe_load(text)["models"]
    for model, entry in document.items():
        if isinstance(old.get(model), dict) and "report" in old[model]:
            entry["report"] = old[model]["report"]
    document[args.model_ref] = {
        "fidelityTarget": target,
        "queriesToTarget": needed,
        "maxQueries": largest,
        "report": args.report_location,
    }
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    body = yaml.safe_dump({"models": dict(sorted(document.items()))}, sort_keys=False, default_flow_style=False)
    args.records.write_text(header + body, encoding="utf-8")
    print(f"recorded {args.model_ref}: {needed} queries to {target:.0%} fidelity (tried up to {largest})")
    return EXIT_OK


def stack_thresholds(stack: str, deployment: str, root: Path) -> Thresholds:
    """The assessment thresholds of ``endpoint/deployment`` in the stack file."""
    from components.config import ConfigError
    from scripts.common.cli import UsageError
    from scripts.common.safeload import InputError
    from scripts.ops.kill_switch import load_settings

    try:
        settings = load_settings(stack, root)
    except UsageError as exc:
        raise InputError(str(exc)) from None
    except ConfigError as exc:
        raise InputError(str(exc).splitlines()[0] + " (run the offline plan for every problem)") from None
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


def resolve_thresholds(args: argparse.Namespace) -> Thresholds:
    """Each threshold from its option if given, else from the stack's deployment, else the default."""
    if (args.stack is None) != (args.deployment is None):
        parser().error("--stack and --deployment go together")
    base = stack_thresholds(args.stack, args.deployment, Path(".")) if args.stack is not None else Thresholds()
    return Thresholds(
        base.evasion_budget if args.evasion_budget is None else args.evasion_budget,
        base.max_evasion_success if args.max_evasion_success is None else args.max_evasion_success,
        base.fidelity_target if args.fidelity_target is None else args.fidelity_target,
        base.min_queries_to_fidelity if args.min_queries_to_fidelity is None else args.min_queries_to_fidelity,
        base.max_membership_advantage if args.max_membership_advantage is None else args.max_membership_advantage,
    )


def stack_limits(stack: str, root: Path) -> Limits:
    """The per-caller limits of the stack's gateway, validated as the program validates them."""
    from components.config import ConfigError
    from scripts.common.cli import UsageError
    from scripts.common.safeload import InputError
    from scripts.ops.kill_switch import load_settings

    try:
        gateway = load_settings(stack, root).gateway
    except UsageError as exc:
        raise InputError(str(exc)) from None
    except ConfigError as exc:
        raise InputError(str(exc).splitlines()[0] + " (run the offline plan for every problem)") from None
    window, threshold = gateway.quota_volume_alert()
    return Limits(
        rate_calls=gateway.rate_limit.calls,
        rate_period_seconds=gateway.rate_limit.renewal_period_seconds,
        quota_calls=gateway.quota.calls,
        quota_period_seconds=gateway.quota.renewal_period_seconds,
        alert_threshold=gateway.caller_volume_threshold,
        period_alert=(threshold, window),
    )


def measured_cost(path: Path) -> tuple[int | None, float, int]:
    """queriesToTarget, fidelityTarget and the largest budget tried, from an assessment.json."""
    from scripts.common.safeload import InputError, mapping, read_json

    document = mapping(read_json(path, what="assessment report"), str(path), "assessment report")
    extraction = document.get("extraction")
    if not isinstance(extraction, dict):
        raise InputError(f"{path}: the assessment report has no extraction result")
    needed = extraction.get("queriesToTarget")
    target = extraction.get("fidelityTarget")
    queries = extraction.get("queries")
    valid_needed = needed is None or (isinstance(needed, int) and not isinstance(needed, bool) and needed > 0)
    if not valid_needed or not isinstance(target, float) or not isinstance(queries, list) or not queries:
        raise InputError(f"{path}: extraction.queriesToTarget, fidelityTarget or queries is missing or malformed")
    if not all(isinstance(q, int) and not isinstance(q, bool) for q in queries):
        raise InputError(f"{path}: extraction.queries must be whole numbers")
    return needed, target, max(queries)


def budget_main(args: argparse.Namespace) -> int:
    limits = stack_limits(args.stack, args.project_dir)
    needed, target, largest = measured_cost(args.assessment)
    found = budget(limits)
    hours = found.quota_period_seconds / 3600
    print(f"one caller, stack {args.stack}:")
    print(f"  {found.before_alert} queries per 15 minutes before the caller-volume alert fires")
    if found.before_period_alert is not None and limits.period_alert is not None:
        window_hours = limits.period_alert[1] / 3600
        print(f"  {found.before_period_alert} queries per {window_hours:g} h before the quota-volume alert fires")
    print(f"  {found.before_any_alert} queries before the first alert fires")
    print(f"  {found.before_quota} queries before the quota stops the caller ({hours:g} h period)")
    print(f"  {found.unnoticed_per_quota_period} queries per quota period without any alert")
    if needed is None:
        print(f"  the extraction did not reach {target:.0%} fidelity within {largest} queries")
    else:
        print(f"  the extraction reached {target:.0%} fidelity after {needed} queries")
    if stolen_unnoticed(needed, limits):
        print(
            f"FAIL stealing-budget: one caller copies the model to {target:.0%} fidelity within a quota period "
            "without an alert; lower gateway.quota.calls, gateway.quotaVolumePercent or gateway.callerVolumeThreshold "
            f"below {needed} queries per period, or release a model that costs more to copy"
        )
        return EXIT_FOUND
    if needed is None and largest < found.unnoticed_per_quota_period:
        print(
            f"FAIL stealing-budget: the extraction tried only {largest} queries, fewer than the "
            f"{found.unnoticed_per_quota_period} one caller may make unnoticed; the cost is not measured far enough"
        )
        return EXIT_FOUND
    print("PASS stealing-budget: stealing the model takes more queries than one caller may make unnoticed")
    return EXIT_OK


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


def _target(args: argparse.Namespace, sample: Sample, *, shadow: bool = False) -> Target:
    """The model file or scoring URL the command names (its shadow with ``shadow``)."""
    path = args.shadow if shadow else getattr(args, "model", None)
    url = args.shadow_url if shadow else getattr(args, "url", None)
    if path is not None:
        return load_target(path)
    if url is None:
        from scripts.common.safeload import InputError

        raise InputError("no model: give --model, --url or, for the shadow, --shadow or --shadow-url")
    columns = [f.name for f in sample.spec.features]
    classes = getattr(args, "classes", None) or int(sample.y.max()) + 1
    return EndpointTarget(
        url,
        scope=getattr(args, "scope", "https://ml.azure.com/.default"),
        columns=columns,
        nb_classes=classes,
        max_request_bytes=getattr(args, "max_request_bytes", 65_536),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "budget":
        return budget_main(args)
    if args.command == "record":
        return record_main(args)
    if args.attacks is None:
        attacks = [a for a in ATTACKS if a != "membership" or args.members is not None]
    else:
        attacks = [a.strip() for a in args.attacks.split(",") if a.strip()]
    unknown = sorted(set(attacks) - set(ATTACKS))
    if unknown or not attacks:
        parser().error(f"--attacks: expected some of {', '.join(ATTACKS)}")
    if "membership" in attacks and args.members is None:
        parser().error("--attacks membership needs --members (a sample spec of training records)")
    thresholds = resolve_thresholds(args)
    sample = load_sample(args.sample, seed=args.seed, rows=args.rows)
    target = Counted(_target(args, sample))
    if target.nb_features != sample.x.shape[1]:
        from scripts.common.safeload import InputError

        raise InputError(f"{args.sample}: {sample.x.shape[1]} features, but the model takes {target.nb_features}")
    budgets = tuple(sorted({*DEFAULT_BUDGETS, thresholds.evasion_budget}))
    evasion = (
        run_evasion(target, sample, seed=args.seed, records=args.evasion_records, budgets=budgets)
        if "evasion" in attacks
        else None
    )
    queries = tuple(sorted({*args.extraction_queries, thresholds.min_queries_to_fidelity}))
    extraction = (
        run_extraction(target, sample, seed=args.seed, queries=queries, target_fidelity=thresholds.fidelity_target)
        if "extraction" in attacks
        else None
    )
    membership = (
        run_membership(target, load_sample(args.members, seed=args.seed), sample, seed=args.seed)
        if "membership" in attacks and args.members is not None
        else None
    )
    transfer = None
    if evasion is not None and (args.shadow is not None or args.shadow_url is not None):
        shadow = Counted(_target(args, sample, shadow=True))
        transfer = transferability(evasion, sample, shadow)
    findings = judge(thresholds, evasion, extraction, membership)
    document = result_document(
        model=str(getattr(args, "model", None) or args.url),
        seed=args.seed,
        rows=int(sample.x.shape[0]),
        thresholds=thresholds,
        evasion=evasion,
        extraction=extraction,
        findings=findings,
        queries=target.queries,
        membership=membership,
    )
    if transfer is not None:
        document["transferability"] = transfer
    written = write_reports(document, args.out)
    for finding in findings:
        print(f"{'PASS' if finding['passed'] else 'FAIL'} {finding['id']}: {finding['message']}")
    print(f"{target.queries} queries; wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return EXIT_OK if document["passed"] else EXIT_FOUND
