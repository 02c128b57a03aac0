"""The offline plan: schema, determinism, secrets, mocked outputs and the scale knob."""

from __future__ import annotations

import json

from scripts.plan import cli as plan
from scripts.plan.engine import FAKE_CLIENT_CONFIG, read_stack_config
from tests.conftest import ROOT, Plan, dumps

RESOURCE_KEYS = {"urn", "type", "name", "parent", "inputs", "dependencies", "protect"}
SUB = FAKE_CLIENT_CONFIG["subscriptionId"]


def test_plan_document_schema(dev_plan: Plan):
    doc = dev_plan.document
    assert set(doc) == {"project", "stack", "resources", "outputs"}
    assert (doc["project"], doc["stack"]) == ("secure-ml", "dev")
    for r in dev_plan.resources:
        assert set(r) == RESOURCE_KEYS
        assert r["urn"].startswith("urn:pulumi:dev::secure-ml::")
        assert r["urn"].endswith(f"::{r['name']}")
        # the engine's qualified type: every ancestor's type, then the resource's own (never the stack)
        parent = dev_plan.by_urn.get(r["parent"])
        qualified = r["urn"].split("::")[2]
        if parent is None:
            assert qualified == r["type"]
        else:
            assert qualified == f"{parent['urn'].split('::')[2]}${r['type']}"
        assert r["parent"] in dev_plan.by_urn or r["parent"].endswith("pulumi:pulumi:Stack::secure-ml-dev")
        assert all(d in dev_plan.by_urn for d in r["dependencies"]), r["urn"]
    assert [r["urn"] for r in dev_plan.resources] == sorted(r["urn"] for r in dev_plan.resources)


def test_inputs_use_provider_names(dev_plan: Plan):
    account = dev_plan.inputs("azure-native:storage:StorageAccount", "mlsec-dev-fraudsys")
    assert "allowSharedKeyAccess" in account and "allow_shared_key_access" not in account
    assert dev_plan.one("azure-native:network:VirtualNetwork")["type"] == "azure-native:network:VirtualNetwork"
    assert dev_plan.one("secure-ml:platform:Platform")["inputs"] == {}


def test_plan_is_byte_identical_across_runs(tmp_path):
    first = plan.make_plan("dev")
    second = plan.make_plan("dev")
    assert dumps(first) == dumps(second)
    path = plan.write_plan(first, tmp_path)
    assert path.read_text() == dumps(first) + "\n"


def test_cli_writes_plan_and_summary(project, capsys):
    root = project("dev")
    assert plan.main(["dev", "--project-dir", str(root)]) == 0
    out = capsys.readouterr().out
    written = json.loads((root / "build" / "dev" / "plan.json").read_text())
    count = len(written["resources"])
    assert out.startswith(f"secure-ml/dev: {count} resources\n  by component:\n")
    assert "        1  azure-native:machinelearningservices:Workspace\n" in out
    workspace_children = sum(1 for r in written["resources"] if r["parent"].endswith("::mlsec-dev-fraud"))
    assert f"{workspace_children:9d}  secure-ml:ml:Workspace mlsec-dev-fraud\n" in out
    assert workspace_children == 46


def test_mocked_outputs_are_azure_shaped(dev_plan: Plan):
    rg = dev_plan.outputs["resourceGroupName"]
    assert dev_plan.outputs["vnetId"].startswith(
        f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/mlsec-dev-net-vnet"
    )
    subnet_ref = dev_plan.inputs("azure-native:network:PrivateEndpoint", "mlsec-dev-kv-vault-pe")["subnet"]["id"]
    assert subnet_ref.startswith(f"{dev_plan.outputs['vnetId']}/subnets/snet-private-endpoints")
    role = dev_plan.role_assignments()[0]
    assert role["roleDefinitionId"].startswith(
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
    )
    principals = {r["principalId"] for r in dev_plan.role_assignments()}
    # workspace, compute, data-scientist group, five pipeline identities, endpoint, gateway
    assert "[unknown]" not in principals and len(principals) == 10


