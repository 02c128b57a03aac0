"""Typed, validated settings for one environment stack.

Settings are read from the stack's Pulumi config (``stacks/Pulumi.<stack>.yaml``) and validated in
full before any resource is created. A mistake is reported as a :class:`ConfigError` whose message
names the stack file and the config key, says what was expected and what was found, and for an
unknown key suggests the nearest valid one. Under ``pulumi up`` it prints as a plain error; the
offline plan exits with status 2.

Security controls are on by default. Turning one off takes an explicit ``{enabled: false, reason:
...}`` in the stack file; the reason is carried into the stack outputs (``securityOptOuts``) so that
reviewers and the policy gate see it.

One module per concern: :mod:`.primitives` (namespace, errors, constrained types, security controls),
one per settings area (:mod:`.network`, :mod:`.services`, :mod:`.data`, :mod:`.workspace`,
:mod:`.gateway`), :mod:`.settings` (the whole stack and the checks across areas) and :mod:`.load`
(reading and error messages). Everything is imported from here.
"""

# The field reader and the key-name mapping, for callers that walk the settings by config key.
from dataclasses import fields

from pydantic.alias_generators import to_camel

from components.config.data import (
    PIPELINE_IDENTITIES,
    DataStorageSettings,
    PipelineIdentities,
    Zone,
    ZonePurpose,
)
from components.config.gateway import GATEWAY_ZONES, LOG_ALERT_WINDOWS, GatewaySettings, Limit, gateway_zones
from components.config.load import load, raw_config, stack_file, top_level_keys, validate
from components.config.network import ExistingNetwork, NetworkSettings, Subnets
from components.config.primitives import (
    COSMOS_DB_APP_ID,
    MIN_REASON_LENGTH,
    OFF,
    ON,
    PROJECT,
    Classification,
    ConfigError,
    Control,
    ReasonedSwitch,
    SecurityControl,
    Switch,
)
from components.config.services import KeyVaultSettings, MonitoringSettings
from components.config.settings import ENVIRONMENT_LIMITS, Environment, EnvironmentLimits, Settings, Tags
from components.config.workspace import (
    AssessmentThresholds,
    ComputeCluster,
    DeploymentSettings,
    EndpointSettings,
    PipelineStep,
    SparkSettings,
    WorkspaceSettings,
)

__all__ = [
    "COSMOS_DB_APP_ID",
    "ENVIRONMENT_LIMITS",
    "GATEWAY_ZONES",
    "LOG_ALERT_WINDOWS",
    "MIN_REASON_LENGTH",
    "OFF",
    "ON",
    "PIPELINE_IDENTITIES",
    "PROJECT",
    "AssessmentThresholds",
    "Classification",
    "ComputeCluster",
    "ConfigError",
    "Control",
    "DataStorageSettings",
    "DeploymentSettings",
    "EndpointSettings",
    "Environment",
    "EnvironmentLimits",
    "ExistingNetwork",
    "GatewaySettings",
    "KeyVaultSettings",
    "Limit",
    "MonitoringSettings",
    "NetworkSettings",
    "PipelineIdentities",
    "PipelineStep",
    "ReasonedSwitch",
    "SecurityControl",
    "Settings",
    "SparkSettings",
    "Subnets",
    "Switch",
    "Tags",
    "WorkspaceSettings",
    "Zone",
    "ZonePurpose",
    "fields",
    "gateway_zones",
    "load",
    "raw_config",
    "stack_file",
    "to_camel",
    "top_level_keys",
    "validate",
]
