"""Benchmark of the assessment (``make bench-assess``; not a test): a 20-feature classifier, 1,000 samples.

Measures the wall time of a full assessment (evasion, extraction, membership inference) through the command,
the queries each attack used, and the same attacks called directly - ART's HopSkipJump and
MembershipInferenceBlackBox on a plain onnxruntime session, the scikit-learn surrogate on the same queries -
as the anchor. The overhead ratio (assessment / anchor) should stay at or below 1.2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = 20
ROWS = 1000
SEED = 0


def _setup(folder: Path) -> tuple[Path, Path, Path]:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
    import yaml
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    x, y = make_classification(n_samples=2 * ROWS, n_features=FEATURES, n_informative=10, random_state=SEED)
    x = x.astype(np.float32)
    low, high = np.floor(x.min(axis=0)) - 1, np.ceil(x.max(axis=0)) + 1
    model = RandomForestClassifier(n_estimators=50, random_state=SEED).fit(x[:ROWS], y[:ROWS])
    onnx = folder / "model.onnx"
    onnx.write_bytes(to_onnx(model, x[:1], options={id(model): {"zipmap": False}}).SerializeToString())
    features = [
        {"name": f"f{i}", "type": "float", "min": float(low[i]), "max": float(high[i])} for i in range(FEATURES)
    ]
    specs = []
    for name, rows in (("sample", slice(ROWS, None)), ("members", slice(None, ROWS))):
        columns: dict[str, Any] = {f"f{i}": x[rows, i] for i in range(FEATURES)}
        columns["label"] = y[rows]
        pa_csv.write_csv(pa.table(columns), folder / f"{name}.csv")
        spec = folder / f"{name}.yaml"
        spec.write_text(yaml.safe_dump({"data": f"{name}.csv", "label": "label", "features": features}))
        specs.append(spec)
    return onnx, specs[0], specs[1]


def _anchor(onnx: Path, sample_spec: Path, members_spec: Path, evasion_records: int) -> float:
    """The same attacks called directly, without the assessment's target wrapper, projection or reports."""
    import onnxruntime as ort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from art.attacks.evasion import HopSkipJump
        from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
        from art.estimators.classification import BlackBoxClassifier
    from sklearn.ensemble import RandomForestClassifier

    from scripts.assess.extraction import DEFAULT_QUERIES, NOISE
    from scripts.assess.sample import load_sample

    sample = load_sample(sample_spec, seed=SEED)
    members = load_sample(members_spec, seed=SEED)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx), sess_options=options, providers=["CPUExecutionProvider"])

    name = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(["probabilities"], {name: np.asarray(x, dtype=np.float32)})[0])

    start = time.perf_counter()
    low, span = sample.low, sample.span
    clean = np.argmax(predict(sample.x), axis=1)
    correct = np.flatnonzero(clean == sample.y)[:evasion_records]
    z_all = ((sample.x - low) / span).astype(np.float32)
    starts = np.stack([z_all[np.flatnonzero(clean != clean[i])][0] for i in correct])
    box = BlackBoxClassifier(
        lambda z: predict(low + z * span), input_shape=(FEATURES,), nb_classes=2, clip_values=(0.0, 1.0)
    )
    np.random.seed(SEED)
    HopSkipJump(
        box, norm=2, max_iter=20, max_eval=1000, init_eval=50, init_size=100, batch_size=256, verbose=False
    ).generate(x=z_all[correct], x_adv_init=starts)
    rng = np.random.default_rng(SEED)
    pool = sample.x[: ROWS // 2]
    base = pool[rng.integers(0, pool.shape[0], size=max(DEFAULT_QUERIES))]
    stolen = np.clip(base + rng.normal(0, NOISE, size=base.shape) * span, low, sample.high)
    labels = np.argmax(predict(stolen), axis=1)
    for budget in DEFAULT_QUERIES:
        RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(stolen[:budget], labels[:budget])
    full = BlackBoxClassifier(predict, input_shape=(FEATURES,), nb_classes=2)
    attack = MembershipInferenceBlackBox(full, input_type="prediction", attack_model_type="rf")
    half = ROWS // 2
    attack.fit(x=members.x[:half], y=members.y[:half], test_x=sample.x[:half], test_y=sample.y[:half])
    attack.infer(members.x[half:], members.y[half:])
    attack.infer(sample.x[half:], sample.y[half:])
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    from scripts.assess.cli import main as assess

    evasion_records = 50
    with warnings.catch_warnings():  # both sides start with the libraries imported: imports are not attacks
        warnings.simplefilter("ignore", UserWarning)
        import art.attacks.evasion
        import art.attacks.inference.membership_inference
        import matplotlib.pyplot
        import onnxruntime
        import sklearn.ensemble
    del art, matplotlib, onnxruntime, sklearn
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        onnx, sample, members = _setup(folder)
        start = time.perf_counter()
        argv = ["model", "--model", str(onnx), "--sample", str(sample), "--members", str(members)]
        code = assess([*argv, "--evasion-records", str(evasion_records), "--out", str(folder / "out")])
        wall = time.perf_counter() - start
        report = json.loads((folder / "out" / "assessment.json").read_text())
        anchor = _anchor(onnx, sample, members, evasion_records)
    result = {
        "features": FEATURES,
        "samples": ROWS,
        "exitCode": code,
        "assessmentSeconds": round(wall, 2),
        "anchorSeconds": round(anchor, 2),
        "overheadRatio": round(wall / anchor, 3),
        "queries": {
            "evasion": report["evasion"]["queries"],
            "extraction": report["extraction"]["totalQueries"],
            "membership": report["membership"]["queries"],
            "total": report["queries"],
        },
    }
    out = Path("build") / "bench-assess.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
