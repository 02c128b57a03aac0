"""A live Azure ML online endpoint (or the gateway in front of it) as an assessment target.

Requests follow the Azure ML online-endpoint scoring contract for MLflow models
(https://learn.microsoft.com/azure/machine-learning/how-to-deploy-mlflow-models-online-endpoints): a POST of
``{"input_data": {"columns": [...], "index": [...], "data": [[...], ...]}}`` to the scoring URL with an
``Authorization: Bearer`` Microsoft Entra token
(https://learn.microsoft.com/azure/machine-learning/how-to-authenticate-online-endpoint), obtained here with
azure-identity's DefaultAzureCredential for the given scope (``https://ml.azure.com/.default`` for an endpoint
itself; the gateway's application ID URI, gateway.jwtAudience, for the gateway). The answer is a JSON list with
one class per row, or one list of class probabilities per row (optionally under ``predictions``); anything
else cannot be judged.

A token is sent only over HTTPS; plain HTTP is accepted only to a loopback address (a local test server).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np

from scripts.common.net import is_loopback
from scripts.common.safeload import InputError

MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class TokenCredential(Protocol):
    def get_token(self, *scopes: str) -> Any: ...


class EndpointTarget:
    """A classifier behind a scoring URL; every row of every request is a query the caller's quota pays for."""

    gradients = False  # a scoring endpoint answers classes or probabilities only

    def __init__(
        self,
        url: str,
        *,
        scope: str,
        columns: list[str],
        nb_classes: int,
        credential: TokenCredential | None = None,
        max_request_bytes: int = 65_536,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise InputError(f"{url}: expected an https:// scoring URL (a token is never sent in clear text)")
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        self.url = url
        self.scope = scope
        self.columns = columns
        self.nb_features = len(columns)
        self.nb_classes = nb_classes
        self.credential = credential
        self.max_request_bytes = max_request_bytes
        self.timeout = timeout
        self.requests = 0

    def _body(self, rows: np.ndarray, start: int) -> bytes:
        payload = {
            "input_data": {
                "columns": self.columns,
                "index": list(range(start, start + rows.shape[0])),
                "data": rows.astype(float).tolist(),
            }
        }
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def _post(self, body: bytes) -> Any:
        token = self.credential.get_token(self.scope).token
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                data = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise InputError(f"{self.url}: the endpoint answered {exc.code} after {self.requests} requests") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise InputError(f"{self.url}: cannot reach the endpoint ({type(exc).__name__})") from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise InputError(f"{self.url}: the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{self.url}: the answer is not JSON") from None

    def _proba(self, answer: Any, rows: int) -> np.ndarray:
        if isinstance(answer, dict) and set(answer) == {"predictions"}:
            answer = answer["predictions"]
        if not isinstance(answer, list) or len(answer) != rows:
            raise InputError(f"{self.url}: expected a JSON list with one answer per row")
        proba = np.zeros((rows, self.nb_classes))
        for i, item in enumerate(answer):
            if type(item) is int and 0 <= item < self.nb_classes:
                proba[i, item] = 1.0
            elif (
                isinstance(item, list)
                and len(item) == self.nb_classes
                and all(type(p) in (int, float) and 0 <= p <= 1 for p in item)
            ):
                proba[i] = item
            else:
                raise InputError(
                    f"{self.url}: answer {i} is neither a class 0..{self.nb_classes - 1} nor "
                    f"{self.nb_classes} probabilities"
                )
        return proba

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        rows = np.asarray(x, dtype=np.float64)
        out: list[np.ndarray] = []
        start = 0
        while start < rows.shape[0]:
            count = rows.shape[0] - start
            body = self._body(rows[start : start + count], start)
            while len(body) > self.max_request_bytes and count > 1:
                count = max(1, count // 2)
                body = self._body(rows[start : start + count], start)
            if len(body) > self.max_request_bytes:
                raise InputError(f"{self.url}: one row is larger than the {self.max_request_bytes} bytes accepted")
            out.append(self._proba(self._post(body), count))
            start += count
        return np.concatenate(out) if out else np.zeros((0, self.nb_classes))
