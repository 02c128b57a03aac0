"""``python -m scripts.assess``: attack a candidate model and judge it against thresholds.

The command line and the attack run; the verdict is in :mod:`scripts.assess.verdict`, the stealing budget in
:mod:`scripts.assess.budget` and the records file in :mod:`scripts.assess.record`.

Exit 0: every threshold met; 1: a threshold missed; 2: the input cannot be judged (see scripts/common/cli.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policies.catalog.rules.stealing import RECORDS_FILE
from scripts.assess.budget import budget_main
from scripts.assess.evasion import DEFAULT_BUDGETS, run_evasion
from scripts.assess.extraction import DEFAULT_QUERIES, run_extraction
from scripts.assess.live import EndpointTarget
from scripts.assess.membership import run_membership
from scripts.assess.record import record_main
from scripts.assess.reports import write_reports
from scripts.assess.sample import Sample, load_sample
from scripts.assess.target import Counted, Target, load_target
from scripts.assess.verdict import Thresholds, judge, result_document, stack_thresholds, transferability
from scripts.common.cli import EXIT_FOUND, EXIT_OK

ATTACKS = ("evasion", "extraction", "membership")


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
