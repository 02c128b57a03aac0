"""Settings of one Azure ML workspace entry: compute, outbound access, endpoints and their deployments."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from components.config.primitives import (
    _CLUSTER,
    _CONFIG,
    _ENDPOINT,
    _MODEL,
    _NAME,
    _VM_SIZE,
    Classification,
    Fqdn,
    ObjectId,
    _FieldError,
    _require_unique,
)


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
