"""The built-in Azure roles the tools reason about, as Microsoft publishes them: the gate (which roles reach a
serving endpoint) and the preflight (the least built-in role that grants an action ``pulumi up`` needs) read
this one table.
"""

from __future__ import annotations

from dataclasses import dataclass

_ML = "Microsoft.MachineLearningServices/workspaces"


@dataclass(frozen=True)
class RoleDefinition:
    """The control-plane actions of a role (data actions never include these)."""

    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


_NO_ML = ("Microsoft.NoMachineLearning/*",)
"""Stands for "no Microsoft.MachineLearningServices action": the role's actions are elsewhere."""

BUILT_IN: dict[str, RoleDefinition] = {
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": RoleDefinition("Owner", ("*",)),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": RoleDefinition(
        "Contributor",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
    ),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": RoleDefinition(
        "User Access Administrator", ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*")
    ),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": RoleDefinition(
        "Role Based Access Control Administrator",
        (
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ),
    ),
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": RoleDefinition("Reader", ("*/read",)),
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning
    "f6c7c914-8db3-469d-8ca1-694a8f32e121": RoleDefinition(
        "AzureML Data Scientist",
        (f"{_ML}/*/read", f"{_ML}/*/action", f"{_ML}/*/delete", f"{_ML}/*/write"),
        (
            f"{_ML}/delete",
            f"{_ML}/write",
            f"{_ML}/computes/*/write",
            f"{_ML}/computes/*/delete",
            f"{_ML}/computes/listKeys/action",
            f"{_ML}/listKeys/action",
            f"{_ML}/hubs/write",
            f"{_ML}/hubs/delete",
            f"{_ML}/featurestores/write",
            f"{_ML}/featurestores/delete",
        ),
    ),
    "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815": RoleDefinition(
        "AzureML Compute Operator", (f"{_ML}/computes/*", f"{_ML}/notebooks/vm/*")
    ),
    "64702f94-c441-49e6-a78b-ef80e0188fee": RoleDefinition(
        "Azure AI Developer",
        (f"{_ML}/*/read", f"{_ML}/*/action", f"{_ML}/*/delete", f"{_ML}/*/write"),
        (f"{_ML}/delete", f"{_ML}/write", f"{_ML}/listKeys/action", f"{_ML}/hubs/write", f"{_ML}/hubs/delete"),
    ),
    # Azure AI Administrator holds Microsoft.MachineLearningServices/* among its actions
    "b78c5d69-af96-48a3-bf8d-a8b4d589de94": RoleDefinition(
        "Azure AI Administrator", ("Microsoft.MachineLearningServices/*",)
    ),
    "635dd51f-9968-44d3-b7fb-6d9a6bd613ae": RoleDefinition("AzureML Metrics Writer", (f"{_ML}/metrics/*/write",)),
    # roles whose actions lie outside Azure ML (storage, registry, Key Vault, monitoring)
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": RoleDefinition("AcrPull", _NO_ML),
    "8311e382-0749-4cb8-b61a-304f252e45ec": RoleDefinition("AcrPush", _NO_ML),
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": RoleDefinition("Storage Blob Data Contributor", _NO_ML),
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": RoleDefinition("Storage Blob Data Reader", _NO_ML),
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": RoleDefinition("Storage Blob Data Owner", _NO_ML),
    "69566ab7-960f-475b-8e7c-b3118f30c6bd": RoleDefinition("Storage File Data Privileged Contributor", _NO_ML),
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": RoleDefinition("Key Vault Crypto Service Encryption User", _NO_ML),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": RoleDefinition("Key Vault Secrets Officer", _NO_ML),
    "3913510d-42f4-4e42-8a64-420c390055eb": RoleDefinition("Monitoring Metrics Publisher", _NO_ML),
}
"""Built-in roles the gate can reason about. A role assigned at a scope that reaches an endpoint and not
listed here, nor defined in the plan, is a finding: the gate cannot tell what it grants."""

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"

PRIVILEGED = tuple(BUILT_IN[guid] for guid in (RBAC_ADMINISTRATOR, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR, OWNER))
"""The privileged roles a deployer may hold, least privilege first
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged)."""
