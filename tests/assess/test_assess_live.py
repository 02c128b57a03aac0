"""The live-endpoint target end to end: a scoring server on 127.0.0.1 that speaks the Azure ML online-endpoint
contract for MLflow models, a fake Entra credential, and transferability to a shadow model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scripts.assess.__main__ import main
from scripts.assess.live import EndpointTarget
from scripts.assess.sample import load_sample
from scripts.assess.target import OnnxTarget
from scripts.common.cli import run
from scripts.common.safeload import InputError
from tests.assess.models import dataset, to_onnx_file, weak

TOKEN = "fake-entra-token"
COLUMNS = [f"f{i}" for i in range(6)]


@dataclass
class Token:
    token: str
    expires_on: int = 2_000_000_000


@dataclass
class FakeCredential:
    scopes: list[str] = field(default_factory=list)

    def get_token(self, *scopes: str) -> Token:
        self.scopes.extend(scopes)
        return Token(TOKEN)


@dataclass
class Scoring:
    """What the test server saw."""

    model: OnnxTarget
    bodies: list[int] = field(default_factory=list)
    rows: int = 0
    answer: str = "predictions"
    status: int = 200


def _handler(state: Scoring) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length)
            state.bodies.append(length)
            if self.headers["Authorization"] != f"Bearer {TOKEN}" or state.status != 200:
                self.send_response(401 if state.status == 200 else state.status)
                self.end_headers()
                return
            request = json.loads(body)["input_data"]
            assert request["columns"] == COLUMNS
            x = np.array(request["data"], dtype=np.float32)
            state.rows += x.shape[0]
            labels = [int(v) for v in np.argmax(state.model.predict_proba(x), axis=1)]
            if state.answer == "predictions":
                answer: Any = {"predictions": labels}
            elif state.answer == "list":
                answer = labels
            else:
                answer = {"unexpected": True}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("live")
    model, spec = weak(folder)
    from sklearn.linear_model import LogisticRegression

    x, y = dataset(0.6)
    shadow = to_onnx_file(LogisticRegression().fit(x[:600], y[:600]), x, folder / "shadow.onnx")
    return model, spec, shadow


@pytest.fixture
def server(models: tuple[Path, Path, Path]) -> Iterator[tuple[str, Scoring]]:
    state = Scoring(OnnxTarget(models[0]))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/score", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _live(url: str, credential: FakeCredential, max_bytes: int = 65_536) -> EndpointTarget:
    return EndpointTarget(
        url,
        scope="api://ml-scoring/.default",
        columns=COLUMNS,
        nb_classes=2,
        credential=credential,
        max_request_bytes=max_bytes,
    )


def test_the_endpoint_answers_like_the_model_file(server: tuple[str, Scoring], models: tuple[Path, Path, Path]) -> None:
    url, state = server
    sample = load_sample(models[1], seed=0, rows=300)
    credential = FakeCredential()
    live = _live(url, credential)
    expected = np.argmax(OnnxTarget(models[0]).predict_proba(sample.x), axis=1)
    assert np.array_equal(np.argmax(live.predict_proba(sample.x), axis=1), expected)
    assert state.rows == 300 and live.requests == len(state.bodies) == 1
    assert credential.scopes == ["api://ml-scoring/.default"]
    state.answer = "list"
    assert np.array_equal(np.argmax(live.predict_proba(sample.x[:5]), axis=1), expected[:5])


def test_requests_are_split_to_stay_under_the_gateway_size_limit(
    server: tuple[str, Scoring], models: tuple[Path, Path, Path]
) -> None:
    url, state = server
    sample = load_sample(models[1], seed=0, rows=300)
    live = _live(url, FakeCredential(), max_bytes=4_096)
    live.predict_proba(sample.x)
    assert state.rows == 300 and len(state.bodies) > 1 and max(state.bodies) <= 4_096


@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        (503, "predictions", "the endpoint answered 503 after 1 requests"),
        (200, "other", "expected a JSON list with one answer per row"),
    ],
)
def test_errors_and_unknown_answers_cannot_be_judged(
    server: tuple[str, Scoring], status: int, answer: str, message: str
) -> None:
    url, state = server
    state.status, state.answer = status, answer
    with pytest.raises(InputError, match=message):
        _live(url, FakeCredential()).predict_proba(np.zeros((3, 6), dtype=np.float32))


def test_a_token_is_never_sent_in_clear_text_off_this_machine() -> None:
    with pytest.raises(InputError, match="expected an https:// scoring URL"):
        _live("http://ml.example.test/score", FakeCredential())
    assert _live("https://ml.example.test/score", FakeCredential()).url.startswith("https://")


def test_command_assesses_the_endpoint_and_the_shadow(
    server: tuple[str, Scoring], models: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    url, state = server
    model, spec, shadow = models
    argv = ["endpoint", "--url", url, "--classes", "2", "--sample", str(spec), "--rows", "200"]
    argv += ["--attacks", "evasion", "--evasion-records", "10", "--shadow", str(shadow), "--out", str(tmp_path)]
    assert run(main, argv) == 1  # the overfit tree is evaded through its endpoint as through its file
    report = json.loads((tmp_path / "assessment.json").read_text(encoding="utf-8"))
    assert report["queries"] == state.rows and state.rows > 1_000
    transfer = report["transferability"]
    assert transfer["adversarial"] >= 5 and 0 <= transfer["transferred"] < transfer["adversarial"]
    assert "Low transfer is what makes the shadow useful" in transfer["note"]
    # the live model as its own shadow: every evasion transfers
    argv[argv.index(str(shadow))] = str(model)
    assert run(main, argv) == 1
    same = json.loads((tmp_path / "assessment.json").read_text(encoding="utf-8"))["transferability"]
    assert same["transferred"] == same["adversarial"] and same["rate"] == 1.0
