"""The traffic split of an online endpoint, set once its deployments exist.

Azure ML refuses an endpoint whose ``traffic`` or ``mirrorTraffic`` names a deployment that does not
exist yet, and a deployment cannot be created before its endpoint
(https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints creates the
endpoint, then the deployment, then sets its traffic). So the endpoint is created without traffic, then
its deployments, and only then this step writes the split.

The split is written the way ``az ml online-endpoint update --traffic`` does it: GET the endpoint, change
``properties.traffic`` and ``properties.mirrorTraffic``, PUT the whole body back
(OnlineEndpoints_CreateOrUpdate, specification/machinelearningservices/resource-manager/
Microsoft.MachineLearningServices/stable/2025-12-01) with ``If-Match`` on the ETag read, and wait for the
long-running operation (``Azure-AsyncOperation``).

:class:`TrafficClient` holds that logic over an injectable :class:`Transport` (tests use a fake);
:class:`TrafficProvider` is the Pulumi dynamic provider that calls it from ``pulumi up``; and
:class:`EndpointTraffic` is the resource the Endpoint component declares after every deployment.
The step runs again when the split, the endpoint's declared body or a deployment's model changes (the
provider updates the endpoint with a PUT of a body that carries no traffic). Deleting the step clears
the split first, so the deployments can then be deleted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from scripts.plan.arm_types import arm_api_version

API_VERSION = arm_api_version("Microsoft.MachineLearningServices/workspaces/onlineEndpoints")
"""The OnlineEndpoints REST API version azure-native's OnlineEndpoint uses, from the one table of API versions.

At ``pulumi up`` Pulumi pickles :class:`TrafficProvider` by reference (dill keeps a class of an importable module
as its module and name), so the dynamic-provider host imports this module, and with it this import, from the
project directory, as it does the program; ``scripts.plan.arm_types`` imports only the standard library."""

ARM_BY_STORAGE_SUFFIX = {
    "core.windows.net": "https://management.azure.com",
    "core.usgovcloudapi.net": "https://management.usgovcloudapi.net",
    "core.chinacloudapi.cn": "https://management.chinacloudapi.cn",
}
"""Azure Resource Manager endpoint of each cloud, by the cloud's storage endpoint suffix."""

TYPE_TOKEN = "pulumi-python:dynamic/endpoint:Traffic"
"""Type token the engine records for :class:`EndpointTraffic`."""

_READ_ONLY = ("provisioningState", "scoringUri", "swaggerUri")
_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}


class TrafficError(Exception):
    """The split cannot be written: unknown deployments, a bad total, or an ARM failure. One line."""


