"""Typed, validated settings for one environment stack.

Settings are read from the stack's Pulumi config (``stacks/Pulumi.<stack>.yaml``) and validated in
full before any resource is created. A mistake is reported as a :class:`ConfigError` whose message
names the stack file and the config key, says what was expected and what was found, and for an
unknown key suggests the nearest valid one. Under ``pulumi up`` it prints as a plain error; the
offline plan exits with status 2.

Security controls are on by default. Turning one off takes an explicit ``{enabled: false, reason:
...}`` in the stack file; the reason is carried into the stack outputs (``securityOptOuts``) so that
reviewers and the policy gate see it.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Annotated, Any, Literal, Union

import pulumi
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass

from components import naming
from components.regions import CLOUDS

PROJECT = "secure-ml"
"""Pulumi project name, and so the config namespace (``secure-ml:<key>``)."""

_CONFIG = ConfigDict(
    extra="forbid",
    alias_generator=to_camel,
    populate_by_name=False,
    str_strip_whitespace=True,
    use_attribute_docstrings=True,
)

COSMOS_DB_APP_ID = {
    "AzurePublicCloud": "a232010e-820c-4083-83bb-3ace5fc29d0b",
    "AzureUSGovernment": "57506a73-e302-42a9-b869-6f12d9ec29e9",
    "AzureChinaCloud": "a232010e-820c-4083-83bb-3ace5fc29d0b",
}
"""Application ID of the Azure Cosmos DB first-party application by cloud, as given in
https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys (every region except
Azure Government uses a232010e-...)."""

MIN_REASON_LENGTH = 20
"""A reason shorter than this is not a reason."""


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. Printed without a traceback; the offline plan exits with 2."""


# ---------------------------------------------------------------------------------------------
# Reusable constrained types
# ---------------------------------------------------------------------------------------------


