"""scripts/team/new_team.py: address allocation, generated stacks, joins, reruns and refusals.

Every test works on a scratch copy of the project (the templates and the registry of stacks/ are
copied; the real stacks/ is only read).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import validate
from scripts.plan.cli import make_plan
from scripts.team import registry as registry_module
from scripts.team import yamlio
from tests.conftest import ROOT
from tests.team.scratch import copy_project, invoke

GROUP = "11111111-2222-4333-8444-555555555555"
OTHER_GROUP = "99999999-8888-4777-8666-555555555555"
TEMPLATE_GROUP = "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"
REGISTRY = "stacks/address-registry.yaml"
SEEDS = [
    {"team": "ml-platform", "env": "dev", "cidr": "10.40.0.0/16", "stack": "stacks/Pulumi.dev.yaml"},
    {"team": "ml-platform", "env": "prod", "cidr": "10.50.0.0/16", "stack": "stacks/Pulumi.prod.yaml"},
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scratch project: the program, the dev and prod templates and the registry."""
    return copy_project(tmp_path)


run = invoke


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file in stacks/ but the lock file (temporary files left behind would show here)."""
    return {p.name: p.read_bytes() for p in sorted((root / "stacks").iterdir()) if p.name != ".address-registry.lock"}


def load(root: Path, relative: str) -> Any:
    return yaml.safe_load((root / relative).read_text())


def values(root: Path, stack: str) -> dict[str, Any]:
    config = load(root, f"stacks/Pulumi.{stack}.yaml")["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items()}


def allocations(root: Path) -> list[dict[str, str]]:
    return list(load(root, REGISTRY)["allocations"])


def write_registry(root: Path, pools: dict[str, list[str]], entries: list[dict[str, str]] | None = None) -> None:
    document = {"version": 1, "blockPrefix": 16, "pools": pools, "allocations": SEEDS if entries is None else entries}
    (root / REGISTRY).write_text(yaml.safe_dump(document, sort_keys=False))


# ---------------------------------------------------------------------------------------------
# The committed registry
# ---------------------------------------------------------------------------------------------


def test_committed_registry_is_seeded_from_the_stacks_and_in_canonical_form():
    text = (ROOT / REGISTRY).read_text()
    registry = registry_module.parse_registry(yaml.safe_load(text))
    assert registry_module.dump_registry(registry) == text
    assert registry.block_prefix == 16
    assert {env: [str(n) for n in nets] for env, nets in registry.pools.items()} == {
        "dev": ["10.32.0.0/12"],
        "prod": ["10.48.0.0/12"],
    }
    assert yaml.safe_load(text)["allocations"] == SEEDS
    for seed in SEEDS:
        stack = yaml.safe_load((ROOT / seed["stack"]).read_text())["config"]
        assert stack["secure-ml:network"]["addressSpace"] == seed["cidr"]


# ---------------------------------------------------------------------------------------------
# A team's own stacks
# ---------------------------------------------------------------------------------------------


def test_new_team_gets_a_stack_per_env_with_its_own_range(root, capsys):
    code, out, err = run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")
    assert out == (
        "dev: created stacks/Pulumi.alpha-dev.yaml for alpha (10.32.0.0/16, namePrefix alpha)\n"
        "prod: created stacks/Pulumi.alpha-prod.yaml for alpha (10.48.0.0/16, namePrefix alpha)\n"
        "recorded 2 allocation(s) in stacks/address-registry.yaml\n"
        "\n"
        "Next steps:\n"
        f"  1. Check that {GROUP} (dataScientistGroupId of workspace alpha) is the Entra group of alpha's\n"
        "     data scientists: it gets the data-scientist role (no serving) on that workspace.\n"
        "  2. In each stack file, replace the template's tags.owner, tags.costCenter, monitoring.alertEmails\n"
        "     and gateway publisher.\n"
        "  3. Plan offline, commit the stack files with stacks/address-registry.yaml, then create the stacks:\n"
        "       make plan STACK=alpha-dev\n"
        "       make plan STACK=alpha-prod\n"
        "       pulumi stack init alpha-dev\n"
        "       pulumi stack init alpha-prod\n"
    )
    assert allocations(root) == [
        *SEEDS,
        {"team": "alpha", "env": "dev", "cidr": "10.32.0.0/16", "stack": "stacks/Pulumi.alpha-dev.yaml"},
        {"team": "alpha", "env": "prod", "cidr": "10.48.0.0/16", "stack": "stacks/Pulumi.alpha-prod.yaml"},
    ]
    for env, octet in (("dev", 32), ("prod", 48)):
        template, made = values(root, env), values(root, f"alpha-{env}")
        assert made["namePrefix"] == "alpha"
        assert made["tags"] == {**template["tags"], "team": "alpha"}
        assert made["network"] == {
            "addressSpace": f"10.{octet}.0.0/16",
            "subnets": {
                "privateEndpoints": f"10.{octet}.0.0/24",
                "compute": f"10.{octet}.4.0/22",
                "gateway": f"10.{octet}.1.0/27",
                "bastion": f"10.{octet}.2.0/26",
            },
        }
        copied = {k: v for k, v in template["workspaces"][0].items() if k != "endpoints"}
        assert made["workspaces"] == [{**copied, "name": "alpha", "dataScientistGroupId": GROUP}]
        unchanged = set(template) - {"namePrefix", "tags", "network", "workspaces"}
        assert {k: made[k] for k in unchanged} == {k: template[k] for k in unchanged}
        validate(made, f"alpha-{env}")


def _without_endpoints(text: str) -> str:
    """The template text without the first workspace's ``endpoints:`` block (the tool drops it)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("endpoints:"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip()) > indent or not lines[end].strip()):
        end += 1
    return "".join(lines[:start] + lines[end:])