@dataclass(frozen=True)
class Response:
    """An ARM answer: status, headers (lower-case names) and the JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


class Transport(Protocol):
    """Sends one authenticated ARM request."""

    def request(self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
        """``method`` on ``url`` (absolute) with ``body`` as JSON."""
        ...


class TrafficClient:
    """Reads and writes an endpoint's traffic and mirror split through ARM."""

    def __init__(
        self,
        transport: Transport,
        arm: str = "https://management.azure.com",
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_polls: int = 360,
    ) -> None:
        self.transport = transport
        self.arm = arm.rstrip("/")
        self.sleep = sleep
        self.max_polls = max_polls

    def _url(self, resource_id: str) -> str:
        return f"{self.arm}{resource_id}?api-version={API_VERSION}"

    def deployments(self, endpoint_id: str) -> set[str]:
        """Names of the endpoint's deployments that exist now."""
        url: str | None = f"{self.arm}{endpoint_id}/deployments?api-version={API_VERSION}"
        names: set[str] = set()
        while url:
            answer = self.transport.request("GET", url)
            if answer.status != 200:
                raise TrafficError(f"listing the deployments of {endpoint_id}: HTTP {answer.status}")
            body = answer.body or {}
            names |= {str(d.get("name")) for d in body.get("value", [])}
            url = body.get("nextLink")
        return names

    def apply(self, endpoint_id: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> dict[str, Any]:
        """Write ``traffic`` and ``mirror``; refuse deployments that do not exist and a total other than 100."""
        live = {k: int(v) for k, v in traffic.items()}
        shadow = {k: int(v) for k, v in mirror.items()}
        if live and sum(live.values()) != 100:
            raise TrafficError(f"{endpoint_id}: traffic must add up to 100 (found {sum(live.values())})")
        existing = self.deployments(endpoint_id)
        unknown = sorted((set(live) | set(shadow)) - existing)
        if unknown:
            raise TrafficError(
                f"{endpoint_id}: traffic names deployments that do not exist: {', '.join(unknown)} "
                f"(existing: {', '.join(sorted(existing)) or 'none'})"
            )
        self._write(endpoint_id, live, shadow, missing_ok=False)
        return {"traffic": live, "mirrorTraffic": shadow}

    def clear(self, endpoint_id: str) -> None:
        """Remove every split (an endpoint already gone is fine)."""
        self._write(endpoint_id, {}, {}, missing_ok=True)

    def _write(self, endpoint_id: str, live: dict[str, int], shadow: dict[str, int], *, missing_ok: bool) -> None:
        url = self._url(endpoint_id)
        current = self.transport.request("GET", url)
        if current.status == 404 and missing_ok:
            return
        if current.status != 200 or not isinstance(current.body, dict):
            raise TrafficError(f"reading {endpoint_id}: HTTP {current.status}")
        etag = current.headers.get("etag") or current.body.get("etag")
        body = {k: v for k, v in current.body.items() if k not in ("id", "name", "type", "systemData", "etag")}
        properties = {k: v for k, v in dict(body.get("properties") or {}).items() if k not in _READ_ONLY}
        properties["traffic"] = live
        properties["mirrorTraffic"] = shadow
        body["properties"] = properties
        headers = {"If-Match": etag} if etag else {}
        answer = self.transport.request("PUT", url, body, headers)
        if answer.status == 412:
            raise TrafficError(f"{endpoint_id} changed while the traffic was being written (HTTP 412); run again")
        if answer.status not in (200, 201, 202):
            raise TrafficError(f"writing the traffic of {endpoint_id}: HTTP {answer.status}")
        self._wait(answer, endpoint_id)

    def _wait(self, answer: Response, endpoint_id: str) -> None:
        status_url = answer.headers.get("azure-asyncoperation")
        if not status_url:
            return
        for _ in range(self.max_polls):
            polled = self.transport.request("GET", status_url)
            state = str((polled.body or {}).get("status", "")).lower()
            if state in _TERMINAL:
                if state != "succeeded":
                    error = json.dumps((polled.body or {}).get("error") or {})
                    raise TrafficError(f"writing the traffic of {endpoint_id}: {state} {error}")
                return
            self.sleep(float(answer.headers.get("retry-after", "10")))
        raise TrafficError(f"writing the traffic of {endpoint_id}: no result after {self.max_polls} polls")


class ArmTransport:
    """:class:`Transport` over azure-core with ``DefaultAzureCredential`` tokens and retries."""

    def __init__(self, arm: str) -> None:
        from azure.core.pipeline import Pipeline
        from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
        from azure.core.pipeline.transport import RequestsTransport
        from azure.identity import DefaultAzureCredential

        self._pipeline = Pipeline(
            transport=RequestsTransport(connection_timeout=30, read_timeout=120),
            policies=[
                RetryPolicy(retry_total=4, timeout=300),
                BearerTokenCredentialPolicy(DefaultAzureCredential(), f"{arm}/.default"),
            ],
        )

    def request(self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
        from azure.core.rest import HttpRequest

        all_headers = {"Accept": "application/json", **(headers or {})}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        answer = self._pipeline.run(HttpRequest(method, url, headers=all_headers, content=content)).http_response
        text = answer.text()
        headers_read = {k.lower(): v for k, v in answer.headers.items()}
        return Response(answer.status_code, headers_read, json.loads(text) if text else None)


def _watched(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: props.get(key) for key in ("endpointId", "endpointRevision", "traffic", "mirrorTraffic", "deployments")
    }


class TrafficProvider(ResourceProvider):
    """Dynamic provider: create and update write the split, delete clears it."""

    def __init__(self, arm: str, transport: Transport | None = None) -> None:
        super().__init__()
        self.arm = arm
        self._transport = transport

    def _client(self) -> TrafficClient:
        return TrafficClient(self._transport or ArmTransport(self.arm), self.arm)

    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint_id = props["endpointId"]
        written = self._client().apply(endpoint_id, props.get("traffic") or {}, props.get("mirrorTraffic") or {})
        return CreateResult(f"{props['endpointId']}/traffic", {**props, **written})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = sorted(k for k, v in _watched(news).items() if _watched(olds).get(k) != v)
        replaces = ["endpointId"] if "endpointId" in changed else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        written = self._client().apply(news["endpointId"], news.get("traffic") or {}, news.get("mirrorTraffic") or {})
        return UpdateResult({**news, **written})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._client().clear(props["endpointId"])


class EndpointTraffic(Resource, module="endpoint", name="Traffic"):
    """The traffic and mirror split of one endpoint, written after its deployments (``depends_on``)."""

    def __init__(
        self,
        name: str,
        *,
        arm: str,
        endpoint_id: pulumi.Input[str],
        endpoint_revision: pulumi.Input[str],
        traffic: Mapping[str, int],
        mirror_traffic: Mapping[str, int],
        deployments: Mapping[str, Mapping[str, pulumi.Input[str]]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            TrafficProvider(arm),
            name,
            {
                "endpointId": endpoint_id,
                # changes with the endpoint's declared body, so an endpoint update (a PUT whose body carries no
                # traffic) is followed by the split again
                "endpointRevision": endpoint_revision,
                "traffic": dict(traffic),
                "mirrorTraffic": dict(mirror_traffic),
                # deployment name -> its ID and model: a new model version changes the step's inputs, so the
                # split is written again after the deployment changed
                "deployments": dict(deployments),
                "apiVersion": API_VERSION,
            },
            opts,
        )
