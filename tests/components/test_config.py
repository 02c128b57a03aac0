"""Every validation rule of the stack settings: each bad value exits 2 with a message that names the
stack file and the key, says what was expected and what was found."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components import config
from scripts.plan import cli as plan
from tests.commands import python_m
from tests.conftest import stack_values


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        target: Any = values
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last) : int(last) + 1] = [value]
        else:
            target[last] = value

    return mutate


_DELETE = object()


def _both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(values)

    return mutate


# (case id, mutation, key named in the message, words the message must contain)
BAD_CONFIG = [
    ("unknown-top-key", _set("workspace", []), "secure-ml:workspace:", "did you mean 'workspaces'?"),
    (
        "unknown-nested-key",
        _set("network.adressSpace", "10.40.0.0/16"),
        "network.adressSpace",
        "did you mean 'addressSpace'?",
    ),
    ("unknown-key-capitalised", _set("network.Subnets", {}), "network.Subnets", "did you mean 'subnets'?"),
    ("unknown-key-no-near", _set("gateway.zzz", 1), "gateway.zzz", "valid keys here: callerVolumeThreshold, capacity"),
    ("missing-required", _set("location", _DELETE), "secure-ml:location:", "required key is missing"),
    (
        "missing-nested",
        _set("workspaces.0.dataScientistGroupId", _DELETE),
        "workspaces[0].dataScientistGroupId",
        "required key is missing",
    ),
    (
        "wrong-type-int",
        _set("monitoring.logRetentionDays", "thirty"),
        "monitoring.logRetentionDays",
        "expected a whole number, found 'thirty'",
    ),
    ("wrong-type-list", _set("workspaces", {"name": "fraud"}), "secure-ml:workspaces:", "expected a list"),
    ("wrong-type-bool", _set("zoneRedundant", "maybe"), "zoneRedundant", "expected true or false"),
    (
        "bad-environment",
        _set("environment", "staging"),
        "secure-ml:environment:",
        "expected 'dev', 'test' or 'prod', found 'staging'",
    ),
    ("bad-region", _set("location", "westeurpe"), "secure-ml:location:", "did you mean 'westeurope'?"),
    (
        "region-of-other-cloud",
        _set("cloud", "AzureUSGovernment"),
        "secure-ml:location:",
        "expected an AzureUSGovernment region",
    ),
    ("bad-cidr", _set("network.subnets.compute", "10.40.4.0/33"), "network.subnets.compute", "CIDR notation"),
    ("cidr-host-bits", _set("network.addressSpace", "10.40.0.1/16"), "network.addressSpace", "has host bits set"),
    ("public-range", _set("network.addressSpace", "8.8.0.0/16"), "network.addressSpace", "private (RFC 1918)"),
    (
        "subnet-outside",
        _set("network.subnets.gateway", "10.41.1.0/27"),
        "network.subnets.gateway",
        "inside addressSpace 10.40.0.0/16",
    ),
    (
        "subnet-overlap",
        _set("network.subnets.compute", "10.40.0.0/22"),
        "network.subnets.compute",
        "does not overlap subnets.privateEndpoints",
    ),
    (
        "subnet-too-small",
        _set("network.subnets.gateway", "10.40.1.0/29"),
        "network.subnets.gateway",
        "a /27 or larger range",
    ),
    ("bad-name-prefix", _set("namePrefix", "ML_sec"), "namePrefix", "2-8 lowercase letters and digits"),
    ("name-prefix-too-long", _set("namePrefix", "mlsecurity"), "namePrefix", "2-8 lowercase letters and digits"),
    (
        "bad-workspace-name",
        _set("workspaces.0.name", "Fraud-Team"),
        "workspaces[0].name",
        "2-10 lowercase letters and digits",
    ),
    (
        "duplicate-workspace",
        _set("workspaces.1", {"name": "fraud", "dataScientistGroupId": "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"}),
        "workspaces[1].name",
        "not used earlier",
    ),
    (
        "bad-cluster-name",
        _set("workspaces.0.computeClusters.0.name", "-gpu"),
        "computeClusters[0].name",
        "Azure ML compute name rules",
    ),
    (
        "bad-group-id",
        _set("workspaces.0.dataScientistGroupId", "data-scientists"),
        "dataScientistGroupId",
        "a Microsoft Entra object ID",
    ),
    (
        "bad-fqdn",
        _set("workspaces.0.outboundFqdns", ["https://pypi.org/simple"]),
        "outboundFqdns[0]",
        "a lowercase DNS name",
    ),
    ("bad-email", _set("tags.owner", "ml-platform"), "tags.owner", "an e-mail address"),
    (
        "rate-limit-over-env-max",
        _set("gateway.rateLimit.calls", 1000),
        "gateway.rateLimit.calls",
        "at most 600 calls per minute per caller in dev",
    ),
    ("rate-limit-zero", _set("gateway.rateLimit.calls", 0), "gateway.rateLimit.calls", "at least 1, found 0"),
    (
        "rate-period-too-long",
        _set("gateway.rateLimit.renewalPeriodSeconds", 3600),
        "gateway.rateLimit.renewalPeriodSeconds",
        "at most 300",
    ),
    (
        "quota-period-too-short",
        _set("gateway.quota.renewalPeriodSeconds", 60),
        "gateway.quota.renewalPeriodSeconds",
        "at least 3600",
    ),
    (
        "log-retention-low",
        _set("monitoring.logRetentionDays", 7),
        "monitoring.logRetentionDays",
        "at least 30, found 7",
    ),
    (
        "log-retention-high",
        _set("monitoring.logRetentionDays", 4000),
        "monitoring.logRetentionDays",
        "at most 730, found 4000",
    ),
    (
        "kv-retention-high",
        _set("keyVault", {"softDeleteRetentionDays": 365}),
        "keyVault.softDeleteRetentionDays",
        "at most 90",
    ),
    (
        "soft-delete-low",
        _set("dataStorage.softDeleteRetentionDays", 3),
        "dataStorage.softDeleteRetentionDays",
        "at least 7",
    ),
    (
        "max-nodes-high",
        _set("workspaces.0.computeClusters.0.maxNodes", 500),
        "computeClusters[0].maxNodes",
        "at most 100",
    ),
    (
        "bad-zone-purpose",
        _set("dataStorage.zones", {"rwa": {"container": "raw", "classification": "restricted"}}),
        "dataStorage.zones.rwa:",
        "expected 'quarantine', 'raw'",
    ),
    (
        "missing-zone",
        _set("dataStorage.zones", {"raw": {"container": "raw", "classification": "restricted"}}),
        "dataStorage.zones:",
        "missing quarantine, anonymized, curated, models",
    ),
    (
        "bad-container-name",
        _set("dataStorage.zones", {"raw": {"container": "Raw_Data", "classification": "restricted"}}),
        "dataStorage.zones.raw.container",
        "Azure container name rules",
    ),
    (
        "bad-legal-hold-tag",
        _set("dataStorage.zones", {"raw": {"container": "raw", "classification": "restricted", "legalHold": ["x"]}}),
        "dataStorage.zones.raw.legalHold[0]",
        "legal-hold tag rules",
    ),
    (
        "worm-longer-than-raw",
        _set("dataStorage.immutabilityRetentionDays", 60),
        "dataStorage.immutabilityRetentionDays",
        "at most rawRetentionDays (30)",
    ),
    (
        "cold-before-cool",
        _set("dataStorage.coldAfterDays", 10),
        "dataStorage.coldAfterDays",
        "more than coolAfterDays (30)",
    ),
    (
        "lock-without-reason",
        _set("dataStorage.immutabilityLock", True),
        "dataStorage.immutabilityLock",
        "needs a written reason",
    ),
    (
        "bad-pipeline-principal",
        _set("dataStorage.pipelineIdentities", {"ingestion": "svc-ingest"}),
        "pipelineIdentities.ingestion",
        "a Microsoft Entra object ID",
    ),
    (
        "unknown-pipeline-step",
        _set("dataStorage.pipelineIdentities", {"ingest": "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01"}),
        "pipelineIdentities.ingest",
        "did you mean 'ingestion'?",
    ),
    (
        "traffic-not-100",
        _set("workspaces.0.endpoints.0.deployments.0.traffic", 90),
        "endpoints[0].deployments:",
        "add up to 100, found 90",
    ),
    (
        "mirror-on-live",
        _set("workspaces.0.endpoints.0.deployments.0.mirror", 10),
        "deployments[0].mirror",
        "expected 0 on a deployment that takes live traffic",
    ),
    (
        "bad-model-ref",
        _set("workspaces.0.endpoints.0.deployments.0.model", "fraud-model"),
        "deployments[0].model",
        "azureml:fraud-model:3",
    ),
    (
        "max-below-count",
        _set("workspaces.0.endpoints.0.deployments.0.maxInstances", 0),
        "deployments[0].maxInstances",
        "at least 1",
    ),
    (
        "duplicate-endpoint",
        _set(
            "workspaces.1",
            {
                "name": "churn",
                "dataScientistGroupId": "6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01",
                "endpoints": [
                    {
                        "name": "fraud-score",
                        "deployments": [{"name": "blue", "model": "azureml:m:1", "instanceType": "Standard_DS3_v2"}],
                    }
                ],
            },
        ),
        "workspaces[1].endpoints[0].name",
        "unique per region",
    ),
    (
        "mirror-too-high",
        _set(
            "workspaces.0.endpoints.0.deployments.1",
            {"name": "shadow", "model": "azureml:m:1", "instanceType": "Standard_DS3_v2", "traffic": 0, "mirror": 80},
        ),
        "deployments[1].mirror",
        "at most 50",
    ),
    ("missing-jwt-audience", _set("gateway.jwtAudience", _DELETE), "gateway.jwtAudience", "required key is missing"),
    ("request-size-too-big", _set("gateway.maxRequestBytes", 102_401), "gateway.maxRequestBytes", "at most 102400"),
    ("quota-volume-zero", _set("gateway.quotaVolumePercent", 0), "gateway.quotaVolumePercent", "at least 1"),
    ("quota-volume-whole", _set("gateway.quotaVolumePercent", 100), "gateway.quotaVolumePercent", "at most 99"),
    ("opt-out-without-reason", _set("locks", False), "secure-ml:locks:", "needs a written reason"),
    (
        "opt-out-short-reason",
        _set("locks", {"enabled": False, "reason": "because"}),
        "locks.reason",
        "at least 20 characters",
    ),
    (
        "purge-protection-off-no-reason",
        _set("keyVault", {"purgeProtection": {"enabled": False}}),
        "keyVault.purgeProtection",
        "needs a written reason",
    ),
    ("suspend-without-reason", _set("gateway.suspended", True), "gateway.suspended", "needs a written reason"),
    (
        "cmk-without-cosmos-principal",
        _set("workspaces.0.customerManagedKey", True),
        "secure-ml:cosmosDbPrincipalId:",
        "because workspaces[0].customerManagedKey is true (az ad sp show --id a232010e-820c-4083-83bb-3ace5fc29d0b",
    ),
    ("bad-cosmos-principal", _set("cosmosDbPrincipalId", "cosmos-db"), "cosmosDbPrincipalId", "Entra object ID"),
    (
        "image-build-compute-not-a-cluster",
        _set("workspaces.0.imageBuildCompute", "gpu-train"),
        "workspaces[0].imageBuildCompute",
        "expected the name of one of this workspace's computeClusters (cpu-train), found 'gpu-train'",
    ),
    (
        "cmk-without-purge-protection",
        _both(
            _set("dataStorage.customerManagedKey", True),
            _set("keyVault", {"purgeProtection": {"enabled": False, "reason": "sandbox vaults are purged every week"}}),
        ),
        "keyVault.purgeProtection",
        "expected it on because dataStorage.customerManagedKey is true",
    ),
    (
        "immutability-off-without-reason",
        _set("dataStorage.immutability", {"enabled": False}),
        "dataStorage.immutability",
        "needs a written reason",
    ),
    (
        "legal-hold-while-immutability-off",
        _set(
            "dataStorage.zones",
            {
                "quarantine": {"container": "quarantine", "classification": "restricted"},
                "raw": {"container": "raw", "classification": "restricted", "legalHold": ["case42"]},
                "anonymized": {"container": "anonymized", "classification": "confidential"},
                "curated": {"container": "curated", "classification": "confidential"},
                "models": {"container": "models", "classification": "internal"},
            },
        ),
        "dataStorage.zones.raw.legalHold",
        "expected no legal hold while immutability is turned off for teardown",
    ),
    (
        "lock-while-immutability-off",
        _set("dataStorage.immutabilityLock", {"enabled": True, "reason": "retention agreed with legal, ticket SEC-42"}),
        "dataStorage.immutabilityLock",
        "expected it off while immutability is turned off",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "key", "words"), BAD_CONFIG, ids=[c[0] for c in BAD_CONFIG])
def test_bad_config_exits_2_naming_the_key(project, capsys, case, mutate, key, words):
    root = project("bad", mutate=mutate)
    assert plan.main(["bad", "--project-dir", str(root), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stacks/Pulumi.bad.yaml: invalid configuration\n")
    assert key in err, err
    assert words in err, err
    assert "Traceback" not in err
    assert not (root / "build").exists(), "nothing is written for an invalid stack"


def test_prod_requires_longer_soft_delete(project, capsys):
    root = project("bad", base="prod", mutate=_set("dataStorage.softDeleteRetentionDays", 7))
    assert plan.main(["bad", "--project-dir", str(root)]) == 2
    assert "dataStorage.softDeleteRetentionDays: expected at least 30 days in prod, found 7" in capsys.readouterr().err


def test_prod_refuses_the_immutability_opt_out(project, capsys):
    off = {"enabled": False, "reason": "we would like to tear prod down quickly"}
    root = project("bad", base="prod", mutate=_set("dataStorage.immutability", off))
    assert plan.main(["bad", "--project-dir", str(root)]) == 2
    assert (
        "secure-ml:dataStorage.immutability: expected it on in prod (training data stays write-once; only a stack "
        'that is torn down may turn it off), found {"enabled": false}' in capsys.readouterr().err
    )


def test_prod_names_the_cosmos_db_principal_for_its_cmk_workspaces(project, capsys):
    assert (
        config.validate(stack_values("prod"), "prod").cosmos_db_principal_id == "3c1a7e52-6b0d-4f8e-9a21-5d4c8b7f0e13"
    )
    root = project("bad", base="prod", mutate=_set("cosmosDbPrincipalId", _DELETE))
    assert plan.main(["bad", "--project-dir", str(root)]) == 2
    assert capsys.readouterr().err == (
        "error: stacks/Pulumi.bad.yaml: invalid configuration\n"
        "  secure-ml:cosmosDbPrincipalId: expected the object ID of this tenant's Azure Cosmos DB service principal "
        "because workspaces[0].customerManagedKey is true (az ad sp show --id a232010e-820c-4083-83bb-3ace5fc29d0b "
        "--query id -o tsv), found null\n"
    )


def test_image_build_compute_defaults_to_the_first_cluster():
    values = stack_values("dev")
    assert config.validate(values, "dev").workspaces[0].image_builder == "cpu-train"
    values["workspaces"][0]["computeClusters"].append(
        {"name": "gpu-train", "vmSize": "Standard_NC6s_v3", "maxNodes": 1}
    )
    values["workspaces"][0]["imageBuildCompute"] = "gpu-train"
    assert config.validate(values, "dev").workspaces[0].image_builder == "gpu-train"
    values["workspaces"][0]["computeClusters"] = []
    del values["workspaces"][0]["imageBuildCompute"]
    assert config.validate(values, "dev").workspaces[0].image_builder is None


def test_quota_volume_alert_watches_the_quota_period_within_two_days():
    values = stack_values("dev")
    assert config.validate(values, "dev").gateway.quota_volume_alert() == (86_400, 5_000)
    values["gateway"]["quotaVolumePercent"] = 80
    assert config.validate(values, "dev").gateway.quota_volume_alert() == (86_400, 8_000)
    # a weekly quota is watched in two-day windows, the share scaled to the window: 70,000 * 2/7 * 80%
    values["gateway"]["quota"] = {"calls": 70_000, "renewalPeriodSeconds": 604_800}
    assert config.validate(values, "dev").gateway.quota_volume_alert() == (172_800, 16_000)
    # Azure accepts windows of 6 hours, not 12: a 12-hour quota is watched in 6-hour windows, 4,000 * 6/12 * 80%
    values["gateway"]["quota"] = {"calls": 4_000, "renewalPeriodSeconds": 43_200}
    assert config.validate(values, "dev").gateway.quota_volume_alert() == (21_600, 1_600)


def test_prod_rate_limit_maximum_is_higher_than_dev():
    values = stack_values("prod")
    values["gateway"]["rateLimit"] = {"calls": 1000, "renewalPeriodSeconds": 60}
    assert config.validate(values, "prod").gateway.rate_limit.calls == 1000
    values["gateway"]["rateLimit"] = {"calls": 7000, "renewalPeriodSeconds": 60}
    with pytest.raises(config.ConfigError, match="at most 6000 calls per minute per caller in prod"):
        config.validate(values, "prod")


def test_every_problem_is_reported_at_once():
    values = stack_values("dev")
    values["monitoring"]["logRetentionDays"] = 1
    values["tags"]["owner"] = "nobody"
    with pytest.raises(config.ConfigError) as err:
        config.validate(values, "dev", unknown=["lcoation"])
    lines = str(err.value).splitlines()
    assert lines == [
        "stacks/Pulumi.dev.yaml: invalid configuration",
        "  secure-ml:lcoation: unknown key; did you mean 'location'?",
        "  secure-ml:tags.owner: expected an e-mail address, found 'nobody'",
        "  secure-ml:monitoring.logRetentionDays: expected a value at least 30, found 1",
    ]


def test_unknown_keys_come_from_the_engine_config(project, capsys):
    root = project("bad", mutate=_set("networkk", {"addressSpace": "10.0.0.0/16"}))
    assert plan.main(["bad", "--project-dir", str(root)]) == 2
    assert "secure-ml:networkk: unknown key; did you mean 'network'?" in capsys.readouterr().err


def test_unreadable_stack_file_exits_2(project, capsys):
    root = project("bad", raw="config: [unclosed\n")
    assert plan.main(["bad", "--project-dir", str(root)]) == 2
    assert capsys.readouterr().err.startswith("error: stacks/Pulumi.bad.yaml: the stack file is not valid YAML")


def test_missing_stack_file_lists_the_stacks(capsys):
    assert plan.main(["nosuch"]) == 2
    assert capsys.readouterr().err == "error: stacks/Pulumi.nosuch.yaml: no such stack file (stacks: dev, prod)\n"


def test_cli_process_exits_2_without_traceback(project):
    root = project("bad", mutate=_set("location", "mars"))
    result = python_m("scripts.plan", "bad", "--project-dir", str(root))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: stacks/Pulumi.bad.yaml: invalid configuration\n"
        "  secure-ml:location: expected an AzurePublicCloud region such as westeurope, found 'mars'\n"
    )


def test_opt_outs_are_reported_with_their_reasons():
    values = stack_values("dev")
    values["keyVault"] = {
        "purgeProtection": {"enabled": False, "reason": "short-lived sandbox vaults are purged weekly"}
    }
    settings = config.validate(values, "dev")
    assert settings.opt_outs == {
        "locks": "dev is torn down and rebuilt nightly; CanNotDelete locks would block the teardown",
        "keyVault.purgeProtection": "short-lived sandbox vaults are purged weekly",
        "dataStorage.immutability": "dev is torn down and rebuilt nightly; version-level WORM containers block the "
        "teardown",
    }


def test_both_stacks_are_valid():
    assert config.validate(stack_values("dev"), "dev").environment == "dev"
    prod = config.validate(stack_values("prod"), "prod")
    assert (prod.environment, prod.zone_redundant, prod.locks.enabled) == ("prod", True, True)
    assert prod.opt_outs == {}
