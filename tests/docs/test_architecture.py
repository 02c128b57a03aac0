"""docs/architecture.md: the diagram is generated from the dev plan, stays current, and shows exact links."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from typing import Any

import pytest

from scripts.docs import architecture, architecture_graph, diagram
from tests.conftest import ROOT, Plan

PARSER = ROOT / "tests" / "docs" / "mermaid_parse.mjs"


@pytest.fixture(scope="module")
def drawn(dev_plan: Plan) -> diagram.Picture:
    return architecture_graph.picture(dev_plan.document)


def edges_from(drawn: diagram.Picture, source: str) -> set[tuple[str, str]]:
    return {(e.target, e.label) for e in drawn.edges if e.source == source}


def edges_to(drawn: diagram.Picture, target: str) -> set[tuple[str, str]]:
    return {(e.source, e.label) for e in drawn.edges if e.target == target}


def test_the_page_is_current(dev_plan: Plan) -> None:
    page = architecture.DOC.read_text()
    assert architecture.render(page, dev_plan.document) == page, (
        "docs/architecture.md is stale: run python -m scripts.docs.architecture"
    )


def test_the_page_keeps_its_hand_written_prose_around_one_generated_block() -> None:
    page = architecture.DOC.read_text()
    head, rest = page.split(architecture.BEGIN)
    generated, tail = rest.split(architecture.END)
    assert "```mermaid\nflowchart LR\n" in generated
    assert "## Legend" in tail and "trust boundar" in tail
    assert head.startswith("# Architecture")


def test_each_private_endpoint_reaches_its_service_with_its_group(drawn: diagram.Picture) -> None:
    assert edges_from(drawn, "mlsec-dev-data-blob-pe") == {("mlsec-dev-dataacct", "blob")}
    assert edges_from(drawn, "mlsec-dev-kv-vault-pe") == {("mlsec-dev-kv-kv", "vault")}
    assert edges_from(drawn, "mlsec-dev-fraud-acr-pe") == {("mlsec-dev-fraudacr", "registry")}
    assert edges_from(drawn, "mlsec-dev-fraud-mlw-pe") == {("mlsec-dev-fraud-mlw", "amlworkspace")}
    assert edges_from(drawn, "mlsec-dev-fraud-sys-blob-pe") == {("mlsec-dev-fraudsys", "blob")}
    assert edges_from(drawn, "mlsec-dev-fraud-sys-file-pe") == {("mlsec-dev-fraudsys", "file")}
    assert edges_from(drawn, "mlsec-dev-tel-ampls-pe") == {("mlsec-dev-tel-ampls", "azuremonitor")}


def test_private_endpoints_sit_in_their_subnet_inside_the_vnet(drawn: diagram.Picture) -> None:
    subnet = "mlsec-dev-net-snet-private-endpoints"
    endpoints = sorted(n.key for n in drawn.nodes.values() if n.label.endswith(": PrivateEndpoint"))
    assert len(endpoints) == 7
    assert {drawn.nodes[k].group for k in endpoints} == {subnet}
    assert drawn.groups[subnet].parent == "mlsec-dev-net-vnet"
    assert drawn.groups[subnet].label == f"{subnet}: Subnet 10.40.0.0/24"
    assert drawn.nodes["mlsec-dev-gw-apim"].group == "mlsec-dev-net-snet-gateway"
    subnets = {g.key for g in drawn.groups.values() if g.parent == "mlsec-dev-net-vnet"}
    assert subnets == {
        "mlsec-dev-net-snet-bastion",
        "mlsec-dev-net-snet-compute",
        "mlsec-dev-net-snet-gateway",
        subnet,
    }


def test_each_zone_shows_exactly_the_principals_that_may_write_it(drawn: diagram.Picture) -> None:
    writes = "writes: Storage Blob Data Contributor"
    assert edges_to(drawn, "mlsec-dev-data-raw") == {("mlsec-dev-data-validation-id", writes)}
    assert edges_to(drawn, "mlsec-dev-data-quarantine") == {("mlsec-dev-data-ingestion-id", writes)}
    assert edges_to(drawn, "mlsec-dev-data-anonymized") == {("mlsec-dev-data-anonymization-id", writes)}
    assert edges_to(drawn, "mlsec-dev-data-curated") == {("mlsec-dev-data-curation-id", writes)}
    assert edges_to(drawn, "mlsec-dev-data-models") == {("mlsec-dev-data-release-id", writes)}
    assert edges_to(drawn, "mlsec-dev-data-scratch-fraud") == {
        ("mlsec-dev-fraud-compute-id", writes),
        ("mlsec-dev-fraud-id", writes),
    }
    containers = {n.key for n in drawn.nodes.values() if n.group == "mlsec-dev-dataacct"}
    assert len(containers) == 6


def test_a_writer_at_a_wider_scope_reaches_every_zone_below_it(dev_plan: Plan) -> None:
    document = copy.deepcopy(dev_plan.document)
    grant = next(r for r in document["resources"] if r["name"] == "mlsec-dev-data-validation-writes-raw")
    grant["inputs"]["scope"] = grant["inputs"]["scope"].split("/blobServices/")[0]  # the whole account
    drawn = architecture_graph.picture(document)
    writes = ("mlsec-dev-data-validation-id", "writes: Storage Blob Data Contributor")
    for zone in ("raw", "quarantine", "anonymized", "curated", "models", "scratch-fraud"):
        assert writes in edges_to(drawn, f"mlsec-dev-data-{zone}"), zone


def test_the_gateway_reaches_each_endpoint_and_only_it_may_score(drawn: diagram.Picture) -> None:
    assert edges_to(drawn, "mlsec-dev-fraud-score-ep") == {
        ("mlsec-dev-gw-apim", "API models/fraud-score"),
        ("mlsec-dev-gw-apim", "may score: mlsec-dev-gw model scorer"),
    }
    assert edges_from(drawn, "mlsec-dev-fraud-score-ep") == {("mlsec-dev-fraud-score-blue", "serves")}
    assert edges_to(drawn, "mlsec-dev-gw-apim") == {
        ("(callers)", "models/fraud-score: Entra token, audience api://mlsec-dev-scoring, roles Model.Score")
    }


def test_a_built_in_role_that_scores_is_drawn_as_a_caller(dev_plan: Plan) -> None:
    document = copy.deepcopy(dev_plan.document)
    grant = next(r for r in document["resources"] if r["name"] == "mlsec-dev-fraud-ws-data-scientists")
    grant["inputs"]["roleDefinitionId"] = (
        "/subscriptions/00000000-0000-4000-8000-000000000000/providers/Microsoft.Authorization/roleDefinitions/"
        "f6c7c914-8db3-469d-8ca1-694a8f32e121"
    )
    grant["dependencies"] = [d for d in grant["dependencies"] if "RoleDefinition" not in d]
    group = f"Group {grant['inputs']['principalId']}"
    drawn = architecture_graph.picture(document)
    assert (group, "may score: AzureML Data Scientist") in edges_to(drawn, "mlsec-dev-fraud-score-ep")
    assert drawn.nodes[group].group == architecture_graph.INTERNET


def data_scientists(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data scientists' custom role definition and its assignment on the workspace."""
    by_name = {r["name"]: r for r in document["resources"]}
    return by_name["mlsec-dev-fraud-ds-role"]["inputs"], by_name["mlsec-dev-fraud-ws-data-scientists"]["inputs"]


