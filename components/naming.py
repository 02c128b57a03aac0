"""Explicit, Azure-valid, deterministic resource names.

azure-native names a resource whose name input is left out after its logical name plus eight random
hex characters, keeping hyphens and ignoring the type's length and character rules, so a storage
account or registry left to it fails at creation. Every resource whose name is constrained (globally
or regionally unique, or DNS-visible) therefore gets its name here.

A name is built from the resource's logical name (which starts with ``<namePrefix>-<environment>``)
and, where the name must be unique beyond the resource group, a short hash of the subscription,
Pulumi project, stack and logical name (the idea of Bicep's ``uniqueString``): dev and prod in one
subscription never collide, and a rerun gives the same names.

Rules (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules):

- Microsoft.Storage/storageAccounts: global, 3-24, lowercase letters and numbers.
- Microsoft.ContainerRegistry/registries: global, 5-50, alphanumerics.
- Microsoft.KeyVault/vaults: global, 3-24, alphanumerics and hyphens, start with a letter, end with a
  letter or digit, no consecutive hyphens.
- Microsoft.ApiManagement/service: global, 1-50, alphanumerics and hyphens, start with a letter, end
  with an alphanumeric.
- Microsoft.MachineLearningServices/workspaces: resource group, 3-33, alphanumerics, hyphens and
  underscores, start with an alphanumeric.
- Microsoft.OperationalInsights/workspaces: resource group, 4-63, alphanumerics and hyphens, start and
  end with an alphanumeric.
- Microsoft.Insights/components: resource group, 1-260, no ``%&\\?/`` or control characters, no
  trailing space or period.
- Online endpoints: 3-32, begin with a letter, letters, digits and single hyphens, unique within an
  Azure region across every tenant
  (https://learn.microsoft.com/azure/machine-learning/how-to-manage-quotas#azure-machine-learning-online-endpoints-and-batch-endpoints,
  https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints).
"""

from __future__ import annotations

import hashlib
import re

import pulumi

HASH_LENGTH = 8
"""Hex characters of the uniqueness hash in globally unique names."""
ENDPOINT_HASH_LENGTH = 6
"""Hex characters of the uniqueness hash in online endpoint names (their limit is 32 characters)."""
ENDPOINT_MAX_LENGTH = 32
ENDPOINT_PATTERN = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{1,30}[a-z0-9]$")
"""Online endpoint names as this blueprint makes them: 3-32, lowercase letter first, no '--'."""


class InvalidNameError(ValueError):
    """A derived name breaks its type's rule (a bug or an out-of-range setting)."""


def unique_hash(subscription_id: str, purpose: str, length: int = HASH_LENGTH) -> str:
    """Short, deterministic hash of subscription, project, stack and purpose (lowercase hex)."""
    seed = "/".join((subscription_id.lower(), pulumi.get_project(), pulumi.get_stack(), purpose))
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _hyphenated(base: str, suffix: str, max_length: int) -> str:
    """``base-suffix`` within ``max_length``: ``base`` is shortened, never the suffix."""
    room = max_length - len(suffix) - 1
    head = re.sub(r"-{2,}", "-", base[:room]).strip("-")
    return f"{head}-{suffix}"


def _checked(name: str, pattern: str, kind: str) -> str:
    if not re.fullmatch(pattern, name):
        raise InvalidNameError(f"{name!r} is not a valid {kind} name (expected {pattern})")
    return name


def storage_account(subscription_id: str, logical: str) -> str:
    """Globally unique storage account name: 3-24 lowercase letters and digits."""
    suffix = unique_hash(subscription_id, logical)
    return _checked(_alnum(logical)[: 24 - len(suffix)] + suffix, r"[a-z0-9]{3,24}", "storage account")


def container_registry(subscription_id: str, logical: str) -> str:
    """Globally unique container registry name: 5-50 alphanumerics."""
    suffix = unique_hash(subscription_id, logical)
    return _checked(_alnum(logical)[: 50 - len(suffix)] + suffix, r"[a-zA-Z0-9]{5,50}", "container registry")


def key_vault(subscription_id: str, logical: str, generation: int) -> str:
    """Globally unique Key Vault name, 3-24; ``generation`` is part of the hash.

    A deleted vault keeps its name while it is soft-deleted (and purge protection forbids purging it),
    so recreating an environment needs a new name: bumping ``keyVault.generation`` gives one.
    """
    suffix = unique_hash(subscription_id, f"{logical}#{generation}", 6)
    return _checked(_hyphenated(logical.lower(), suffix, 24), r"[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]", "Key Vault")


def api_management(subscription_id: str, logical: str) -> str:
    """Globally unique API Management service name (its gateway host name): 1-50."""
    return _checked(
        _hyphenated(logical.lower(), unique_hash(subscription_id, logical), 50),
        r"[a-zA-Z][a-zA-Z0-9-]{0,48}[a-zA-Z0-9]",
        "API Management",
    )


def ml_workspace(logical: str) -> str:
    """ML workspace name (unique in its resource group, which is the stack's own): 3-33."""
    return _checked(logical, r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}", "ML workspace")


def log_analytics(logical: str) -> str:
    """Log Analytics workspace name (unique in its resource group): 4-63."""
    return _checked(logical, r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]", "Log Analytics workspace")


def app_insights(logical: str) -> str:
    """Application Insights component name (unique in its resource group): 1-260."""
    return _checked(logical, r"[^%&\\?/\x00-\x1f]{0,259}[^%&\\?/\x00-\x1f. ]", "Application Insights")


def endpoint_base(name_prefix: str, environment: str, name: str) -> str:
    """The readable part of an online endpoint name: ``<namePrefix>-<environment>-<name>``."""
    return f"{name_prefix}-{environment}-{name}"


def endpoint_length(name_prefix: str, environment: str, name: str) -> int:
    """Length of the Azure endpoint name derived from these settings."""
    return len(endpoint_base(name_prefix, environment, name)) + 1 + ENDPOINT_HASH_LENGTH


def online_endpoint(subscription_id: str, base: str) -> str:
    """Azure online endpoint name, unique per region across tenants: ``base`` plus a short hash.

    ``base`` is :func:`endpoint_base` (the Endpoint component's name). The configured endpoint name
    stays the API name on the gateway; only Azure sees this one.
    """
    derived = f"{base}-{unique_hash(subscription_id, f'endpoint/{base}', ENDPOINT_HASH_LENGTH)}"
    if len(derived) > ENDPOINT_MAX_LENGTH or not ENDPOINT_PATTERN.fullmatch(derived):
        raise InvalidNameError(f"{derived!r} is not a valid online endpoint name (3-32, {ENDPOINT_PATTERN.pattern})")
    return derived
