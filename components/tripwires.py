"""Tripwires on the training data: alerts over its blob access logs (``StorageBlobLogs``) on a write to a zone by
anyone but its writer, on any delete or immutability change, and on bursts of failed authorizations."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.common import Context, log_alert

GUARDED_ZONES = ("raw", "anonymized", "curated", "models")
"""Zones where a write by anyone but their writer raises the tripwire alert."""

WRITE_OPERATIONS = (
    "PutBlob",
    "PutBlock",
    "PutBlockList",
    "PutBlockFromURL",
    "AppendBlock",
    "CopyBlob",
    "CopyBlobFromURL",
    "SetBlobMetadata",
    "SetBlobTags",
    "SetBlobTier",
    "DeleteBlob",
    "UndeleteBlob",
)
DESTRUCTIVE_OPERATIONS = (
    "DeleteBlob",
    "DeleteContainer",
    "SetBlobImmutabilityPolicy",
    "DeleteBlobImmutabilityPolicy",
    "SetBlobLegalHold",
)
LIFECYCLE_AGENT = "ObjectLifeCycleAssistant"
"""User agent of lifecycle management; its expiry deletes in raw and quarantine are expected."""


def data_tripwires(
    name: str,
    parent: pulumi.Resource,
    ctx: Context,
    account_name: pulumi.Output[str],
    containers: Mapping[str, str],
    writers: Mapping[str, pulumi.Input[str]],
    failed_auth_threshold: int,
) -> None:
    """Log alerts over the account's blob logs: a write to a guarded zone (``containers``, by purpose) by anyone
    but its writer, any delete or immutability change, and more than ``failed_auth_threshold`` failed
    authorizations in 15 minutes."""

    def alert(suffix: str, title: str, severity: int, query: pulumi.Input[str], threshold: int, window: str) -> None:
        log_alert(f"{name}-{suffix}", parent, ctx, title, query, threshold=threshold, severity=severity, window=window)

    writes = ", ".join(f'"{op}"' for op in WRITE_OPERATIONS)
    destructive = ", ".join(f'"{op}"' for op in DESTRUCTIVE_OPERATIONS)
    for purpose, container in containers.items():

        def foreign_writes(values: list[str], container: str = container) -> str:
            account, writer = values
            return (
                f'StorageBlobLogs\n| where AccountName == "{account}"\n'
                f"| where OperationName in ({writes})\n"
                f'| where ObjectKey startswith "/{account}/{container}/"\n'
                f'| where UserAgentHeader !startswith "{LIFECYCLE_AGENT}"\n'
                f'| where RequesterObjectId != "{writer}"'
            )

        query = pulumi.Output.all(account_name, writers[purpose]).apply(foreign_writes)
        alert(f"tripwire-{purpose}", f"Write to {container} by an identity other than its writer", 1, query, 0, "PT5M")
    alert(
        "tripwire-destructive",
        "Delete or immutability change in training data",
        1,
        account_name.apply(
            lambda account: (
                f'StorageBlobLogs\n| where AccountName == "{account}"\n'
                f"| where OperationName in ({destructive})\n"
                f'| where UserAgentHeader !startswith "{LIFECYCLE_AGENT}"'
            )
        ),
        0,
        "PT5M",
    )
    alert(
        "tripwire-denied",
        f"More than {failed_auth_threshold} failed authorizations on training data in 15 minutes",
        2,
        account_name.apply(
            # StatusCode is a string column:
            # learn.microsoft.com/azure/azure-monitor/reference/tables/storagebloblogs
            lambda account: f'StorageBlobLogs\n| where AccountName == "{account}"\n| where StatusCode in ("401", "403")'
        ),
        failed_auth_threshold,
        "PT15M",
    )