def test_a_custom_role_may_score_only_without_the_score_exclusion(dev_plan: Plan) -> None:
    document = copy.deepcopy(dev_plan.document)
    role, grant = data_scientists(document)
    group = f"Group {grant['principalId']}"
    assert group not in architecture_graph.picture(document).nodes  # workspace actions, but score/action excluded
    role["permissions"][0]["notActions"].remove(architecture_graph.SCORE_ACTION)
    scores = (group, f"may score: {role['roleName']}")
    assert scores in edges_to(architecture_graph.picture(document), "mlsec-dev-fraud-score-ep")


def test_only_data_actions_make_a_custom_role_a_zone_writer(dev_plan: Plan) -> None:
    document = copy.deepcopy(dev_plan.document)
    role, grant = data_scientists(document)
    account = dev_plan.outputs["dataAccountId"]
    grant["scope"] = account
    role["permissions"] = [{"actions": ["*"]}]  # control-plane actions never write blobs
    group = f"Group {grant['principalId']}"
    assert group not in architecture_graph.picture(document).nodes
    role["permissions"] = [{"dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]}]
    drawn = architecture_graph.picture(document)
    for zone in ("raw", "quarantine", "anonymized", "curated", "models", "scratch-fraud"):
        assert (group, f"writes: {role['roleName']}") in edges_to(drawn, f"mlsec-dev-data-{zone}"), zone
    role["permissions"][0]["notDataActions"] = ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"]
    assert group not in architecture_graph.picture(document).nodes


def test_every_endpoint_of_the_prod_plan_sits_behind_the_gateway(prod_plan: Plan) -> None:
    drawn = architecture_graph.picture(prod_plan.document)
    endpoints = [r["name"] for r in prod_plan.of_type("azure-native:machinelearningservices:OnlineEndpoint")]
    apis = [r["inputs"]["path"] for r in prod_plan.of_type("azure-native:apimanagement:Api")]
    assert endpoints and len(apis) == len(endpoints)
    gateway = prod_plan.one("azure-native:apimanagement:ApiManagementService")["name"]
    reached = {t for t, label in edges_from(drawn, gateway) if label.startswith("API ")}
    assert reached == set(endpoints)


def test_the_managed_network_shows_its_outbound_rules(drawn: diagram.Picture) -> None:
    network = "mlsec-dev-fraud-mlw (managed network)"
    assert drawn.groups[network].label == "managed network of mlsec-dev-fraud-mlw: Workspace: AllowOnlyApprovedOutbound"
    assert edges_from(drawn, network) == {
        ("mlsec-dev-dataacct", "outbound data-storage-blob: PrivateEndpoint blob"),
        ("FQDN pypi.org", "outbound fqdn-pypi-org: FQDN"),
        ("FQDN files.pythonhosted.org", "outbound fqdn-files-pythonhosted-org: FQDN"),
    }
    inside = {n.key for n in drawn.nodes.values() if n.group == network}
    assert inside == {"mlsec-dev-fraud-cpu-train", "mlsec-dev-fraud-score-blue"}
    assert drawn.nodes["FQDN pypi.org"].group == architecture_graph.INTERNET


def test_a_removed_private_endpoint_disappears_from_the_diagram(dev_plan: Plan) -> None:
    document = copy.deepcopy(dev_plan.document)
    document["resources"] = [r for r in document["resources"] if r["name"] != "mlsec-dev-kv-vault-pe"]
    drawn = architecture_graph.picture(document)
    assert "mlsec-dev-kv-vault-pe" not in drawn.nodes
    assert not edges_from(drawn, "mlsec-dev-kv-vault-pe")
    assert "mlsec_dev_kv_vault_pe" not in diagram.mermaid(drawn)
    assert "n_mlsec_dev_kv_vault_pe" in diagram.mermaid(architecture_graph.picture(dev_plan.document))


def test_a_renamed_stack_draws_from_its_own_names(dev_plan: Plan) -> None:
    text = json.dumps(dev_plan.document).replace("mlsec-dev-", "acme-dev-")
    drawn = architecture_graph.picture(json.loads(text))
    assert edges_from(drawn, "acme-dev-data-blob-pe") == {("acme-dev-dataacct", "blob")}
    assert not [n for n in drawn.nodes if n.startswith("mlsec-")]


def test_the_output_is_deterministic(dev_plan: Plan) -> None:
    shuffled = copy.deepcopy(dev_plan.document)
    shuffled["resources"].reverse()
    assert architecture.block(shuffled) == architecture.block(dev_plan.document)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ('say "hi"', '"say #quot;hi#quot;"'),
        ("a <b> | c", '"a #lt;b#gt; #124; c"'),
        ("#1 `x`\nnext", '"#35;1 #96;x#96; next"'),
    ],
)
def test_labels_escape_what_mermaid_reads_as_syntax(text: str, quoted: str) -> None:
    assert diagram.quote(text) == quoted