def test_generated_stack_is_the_template_text_with_the_team_values(root, capsys):
    run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    template = (root / "stacks" / "Pulumi.dev.yaml").read_text()
    expected = (
        template.replace("secure-ml:namePrefix: mlsec\n", "secure-ml:namePrefix: alpha\n")
        .replace("    team: ml-platform\n", "    team: alpha\n")
        .replace(": 10.40.", ": 10.32.")
        .replace("    - name: fraud\n", "    - name: alpha\n")
        .replace(f"dataScientistGroupId: {TEMPLATE_GROUP}\n", f"dataScientistGroupId: {GROUP}\n")
    )
    expected = _without_endpoints(expected)
    assert (root / "stacks" / "Pulumi.alpha-dev.yaml").read_text() == (
        "# Stack of team alpha in dev, made by `python -m scripts.team` from stacks/Pulumi.dev.yaml.\n"
        "# Its address space 10.32.0.0/16 is recorded in stacks/address-registry.yaml; see docs/new-team.md.\n"
        "#\n" + expected
    )
    prod_template = (root / "stacks" / "Pulumi.prod.yaml").read_text()
    prod = (root / "stacks" / "Pulumi.alpha-prod.yaml").read_text()
    assert "name: churn" in prod_template and "name: churn" not in prod
    comments = [line.strip() for line in prod_template.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in prod for c in comments)
    assert [w["name"] for w in values(root, "alpha-prod")["workspaces"]] == ["alpha"]


def test_generated_stack_is_planned_by_the_real_program(root, capsys):
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    document = make_plan("alpha-dev", root)
    vnets = [r for r in document["resources"] if r["type"] == "azure-native:network:VirtualNetwork"]
    assert [v["inputs"]["addressSpace"]["addressPrefixes"] for v in vnets] == [["10.32.0.0/16"]]
    assert list(document["outputs"]["workspaces"]) == ["alpha"]
    assert document["outputs"]["resourceGroupName"].startswith("alpha-dev-rg")


