"""Training-data storage (issue: immutable, versioned data with access logging and zones).

Every control is asserted at its exact value on the dev and prod plans; flipping or dropping one fails."""

from __future__ import annotations

import pytest

from components.common import ROLE
from components.datastorage import WRITES
from components.tripwires import DESTRUCTIVE_OPERATIONS, LIFECYCLE_AGENT, WRITE_OPERATIONS
from scripts.plan import cli as plan
from tests.conftest import Plan

T = "azure-native:"
DATA = "secure-ml:data:DataStorage"
ZONES = ("quarantine", "raw", "anonymized", "curated", "models")


def account(p: Plan) -> dict:
    (acct,) = p.made_by(DATA, T + "storage:StorageAccount")
    return acct["inputs"]


def test_account_is_identity_only_private_and_encrypted(dev_plan: Plan):
    acct = account(dev_plan)
    expected = {
        "kind": "StorageV2",
        "isHnsEnabled": False,
        "allowSharedKeyAccess": False,
        "defaultToOAuthAuthentication": True,
        "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Disabled",
        "networkRuleSet": {"bypass": "AzureServices", "defaultAction": "Deny"},
        "minimumTlsVersion": "TLS1_2",
        "enableHttpsTrafficOnly": True,
        "allowCrossTenantReplication": False,
        "allowedCopyScope": "PrivateLink",
        "sasPolicy": {"expirationAction": "Block", "sasExpirationPeriod": "0.01:00:00"},
        "sku": {"name": "Standard_LRS"},
    }
    assert {k: acct[k] for k in expected} == expected
    assert acct["encryption"]["requireInfrastructureEncryption"] is True
    assert acct["encryption"]["keySource"] == "Microsoft.Storage"


def test_account_level_worm_is_on_and_unlocked_by_default(prod_plan: Plan):
    assert account(prod_plan)["immutableStorageWithVersioning"] == {
        "enabled": True,
        "immutabilityPolicy": {
            "allowProtectedAppendWrites": False,
            "immutabilityPeriodSinceCreationInDays": 90,
            "state": "Unlocked",
        },
    }


def test_dev_turns_worm_off_explicitly_so_it_can_be_torn_down(dev_plan: Plan):
    """A container or account enabled for version-level immutability cannot be deleted until it is empty and a
    version under retention cannot be deleted, so dev opts out with a reason the gate sees."""
    assert account(dev_plan)["immutableStorageWithVersioning"] == {"enabled": False}
    containers = dev_plan.made_by(DATA, T + "storage:BlobContainer")
    assert len(containers) == 6
    assert [c["name"] for c in containers if "immutableStorageWithVersioning" in c["inputs"]] == []
    assert dev_plan.made_by(DATA, T + "storage:BlobContainerImmutabilityPolicy") == []
    assert dev_plan.outputs["securityOptOuts"]["dataStorage.immutability"] == (
        "dev is torn down and rebuilt nightly; version-level WORM containers block the teardown"
    )


def test_dev_with_worm_back_on_gets_the_container_policies(project):
    def worm_on(values):
        del values["dataStorage"]["immutability"]

    on = Plan(plan.make_plan("wormon", project("wormon", mutate=worm_on)))
    assert account(on)["immutableStorageWithVersioning"]["enabled"] is True
    assert (
        account(on)["immutableStorageWithVersioning"]["immutabilityPolicy"]["immutabilityPeriodSinceCreationInDays"]
        == 7
    )
    assert len(on.made_by(DATA, T + "storage:BlobContainerImmutabilityPolicy")) == 5
    assert "dataStorage.immutability" not in on.outputs["securityOptOuts"]


def test_lock_needs_an_explicit_reasoned_switch(project):
    def lock(values):
        del values["dataStorage"]["immutability"]
        values["dataStorage"]["immutabilityLock"] = {
            "enabled": True,
            "reason": "retention agreed with legal, ticket SEC-42",
        }

    locked = Plan(plan.make_plan("locked", project("locked", mutate=lock)))
    assert account(locked)["immutableStorageWithVersioning"]["immutabilityPolicy"]["state"] == "Locked"


