"""Failing cases of the serverless Spark rules (policies/catalog/rules/spark.py, MLSEC-SPK-*): private paths to
the training data only, and no one but the pipeline submitting jobs where a pipeline identity is attached."""

from __future__ import annotations

from typing import Any

from tests.policies.case import Case

_RG = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/mlsec-dev-rgf7e1a2fe"
_ACCOUNT = f"{_RG}/providers/Microsoft.Storage/storageAccounts/mlsecdevdataacct2a05fbc1"
_PRIMARY = f"{_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mlsec-dev-fraud-id8d1c0c45"
_ATTACHED = f"{_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mlsec-dev-data-anonymization-id221cdad8"
_FQDN = {"category": "UserDefined", "type": "FQDN"}


def _pe(sub: str, spark: bool = True) -> dict[str, Any]:
    return {
        "category": "UserDefined",
        "type": "PrivateEndpoint",
        "destination": {"serviceResourceId": _ACCOUNT, "sparkEnabled": spark, "subresourceTarget": sub},
    }


_SPARK = {"data-storage-blob": _pe("blob"), "data-storage-dfs": _pe("dfs")}
_NO_DFS = (
    "the workspace runs serverless Spark jobs over the training data but has no private endpoint rule to the "
    "account's dfs endpoint with sparkEnabled true, so its jobs cannot reach the zones privately"
)
_WS = "mlsec-dev-fraud-mlw"

CASES: tuple[Case, ...] = (
    Case(
        name="spark-without-dfs-endpoint",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork::outboundRules::data-storage-blob::destination::sparkEnabled",
        value=True,
        expected=((_WS, _NO_DFS),),
    ),
    Case(
        name="spark-data-account-by-fqdn",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork::outboundRules",
        value={**_SPARK, "fqdn-data": {**_FQDN, "destination": "mlsecdevdataacct2a05fbc1.dfs.core.windows.net"}},
        expected=(
            (
                _WS,
                "outbound rule fqdn-data reaches the training-data account by name "
                "(mlsecdevdataacct2a05fbc1.dfs.core.windows.net) around its private endpoints; Spark must reach it "
                "only through private blob and dfs endpoint rules",
            ),
        ),
    ),
    Case(
        name="spark-all-dfs-by-wildcard-fqdn",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork::outboundRules",
        value={**_SPARK, "fqdn-all-dfs": {**_FQDN, "destination": "*.dfs.core.windows.net"}},
        expected=(
            (
                _WS,
                "outbound rule fqdn-all-dfs reaches the training-data account by name (*.dfs.core.windows.net) "
                "around its private endpoints; Spark must reach it only through private blob and dfs endpoint rules",
            ),
        ),
    ),
    Case(
        name="spark-storage-service-tag",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork::outboundRules",
        value={
            **_SPARK,
            "tag-storage": {
                "category": "UserDefined",
                "type": "ServiceTag",
                "destination": {"serviceTag": "Storage.westeurope", "protocol": "TCP", "portRanges": "443"},
            },
        },
        expected=(
            (
                _WS,
                "outbound rule tag-storage opens the Storage.westeurope service tag, which reaches every storage "
                "account including the training data; Spark must reach it only through private blob and dfs "
                "endpoint rules",
            ),
        ),
    ),
    Case(
        name="spark-file-endpoint-instead-of-dfs",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork::outboundRules",
        value={"data-storage-blob": _pe("blob"), "data-storage-file": _pe("file")},
        expected=(
            (
                _WS,
                'outbound rule data-storage-file reaches the training-data account\'s "file" endpoint; Spark '
                "reaches it only through private blob and dfs endpoint rules",
            ),
            (_WS, _NO_DFS),
        ),
    ),
    Case(
        name="spark-internet-outbound",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="managedNetwork",
        value={"isolationMode": "AllowInternetOutbound", "outboundRules": _SPARK},
        expected=(
            (
                _WS,
                "the workspace runs serverless Spark jobs over the training data, so its managed network must allow "
                'only approved outbound (managedNetwork.isolationMode is "AllowInternetOutbound")',
            ),
        ),
    ),
    Case(
        name="spark-identity-attached-without-private-rules",
        rule="MLSEC-SPK-001",
        base="dev",
        resource=_WS,
        path="identity::userAssignedIdentities",
        value=[_PRIMARY, _ATTACHED],
        expected=((_WS, _NO_DFS.replace("dfs endpoint", "blob and dfs endpoint")),),
    ),
    Case(
        name="spark-data-scientists-submit-jobs",
        rule="MLSEC-SPK-002",
        base="dev",
        resource=_WS,
        path="identity::userAssignedIdentities",
        value=[_PRIMARY, _ATTACHED],
        expected=(
            (
                "mlsec-dev-fraud-ws-data-scientists",
                "mlsec-dev-fraud data scientist (no serving) lets Group 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01 submit "
                "jobs (jobs, schedules) in workspace mlsec-dev-fraud-mlw, whose serverless Spark jobs can run as 1 "
                "attached identity: the submitter would read and write the zones as that identity",
            ),
        ),
    ),
)