def test_two_dozen_teams_never_overlap_each_other_or_existing_stacks(root, capsys):
    """15 blocks are free in each first pool: the last 9 teams get blocks of the second pools."""
    write_registry(root, {"dev": ["10.32.0.0/12", "10.64.0.0/10"], "prod": ["10.48.0.0/12", "10.128.0.0/10"]})
    teams = [f"team{i:02d}" for i in range(24)]
    for team in teams:
        code, _, err = run(root, capsys, team, "--data-scientist-group", GROUP)
        assert (code, err) == (0, ""), team
    dev = [*range(32, 40), *range(41, 48), *range(64, 73)]
    prod = [48, 49, *range(51, 64), *range(128, 137)]
    expected = [
        {"team": t, "env": env, "cidr": f"10.{octet}.0.0/16", "stack": f"stacks/Pulumi.{t}-{env}.yaml"}
        for t, d, p in zip(teams, dev, prod, strict=True)
        for env, octet in (("dev", d), ("prod", p))
    ]
    assert allocations(root) == [*SEEDS, *expected]
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))
    assert len(stacks) == 50
    spaces: list[ipaddress.IPv4Network] = []
    for stack in stacks:
        network = values(root, stack)["network"]
        space = ipaddress.IPv4Network(network["addressSpace"])
        assert all(ipaddress.IPv4Network(s).subnet_of(space) for s in network["subnets"].values()), stack
        spaces.append(space)
    assert not [(a, b) for a, b in itertools.combinations(spaces, 2) if a.overlaps(b)]
    for env in ("dev", "prod"):
        prefixes = [values(root, f"{t}-{env}")["namePrefix"] for t in teams]
        assert prefixes == teams
    validate(values(root, "team23-prod"), "team23-prod")


