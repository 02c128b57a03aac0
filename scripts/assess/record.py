"""``python -m scripts.assess record``: write a model's measured extraction cost to the reviewed records file
(policies/assessments.yaml), which the gate's stealing-budget rule (MLSEC-EPT-030) reads."""

from __future__ import annotations

import argparse

from policies.catalog.rules.stealing import RecordsError, parse_records
from scripts.assess.budget import measured_cost
from scripts.common.cli import EXIT_OK


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