def test_prod_is_zone_redundant_with_customer_managed_key(prod_plan: Plan):
    acct = account(prod_plan)
    assert acct["sku"] == {"name": "Standard_ZRS"}
    enc = acct["encryption"]
    assert enc["keySource"] == "Microsoft.Keyvault"
    assert enc["requireInfrastructureEncryption"] is True
    (uami,) = acct["identity"]["userAssignedIdentities"]
    assert acct["identity"]["type"] == "UserAssigned"
    assert enc["encryptionIdentity"] == {"encryptionUserAssignedIdentity": uami}
    assert enc["keyVaultProperties"]["keyName"] == "mlsec-prod-data-cmk"
    vault = prod_plan.outputs["keyVaultId"].rsplit("/", 1)[-1]
    assert enc["keyVaultProperties"]["keyVaultUri"] == f"https://{vault}.vault.azure.net/"
    (grant,) = [
        r["inputs"]
        for r in prod_plan.made_by(DATA, T + "authorization:RoleAssignment")
        if r["inputs"]["roleDefinitionId"].endswith(ROLE["Key Vault Crypto Service Encryption User"])
    ]
    assert grant["scope"] == prod_plan.outputs["keyVaultId"]
    account_resource = prod_plan.made_by(DATA, T + "storage:StorageAccount")[0]
    assert any(d.endswith("mlsec-prod-data-cmk-rbac-data") for d in account_resource["dependencies"])


@pytest.mark.parametrize(("stack", "days"), [("dev", 7), ("prod", 30)])
def test_blob_service_versioning_change_feed_soft_delete(request, stack: str, days: int):
    p: Plan = request.getfixturevalue(f"{stack}_plan")
    (svc,) = p.made_by(DATA, T + "storage:BlobServiceProperties")
    inputs = svc["inputs"]
    assert inputs["isVersioningEnabled"] is True
    assert inputs["changeFeed"] == {"enabled": True, "retentionInDays": {"dev": 30, "prod": 365}[stack]}
    assert inputs["deleteRetentionPolicy"] == {"enabled": True, "days": days, "allowPermanentDelete": False}
    assert inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}
    assert inputs["lastAccessTimeTrackingPolicy"]["enable"] is True


def test_every_zone_is_a_private_classified_worm_container(prod_plan: Plan, dev_plan: Plan):
    containers = {
        r["inputs"]["containerName"]: r["inputs"] for r in prod_plan.made_by(DATA, T + "storage:BlobContainer")
    }
    assert set(containers) == set(ZONES)
    classification = {
        "quarantine": "restricted",
        "raw": "restricted",
        "anonymized": "confidential",
        "curated": "confidential",
        "models": "internal",
    }
    for name, c in containers.items():
        assert c["publicAccess"] == "None", name
        assert c["immutableStorageWithVersioning"] == {"enabled": True}, name
        assert c["metadata"]["classification"] == classification[name], name
    policies = {
        r["inputs"]["containerName"]: r["inputs"]
        for r in prod_plan.made_by(DATA, T + "storage:BlobContainerImmutabilityPolicy")
    }
    assert set(policies) == set(ZONES)
    for zone, policy in policies.items():
        assert policy["immutabilityPeriodSinceCreationInDays"] == 90, zone
        assert policy["allowProtectedAppendWrites"] is False, zone
    assert prod_plan.made_by(DATA, T + "storage:BlobContainerLegalHold") == []
    dev = {r["inputs"]["containerName"]: r["inputs"] for r in dev_plan.made_by(DATA, T + "storage:BlobContainer")}
    assert set(dev) == {*ZONES, "scratch-fraud"}
    assert {n: c["publicAccess"] for n, c in dev.items()} == dict.fromkeys(dev, "None")
    assert dev["scratch-fraud"]["metadata"] == {"classification": "confidential", "zone": "scratch"}