def test_name_prefix_is_numbered_when_the_cut_name_is_in_use(root, capsys):
    assert run(root, capsys, "analytics1", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    assert run(root, capsys, "analytics2", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    assert run(root, capsys, "mlsec", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    assert [values(root, f"{t}-dev")["namePrefix"] for t in ("analytics1", "analytics2", "mlsec")] == [
        "analytic",
        "analyti2",
        "mlsec2",
    ]


def test_stack_ranges_missing_from_the_registry_are_taken(root, capsys):
    legacy = values(root, "dev")
    legacy["namePrefix"] = "legacy"
    subnets = {"privateEndpoints": "10.32.0.0/24", "compute": "10.32.4.0/22", "gateway": "10.32.1.0/27"}
    legacy["network"] = {"addressSpace": "10.32.0.0/15", "subnets": subnets}  # covers 10.32 and 10.33
    legacy["workspaces"][0]["name"] = "legacy"
    config = {f"secure-ml:{k}": v for k, v in legacy.items()}
    (root / "stacks" / "Pulumi.legacy.yaml").write_text(yaml.safe_dump({"config": config}))
    code, out, _ = run(root, capsys, "gamma", "--envs", "dev", "--data-scientist-group", GROUP)
    assert code == 0
    assert out.splitlines()[:2] == [
        "note: 10.32.0.0/15 of stacks/Pulumi.legacy.yaml is not recorded in stacks/address-registry.yaml; "
        "treated as taken",
        "dev: created stacks/Pulumi.gamma-dev.yaml for gamma (10.34.0.0/16, namePrefix gamma)",
    ]


# ---------------------------------------------------------------------------------------------
# Reruns
# ---------------------------------------------------------------------------------------------


def test_rerun_reports_the_allocation_and_changes_nothing(root, capsys):
    assert run(root, capsys, "alpha", "--data-scientist-group", GROUP)[0] == 0
    before = snapshot(root)
    code, out, err = run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")
    assert out.splitlines()[:3] == [
        "dev: stacks/Pulumi.alpha-dev.yaml is already in place for alpha (10.32.0.0/16); left unchanged",
        "prod: stacks/Pulumi.alpha-prod.yaml is already in place for alpha (10.48.0.0/16); left unchanged",
        "",
    ]
    assert snapshot(root) == before


def test_rerun_with_another_env_adds_only_that_env(root, capsys):
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    dev = (root / "stacks" / "Pulumi.alpha-dev.yaml").read_bytes()
    code, out, _ = run(root, capsys, "alpha", "--envs", "dev,prod", "--data-scientist-group", GROUP)
    assert code == 0
    assert out.splitlines()[:3] == [
        "dev: stacks/Pulumi.alpha-dev.yaml is already in place for alpha (10.32.0.0/16); left unchanged",
        "prod: created stacks/Pulumi.alpha-prod.yaml for alpha (10.48.0.0/16, namePrefix alpha)",
        "recorded 1 allocation(s) in stacks/address-registry.yaml",
    ]
    assert (root / "stacks" / "Pulumi.alpha-dev.yaml").read_bytes() == dev
    assert [a["cidr"] for a in allocations(root)] == ["10.40.0.0/16", "10.50.0.0/16", "10.32.0.0/16", "10.48.0.0/16"]


def test_rerun_restores_a_missing_stack_file_from_its_recorded_range(root, capsys):
    assert run(root, capsys, "alpha", "--data-scientist-group", GROUP)[0] == 0
    before = snapshot(root)
    (root / "stacks" / "Pulumi.alpha-dev.yaml").unlink()
    code, out, _ = run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert code == 0
    assert (
        out.splitlines()[0]
        == "dev: restored stacks/Pulumi.alpha-dev.yaml for alpha from its recorded range 10.32.0.0/16"
    )
    assert snapshot(root) == before


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("team", ["Fraud", "fraud-team", "1fraud", "ab", "abcdefghijk", "team_a", ""])
def test_bad_team_name_exits_2_naming_the_argument(root, capsys, team):
    before = snapshot(root)
    code, out, err = run(root, capsys, team, "--data-scientist-group", GROUP)
    assert (code, out) == (2, "")
    assert err == (
        "error: argument TEAM: expected 3-10 lowercase letters and digits starting with a letter "
        f"(it becomes the workspace name and the tags.team value), found {team!r}\n"
    )
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["alpha", "--data-scientist-group", "not-a-guid"],
            "argument --data-scientist-group: expected a Microsoft Entra group object ID "
            "(a GUID such as 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01), found 'not-a-guid'",
        ),
        (["alpha"], "the following arguments are required: --data-scientist-group"),
        (
            ["alpha", "--envs", "dev,qa", "--data-scientist-group", GROUP],
            "argument --envs: expected environments with a pool in stacks/address-registry.yaml and a template "
            "stack (dev, prod), found 'qa'",
        ),
        (
            ["alpha", "--envs", "dev,dev", "--data-scientist-group", GROUP],
            "argument --envs: expected each environment once, found 'dev,dev'",
        ),
        (
            ["alpha", "--envs", "Dev", "--data-scientist-group", GROUP],
            "argument --envs: expected environment names separated by commas, such as dev,prod, found 'Dev'",
        ),
        (
            ["alpha", "--envs", "dev", "--join", "dev", "--data-scientist-group", GROUP],
            "argument --join: not allowed with argument --envs",
        ),
        (
            ["alpha", "--join", "qa", "--data-scientist-group", GROUP],
            "argument --join: expected an existing stack in stacks/ (dev, prod), found 'qa'",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(root, capsys, args, message):
    before = snapshot(root)
    assert run(root, capsys, *args) == (2, "", f"error: {message}\n")
    assert snapshot(root) == before


def test_command_line_prints_one_line_and_no_traceback(root):
    result = subprocess.run(
        [sys.executable, "-m", "scripts.team", "Bad-Name", "--data-scientist-group", GROUP, "--project-dir", root],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: argument TEAM: expected 3-10 lowercase letters")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_refuses_to_overwrite_a_stack_file_not_in_the_registry(root, capsys):
    (root / "stacks" / "Pulumi.alpha-prod.yaml").write_text("config: {}\n")
    before = snapshot(root)
    code, out, err = run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (code, out) == (1, "")
    assert err == (
        "error: stacks/Pulumi.alpha-prod.yaml already exists and is not in stacks/address-registry.yaml; "
        "refusing to overwrite it\n"
    )
    assert snapshot(root) == before  # not even the dev stack was written


def test_refuses_a_workspace_name_already_used_in_the_environment(root, capsys):
    before = snapshot(root)
    assert run(root, capsys, "fraud", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: workspace fraud already exists in stacks/Pulumi.dev.yaml (environment dev); "
        "workspace names are unique in an environment\n",
    )
    assert snapshot(root) == before


def test_exhausted_pool_is_a_clear_error_and_writes_nothing(root, capsys):
    for i in range(15):
        assert run(root, capsys, f"dev{i:02d}", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    assert allocations(root)[-1]["cidr"] == "10.47.0.0/16"
    before = snapshot(root)
    assert run(root, capsys, "late", "--envs", "prod,dev", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: no free /16 left in pools.dev of stacks/address-registry.yaml (10.32.0.0/12: 16 of 16 taken); "
        "add a range to pools.dev\n",
    )
    assert snapshot(root) == before  # prod had room, but nothing is written unless every env succeeds


@pytest.mark.parametrize(
    ("registry", "code", "message"),
    [
        (
            {"dev": ["10.32.0.0/12"], "prod": ["10.40.0.0/13"]},
            1,
            "pools.prod[0]: expected a range that does not overlap pools.dev[0] (10.32.0.0/12), found '10.40.0.0/13'",
        ),
        ({"dev": ["10.32.0.0/12"], "prod": ["8.8.0.0/16"]}, 2, "pools.prod[0]: expected a private IPv4 network"),
        ({"dev": ["10.32.0.0/20"], "prod": ["10.48.0.0/12"]}, 2, "pools.dev[0]: expected a range of at least one /16"),
    ],
)
def test_invalid_registry_is_refused_naming_the_key(root, capsys, registry, code, message):
    """Overlapping pools are a conflict (1); a range that is not of the documented form cannot be judged (2)."""
    write_registry(root, registry)
    before = snapshot(root)
    found, out, err = run(root, capsys, "alpha", "--data-scientist-group", GROUP)
    assert (found, out) == (code, "")
    assert err.startswith(f"error: stacks/address-registry.yaml: {message}") and err.count("\n") == 1
    assert snapshot(root) == before


def test_overlapping_allocations_are_refused(root, capsys):
    extra = {"team": "x", "env": "dev", "cidr": "10.40.128.0/17", "stack": "stacks/Pulumi.x-dev.yaml"}
    write_registry(root, {"dev": ["10.32.0.0/12"], "prod": ["10.48.0.0/12"]}, [*SEEDS, extra])
    assert run(root, capsys, "alpha", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: stacks/address-registry.yaml: allocations[2].cidr: expected a range that does not overlap "
        "allocations[0] (10.40.0.0/16), found '10.40.128.0/17'\n",
    )


def test_template_secrets_are_not_copied(root, capsys):
    path = root / "stacks" / "Pulumi.dev.yaml"
    path.write_text(
        path.read_text().replace("publisherName: Contoso ML Platform", "publisherName: {secure: v1:c2VjcmV0}")
    )
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: stacks/Pulumi.dev.yaml: config.secure-ml:gateway.publisherName is encrypted for that stack and "
        "cannot be copied to stacks/Pulumi.alpha-dev.yaml; move the secret out of the template first\n",
    )


def test_template_keys_beside_config_are_not_copied_and_its_comments_stay(root, capsys):
    """The template's encryption salt belongs to the template's stack: the team's stack gets its own."""
    path = root / "stacks" / "Pulumi.dev.yaml"
    template = path.read_text()
    path.write_text(template + "encryptionsalt: v1:ZGV2c2FsdA==:v1:abc\n")
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    text = (root / "stacks" / "Pulumi.alpha-dev.yaml").read_text()
    assert set(yaml.safe_load(text)) == {"config"} and "encryptionsalt" not in text
    comments = [line.strip() for line in template.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in text for c in comments)
    made = values(root, "alpha-dev")
    assert (made["namePrefix"], made["network"]["addressSpace"], made["workspaces"][0]["name"]) == (
        "alpha",
        "10.32.0.0/16",
        "alpha",
    )
    validate(made, "alpha-dev")


def test_comments_in_the_template_survive_beside_the_values_the_team_changes(root, capsys):
    """Comments on their own line and at the end of a line whose value is replaced stay where they were (an
    end-of-line comment in the same column, as the templates align them)."""
    path = root / "stacks" / "Pulumi.dev.yaml"
    template = path.read_text()
    edited = (
        template.replace(
            "    team: ml-platform\n", "    # the owning team, also the workspace name\n    team: ml-platform  # x1\n"
        )
        .replace("  secure-ml:namePrefix: mlsec\n", "  secure-ml:namePrefix: mlsec   # prefix kept short\n")
        .replace("    - name: fraud\n", "    # the team's workspace\n    - name: fraud  # renamed for the team\n")
    )
    assert edited.count("#") == template.count("#") + 5
    path.write_text(edited)
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    text = (root / "stacks" / "Pulumi.alpha-dev.yaml").read_text()
    assert "    # the owning team, also the workspace name\n    team: alpha        # x1\n" in text
    assert "  secure-ml:namePrefix: alpha   # prefix kept short\n" in text
    assert "    # the team's workspace\n    - name: alpha  # renamed for the team\n" in text
    assert values(root, "alpha-dev")["tags"]["team"] == "alpha"


def test_stack_file_that_moved_off_its_recorded_range_is_refused(root, capsys):
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    path = root / "stacks" / "Pulumi.alpha-dev.yaml"
    path.write_text(path.read_text().replace("addressSpace: 10.32.0.0/16", "addressSpace: 10.33.0.0/16"))
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: stacks/Pulumi.alpha-dev.yaml: network.addressSpace is 10.33.0.0/16 but stacks/address-registry.yaml "
        "records 10.32.0.0/16 for it; make them agree\n",
    )


def test_template_on_an_existing_vnet_is_refused(root, capsys):
    template = values(root, "dev")
    subnet = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/hub/providers/Microsoft.Network/x"
    template["network"]["existing"] = {
        "virtualNetworkId": subnet,
        "privateEndpointsSubnetId": subnet,
        "computeSubnetId": subnet,
        "gatewaySubnetId": subnet,
    }
    config = {f"secure-ml:{k}": v for k, v in template.items()}
    (root / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: stacks/Pulumi.dev.yaml: network.existing: a template that uses an existing VNet cannot give a team "
        "a range of its own; write the team's stack by hand or use --join\n",
    )


# ---------------------------------------------------------------------------------------------
# --join
# ---------------------------------------------------------------------------------------------


def test_join_adds_a_workspace_that_plans_and_keeps_the_file_text(root, capsys):
    before = (root / "stacks" / "Pulumi.dev.yaml").read_text()
    registry = (root / REGISTRY).read_bytes()
    code, out, err = run(root, capsys, "beta", "--join", "dev", "--data-scientist-group", GROUP)
    assert (code, err) == (0, "")
    assert out == (
        "dev: added workspace beta to stacks/Pulumi.dev.yaml (shares 10.40.0.0/16; no new range)\n"
        "\n"
        "Next steps:\n"
        f"  1. Check that {GROUP} (dataScientistGroupId of workspace beta) is the Entra group of beta's\n"
        "     data scientists: it gets the data-scientist role (no serving) on that workspace.\n"
        "  2. Plan offline, commit stacks/Pulumi.dev.yaml, then preview:\n"
        "       make plan STACK=dev\n"
        "       pulumi preview --stack dev\n"
    )
    after = (root / "stacks" / "Pulumi.dev.yaml").read_text()
    template = yaml.safe_load(before)["config"]["secure-ml:workspaces"][0]
    template.pop("endpoints", None)  # endpoint names are unique per region: a joining team brings its own
    entry = textwrap.dedent(yamlio.dump([{**template, "name": "beta", "dataScientistGroupId": GROUP}]))
    head, tail = before.split("  secure-ml:gateway:\n", 1)
    assert after == head + "".join(f"    {line}\n" for line in entry.splitlines()) + "  secure-ml:gateway:\n" + tail
    assert (root / REGISTRY).read_bytes() == registry
    document = make_plan("dev", root)
    assert sorted(document["outputs"]["workspaces"]) == ["beta", "fraud"]
    granted = {
        r["name"]: r["inputs"]["principalId"]
        for r in document["resources"]
        if r["type"] == "azure-native:authorization:RoleAssignment" and r["inputs"].get("principalType") == "Group"
    }
    assert granted == {
        **{f"mlsec-dev-beta-{n}": GROUP for n in ("ws-data-scientists", "sys-users-ds-blob", "sys-users-ds-file")},
        **{
            f"mlsec-dev-fraud-{n}": TEMPLATE_GROUP
            for n in ("ws-data-scientists", "sys-users-ds-blob", "sys-users-ds-file")
        },
    }


def test_comments_after_the_workspaces_the_team_does_not_get_stay_before_the_next_key(root, capsys):
    """The prod template's second workspace is not copied; the comment lines after it (which describe the
    next key) stay, above that key."""
    path = root / "stacks" / "Pulumi.prod.yaml"
    note = "  # The gateway: the only way to the endpoints.\n"
    path.write_text(path.read_text().replace("  secure-ml:gateway:\n", note + "  secure-ml:gateway:\n", 1))
    assert run(root, capsys, "alpha", "--envs", "prod", "--data-scientist-group", GROUP)[0] == 0
    text = (root / "stacks" / "Pulumi.alpha-prod.yaml").read_text()
    assert note + "  secure-ml:gateway:\n" in text and "name: churn" not in text
    assert [w["name"] for w in values(root, "alpha-prod")["workspaces"]] == ["alpha"]


def test_names_a_yaml_1_1_reader_would_not_read_as_text_are_quoted_and_template_quotes_stay(root, capsys):
    """``yes`` and ``off`` are text in YAML 1.2 but a boolean to PyYAML (YAML 1.1): they are written quoted,
    as the template's own quotes are kept."""
    path = root / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("owner: ml-platform@contoso.com", "owner: 'ml-platform@contoso.com'"))
    assert run(root, capsys, "yes", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    text = (root / "stacks" / "Pulumi.yes-dev.yaml").read_text()
    assert "  secure-ml:namePrefix: 'yes'\n" in text and "    team: 'yes'\n" in text
    assert "    - name: 'yes'\n" in text and "    owner: 'ml-platform@contoso.com'\n" in text
    assert values(root, "yes-dev")["namePrefix"] == "yes" and allocations(root)[-1]["team"] == "yes"
    assert run(root, capsys, "off", "--join", "prod", "--data-scientist-group", GROUP)[0] == 0
    assert "    - name: 'off'\n" in (root / "stacks" / "Pulumi.prod.yaml").read_text()
    assert [w["name"] for w in values(root, "prod")["workspaces"]] == ["fraud", "churn", "off"]


def test_join_keeps_the_comments_around_the_appended_workspace_in_place(root, capsys):
    """A comment before the key after the workspaces stays before that key, below the new workspace."""
    path = root / "stacks" / "Pulumi.dev.yaml"
    note = "  # The gateway in front of every endpoint.\n"
    before = path.read_text().replace("  secure-ml:gateway:\n", note + "  secure-ml:gateway:\n")
    before = before.replace("idleSecondsBeforeScaleDown: 600\n", "idleSecondsBeforeScaleDown: 600   # ten minutes\n")
    path.write_text(before)
    assert run(root, capsys, "beta", "--join", "dev", "--data-scientist-group", GROUP)[0] == 0
    template = yaml.safe_load(before)["config"]["secure-ml:workspaces"][0]
    template.pop("endpoints", None)
    entry = textwrap.dedent(yamlio.dump([{**template, "name": "beta", "dataScientistGroupId": GROUP}]))
    head, tail = before.split(note, 1)
    assert head.endswith("idleSecondsBeforeScaleDown: 600   # ten minutes\n")
    assert path.read_text() == head + "".join(f"    {line}\n" for line in entry.splitlines()) + note + tail


def test_join_rerun_is_idempotent_and_another_group_is_refused(root, capsys):
    assert run(root, capsys, "beta", "--join", "prod", "--data-scientist-group", GROUP)[0] == 0
    before = snapshot(root)
    code, out, _ = run(root, capsys, "beta", "--join", "prod", "--data-scientist-group", GROUP.upper())
    assert code == 0
    assert (
        out.splitlines()[0]
        == "prod: workspace beta is already in stacks/Pulumi.prod.yaml (10.50.0.0/16); left unchanged"
    )
    assert run(root, capsys, "beta", "--join", "prod", "--data-scientist-group", OTHER_GROUP) == (
        1,
        "",
        "error: stacks/Pulumi.prod.yaml: workspace beta already exists for another data-scientist group; "
        "refusing to overwrite it\n",
    )
    assert run(root, capsys, "churn", "--join", "prod", "--data-scientist-group", GROUP)[0] == 1
    assert snapshot(root) == before


def test_join_refuses_a_name_that_has_its_own_stack_in_the_environment(root, capsys):
    assert run(root, capsys, "alpha", "--envs", "dev", "--data-scientist-group", GROUP)[0] == 0
    before = snapshot(root)
    assert run(root, capsys, "alpha", "--join", "dev", "--data-scientist-group", GROUP) == (
        1,
        "",
        "error: workspace alpha already exists in stacks/Pulumi.alpha-dev.yaml (environment dev); "
        "workspace names are unique in an environment\n",
    )
    assert snapshot(root) == before


def test_join_into_a_flow_style_list_is_refused_with_the_entry_to_add(root, capsys):
    template = (root / "stacks" / "Pulumi.dev.yaml").read_text()
    head, rest = template.split("  secure-ml:workspaces:\n", 1)
    tail = rest.split("  secure-ml:gateway:\n", 1)[1]
    flow = f"  secure-ml:workspaces: [{{name: fraud, dataScientistGroupId: {TEMPLATE_GROUP}}}]\n"
    (root / "stacks" / "Pulumi.flow.yaml").write_text(
        head.replace("namePrefix: mlsec", "namePrefix: flow").replace(": 10.40.", ": 10.36.")
        + flow
        + "  secure-ml:gateway:\n"
        + tail
    )
    before = snapshot(root)
    code, out, err = run(root, capsys, "beta", "--join", "flow", "--data-scientist-group", GROUP)
    assert (code, out) == (1, "")
    assert err.splitlines()[:3] == [
        "error: stacks/Pulumi.flow.yaml: cannot add workspace beta without rewriting the file "
        "(workspaces is not a plain block list); add this entry to its workspaces by hand:",
        "- name: beta",
        f"  dataScientistGroupId: {GROUP}",
    ]
    assert snapshot(root) == before