def test_opt_outs_are_exported(dev_plan: Plan, prod_plan: Plan):
    assert dev_plan.outputs["securityOptOuts"] == {
        "locks": "dev is torn down and rebuilt nightly; CanNotDelete locks would block the teardown",
        "dataStorage.immutability": "dev is torn down and rebuilt nightly; version-level WORM containers block "
        "the teardown",
    }
    assert prod_plan.outputs["securityOptOuts"] == {}


def test_secure_values_stay_opaque(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: secure-ml\nruntime: python\n")
    (tmp_path / "stacks" / "Pulumi.s.yaml").write_text(
        "config:\n"
        "  secure-ml:token:\n    secure: v1:AAAABBBBCCCC\n"
        "  secure-ml:nested:\n    plain: 1\n    hidden:\n      secure: v1:DDDD\n"
        "  secure-ml:flag: true\n"
        "  aws:region: eu-west-1\n"
    )
    values, secret_keys = read_stack_config("s", tmp_path)
    assert values == {
        "secure-ml:token": "[secret]",
        "secure-ml:nested": '{"plain": 1, "hidden": "[secret]"}',
        "secure-ml:flag": "true",
        "aws:region": "eu-west-1",
    }
    assert secret_keys == ["secure-ml:token", "secure-ml:nested"]
    assert "v1:" not in json.dumps(values)


def test_scale_knob_adds_workspaces_that_share_the_environment(project):
    def three(values):
        base = values["workspaces"][0]
        values["workspaces"] = [
            {
                **base,
                "name": n,
                "dataScientistGroupId": f"6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a0{i}",
                "endpoints": [{**base["endpoints"][0], "name": f"{n}-score"}],
            }
            for i, n in enumerate(["fraud", "churn", "vision"])
        ]

    root = project("scale", mutate=three)
    scaled = Plan(plan.make_plan("scale", root))
    assert sorted(r["name"] for r in scaled.of_type("secure-ml:ml:Workspace")) == [
        "mlsec-dev-churn",
        "mlsec-dev-fraud",
        "mlsec-dev-vision",
    ]
    assert len(scaled.of_type("azure-native:machinelearningservices:Workspace")) == 3
    for shared in (
        "azure-native:network:VirtualNetwork",
        "azure-native:keyvault:Vault",
        "azure-native:operationalinsights:Workspace",
        "azure-native:resources:ResourceGroup",
    ):
        assert len(scaled.of_type(shared)) == 1, shared
    assert set(scaled.outputs["workspaces"]) == {"fraud", "churn", "vision"}
    assert len(scaled.of_type("azure-native:apimanagement:ApiManagementService")) == 1
    apis = sorted(r["inputs"]["path"] for r in scaled.of_type("azure-native:apimanagement:Api"))
    assert apis == ["models/churn-score", "models/fraud-score", "models/vision-score"]
    groups = {r["principalId"] for r in scaled.role_assignments() if r["principalType"] == "Group"}
    assert groups == {f"6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a0{i}" for i in range(3)}


def test_pulumi_yaml_declares_every_scalar_key_as_the_settings_type_it():
    import dataclasses
    import typing

    import yaml

    from components import config

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == config.PROJECT
    assert project["stackConfigDir"] == "stacks"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}
    declared = project["config"]
    fields = {f.name: f for f in config.fields(config.Settings)}
    hints = typing.get_type_hints(config.Settings)
    scalar = {}
    for name, annotation in hints.items():
        base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
        if base is bool:
            scalar[config.to_camel(name)] = ("boolean", name)
        elif base is str or typing.get_origin(base) is typing.Literal:
            scalar[config.to_camel(name)] = ("string", name)
    assert set(declared) == set(scalar)
    for key, (kind, name) in scalar.items():
        assert declared[key]["type"] == kind, key
        assert declared[key]["description"], key
        default = fields[name].default
        if default is dataclasses.MISSING:
            assert "default" not in declared[key], key
        else:
            assert declared[key]["default"] == default, key
