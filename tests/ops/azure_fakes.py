"""Recorded Azure Resource Manager responses for tests of the scripts that talk to ARM."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import CaseInsensitiveDict


class Recorded(HttpResponse):
    """A complete, already-read ARM response."""

    def __init__(self, request: HttpRequest, status: int, body: Any) -> None:
        self._request = request
        self._status = status
        # bytes are sent as they are; anything else as JSON
        self._content = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        self._headers: MutableMapping[str, str] = CaseInsensitiveDict({"Content-Type": "application/json"})
        self._encoding: str | None = "utf-8"

    request = property(lambda self: self._request)
    status_code = property(lambda self: self._status)
    headers = property(lambda self: self._headers)
    reason = property(lambda self: "recorded")
    content_type = property(lambda self: "application/json")
    is_closed = property(lambda self: True)
    is_stream_consumed = property(lambda self: True)
    url = property(lambda self: self._request.url)
    content = property(lambda self: self._content)

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content)

    def raise_for_status(self) -> None:
        raise AssertionError("the scripts read status codes themselves")

    def __enter__(self) -> Recorded:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        return None

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content


class FakeTransport(HttpTransport[HttpRequest, HttpResponse]):
    """A transport that never touches a network: subclasses answer ``send``; retry back-offs are recorded in
    ``sleeps`` instead of slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)