def _network(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected an IPv4 network in CIDR notation such as 10.20.0.0/24 ({exc})") from None
    if net.version != 4:
        raise ValueError("expected an IPv4 network; Azure ML managed networks need IPv4 address space")
    if not net.is_private:
        raise ValueError("expected a private (RFC 1918) address range")
    return str(net)


Cidr = Annotated[str, AfterValidator(_network)]

_NAME = r"^[a-z][a-z0-9]{1,9}$"
_PREFIX = r"^[a-z][a-z0-9]{1,7}$"
_TEAM = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
_CLUSTER = r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$"
_VM_SIZE = r"^Standard_[A-Za-z0-9_]+$"
_REGION = r"^[a-z0-9]+$"
_COST_CENTER = r"^[A-Za-z0-9._-]+$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ObjectId = Annotated[str, Field(pattern=_UUID, description="a Microsoft Entra object ID (GUID)")]
_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
Email = Annotated[str, Field(pattern=_EMAIL, max_length=254)]
_FQDN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FQDN = rf"^(?:\*\.)?(?:{_FQDN_LABEL}\.)+[a-z]{{2,63}}$"
Fqdn = Annotated[str, Field(pattern=_FQDN, max_length=253)]
_RESOURCE_ID = r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/[^/]+/.+$"
ResourceId = Annotated[str, Field(pattern=_RESOURCE_ID)]
Reason = Annotated[str, Field(min_length=MIN_REASON_LENGTH, max_length=500)]


@dataclass(frozen=True, config=_CONFIG)
class Control:
    """A security control that is on unless the stack file turns it off with a written reason."""

    enabled: bool = True
    """Whether the control is in force."""
    reason: Reason | None = None
    """Why the control is off (required when ``enabled`` is false)."""

    @model_validator(mode="after")
    def _reason_when_off(self) -> Control:
        if not self.enabled and not self.reason:
            raise ValueError(
                "turning a security control off needs a written reason: "
                "write {enabled: false, reason: '<why, at least 20 characters>'}"
            )
        return self


def _control(value: Any) -> Any:
    if isinstance(value, bool):
        return {"enabled": value}
    return value


SecurityControl = Annotated[Control, BeforeValidator(_control)]
ON = Control()


@dataclass(frozen=True, config=_CONFIG)
class Switch:
    """An operational switch that is off unless the stack file turns it on with a written reason."""

    enabled: bool = False
    """Whether the switch is on."""
    reason: Reason | None = None
    """Why it is on (required when ``enabled`` is true)."""

    @model_validator(mode="after")
    def _reason_when_on(self) -> Switch:
        if self.enabled and not self.reason:
            raise ValueError(
                "turning this switch on needs a written reason: "
                "write {enabled: true, reason: '<why, at least 20 characters>'}"
            )
        return self


ReasonedSwitch = Annotated[Switch, BeforeValidator(_control)]
OFF = Switch()

# ---------------------------------------------------------------------------------------------
# Settings sections
# ---------------------------------------------------------------------------------------------

Environment = Literal["dev", "test", "prod"]
Classification = Literal["public", "internal", "confidential", "restricted"]


@dataclass(frozen=True, config=_CONFIG)
class Tags:
    """Tags carried by every resource (``environment`` and ``data-classification`` are added)."""

    team: Annotated[str, Field(pattern=_TEAM)]
    """Owning team, lowercase with hyphens."""
    owner: Email
    """Contact address of the accountable owner."""
    cost_center: Annotated[str, Field(min_length=2, max_length=64, pattern=_COST_CENTER)]
    """Cost centre the spend is booked to."""


@dataclass(frozen=True, config=_CONFIG)
class Subnets:
    """Address ranges of the subnets; each must lie inside ``network.addressSpace``."""

    private_endpoints: Cidr
    """Private endpoints of every PaaS service (at least /27)."""
    compute: Cidr
    """Azure ML compute clusters and instances (at least /26)."""
    gateway: Cidr
    """API Management in internal VNet mode (at least /27)."""
    bastion: Cidr | None = None
    """Optional Azure Bastion subnet for operator access (at least /26)."""


@dataclass(frozen=True, config=_CONFIG)
class ExistingNetwork:
    """Hub-and-spoke: use an existing VNet and subnets instead of creating them."""

    virtual_network_id: ResourceId
    """Resource ID of the existing spoke VNet."""
    private_endpoints_subnet_id: ResourceId
    """Resource ID of the subnet for private endpoints."""
    compute_subnet_id: ResourceId
    """Resource ID of the subnet for ML compute."""
    gateway_subnet_id: ResourceId
    """Resource ID of the subnet for API Management."""


_MIN_PREFIX = {"private_endpoints": 27, "compute": 26, "gateway": 27, "bastion": 26}


@dataclass(frozen=True, config=_CONFIG)
class NetworkSettings:
    """The environment's virtual network (one per environment, shared by all workspaces)."""

    address_space: Cidr
    """VNet address space, a private range."""
    subnets: Subnets
    """Subnet ranges inside ``addressSpace``."""
    existing: ExistingNetwork | None = None
    """Use an existing VNet and subnets (hub-and-spoke) instead of creating them."""
    hub_dns_zone_ids: dict[str, ResourceId] = Field(default_factory=dict)
    """Existing private DNS zones in the hub, by zone name; the platform creates the others."""

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkSettings:
        vnet = ipaddress.ip_network(self.address_space)
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
        for f in fields(Subnets):
            cidr = getattr(self.subnets, f.name)
            if cidr is None:
                continue
            key = f"subnets.{to_camel(f.name)}"
            net = ipaddress.ip_network(cidr)
            if not net.subnet_of(vnet):  # type: ignore[arg-type]
                raise _FieldError(key, f"expected a range inside addressSpace {vnet}", cidr)
            if net.prefixlen > _MIN_PREFIX[f.name]:
                raise _FieldError(key, f"expected a /{_MIN_PREFIX[f.name]} or larger range", cidr)
            for other_key, other in seen:
                if net.overlaps(other):
                    raise _FieldError(key, f"expected a range that does not overlap {other_key} ({other})", cidr)
            seen.append((key, net))
        return self


@dataclass(frozen=True, config=_CONFIG)
class MonitoringSettings:
    """Log Analytics, Application Insights and alert routing."""

    log_retention_days: Annotated[int, Field(ge=30, le=730)]
    """Log Analytics retention in days (30-730)."""
    alert_emails: Annotated[list[Email], Field(min_length=1, max_length=10)]
    """Addresses the security action group notifies."""
    activity_log: SecurityControl = ON
    """Send the subscription's Activity Log (Administrative, Security, Policy, ...) to this workspace, where
    the control-plane alerts read it. Off only when the organisation already exports it to this workspace,
    with that reason: the deployer then needs no permission at subscription scope."""
    private_link: SecurityControl = ON
    """Reach Log Analytics and Application Insights only through an Azure Monitor Private Link Scope (private
    endpoint in the VNet, access modes PrivateOnly) with ingestion and queries from public networks disabled on
    both. Off only where Microsoft documents no Azure Monitor private-link DNS zones (AzureChinaCloud), with
    that reason."""
    app_insights_public_ingestion: ReasonedSwitch = OFF
    """Let Application Insights accept ingestion from public networks (queries stay private). Online
    deployments run in the workspace's managed network, which cannot have a private endpoint to Azure
    Monitor: only with this switch on do they send Application Insights telemetry (their request, console
    and event logs reach Log Analytics through the endpoint's diagnostic setting either way)."""


@dataclass(frozen=True, config=_CONFIG)
class KeyVaultSettings:
    """The environment's Key Vault."""

    sku: Literal["standard", "premium"] = "standard"
    """Key Vault SKU; premium makes every customer-managed key HSM-backed (RSA-HSM)."""
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90
    """Days a deleted vault or secret stays recoverable (7-90)."""
    purge_protection: SecurityControl = ON
    """Purge protection; deleted keys cannot be purged before retention ends."""
    generation: Annotated[int, Field(ge=1, le=999)] = 1
    """Part of the vault name's hash (1-999); bump it to rebuild beside a soft-deleted vault of the old name."""


ZonePurpose = Literal["quarantine", "raw", "anonymized", "curated", "models"]
_CONTAINER = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_HOLD_TAG = r"^[A-Za-z0-9]{3,23}$"


@dataclass(frozen=True, config=_CONFIG)
class Zone:
    """One data zone: a blob container with a classification and its own immutability policy."""

    container: Annotated[str, Field(pattern=_CONTAINER)]
    """Container name (3-63 lowercase letters, digits and hyphens)."""
    classification: Classification
    """Classification written into the container metadata."""
    legal_hold: Annotated[list[Annotated[str, Field(pattern=_HOLD_TAG)]], Field(max_length=10)] = Field(
        default_factory=list
    )
    """Legal-hold tags (3-23 letters and digits); any tag freezes every blob in the zone."""


def _default_zones() -> dict[ZonePurpose, Zone]:
    return {
        "quarantine": Zone("quarantine", "restricted"),
        "raw": Zone("raw", "restricted"),
        "anonymized": Zone("anonymized", "confidential"),
        "curated": Zone("curated", "confidential"),
        "models": Zone("models", "confidential"),
    }


PIPELINE_IDENTITIES = ("ingestion", "validation", "anonymization", "curation", "release")
"""Identities of the data pipeline; each may write exactly one zone (see components/datastorage.py)."""


@dataclass(frozen=True, config=_CONFIG)
class PipelineIdentities:
    """Existing Entra principals for the pipeline steps; a user-assigned identity is created for each one left out."""

    ingestion: ObjectId | None = None
    """Writes quarantine."""
    validation: ObjectId | None = None
    """Reads quarantine, writes raw."""
    anonymization: ObjectId | None = None
    """Reads raw, writes anonymized."""
    curation: ObjectId | None = None
    """Reads anonymized, writes curated."""
    release: ObjectId | None = None
    """Writes models (approved model artifacts)."""


@dataclass(frozen=True, config=_CONFIG)
class DataStorageSettings:
    """The training-data account: retention, zones, pipeline identities and tripwires."""

    soft_delete_retention_days: Annotated[int, Field(ge=7, le=365)]
    """Blob and container soft delete in days (7-365; prod at least 30)."""
    change_feed_retention_days: Annotated[int, Field(ge=1, le=146000)]
    """Change feed retention in days (1-146000)."""
    immutability_retention_days: Annotated[int, Field(ge=1, le=146000)]
    """Version-level WORM retention in days (1-146000; at most rawRetentionDays so raw data can expire)."""
    raw_retention_days: Annotated[int, Field(ge=1, le=3650)]
    """Days before raw and quarantine data expire (data minimisation; 1-3650)."""
    cool_after_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days after which blobs of the other zones move to the cool tier."""
    cold_after_days: Annotated[int, Field(ge=2, le=3650)] = 90
    """Days after which blobs of the other zones move to the cold tier (after coolAfterDays)."""
    immutability: SecurityControl = ON
    """Version-level immutability (WORM) on the account and the zone containers. A container or account enabled
    for version-level immutability cannot be deleted until it is empty, and a version under an active retention
    cannot be deleted, so `pulumi destroy` fails on it: a stack that is torn down (dev) turns it off with
    {enabled: false, reason: ...}. Refused in prod."""
    immutability_lock: ReasonedSwitch = OFF
    """Lock the account's immutability policy. Irreversible: the retention can then only be extended."""
    customer_managed_key: bool = False
    """Encrypt with a key from the platform Key Vault, through a user-assigned identity."""
    zones: dict[ZonePurpose, Zone] = Field(default_factory=_default_zones)
    """Zone containers by purpose; all five must be present. Default: containers named after their purpose,
    quarantine and raw restricted, the others confidential."""
    pipeline_identities: PipelineIdentities = PipelineIdentities()
    """Existing principals for the pipeline steps (created when left out)."""
    failed_auth_threshold: Annotated[int, Field(ge=1, le=10000)] = 20
    """Failed authorizations in 15 minutes that raise the tripwire alert."""

    @model_validator(mode="after")
    def _zones_and_retention(self) -> DataStorageSettings:
        missing = [p for p in ("quarantine", "raw", "anonymized", "curated", "models") if p not in self.zones]
        if missing:
            raise _FieldError("zones", f"expected every zone purpose; missing {', '.join(missing)}", sorted(self.zones))
        _require_unique("zones", [z.container for z in self.zones.values()], key_of=lambda i: "zones")
        if self.immutability_retention_days > self.raw_retention_days:
            raise _FieldError(
                "immutabilityRetentionDays",
                f"expected at most rawRetentionDays ({self.raw_retention_days}) so raw data can expire",
                self.immutability_retention_days,
            )
        held = [p for p, z in self.zones.items() if z.legal_hold]
        if held and not self.immutability.enabled:
            raise _FieldError(
                f"zones.{held[0]}.legalHold",
                "expected no legal hold while immutability is turned off for teardown (a legal hold blocks deleting "
                "the container)",
                self.zones[held[0]].legal_hold,
            )
        if self.immutability_lock.enabled and not self.immutability.enabled:
            raise _FieldError(
                "immutabilityLock",
                "expected it off while immutability is turned off (there is no policy to lock)",
                "enabled",
            )
        if self.cold_after_days <= self.cool_after_days:
            raise _FieldError(
                "coldAfterDays", f"expected more than coolAfterDays ({self.cool_after_days})", self.cold_after_days
            )
        return self


@dataclass(frozen=True, config=_CONFIG)
class ComputeCluster:
    """An Azure ML compute cluster: no public IP, no local auth, scales to zero."""

    name: Annotated[str, Field(pattern=_CLUSTER)]
    """Cluster name (3-16 lowercase letters, digits, hyphens; Azure ML limit)."""
    vm_size: Annotated[str, Field(pattern=_VM_SIZE)]
    """VM size, such as Standard_DS3_v2."""
    max_nodes: Annotated[int, Field(ge=1, le=100)]
    """Largest node count (1-100)."""
    idle_seconds_before_scale_down: Annotated[int, Field(ge=60, le=86400)] = 900
    """Idle time before nodes are released (60-86400 s)."""


_ENDPOINT = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
_MODEL = r"^azureml:[A-Za-z0-9][A-Za-z0-9_.-]{0,254}:[0-9]+$"


@dataclass(frozen=True, config=_CONFIG)
class AssessmentThresholds:
    """What a model must withstand in the assessment before release (python -m scripts.assess; see
    docs/model-assessment.md)."""

    evasion_budget: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Perturbation budget (RMS change per feature, as a fraction of its range) at which evasion is judged."""
    max_evasion_success: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Largest share of correctly classified records an evasion attack may flip within evasionBudget."""
    fidelity_target: Annotated[float, Field(gt=0, le=1)] = 0.9
    """Agreement with the model at which a surrogate counts as a stolen copy."""
    min_queries_to_fidelity: Annotated[int, Field(ge=1)] = 1_000
    """Fewest queries a surrogate may need to reach fidelityTarget."""
    max_membership_advantage: Annotated[float, Field(ge=0, le=1)] = 0.1
    """Largest membership-inference advantage (true-positive minus false-positive rate) allowed."""


@dataclass(frozen=True, config=_CONFIG)
class DeploymentSettings:
    """One deployment of a model behind an online endpoint."""

    name: Annotated[str, Field(pattern=_ENDPOINT)]
    """Deployment name (3-32 lowercase letters, digits and hyphens)."""
    model: Annotated[str, Field(pattern=_MODEL)]
    """Registered model, as azureml:<name>:<version>."""
    instance_type: Annotated[str, Field(pattern=_VM_SIZE)]
    """VM size of the deployment, such as Standard_DS3_v2."""
    instance_count: Annotated[int, Field(ge=1, le=20)] = 1
    """Instances (the minimum when maxInstances is set)."""
    max_instances: Annotated[int, Field(ge=1, le=50)] | None = None
    """Scale out on utilization up to this many instances; fixed count when unset."""
    traffic: Annotated[int, Field(ge=0, le=100)] = 100
    """Percent of live traffic; the live deployments of an endpoint add up to 100."""
    mirror: Annotated[int, Field(ge=0, le=50)] = 0
    """Percent of live traffic copied to this shadow deployment (its answers are discarded)."""
    assessment: AssessmentThresholds = AssessmentThresholds()
    """Thresholds the model must meet in the assessment before this deployment may name it."""

    @model_validator(mode="after")
    def _shadow_or_live(self) -> DeploymentSettings:
        if self.mirror and self.traffic:
            raise _FieldError(
                "mirror", "expected 0 on a deployment that takes live traffic (set traffic: 0)", self.mirror
            )
        if self.max_instances is not None and self.max_instances < self.instance_count:
            raise _FieldError(
                "maxInstances", f"expected at least instanceCount ({self.instance_count})", self.max_instances
            )
        return self


@dataclass(frozen=True, config=_CONFIG)
class EndpointSettings:
    """A managed online endpoint (Entra-token auth, private) reached only through the gateway."""

    name: Annotated[str, Field(pattern=_ENDPOINT)]
    """Endpoint name, unique in the region (3-32 lowercase letters, digits and hyphens)."""
    deployments: Annotated[list[DeploymentSettings], Field(min_length=1, max_length=5)]
    """Deployments; live ones split traffic, shadow ones (mirror > 0) receive a copy."""

    @model_validator(mode="after")
    def _traffic(self) -> EndpointSettings:
        _require_unique("deployments", [d.name for d in self.deployments])
        live = sum(d.traffic for d in self.deployments)
        if live != 100:
            raise _FieldError("deployments", "expected the traffic of the deployments to add up to 100", live)
        return self


PipelineStep = Literal["ingestion", "validation", "anonymization", "curation", "release"]


@dataclass(frozen=True, config=_CONFIG)
class SparkSettings:
    """Serverless Spark jobs of this workspace that process the data zones where they are."""

    pipeline_steps: Annotated[list[PipelineStep], Field(max_length=5)] = Field(default_factory=list)
    """Pipeline steps whose identity this workspace's serverless Spark jobs may run under (default: none, Spark
    off). Each identity is attached to the workspace, which serverless Spark needs to run as it; anyone who may
    submit jobs in the workspace can then act as it (read its zones, write its zone), so list steps only on a
    workspace whose members run that step. Needs the platform's own pipeline identities (not
    dataStorage.pipelineIdentities) and, once deployed, `az ml workspace provision-network --include-spark`."""


@dataclass(frozen=True, config=_CONFIG)
class WorkspaceSettings:
    """One Azure ML workspace (per team or project) sharing the environment's network."""

    name: Annotated[str, Field(pattern=_NAME)]
    """Short name: 2-10 lowercase letters and digits, starting with a letter."""
    data_scientist_group_id: ObjectId
    """Entra group granted AzureML Data Scientist on this workspace only."""
    data_classification: Classification = "confidential"
    """Highest classification of data this workspace handles."""
    customer_managed_key: bool = False
    """Encrypt the workspace with a key from the platform Key Vault."""
    outbound_fqdns: Annotated[list[Fqdn], Field(max_length=50)] = Field(default_factory=list)
    """FQDNs the managed network may reach besides the platform's private endpoints."""
    compute_clusters: Annotated[list[ComputeCluster], Field(max_length=10)] = Field(default_factory=list)
    """Compute clusters of this workspace."""
    scratch: bool = False
    """Give this workspace its own scratch container in the data account (read-write for it alone)."""
    endpoints: Annotated[list[EndpointSettings], Field(max_length=10)] = Field(default_factory=list)
    """Online endpoints serving this workspace's models through the gateway."""
    image_build_compute: Annotated[str, Field(pattern=_CLUSTER)] | None = None
    """Compute cluster (one of computeClusters) that builds environment images: the workspace's registry is
    private, so it cannot build them itself. Default: the first compute cluster."""
    spark: SparkSettings = SparkSettings()
    """Serverless Spark jobs over the data zones (off unless spark.pipelineSteps names a step)."""

    @model_validator(mode="after")
    def _unique_clusters(self) -> WorkspaceSettings:
        names = [c.name for c in self.compute_clusters]
        _require_unique("computeClusters", names)
        if self.image_build_compute is not None and self.image_build_compute not in names:
            raise _FieldError(
                "imageBuildCompute",
                f"expected the name of one of this workspace's computeClusters ({', '.join(names) or 'none'})",
                self.image_build_compute,
            )
        return self

    @property
    def image_builder(self) -> str | None:
        """The compute cluster that builds this workspace's environment images (None without clusters)."""
        return self.image_build_compute or (self.compute_clusters[0].name if self.compute_clusters else None)


@dataclass(frozen=True, config=_CONFIG)
class Limit:
    """Calls allowed per caller in a renewal period."""

    calls: Annotated[int, Field(ge=1)]
    """Calls allowed per period."""
    renewal_period_seconds: Annotated[int, Field(ge=1)]
    """Length of the period in seconds."""


GATEWAY_ZONES = ("1", "2", "3")
"""Availability zones of a zone-redundant gateway."""


def gateway_zones(sku: str, zone_redundant: bool) -> tuple[str, ...] | None:
    """The availability zones the gateway's units are pinned to (None: no zones; Developer has none)."""
    return GATEWAY_ZONES if zone_redundant and sku == "Premium" else None


LOG_ALERT_WINDOWS = tuple(60 * m for m in (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880))
"""Window sizes (seconds) a log search alert accepts: Azure answers any other windowSize with "Supported
granularities are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880" (minutes;
github.com/Azure/azure-rest-api-specs/issues/21258). Two days is also the longest time range a log search
alert queries (learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule)."""


@dataclass(frozen=True, config=_CONFIG)
class GatewaySettings:
    """API Management in front of every online endpoint."""

    sku: Literal["Developer", "Premium"]
    """Tier; both support internal VNet mode (Developer has no SLA)."""
    capacity: Annotated[int, Field(ge=1, le=12)]
    """Scale units. With zoneRedundant on a Premium gateway the units are pinned to availability zones 1, 2
    and 3, so the count must be a multiple of 3 (units must divide evenly across the zones)."""
    publisher_name: Annotated[str, Field(min_length=1, max_length=100)]
    """Organisation shown in the developer portal and e-mails."""
    publisher_email: Email
    """Address that receives API Management system notifications."""
    rate_limit: Limit
    """Per-caller rate limit (rate-limit-by-key); period at most 300 s."""
    quota: Limit
    """Per-caller quota (quota-by-key); period at least 3600 s."""
    jwt_audience: Annotated[str, Field(min_length=3, max_length=200)]
    """Audience (application ID URI) callers' Entra tokens must carry, such as api://ml-scoring."""
    required_roles: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")]], Field(min_length=1)]
    """App roles a caller's token must hold one of (roles claim), such as Model.Score."""
    max_request_bytes: Annotated[int, Field(ge=1024, le=102_400)] = 65_536
    """Largest scoring request accepted (bytes); larger ones are refused before the model sees them. At most
    102,400, the largest max-size validate-content accepts."""
    caller_volume_threshold: Annotated[int, Field(ge=1)] = 1_000
    """Calls by one caller in 15 minutes that raise the model-stealing alert."""
    quota_volume_percent: Annotated[int, Field(ge=1, le=99)] = 50
    """Share of quota.calls (percent) one caller may make within the quota's period before the patient-extraction
    alert fires; a caller who spreads calls evenly stays under callerVolumeThreshold. The alert's window is the
    longest Azure accepts within the period (1 to 6 hours, 1 day or 2 days, the longest a log search alert
    queries), with the share scaled to the window."""
    throttled_threshold: Annotated[int, Field(ge=1)] = 50
    """429 answers in 15 minutes that raise an alert."""
    error_threshold: Annotated[int, Field(ge=1)] = 100
    """4xx/5xx answers in 15 minutes that raise an alert."""
    new_caller_alert: bool = True
    """Alert when a caller whose first call in the last hour follows no call in the 47 hours before it
    (log search alerts look back at most two days) is scoring models."""
    latency_threshold_ms: Annotated[int, Field(ge=10, le=60_000)] = 1_000
    """Average endpoint latency (ms over 15 minutes) that raises an alert."""
    suspended: ReasonedSwitch = OFF
    """Kill switch: answer 503 to every call."""

    def quota_volume_alert(self) -> tuple[int, int]:
        """Window (seconds) and threshold of the per-caller quota-volume alert: the longest window Azure accepts
        within the quota's period (LOG_ALERT_WINDOWS), and quotaVolumePercent of the calls the quota allows in
        that window."""
        period = self.quota.renewal_period_seconds
        seconds = max(w for w in LOG_ALERT_WINDOWS if w <= period)  # periods are at least an hour
        share = self.quota.calls * self.quota_volume_percent * seconds // (100 * period)
        return seconds, max(1, share)


@dataclass(frozen=True)
class EnvironmentLimits:
    """Maxima and minima that depend on the environment."""

    max_rate_limit_calls_per_minute: int
    max_quota_calls_per_day: int
    min_soft_delete_days: int


ENVIRONMENT_LIMITS: dict[str, EnvironmentLimits] = {
    "dev": EnvironmentLimits(600, 100_000, 7),
    "test": EnvironmentLimits(1_200, 500_000, 7),
    "prod": EnvironmentLimits(6_000, 5_000_000, 30),
}


@dataclass(frozen=True, config=_CONFIG)
class Settings:
    """Everything one environment stack declares."""

    environment: Environment
    """Environment kind; selects limits and defaults (dev, test or prod)."""
    location: Annotated[str, Field(pattern=_REGION)]
    """Azure region, such as westeurope."""
    name_prefix: Annotated[str, Field(pattern=_PREFIX)]
    """2-8 lowercase letters and digits starting every resource name."""
    tags: Tags
    """Ownership tags for every resource."""
    network: NetworkSettings
    """Virtual network, subnets and DNS."""
    monitoring: MonitoringSettings
    """Logs, metrics and alert routing."""
    data_storage: DataStorageSettings
    """Retention of the training-data account."""
    workspaces: Annotated[list[WorkspaceSettings], Field(min_length=1, max_length=50)]
    """One or more ML workspaces sharing network, monitoring and gateway."""
    gateway: GatewaySettings
    """API gateway in front of the model endpoints."""
    cloud: Literal["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzurePublicCloud"
    """Azure cloud; selects region names and private-link DNS zones."""
    key_vault: KeyVaultSettings = KeyVaultSettings()
    """Key Vault settings."""
    zone_redundant: bool = False
    """Zone-redundant storage and gateway (prod should say true)."""
    locks: SecurityControl = ON
    """CanNotDelete locks on Key Vault and storage accounts."""
    cosmos_db_principal_id: ObjectId | None = None
    """Object ID, in this tenant, of the service principal of the Azure Cosmos DB first-party application
    (application ID a232010e-820c-4083-83bb-3ace5fc29d0b; 57506a73-e302-42a9-b869-6f12d9ec29e9 in Azure
    Government). A workspace with a customer-managed key keeps its metadata in Cosmos DB, which must wrap and
    unwrap with the key. Required when any workspace sets customerManagedKey. Find it with
    `az ad sp show --id a232010e-820c-4083-83bb-3ace5fc29d0b --query id -o tsv`."""

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.location not in CLOUDS[self.cloud].regions:
            near = difflib.get_close_matches(self.location, sorted(CLOUDS[self.cloud].regions), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise _FieldError("location", f"expected an {self.cloud} region such as westeurope", self.location, hint)
        if self.monitoring.private_link.enabled and not CLOUDS[self.cloud].monitor_zones:
            raise _FieldError(
                "monitoring.privateLink",
                f"expected {{enabled: false, reason: ...}} in {self.cloud}: Microsoft's private DNS zone values list "
                "no Azure Monitor private-link zones for this cloud, so the scope's private endpoint cannot resolve",
                {"enabled": True},
            )
        _require_unique("workspaces", [w.name for w in self.workspaces])
        seen_endpoints: set[str] = set()
        for i, ws in enumerate(self.workspaces):
            for j, endpoint in enumerate(ws.endpoints):
                if endpoint.name in seen_endpoints:
                    raise _FieldError(
                        f"workspaces[{i}].endpoints[{j}].name",
                        "expected an endpoint name not used elsewhere in the stack (names are unique per region)",
                        endpoint.name,
                    )
                # Azure name: <namePrefix>-<environment>-<name>-<hash>, 3-32 characters (components/naming.py)
                length = naming.endpoint_length(self.name_prefix, self.environment, endpoint.name)
                base = naming.endpoint_base(self.name_prefix, self.environment, endpoint.name)
                if length > naming.ENDPOINT_MAX_LENGTH or "--" in base:
                    raise _FieldError(
                        f"workspaces[{i}].endpoints[{j}].name",
                        f"expected a name that keeps the Azure endpoint name '{base}-<hash>' within "
                        f"{naming.ENDPOINT_MAX_LENGTH} characters, letters, digits and single hyphens "
                        f"(at most {naming.ENDPOINT_MAX_LENGTH - length + len(endpoint.name)} "
                        "characters with this namePrefix and environment)",
                        endpoint.name,
                    )
                seen_endpoints.add(endpoint.name)
        pinned = gateway_zones(self.gateway.sku, self.zone_redundant) or ()
        zones = len(pinned)
        if zones and self.gateway.capacity % zones:
            # https://learn.microsoft.com/azure/reliability/reliability-api-management (Considerations: number
            # of units for zone-redundant instances must distribute evenly across the selected zones)
            raise _FieldError(
                "gateway.capacity",
                f"expected a multiple of {zones} (zoneRedundant spreads the Premium gateway's units evenly over "
                f"availability zones {', '.join(pinned)})",
                self.gateway.capacity,
            )
        limits = ENVIRONMENT_LIMITS[self.environment]
        per_minute = self.gateway.rate_limit.calls * 60 / self.gateway.rate_limit.renewal_period_seconds
        if self.gateway.rate_limit.renewal_period_seconds > 300:
            raise _FieldError(
                "gateway.rateLimit.renewalPeriodSeconds",
                "expected at most 300 (rate-limit-by-key renewal period)",
                self.gateway.rate_limit.renewal_period_seconds,
            )
        if per_minute > limits.max_rate_limit_calls_per_minute:
            raise _FieldError(
                "gateway.rateLimit.calls",
                f"expected at most {limits.max_rate_limit_calls_per_minute} calls per minute per caller "
                f"in {self.environment}",
                self.gateway.rate_limit.calls,
            )
        if self.gateway.quota.renewal_period_seconds < 3600:
            raise _FieldError(
                "gateway.quota.renewalPeriodSeconds",
                "expected at least 3600 (quotas are hourly or longer)",
                self.gateway.quota.renewal_period_seconds,
            )
        per_day = self.gateway.quota.calls * 86400 / self.gateway.quota.renewal_period_seconds
        if per_day > limits.max_quota_calls_per_day:
            raise _FieldError(
                "gateway.quota.calls",
                f"expected at most {limits.max_quota_calls_per_day} calls per day per caller in {self.environment}",
                self.gateway.quota.calls,
            )
        cmk = [i for i, w in enumerate(self.workspaces) if w.customer_managed_key]
        if cmk and self.cosmos_db_principal_id is None:
            raise _FieldError(
                "cosmosDbPrincipalId",
                f"expected the object ID of this tenant's Azure Cosmos DB service principal because "
                f"workspaces[{cmk[0]}].customerManagedKey is true (az ad sp show --id "
                f"{COSMOS_DB_APP_ID[self.cloud]} --query id -o tsv)",
                None,
            )
        if (cmk or self.data_storage.customer_managed_key) and not self.key_vault.purge_protection.enabled:
            where = f"workspaces[{cmk[0]}].customerManagedKey" if cmk else "dataStorage.customerManagedKey"
            raise _FieldError(
                "keyVault.purgeProtection",
                f"expected it on because {where} is true (a vault holding customer-managed keys needs soft delete "
                "and purge protection)",
                {"enabled": False},
            )
        for index, workspace in enumerate(self.workspaces):
            existing = [step for step in workspace.spark.pipeline_steps
                        if getattr(self.data_storage.pipeline_identities, step) is not None]  # fmt: skip
            if existing:
                raise _FieldError(
                    f"workspaces[{index}].spark.pipelineSteps",
                    f"expected only steps whose identity the platform creates: serverless Spark runs as a "
                    f"user-assigned identity attached to the workspace, and dataStorage.pipelineIdentities."
                    f"{existing[0]} is an existing principal",
                    workspace.spark.pipeline_steps,
                )
            _require_unique(
                "spark",
                list(workspace.spark.pipeline_steps),
                key_of=functools.partial("workspaces[{}].spark.pipelineSteps[{}]".format, index),
            )
        if self.is_prod and not self.data_storage.immutability.enabled:
            raise _FieldError(
                "dataStorage.immutability",
                "expected it on in prod (training data stays write-once; only a stack that is torn down may "
                "turn it off)",
                {"enabled": False},
            )
        if self.data_storage.soft_delete_retention_days < limits.min_soft_delete_days:
            raise _FieldError(
                "dataStorage.softDeleteRetentionDays",
                f"expected at least {limits.min_soft_delete_days} days in {self.environment}",
                self.data_storage.soft_delete_retention_days,
            )
        return self

    @property
    def opt_outs(self) -> dict[str, str]:
        """Security controls this stack turns off, with their reasons, by config key."""
        found: dict[str, str] = {}
        for key, control in (
            ("locks", self.locks),
            ("keyVault.purgeProtection", self.key_vault.purge_protection),
            ("monitoring.activityLog", self.monitoring.activity_log),
            ("dataStorage.immutability", self.data_storage.immutability),
            ("monitoring.privateLink", self.monitoring.private_link),
        ):
            if not control.enabled:
                found[key] = control.reason or ""
        if self.monitoring.app_insights_public_ingestion.enabled:
            found["monitoring.appInsightsPublicIngestion"] = self.monitoring.app_insights_public_ingestion.reason or ""
        elif not self.monitoring.private_link.enabled:
            # Without the private link scope Application Insights accepts public ingestion too.
            found["monitoring.appInsightsPublicIngestion"] = (
                f"implied by monitoring.privateLink: {self.monitoring.private_link.reason or ''}"
            )
        return found

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


class _FieldError(ValueError):
    """A cross-field check that failed on a key below the model being validated."""

    def __init__(self, key: str, expected: str, found: object, hint: str = "") -> None:
        super().__init__(f"{expected}, found {found!r}{hint}")
        self.key = key
        self.expected = expected
        self.found = found
        self.hint = hint


def _require_unique(key: str, names: list[str], key_of: Callable[[int], str] | None = None) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            where = key_of(i) if key_of else f"{key}[{i}].name"
            raise _FieldError(where, "expected a name not used earlier in the list", name)
        seen.add(name)


_PATTERN_TEXT = {
    _UUID: "a Microsoft Entra object ID (a GUID such as 6f0f4c5e-2d1a-4c59-9d0a-6b2d7f1e8a01)",
    _EMAIL: "an e-mail address",
    _FQDN: "a lowercase DNS name such as pypi.org",
    _RESOURCE_ID: "an Azure resource ID (/subscriptions/<id>/resourceGroups/...)",
    _NAME: "2-10 lowercase letters and digits starting with a letter (it becomes part of storage account names)",
    _PREFIX: "2-8 lowercase letters and digits starting with a letter (it starts every resource name)",
    _TEAM: "3-40 lowercase letters, digits and hyphens, starting with a letter",
    _CLUSTER: "3-16 lowercase letters, digits and hyphens, starting with a letter (Azure ML compute name rules)",
    _VM_SIZE: "an Azure VM size such as Standard_DS3_v2",
    _REGION: "an Azure region name such as westeurope",
    _COST_CENTER: "2-64 letters, digits, dots, underscores or hyphens",
    _CONTAINER: "3-63 lowercase letters, digits and hyphens (Azure container name rules)",
    _HOLD_TAG: "3-23 letters and digits (Azure legal-hold tag rules)",
    _ENDPOINT: "3-32 lowercase letters, digits and hyphens, starting with a letter",
    _MODEL: "a registered model reference such as azureml:fraud-model:3",
}

# ---------------------------------------------------------------------------------------------
# Loading and error reporting
# ---------------------------------------------------------------------------------------------

_ADAPTER = TypeAdapter(Settings)


def stack_file(stack: str) -> str:
    """The stack file a user edits for ``stack`` (Pulumi.yaml sets ``stackConfigDir: stacks``)."""
    return f"stacks/Pulumi.{stack}.yaml"


def top_level_keys() -> dict[str, Any]:
    """Config key -> annotation of every top-level setting."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    return {to_camel(f.name): hints[f.name] for f in fields(Settings)}


def _is_text(annotation: Any) -> bool:
    """True if a top-level setting is a plain string, so its raw config value is not JSON."""
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
    if base is str:
        return True
    return typing.get_origin(base) is Literal and all(isinstance(a, str) for a in typing.get_args(base))


def raw_config(config: pulumi.Config) -> tuple[dict[str, Any], list[str]]:
    """Read every key of the project namespace; return (values, unknown keys)."""
    prefix = f"{PROJECT}:"
    keys = top_level_keys()
    present = {
        k[len(prefix) :]
        for k in [*pulumi.runtime.config.CONFIG.get().keys(), *pulumi.runtime.config.get_config_env().keys()]
        if k.startswith(prefix)
    }
    unknown = sorted(present - keys.keys())
    values: dict[str, Any] = {}
    for key, annotation in keys.items():
        raw = config.get(key)
        if raw is None:
            continue
        if _is_text(annotation):
            values[key] = raw
        else:
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                values[key] = raw
    return values, unknown


def validate(values: dict[str, Any], stack: str, unknown: list[str] | None = None) -> Settings:
    """Validate raw config values; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    for key in unknown or []:
        problems.append(_unknown_key_message((key,), sorted(top_level_keys())))
    try:
        settings = _ADAPTER.validate_python(values)
    except ValidationError as exc:
        problems.extend(_describe(err) for err in exc.errors(include_url=False))
        settings = None
    if problems:
        header = f"{stack_file(stack)}: invalid configuration"
        raise ConfigError("\n".join([header, *(f"  {PROJECT}:{p}" for p in problems)]))
    assert settings is not None
    return settings


def load(config: pulumi.Config | None = None, stack: str | None = None) -> Settings:
    """Build :class:`Settings` from the current stack's Pulumi config."""
    stack = stack or pulumi.get_stack()
    values, unknown = raw_config(config or pulumi.Config(PROJECT))
    return validate(values, stack, unknown)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _describe(err: Any) -> str:
    loc: tuple[int | str, ...] = tuple(p for p in err["loc"] if not _is_type_tag(p))
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, _FieldError):
        full = _path(loc + tuple(_split_key(cause.key)))
        return f"{full}: {cause.expected}, found {_show(cause.found)}{cause.hint}"
    kind = err["type"]
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        return _unknown_key_message(loc, _valid_keys(loc[:-1]))
    if kind == "missing":
        return f"{_path(loc)}: required key is missing"
    found = _show(err.get("input"))
    return f"{_path(loc)}: {_expected(kind, err['msg'], ctx)}, found {found}"


def _is_type_tag(part: int | str) -> bool:
    # pydantic may insert the name of a wrapping validator into a loc; a user's key never looks like one
    return isinstance(part, str) and (
        part == "[key]" or part.startswith(("function-before[", "function-after[", "function-wrap["))
    )


def _split_key(key: str) -> list[int | str]:
    parts: list[int | str] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(kind: str, msg: str, ctx: dict[str, Any]) -> str:
    if kind == "string_pattern_mismatch":
        return "expected " + _PATTERN_TEXT.get(ctx["pattern"], f"text matching {ctx['pattern']}")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        bound = ctx.get("ge", ctx.get("le", ctx.get("gt", ctx.get("lt"))))
        word = {"greater_than_equal": "at least", "less_than_equal": "at most"}.get(kind, kind)
        return f"expected a value {word} {bound}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}"
    if kind.startswith(("int_", "bool_", "string_type", "list_type", "dict_type", "dataclass_type")):
        return (
            "expected "
            + {
                "int": "a whole number",
                "boo": "true or false",
                "str": "text",
                "lis": "a list",
                "dic": "a mapping",
                "dat": "a mapping",
            }[kind[:3]]
        )
    if kind in {"too_short", "too_long"}:
        return f"expected {msg[0].lower()}{msg[1:]}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return f"expected {msg[0].lower()}{msg[1:]}"


def _unknown_key_message(loc: tuple[int | str, ...], valid: list[str]) -> str:
    key = str(loc[-1])
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys here: {', '.join(valid)}"
    return f"{_path(loc)}: unknown key{hint}"


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Config keys accepted at ``loc`` (the camelCase field names of the dataclass there)."""
    current: Any = Settings
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else Any
            continue
        if is_dataclass(current):
            hints = typing.get_type_hints(current, include_extras=True)
            match = [f.name for f in fields(current) if to_camel(f.name) == part]
            current = hints[match[0]] if match else Any
        else:
            args = typing.get_args(current)
            current = args[-1] if args else Any
    current = _unwrap(current)
    return sorted(to_camel(f.name) for f in fields(current)) if is_dataclass(current) else []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