def test_the_check_fails_on_a_stale_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, dev_plan: Plan) -> None:
    page = tmp_path / "architecture.md"
    current = architecture.DOC.read_text()
    page.write_text(current.replace("-->|", "--->|", 1))
    monkeypatch.setattr(architecture, "DOC", page)
    monkeypatch.setattr(architecture, "ROOT", tmp_path)
    monkeypatch.setattr("scripts.plan.cli.make_plan", lambda stack: dev_plan.document)
    assert architecture.main(["--check"]) == 1
    assert architecture.main([]) == 0
    assert page.read_text() == current
    assert architecture.main(["--check"]) == 0


def mermaid_parse(text: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH (make env)"
    return subprocess.run(
        [node, str(PARSER)], input=text, capture_output=True, text=True, check=False, timeout=60, cwd=ROOT
    )


def test_the_generated_block_parses_as_mermaid(dev_plan: Plan) -> None:
    done = mermaid_parse(diagram.mermaid(architecture_graph.picture(dev_plan.document)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["diagramType"] == "flowchart-v2"


def test_the_parser_rejects_broken_mermaid(drawn: diagram.Picture) -> None:
    broken = diagram.mermaid(drawn).replace('"]\n', "]\n", 1)  # an unterminated quoted label
    done = mermaid_parse(broken)
    assert done.returncode == 1 and "Parse error" in done.stderr