def test_legal_hold_from_config(project):
    def hold(values):
        del values["dataStorage"]["immutability"]  # a legal hold needs a stack that is not torn down
        values["dataStorage"]["zones"] = {
            "quarantine": {"container": "quarantine", "classification": "restricted"},
            "raw": {"container": "raw", "classification": "restricted", "legalHold": ["incident4711"]},
            "anonymized": {"container": "anonymized", "classification": "confidential"},
            "curated": {"container": "curated", "classification": "confidential"},
            "models": {"container": "models", "classification": "internal"},
        }

    held = Plan(plan.make_plan("hold", project("hold", mutate=hold)))
    (legal,) = held.made_by(DATA, T + "storage:BlobContainerLegalHold")
    assert legal["inputs"]["containerName"] == "raw"
    assert legal["inputs"]["tags"] == ["incident4711"]
    assert legal["inputs"]["allowProtectedAppendWritesAll"] is False


def test_lifecycle_expires_raw_and_tiers_the_rest_without_deleting(dev_plan: Plan):
    (policy,) = dev_plan.made_by(DATA, T + "storage:ManagementPolicy")
    rules = {r["name"]: r for r in policy["inputs"]["policy"]["rules"]}
    assert set(rules) == {"expire-quarantine", "expire-raw", "tier-anonymized", "tier-curated", "tier-models"}
    for zone in ("quarantine", "raw"):
        rule = rules[f"expire-{zone}"]["definition"]
        assert rule["filters"]["prefixMatch"] == [f"{zone}/"]
        assert rule["actions"]["baseBlob"] == {"delete": {"daysAfterModificationGreaterThan": 30}}
        assert rule["actions"]["version"] == {"delete": {"daysAfterCreationGreaterThan": 30}}
    for zone in ("anonymized", "curated", "models"):
        actions = rules[f"tier-{zone}"]["definition"]["actions"]
        assert "delete" not in actions["baseBlob"] and "delete" not in actions["version"]
        assert actions["baseBlob"]["tierToCool"] == {"daysAfterModificationGreaterThan": 30}
        assert actions["baseBlob"]["tierToCold"] == {"daysAfterModificationGreaterThan": 90}


def _grants(p: Plan) -> dict[tuple[str, str], set[str]]:
    """(principal, container) -> role names, for every container-scoped role assignment."""
    names = {guid: name for name, guid in ROLE.items()}
    out: dict[tuple[str, str], set[str]] = {}
    for r in p.role_assignments():
        if "/blobServices/default/containers/" in r["scope"]:
            container = r["scope"].rsplit("/", 1)[-1]
            out.setdefault((r["principalId"], container), set()).add(names[r["roleDefinitionId"].rsplit("/", 1)[-1]])
    return out


def test_pipeline_identities_write_exactly_their_zone(dev_plan: Plan):
    principals = dev_plan.outputs["pipelinePrincipals"]
    grants = _grants(dev_plan)
    expected = {
        (principals["ingestion"], "quarantine"): {"Storage Blob Data Contributor"},
        (principals["validation"], "quarantine"): {"Storage Blob Data Reader"},
        (principals["validation"], "raw"): {"Storage Blob Data Contributor"},
        (principals["anonymization"], "raw"): {"Storage Blob Data Reader"},
        (principals["anonymization"], "anonymized"): {"Storage Blob Data Contributor"},
        (principals["curation"], "anonymized"): {"Storage Blob Data Reader"},
        (principals["curation"], "curated"): {"Storage Blob Data Contributor"},
        (principals["release"], "models"): {"Storage Blob Data Contributor"},
    }
    assert {k: v for k, v in grants.items() if k[0] in principals.values()} == expected
    assert set(WRITES) == set(principals)


