"""The build order, held by the type checker: monitoring and the network take a BaseContext; every component
that sends diagnostics, raises alerts or opens private endpoints takes a Context, which cannot be built
without all three. mypy (strict, as the project runs it) must accept the complete wiring and refuse each
component given the base alone.

Pulumi's packages are not followed (their types become Any): what is checked is the context types, and the
azure-native package alone takes minutes to analyse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

HEADER = """\
from components.common import AlertTarget, BaseContext, Context, DiagnosticsTarget, PrivateLinkTarget, log_alert
from components.controlplane import ControlPlaneWatchArgs
from components.keyvault import KeyVaultArgs
from components.monitoring import MonitoringArgs
from components.telemetry import TelemetryArgs
from components.workspace import WorkspaceArgs

base = BaseContext(
    subscription_id="s", tenant_id="t", resource_group_name="rg", location="westeurope", tags={},
    prod=False, lock=True, zone_redundant=False,
)
diagnostics = DiagnosticsTarget(workspace_id="law")
alerts = AlertTarget(workspace_id="law", action_group_id="ag")
private_endpoints = PrivateLinkTarget(subnet_id="snet", dns_zone_ids={})
ctx = Context.of(base, diagnostic_settings=diagnostics, alerts=alerts, private_endpoints=private_endpoints)
"""

USES = {
    "workspace": 'WorkspaceArgs(ctx={}, name="w", data_scientist_group_id="g", key_vault_id="k", '
    'application_insights_id="a")',
    "key vault": "KeyVaultArgs(ctx={})",
    "telemetry": 'TelemetryArgs(ctx={}, vnet_id="v", workspace_id="w", app_insights_id="a", zones={{}}, '
    "hub_dns_zone_ids={{}})",
    "control plane": 'ControlPlaneWatchArgs(ctx={}, name="n", protected=[])',
    "log alert": 'log_alert("n", None, {}, "title", "query")',
}


COMPLETE = [use.format("ctx") for use in USES.values()] + [
    "MonitoringArgs(ctx=base, log_retention_days=30, alert_emails=[])"
]
BASE_ONLY = [use.format("base") for use in USES.values()]
INCOMPLETE = [
    'Context(subscription_id="s", tenant_id="t", resource_group_name="rg", location="westeurope", tags={}, '
    "prod=False, lock=True, zone_redundant=False, diagnostic_settings=diagnostics, alerts=alerts)",
    "Context.of(base, diagnostic_settings=diagnostics, alerts=None, private_endpoints=private_endpoints)",
]


@pytest.fixture(scope="module")
def errors(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """mypy's errors over the header and every case (one line each), by line number."""
    tmp = tmp_path_factory.mktemp("mypy")
    source = tmp / "snippet.py"
    source.write_text(HEADER + "".join(f"{line}\n" for line in COMPLETE + BASE_ONLY + INCOMPLETE))
    config = tmp / "mypy.ini"
    config.write_text(
        f"[mypy]\nstrict = True\nfollow_imports = silent\nmypy_path = {ROOT}\n"
        "[mypy-pulumi,pulumi.*,pulumi_azure_native,pulumi_azure_native.*]\nfollow_imports = skip\n"
    )
    out, err, _ = api.run(
        ["--config-file", str(config), "--cache-dir", str(tmp / "cache"), "--no-error-summary", str(source)]
    )
    assert not err, err
    found = {}
    for line in out.splitlines():
        match = re.fullmatch(r".*snippet\.py:(\d+): error: (.*)", line)
        assert match, line
        found[int(match[1])] = match[2]
    return found


def _line(cases: list[str], index: int) -> int:
    """Line number of ``cases[index]`` in the snippet."""
    first = HEADER.count("\n") + 1
    for group in (COMPLETE, BASE_ONLY, INCOMPLETE):
        if group is cases:
            return first + index
        first += len(group)
    raise AssertionError("unknown case group")


def test_the_complete_wiring_type_checks(errors: dict[int, str]):
    assert not {n: e for n, e in errors.items() if n < _line(BASE_ONLY, 0)}


def test_components_built_after_monitoring_and_the_network_refuse_the_base_context(errors: dict[int, str]):
    callee = {
        "workspace": '"WorkspaceArgs"',
        "key vault": '"KeyVaultArgs"',
        "telemetry": '"TelemetryArgs"',
        "control plane": '"ControlPlaneWatchArgs"',
        "log alert": '"log_alert"',
    }
    argument = {name: "3" if name == "log alert" else '"ctx"' for name in USES}
    assert {n: e for n, e in errors.items() if _line(BASE_ONLY, 0) <= n < _line(INCOMPLETE, 0)} == {
        _line(BASE_ONLY, i): f"Argument {argument[name]} to {callee[name]} has incompatible type "
        '"BaseContext"; expected "Context"  [arg-type]'
        for i, name in enumerate(USES)
    }


def test_a_context_cannot_leave_out_diagnostics_alerts_or_private_endpoints(errors: dict[int, str]):
    assert {n: e for n, e in errors.items() if n >= _line(INCOMPLETE, 0)} == {
        _line(INCOMPLETE, 0): 'Missing named argument "private_endpoints" for "Context"  [call-arg]',
        _line(INCOMPLETE, 1): 'Argument "alerts" to "of" of "Context" has incompatible type "None"; '
        'expected "AlertTarget"  [arg-type]',
    }


def test_only_monitoring_and_the_network_take_the_base_context():
    import dataclasses
    import importlib

    takes = {}
    for module in sorted(p.stem for p in (ROOT / "components").glob("*.py")):
        for name, obj in vars(importlib.import_module(f"components.{module}")).items():
            if name.endswith("Args") and dataclasses.is_dataclass(obj) and obj.__module__ == f"components.{module}":
                ctx = {f.name: f.type for f in dataclasses.fields(obj)}.get("ctx")
                if ctx is not None:
                    takes[name] = ctx
    assert set(takes.values()) == {"BaseContext", "Context"}
    assert {name for name, kind in takes.items() if kind == "BaseContext"} == {"MonitoringArgs", "NetworkArgs"}
    assert {name for name, kind in takes.items() if kind == "Context"} == {
        "ControlPlaneWatchArgs",
        "DataStorageArgs",
        "EndpointArgs",
        "GatewayArgs",
        "KeyVaultArgs",
        "TelemetryArgs",
        "WorkspaceArgs",
    }
