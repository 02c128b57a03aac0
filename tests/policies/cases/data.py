"""Failing cases of the data rules (policies/catalog/rules/data.py, MLSEC-DATA-*, MLSEC-IAM-*): container
classification, restricted zones, immutability, lifecycle deletion and least-privilege data roles."""

from __future__ import annotations

from tests.policies.case import Case
from tests.policies.policy_cases import DELETE

SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"

OWNER_ROLE = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

CASES: tuple[Case, ...] = (
    Case(
        name="raw-container-classification-unset",
        rule="MLSEC-DATA-001",
        base="dev",
        resource="mlsec-dev-data-raw",
        path="metadata.classification",
        value=DELETE,
        expected=(
            (
                "mlsec-dev-data-raw",
                "container raw must declare metadata.classification as one of public, internal, "
                "confidential, restricted (found not set)",
            ),
        ),
    ),
    Case(
        name="curated-container-zone-empty",
        rule="MLSEC-DATA-001",
        base="dev",
        resource="mlsec-dev-data-curated",
        path="metadata.zone",
        value="",
        expected=(("mlsec-dev-data-curated", 'container curated must declare metadata.zone (found "")'),),
    ),
    Case(
        name="compute-reads-raw-container",
        rule="MLSEC-DATA-002",
        base="dev",
        resource="mlsec-dev-fraud-data-curated-compute",
        path="scope",
        value=f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe/providers/Microsoft.Storage/storageAccounts/"
        "mlsecdevdataacct2a05fbc1/blobServices/default/containers/raw",
        expected=(
            (
                "mlsec-dev-fraud-data-curated-compute",
                "mlsec-dev-fraud-data-curated-compute grants Storage Blob Data Reader "
                "on restricted container raw to workload identity mlsec-dev-fraud-compute-id; "
                "only pipeline identities may access restricted zones",
            ),
        ),
    ),
    Case(
        name="datastore-on-quarantine-container",
        rule="MLSEC-DATA-003",
        base="dev",
        resource="mlsec-dev-fraud-ds-curated",
        path="properties.containerName",
        value="quarantine",
        expected=(
            (
                "mlsec-dev-fraud-ds-curated",
                "datastore mlsec-dev-fraud-ds-curated points at restricted container quarantine",
            ),
        ),
    ),
    Case(
        name="prod-curated-container-mutable",
        rule="MLSEC-DATA-004",
        base="prod",
        resource="mlsec-prod-data-curated",
        path="immutableStorageWithVersioning.enabled",
        value=False,
        expected=(
            (
                "mlsec-prod-data-curated",
                "container curated: immutableStorageWithVersioning.enabled must be true (found false)",
            ),
        ),
    ),
    Case(
        name="prod-anonymized-worm-policy-removed",
        rule="MLSEC-DATA-004",
        base="prod",
        resource="mlsec-prod-data-anonymized-worm",
        path=None,
        value=None,
        expected=(
            (
                "mlsec-prod-data-anonymized",
                "container anonymized has no immutability policy with a retention of at least 1 day",
            ),
        ),
    ),
    Case(
        name="raw-lifecycle-rule-disabled",
        rule="MLSEC-DATA-005",
        base="dev",
        resource="mlsec-dev-data-lifecycle",
        path="policy.rules.1.enabled",
        value=False,
        expected=(
            ("mlsec-dev-data-raw", "no enabled lifecycle rule deletes blobs and versions in restricted container raw"),
        ),
    ),
    Case(
        name="quarantine-lifecycle-keeps-versions",
        rule="MLSEC-DATA-005",
        base="dev",
        resource="mlsec-dev-data-lifecycle",
        path="policy.rules.0.definition.actions.version",
        value=DELETE,
        expected=(
            (
                "mlsec-dev-data-quarantine",
                "no enabled lifecycle rule deletes blobs and versions in restricted container quarantine",
            ),
        ),
    ),
    Case(
        name="workspace-not-high-business-impact",
        rule="MLSEC-DATA-006",
        base="dev",
        resource="mlsec-dev-fraud-mlw",
        path="hbiWorkspace",
        value=False,
        expected=(("mlsec-dev-fraud-mlw", "hbiWorkspace must be true (found false)"),),
    ),
    Case(
        name="prod-data-account-without-worm",
        rule="MLSEC-DATA-007",
        base="prod",
        resource="mlsec-prod-dataacct",
        path="immutableStorageWithVersioning.enabled",
        value=False,
        expected=(("mlsec-prod-dataacct", "immutableStorageWithVersioning.enabled must be true (found false)"),),
    ),
    Case(
        name="workspace-identity-granted-owner",
        rule="MLSEC-IAM-001",
        base="dev",
        resource="mlsec-dev-fraud-ws-ws-identity",
        path="roleDefinitionId",
        value=OWNER_ROLE,
        expected=(("mlsec-dev-fraud-ws-ws-identity", "mlsec-dev-fraud-ws-ws-identity grants Owner"),),
    ),
    Case(
        name="models-reader-on-whole-account",
        rule="MLSEC-IAM-002",
        base="dev",
        resource="mlsec-dev-fraud-data-models-ws",
        path="scope",
        value=f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe/providers/Microsoft.Storage/storageAccounts/mlsecdevdataacct2a05fbc1",
        expected=(
            (
                "mlsec-dev-fraud-data-models-ws",
                "mlsec-dev-fraud-data-models-ws grants Storage Blob Data Reader on the whole training-data account",
            ),
        ),
    ),
    Case(
        name="models-reader-on-resource-group",
        rule="MLSEC-IAM-002",
        base="dev",
        resource="mlsec-dev-fraud-data-models-ws",
        path="scope",
        value=f"{SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe",
        expected=(
            (
                "mlsec-dev-fraud-data-models-ws",
                "mlsec-dev-fraud-data-models-ws grants Storage Blob Data Reader above the "
                f"storage accounts ({SUB}/resourceGroups/mlsec-dev-rgf7e1a2fe)",
            ),
        ),
    ),
)