def test_no_account_wide_data_roles(dev_plan: Plan, prod_plan: Plan):
    for p in (dev_plan, prod_plan):
        data_account = p.outputs["dataAccountId"]
        for r in p.role_assignments():
            if r["scope"].startswith(data_account):
                if r["roleDefinitionId"].endswith(ROLE["Azure AI Enterprise Network Connection Approver"]):
                    # approves the managed network's private endpoint, which exists only on the account itself;
                    # the role has no data actions
                    assert r["scope"] == data_account, r
                    continue
                assert "/blobServices/default/containers/" in r["scope"], r


def test_no_workspace_compute_or_endpoint_identity_touches_raw_or_quarantine(prod_plan: Plan):
    pipeline = set(prod_plan.outputs["pipelinePrincipals"].values())
    restricted = {c for zone, c in prod_plan.outputs["dataContainers"].items() if zone in ("raw", "quarantine")}
    assert restricted == {"raw", "quarantine"}
    workspace_principals = {
        r["inputs"]["principalId"]
        for r in prod_plan.made_by("secure-ml:ml:Workspace", T + "authorization:RoleAssignment")
    }
    assert workspace_principals and not workspace_principals & pipeline
    for (principal, container), _roles in _grants(prod_plan).items():
        if container in restricted:
            assert principal in pipeline, (principal, container)


def test_workspaces_read_curated_and_models_and_write_only_their_scratch(dev_plan: Plan):
    pipeline = set(dev_plan.outputs["pipelinePrincipals"].values())
    endpoint_principals = {
        r["inputs"]["principalId"]
        for r in dev_plan.made_by("secure-ml:ml:Endpoint", T + "authorization:RoleAssignment")
    }
    pipeline |= endpoint_principals  # endpoint identities are covered by tests/components/test_gateway.py
    others = sorted((c, sorted(roles)) for (p, c), roles in _grants(dev_plan).items() if p not in pipeline)
    assert others == [
        ("curated", ["Storage Blob Data Reader"]),  # workspace identity
        ("curated", ["Storage Blob Data Reader"]),  # compute identity
        ("models", ["Storage Blob Data Reader"]),  # workspace identity
        ("scratch-fraud", ["Storage Blob Data Contributor"]),  # workspace identity
        ("scratch-fraud", ["Storage Blob Data Contributor"]),  # compute identity
    ]


def test_datastores_only_for_curated_models_and_own_scratch(dev_plan: Plan, prod_plan: Plan):
    dev = {
        r["inputs"]["name"]: r["inputs"]["properties"]
        for r in dev_plan.of_type(T + "machinelearningservices:Datastore")
    }
    assert set(dev) == {"curated", "models", "scratch_fraud"}
    for name, props in dev.items():
        assert props["credentials"] == {"credentialsType": "None"}, name  # identity-based, no keys or SAS
        assert props["serviceDataAccessAuthIdentity"] == "WorkspaceUserAssignedIdentity"
        assert props["containerName"] not in ("raw", "quarantine")
    prod = [r["inputs"] for r in prod_plan.of_type(T + "machinelearningservices:Datastore")]
    assert sorted((d["workspaceName"].split("-")[2], d["name"]) for d in prod) == [
        ("churn", "curated"),
        ("churn", "models"),
        ("fraud", "curated"),
        ("fraud", "models"),
    ]


def test_blob_access_logs_reach_log_analytics(dev_plan: Plan):
    data_account = dev_plan.outputs["dataAccountId"]
    settings = {
        r["inputs"]["resourceUri"]: r["inputs"] for r in dev_plan.made_by(DATA, T + "monitor:DiagnosticSetting")
    }
    blob = settings[f"{data_account}/blobServices/default"]
    assert blob["logs"] == [
        {"category": "StorageRead", "enabled": True},
        {"category": "StorageWrite", "enabled": True},
        {"category": "StorageDelete", "enabled": True},
    ]
    assert blob["metrics"] == [{"category": "Transaction", "enabled": True}]
    assert blob["workspaceId"] == dev_plan.outputs["logAnalyticsWorkspaceId"]
    assert settings[data_account]["metrics"] == [{"category": "Transaction", "enabled": True}]


