"""The assessment on model files: sample loading, the ONNX target, evasion, extraction and the command."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from scripts.assess.__main__ import main
from scripts.assess.evasion import run_evasion
from scripts.assess.extraction import run_extraction
from scripts.assess.sample import load_sample
from scripts.assess.target import Counted, OnnxTarget, load_target
from scripts.common.cli import run
from scripts.common.safeload import InputError
from tests.assess.models import dataset, robust, to_onnx_file, weak, write_sample

QUICK = (50, 100, 200)


@pytest.fixture(scope="module")
def weak_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return weak(tmp_path_factory.mktemp("weak"))


@pytest.fixture(scope="module")
def robust_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return robust(tmp_path_factory.mktemp("robust"))


# --- sample -------------------------------------------------------------------------------------------


def test_sample_is_shuffled_with_the_seed_and_cut(robust_model: tuple[Path, Path]) -> None:
    _, spec = robust_model
    a = load_sample(spec, seed=3, rows=100)
    b = load_sample(spec, seed=3, rows=100)
    c = load_sample(spec, seed=4, rows=100)
    assert a.x.shape == (100, 6) and a.y.shape == (100,)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    assert a.integer.tolist() == [False] * 5 + [True]


def test_projection_rounds_integers_and_clips_to_ranges(robust_model: tuple[Path, Path]) -> None:
    sample = load_sample(robust_model[1], seed=0, rows=10)
    out = sample.project(np.array([[-9.0, 0.25, 1.0, 2.0, 99.0, 4.6], [0.0, 0.0, 0.0, 0.0, 0.0, -3.0]]))
    assert out.tolist() == [[-5.0, 0.25, 1.0, 2.0, 9.0, 5.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["features"][0].update(max=0.0), "column f0 has values outside its range"),
        (lambda s: s["features"][1].update(type="int"), "column f1 is declared int but holds fractions"),
        (lambda s: s.update(label="f0"), "(top level): label: the label column is also listed"),
        (lambda s: s["features"][2].update(name="missing"), "no column missing"),
        (lambda s: s.update(data="sample.txt"), "expected a .csv or .parquet sample file"),
        (lambda s: s["features"][0].update(min=7.0), "features.0: feature f0: min must be below max"),
        (lambda s: s.update(extra=1), "extra: Extra inputs are not permitted"),
    ],
)
def test_bad_sample_specs_cannot_be_judged(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    x, y = dataset(1.0, rows=50)
    spec_path = write_sample(tmp_path, x, y, 1.0)
    (tmp_path / "sample.txt").write_text("f0\n1\n", encoding="utf-8")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    change(spec)
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_sample(spec_path, seed=0)
    assert message in str(caught.value)


def test_features_must_be_kept_columns_of_the_dataset_manifest(tmp_path: Path) -> None:
    columns = [{"name": f"f{i}", "pii": "none", "action": "keep"} for i in range(6)]
    columns.append({"name": "label", "pii": "none", "action": "keep"})
    manifest = {
        "name": "scores",
        "version": "1",
        "classification": "internal",
        "source": {"kind": "internal", "uri": "https://example.test/scores"},
        "columns": columns,
    }
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    x, y = dataset(1.0, rows=50)
    spec = write_sample(tmp_path, x, y, 1.0, manifest="manifest.yaml")
    assert load_sample(spec, seed=0).x.shape == (50, 6)
    columns[3]["action"] = "drop"
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    with pytest.raises(InputError, match=r"column f3 is dropped by the dataset manifest manifest\.yaml"):
        load_sample(spec, seed=0)
    del columns[3]
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    with pytest.raises(InputError, match="column f3 is not in the dataset manifest"):
        load_sample(spec, seed=0)


# --- target -------------------------------------------------------------------------------------------


def test_zipmap_and_tensor_outputs_give_the_same_probabilities(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = dataset(1.0, rows=200)
    model = LogisticRegression().fit(x, y)
    tensor = OnnxTarget(to_onnx_file(model, x, tmp_path / "tensor.onnx", zipmap=False))
    zipmap = OnnxTarget(to_onnx_file(model, x, tmp_path / "zipmap.onnx", zipmap=True))
    assert (tensor.nb_classes, tensor.nb_features, tensor.gradients) == (2, 6, False)
    assert np.allclose(tensor.predict_proba(x[:20]), zipmap.predict_proba(x[:20]))
    assert np.allclose(tensor.predict_proba(x[:20]), model.predict_proba(x[:20]), atol=1e-5)


def test_pickles_are_never_loaded(tmp_path: Path) -> None:
    disguised = tmp_path / "model.onnx"
    disguised.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(InputError, match="is a pickle or an archive, not ONNX"):
        load_target(disguised)
    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(InputError, match="expected an ONNX model"):
        load_target(plain)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a model onnxruntime can load"):
        load_target(garbage)


def test_every_query_row_is_counted_per_attack(robust_model: tuple[Path, Path]) -> None:
    target = Counted(load_target(robust_model[0]))
    target.attack("a")
    target.predict(np.zeros((7, 6), dtype=np.float32))
    target.attack("b")
    target.predict_proba(np.zeros((3, 6), dtype=np.float32))
    assert (target.queries, target.per_attack) == (10, {"a": 7, "b": 3})


# --- evasion ------------------------------------------------------------------------------------------


def test_evasion_is_deterministic_and_stays_in_the_feature_box(weak_model: tuple[Path, Path]) -> None:
    model, spec = weak_model
    sample = load_sample(spec, seed=0, rows=200)
    first = run_evasion(Counted(load_target(model)), sample, seed=0, records=10, max_iter=5)
    second = run_evasion(Counted(load_target(model)), sample, seed=0, records=10, max_iter=5)
    assert first.distances == second.distances and first.queries == second.queries
    assert first.records == 10 and first.queries > 0
    assert np.all(first.adversarial >= sample.low) and np.all(first.adversarial <= sample.high)
    assert np.array_equal(first.adversarial[:, 5], np.rint(first.adversarial[:, 5]))
    assert list(first.success) == sorted(first.success)
    target = Counted(load_target(model))
    assert np.all(target.predict(first.adversarial) != sample.y[first.fooled])
    assert first.white_box.startswith("not run: the target exposes no gradients")


def test_weak_model_is_evaded_and_robust_one_is_not(
    weak_model: tuple[Path, Path], robust_model: tuple[Path, Path]
) -> None:
    weak_run = run_evasion(
        Counted(load_target(weak_model[0])), load_sample(weak_model[1], seed=0, rows=200), seed=0, records=20
    )
    robust_run = run_evasion(
        Counted(load_target(robust_model[0])), load_sample(robust_model[1], seed=0, rows=200), seed=0, records=20
    )
    assert weak_run.success_at(0.05) >= 0.6
    assert robust_run.success_at(0.1) == 0.0
    assert robust_run.success_at(0.5) >= 0.9  # a large enough budget flips any classifier


# --- extraction ---------------------------------------------------------------------------------------


def test_extraction_counts_queries_and_is_deterministic(robust_model: tuple[Path, Path]) -> None:
    sample = load_sample(robust_model[1], seed=0, rows=400)
    target = Counted(load_target(robust_model[0]))
    first = run_extraction(target, sample, seed=0, queries=QUICK, target_fidelity=0.95)
    # the largest budget, plus the held-out half answered once to measure agreement
    assert first.total_queries == 200 + 200 and first.evaluated_on == 200
    second = run_extraction(Counted(load_target(robust_model[0])), sample, seed=0, queries=QUICK, target_fidelity=0.95)
    assert first.fidelity == second.fidelity
    assert first.queries == QUICK
    # a linear model on separated classes is stolen at once: the first budget already agrees almost everywhere
    assert first.fidelity[0] >= 0.95 and first.queries_to_target == 50


def test_a_jagged_model_costs_more_queries_to_steal(weak_model: tuple[Path, Path]) -> None:
    sample = load_sample(weak_model[1], seed=0, rows=600)
    result = run_extraction(Counted(load_target(weak_model[0])), sample, seed=0, queries=QUICK, target_fidelity=0.95)
    assert max(result.fidelity) < 0.95 and result.queries_to_target is None


# --- the command --------------------------------------------------------------------------------------


def _cli(model: Path, spec: Path, out: Path, *extra: str) -> int:
    args = ["model", "--model", str(model), "--sample", str(spec), "--out", str(out), "--rows", "300"]
    return run(main, [*args, "--evasion-records", "10", *extra])


def test_command_fails_a_weak_model(weak_model: tuple[Path, Path], tmp_path: Path) -> None:
    assert _cli(*weak_model, tmp_path, "--attacks", "evasion") == 1
    report = json.loads((tmp_path / "assessment.json").read_text(encoding="utf-8"))
    assert report["passed"] is False
    assert [f["id"] for f in report["findings"]] == ["evasion-success"]
    assert report["findings"][0]["measured"] > 0.5
    assert report["evasion"]["records"] == 10 and report["evasion"]["budgets"] == [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    sarif = json.loads((tmp_path / "assessment.sarif").read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["evasion-success"]
    assert (tmp_path / "evasion.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "extraction.png").exists()


def test_command_passes_a_robust_model_and_fails_its_extraction_cost(
    robust_model: tuple[Path, Path], tmp_path: Path
) -> None:
    assert _cli(*robust_model, tmp_path / "e", "--attacks", "evasion") == 0
    report = json.loads((tmp_path / "e" / "assessment.json").read_text(encoding="utf-8"))
    assert report["findings"][0]["passed"] is True and report["findings"][0]["measured"] == 0.0
    assert _cli(*robust_model, tmp_path / "x", "--attacks", "extraction", "--min-queries-to-fidelity", "500") == 1
    report = json.loads((tmp_path / "x" / "assessment.json").read_text(encoding="utf-8"))
    assert report["findings"][0]["measured"] == 50 and report["extraction"]["queriesToTarget"] == 50
    assert report["extraction"]["queries"] == [50, 100, 200, 500, 1000, 2000, 5000]


def test_command_cannot_judge_bad_input(
    robust_model: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pickled = tmp_path / "m.onnx"
    pickled.write_bytes(pickle.dumps([1], protocol=4))
    assert _cli(pickled, robust_model[1], tmp_path) == 2
    assert "is a pickle or an archive" in capsys.readouterr().err
    assert _cli(robust_model[0], tmp_path / "none.yaml", tmp_path) == 2
    assert _cli(*robust_model, tmp_path, "--attacks", "poison") == 2
    assert not (tmp_path / "assessment.json").exists()


def test_parquet_samples_read_like_csv(robust_model: tuple[Path, Path], tmp_path: Path) -> None:
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    spec_path = robust_model[1]
    pq.write_table(pa_csv.read_csv(spec_path.parent / "sample.csv"), tmp_path / "sample.parquet")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec["data"] = "sample.parquet"
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    from_csv = load_sample(spec_path, seed=1, rows=50)
    from_parquet = load_sample(tmp_path / "spec.yaml", seed=1, rows=50)
    assert np.array_equal(from_csv.x, from_parquet.x) and np.array_equal(from_csv.y, from_parquet.y)


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(main, ["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("model", "endpoint", "budget", "record"))
