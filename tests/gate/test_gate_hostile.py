"""The gate on careless or hostile plans: every spelling of a known type is judged, an unknown azure-native type
and anything not shaped like a plan are exit 2 with one line naming the resource and key, never a traceback, an
exit 1 or a pass; the stack view's indexes answer exactly what a scan would."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_policy import ResourceValidationArgs

from policies.catalog import RULES_BY_ID
from policies.catalog.governance import load_enforcement
from policies.catalog.model import KNOWN_TYPES, Res, StackView, canonical_type, unknown_type
from policies.catalog.pack import build_policies
from scripts.common.cli import run as cli_run
from scripts.gate.cli import main
from tests.policies.policy_cases import NO_SUPPRESSIONS, mutate, resource, run

ROOT = Path(__file__).resolve().parents[2]
DATA_ACCOUNT = "mlsec-prod-dataacct"
STORAGE = "azure-native:storage:StorageAccount"
PUBLIC_ACCESS = "MLSEC-STG-003"


@pytest.fixture(scope="module")
def prod(prod_plan: Any) -> dict[str, Any]:
    return copy.deepcopy(prod_plan.document)


@pytest.fixture(scope="module")
def dev(dev_plan: Any) -> dict[str, Any]:
    return copy.deepcopy(dev_plan.document)


DEV: dict[str, Any] = {}
"""The dev plan for the property-based tests (a module global: a drawn example never carries the whole plan)."""


@pytest.fixture(autouse=True, scope="module")
def _dev_for_properties(dev: dict[str, Any]) -> None:
    DEV.update(dev)


def _retype(document: dict[str, Any], name: str, token: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    resource(changed, name)["type"] = token
    return changed


def _gate(tmp_path: Path, document: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The gate's entry point (through scripts.common.cli.run) over ``document`` written as plan.json."""
    plan = tmp_path / "plan.json"
    plan.write_text(document if isinstance(document, str) else json.dumps(document))
    code = cli_run(main, ["--plan", str(plan), "--no-checkov", "--no-kql", "--suppressions", str(NO_SUPPRESSIONS)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------------
# Type tokens
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "azure-native:storage/v20230101:StorageAccount",
        "azure-native:storage/v20150501preview:StorageAccount",
        "Azure-Native:Storage:storageaccount",
        "AZURE-NATIVE:STORAGE/V20250601:STORAGEACCOUNT",
    ],
)
def test_a_public_account_under_another_spelling_of_its_type_fails(
    prod: dict[str, Any], token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = mutate(prod, DATA_ACCOUNT, "publicNetworkAccess", "Enabled")
    expected = [(f.rule, f.urn, f.message) for f in run(public).findings]
    assert (
        PUBLIC_ACCESS,
        resource(public, DATA_ACCOUNT)["urn"],
        'publicNetworkAccess must be "Disabled" (found "Enabled")',
    ) in expected
    respelled = _retype(public, DATA_ACCOUNT, token)
    assert [(f.rule, f.urn, f.message) for f in run(respelled).findings] == expected
    code, out, _ = _gate(tmp_path, respelled, capsys)
    assert code == 1
    assert PUBLIC_ACCESS in out


def test_canonical_type_spellings() -> None:
    assert canonical_type("azure-native:storage/v20230101:StorageAccount") == STORAGE
    assert canonical_type("azure-native:Storage:STORAGEACCOUNT") == STORAGE
    assert canonical_type("PULUMI-PYTHON:dynamic/endpoint:traffic") == "pulumi-python:dynamic/endpoint:Traffic"
    assert canonical_type("secure-ml:data:DataStorage") == "secure-ml:data:DataStorage"
    assert canonical_type("azure-native:storage/v20230101:Nope") == "azure-native:storage:Nope"
    assert unknown_type("azure-native:storage:StorageAccounts")
    assert unknown_type("azure-native:storage/v20230101:Nope")
    assert unknown_type("Azure-Native:compute:VirtualMachine")
    assert not unknown_type("pulumi:providers:azure-native")
    assert not unknown_type("secure-ml:ml:Workspace")
    assert all(not unknown_type(t) and canonical_type(t) == t for t in KNOWN_TYPES)


@pytest.mark.parametrize(
    "token",
    ["azure-native:storage:StorageAccounts", "azure-native:compute:VirtualMachine", "azure-native:storage/v1:X"],
)
def test_an_unknown_azure_native_type_cannot_pass(
    prod: dict[str, Any], token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = _retype(prod, DATA_ACCOUNT, token)
    code, out, err = _gate(tmp_path, changed, capsys)
    assert (code, out) == (2, "")
    urn = resource(changed, DATA_ACCOUNT)["urn"]
    index = changed["resources"].index(resource(changed, DATA_ACCOUNT))
    assert err.splitlines() == [
        f"error: {tmp_path / 'plan.json'}: resource {urn} (resources[{index}]): "
        f"type {token!r} is an azure-native type the gate has no rules for; a resource no rule examined cannot pass "
        "(add the type to scripts/plan/arm_types.py and review the catalog's rules for it)"
    ]


def test_crossguard_judges_a_versioned_token(prod: dict[str, Any]) -> None:
    """At ``pulumi preview`` the pack's resource policies see the token the program used."""
    enforcement = load_enforcement(known_rules=RULES_BY_ID)
    [policy] = build_policies("prod", enforcement, None, rules=[RULES_BY_ID[PUBLIC_ACCESS]])
    inputs = dict(resource(prod, DATA_ACCOUNT)["inputs"], publicNetworkAccess="Enabled")
    found: list[str] = []
    args = ResourceValidationArgs(
        "azure-native:storage/v20230101:StorageAccount",
        inputs,
        "urn:x",
        DATA_ACCOUNT,
        None,
        None,  # type: ignore[arg-type]
    )
    policy.validate(args, lambda message, urn=None: found.append(message))  # type: ignore[attr-defined]
    assert found == ['publicNetworkAccess must be "Disabled" (found "Enabled")']


# ---------------------------------------------------------------------------------------------
# Values of the wrong kind where the plan holds objects
# ---------------------------------------------------------------------------------------------

BAD_VALUES = [None, [], ["x"], "x", 7, True]


def _at(document: dict[str, Any], index: int, key: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["resources"][index][key] = value
    return changed


@pytest.mark.parametrize("value", BAD_VALUES)
def test_inputs_that_are_not_an_object(
    prod: dict[str, Any], value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = prod["resources"].index(resource(prod, DATA_ACCOUNT))
    code, out, err = _gate(tmp_path, _at(prod, index, "inputs", value), capsys)
    assert (code, out) == (2, "")
    urn = prod["resources"][index]["urn"]
    kind = {type(None): "null", list: "a list", str: "a string", bool: "a boolean", int: "a number"}[type(value)]
    assert err.splitlines() == [
        f"error: {tmp_path / 'plan.json'}: resource {urn} (resources[{index}]): key 'inputs' must be an object "
        f"(found {kind})"
    ]


@pytest.mark.parametrize("value", BAD_VALUES[1:])
@pytest.mark.parametrize("key", ["outputs", "securityOptOuts"])
def test_outputs_that_are_not_an_object(
    prod: dict[str, Any], key: str, value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = copy.deepcopy(prod)
    if key == "outputs":
        changed["outputs"] = value
        expected = "key 'outputs' must be an object"
    else:
        changed["outputs"]["securityOptOuts"] = value
        expected = "stack output 'securityOptOuts' must be an object"
    code, out, err = _gate(tmp_path, changed, capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'plan.json'}: {expected} (found ")


def test_a_nested_input_that_is_not_an_object_names_resource_and_key(
    prod: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``networkRuleSet`` as a string must not read as "not set" (exit 1) nor crash: the gate cannot judge it."""
    changed = mutate(prod, DATA_ACCOUNT, "networkRuleSet", "Deny")
    code, out, err = _gate(tmp_path, changed, capsys)
    assert (code, out) == (2, "")
    urn = resource(changed, DATA_ACCOUNT)["urn"]
    [line] = err.splitlines()
    assert line.startswith(
        f"error: {tmp_path / 'plan.json'}: resource {urn}: input networkRuleSet must be an object (found a string)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"resources": [], "resources": []}', "the plan has duplicate key 'resources'"),
        ("[1, 2]", "not a plan document (expected an object, found a list)"),
        ('{"resources": "x"}', "not a plan document (expected a 'resources' list, found a string)"),
        ('{"resources": [null]}', "resources[0] must be an object (found null)"),
        ('{"resources": [{"urn": 1, "type": "t", "name": "n", "inputs": {}}]}', "resources[0] key 'urn' must be a"),
    ],
)
def test_plans_not_shaped_like_a_plan(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _gate(tmp_path, text, capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert message in err


def test_a_plan_that_names_one_urn_twice(
    prod: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = copy.deepcopy(prod)
    changed["resources"].append(copy.deepcopy(resource(prod, DATA_ACCOUNT)))
    code, _, err = _gate(tmp_path, changed, capsys)
    assert code == 2
    assert "the URN appears twice" in err


STRUCTURAL = {
    "inputs": [None, [], "x", 3, True],
    "dependencies": [{}, "x", 3, [1], [None]],
    "parent": [[], {}, 3, True],
    "urn": [None, [], {}, "", 3],
    "type": [None, [], {}, "", 3],
    "name": [None, [], {}, "", 3],
    "protect": ["x", [], {}, 3],
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_plans_derived_from_the_dev_plan_exit_2(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One resource key, or an output, given a value of the wrong kind: exit 2, one line, no traceback, no report."""
    changed = copy.deepcopy(DEV)
    where = data.draw(st.sampled_from([*STRUCTURAL, "outputs", "securityOptOuts"]))
    if where in STRUCTURAL:
        index = data.draw(st.integers(0, len(changed["resources"]) - 1))
        changed["resources"][index][where] = data.draw(st.sampled_from(STRUCTURAL[where]))
    elif where == "outputs":
        changed["outputs"] = data.draw(st.sampled_from(BAD_VALUES[1:]))
    else:
        changed["outputs"]["securityOptOuts"] = data.draw(st.sampled_from(BAD_VALUES[1:]))
    out_dir = tmp_path / "reports"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(changed))
    code = cli_run(main, ["--plan", str(plan), "--out", str(out_dir), "--no-checkov", "--no-kql"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"error: {plan}: ")
    assert "Traceback" not in captured.err
    assert not out_dir.exists()


def _object_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every object inside ``value`` (not the top level)."""
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            if "." in key:
                continue
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(child, dict):
                found.append(path)
            found.extend(_object_paths(child, path))
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_nested_inputs_of_the_wrong_kind_never_crash_the_gate(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An object inside a resource's inputs replaced by a list, string or number: the gate judges or refuses
    (exit 0, 1 or 2), never a traceback; when it refuses, one line names the resource."""
    candidates = [(i, p) for i, r in enumerate(DEV["resources"]) for p in _object_paths(r["inputs"])]
    index, path = data.draw(st.sampled_from(candidates))
    changed = copy.deepcopy(DEV)
    node = changed["resources"][index]["inputs"]
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = data.draw(st.sampled_from([["x"], "x", 7]))
    code, out, err = _gate(tmp_path, changed, capsys)
    assert code in (0, 1, 2)
    assert "Traceback" not in err
    if code == 2:
        assert out == ""
        [line] = err.splitlines()
        assert line.startswith(f"error: {tmp_path / 'plan.json'}: ")
        assert "resource urn:pulumi:" in line or "rule MLSEC-" in line


def test_the_command_line_refuses_a_binary_plan_in_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(b"\xff\xfe{\x00}\x00")
    done = subprocess.run(
        [sys.executable, "-m", "scripts.gate", "--plan", str(plan), "--no-checkov", "--no-kql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {plan}: ")
    assert "UTF-8" in line


# ---------------------------------------------------------------------------------------------
# The stack view's indexes
# ---------------------------------------------------------------------------------------------


def _view(document: dict[str, Any]) -> StackView:
    return StackView(
        Res(r["type"], r["urn"], r["name"], r["inputs"], r.get("parent"), tuple(r.get("dependencies", [])))
        for r in document["resources"]
    )


def test_the_indexes_answer_what_a_scan_answers(dev: dict[str, Any]) -> None:
    view = _view(dev)
    types = sorted({r.type for r in view.resources})
    for token in types:
        assert view.of_type(token) == [r for r in view.resources if r.type == token]
    pair = (types[0], types[-1])
    assert view.of_type(*pair) == [r for r in view.resources if r.type in pair]
    assert view.of_type("azure-native:nothing:Here") == []
    view.of_type(types[0]).clear()  # a caller's list is its own
    assert view.of_type(types[0])
    shuffled = list(reversed(view.resources))
    assert view.in_order(shuffled + shuffled) == view.resources


def test_every_resource_of_the_view_has_the_canonical_type() -> None:
    res = Res("azure-native:storage/v20230101:StorageAccount", "urn:a", "a", {})
    assert res.type == STORAGE
    assert _view({"resources": [{"type": res.type, "urn": "u", "name": "n", "inputs": {}}]}).of_type(STORAGE)