def test_reached_only_through_a_blob_private_endpoint(dev_plan: Plan):
    (pe,) = [
        r["inputs"]
        for r in dev_plan.of_type(T + "network:PrivateEndpoint")
        if r["inputs"]["privateLinkServiceConnections"][0]["privateLinkServiceId"] == dev_plan.outputs["dataAccountId"]
    ]
    assert pe["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]


def _alerts(p: Plan) -> dict[str, dict]:
    return {r["name"].split("-data-", 1)[1]: r["inputs"] for r in p.made_by(DATA, T + "monitor:ScheduledQueryRule")}


def test_tripwire_on_writes_by_anyone_but_the_zone_writer(dev_plan: Plan):
    alerts = _alerts(dev_plan)
    principals = dev_plan.outputs["pipelinePrincipals"]
    account_name = dev_plan.outputs["dataAccountId"].rsplit("/", 1)[-1]
    writer = {"raw": "validation", "anonymized": "anonymization", "curated": "curation", "models": "release"}
    for zone, step in writer.items():
        rule = alerts[f"tripwire-{zone}"]
        (condition,) = rule["criteria"]["allOf"]
        query = condition["query"]
        assert f'| where AccountName == "{account_name}"' in query
        assert f'| where ObjectKey startswith "/{account_name}/{zone}/"' in query
        assert f'| where RequesterObjectId != "{principals[step]}"' in query
        assert all(f'"{op}"' in query for op in WRITE_OPERATIONS)
        assert (condition["operator"], condition["threshold"], condition["timeAggregation"]) == (
            "GreaterThan",
            0,
            "Count",
        )
        assert rule["actions"]["actionGroups"] == [dev_plan.outputs["actionGroupId"]]
        assert rule["scopes"] == [dev_plan.outputs["logAnalyticsWorkspaceId"]]
        assert (rule["enabled"], rule["evaluationFrequency"], rule["windowSize"]) == (True, "PT5M", "PT5M")
    assert "tripwire-quarantine" not in alerts  # anyone with the ingestion role may drop data there


def test_tripwire_on_any_delete_or_immutability_change(dev_plan: Plan):
    (condition,) = _alerts(dev_plan)["tripwire-destructive"]["criteria"]["allOf"]
    assert all(f'"{op}"' in condition["query"] for op in DESTRUCTIVE_OPERATIONS)
    assert f'UserAgentHeader !startswith "{LIFECYCLE_AGENT}"' in condition["query"]
    assert condition["threshold"] == 0


def test_tripwire_on_bursts_of_failed_authorizations(dev_plan: Plan):
    rule = _alerts(dev_plan)["tripwire-denied"]
    (condition,) = rule["criteria"]["allOf"]
    assert '| where StatusCode in ("401", "403")' in condition["query"]
    assert (condition["threshold"], rule["windowSize"]) == (20, "PT15M")


def test_prod_locks_the_data_account(prod_plan: Plan):
    (lock,) = prod_plan.made_by(DATA, T + "authorization:ManagementLockByScope")
    assert lock["inputs"] == {
        "level": "CanNotDelete",
        "notes": "Training data: versioned, immutable, access-logged",
        "scope": prod_plan.outputs["dataAccountId"],
        # the provider's Check names the lock (logical name + 8 hex characters) and flags the name as generated
        "lockName": "mlsec-prod-data-lock2e39acb5",
        "__createBeforeDelete": True,
    }


def test_existing_pipeline_principals_replace_created_identities(project):
    given = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"

    def existing(values):
        values["dataStorage"]["pipelineIdentities"] = {"ingestion": given}

    p = Plan(plan.make_plan("given", project("given", mutate=existing)))
    assert p.outputs["pipelinePrincipals"]["ingestion"] == given
    names = {r["name"] for r in p.made_by(DATA, T + "managedidentity:UserAssignedIdentity")}
    assert names == {f"mlsec-dev-data-{s}-id" for s in ("validation", "anonymization", "curation", "release")}
    assert _grants(p)[(given, "quarantine")] == {"Storage Blob Data Contributor"}
