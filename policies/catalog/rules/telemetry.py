"""Telemetry: Log Analytics and Application Insights reachable only through an Azure Monitor Private Link Scope.

Microsoft's design guidance and the facts the rules rely on:
https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-design (access modes, network
access flags, the diagnostic-settings exception) and
https://learn.microsoft.com/azure/azure-monitor/fundamentals/private-link-configure (scope, scoped
resources, private endpoint with sub-resource azuremonitor). Property names and values follow the REST
specs: specification/operationalinsights (Workspace publicNetworkAccessForIngestion/ForQuery, Enabled |
Disabled), specification/applicationinsights (Component, the same two properties) and
specification/monitor/resource-manager/Microsoft.Insights/preview/2023-06-01-preview/privateLinkScopes_API.json
(accessModeSettings ingestionAccessMode/queryAccessMode, Open | PrivateOnly; scopedResources linkedResourceId).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.catalog import azure
from policies.catalog.model import Mappings, Res, ResourceRule, StackRule, StackView, Threat, expect, field_check
from policies.catalog.rules.network import group_ids
from policies.catalog.values import UNKNOWN, as_list, get, show

PRIVATE_LINK_SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
GROUP_ID = "azuremonitor"

_LAW_POLICY = "Log Analytics workspaces should block log ingestion and querying from public networks"
_APPI_POLICY = "Application Insights components should block log ingestion and querying from public networks"
_PRIVATE_LINK = "monitoring.privateLink"
_APPI_INGESTION = "monitoring.appInsightsPublicIngestion"


def _workspace_public(res: Res) -> Iterator[str]:
    for path in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
        yield from expect(res.props, path, ["Disabled"])


LAW_PUBLIC_ACCESS = ResourceRule(
    id="MLSEC-MON-001",
    name="Log Analytics workspaces block ingestion and queries from public networks",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="The workspace holds every request the gateway logged (caller identities, client IPs), the data "
    "plane's access logs and the Activity Log. Open to public networks, a stolen token reads it from anywhere and "
    "anyone can send forged records into it; closed, only networks connected to the platform's private link scope "
    "ingest or query, while diagnostic settings still deliver over Microsoft's private channel. Azure leaves both "
    "Enabled when the properties are omitted.",
    remediation="Set publicNetworkAccessForIngestion and publicNetworkAccessForQuery to Disabled and reach the "
    "workspace through the Azure Monitor Private Link Scope (monitoring.privateLink, on by default).",
    mappings=Mappings(azure_policy=_LAW_POLICY),
    opt_out=_PRIVATE_LINK,
    types=(azure.LOG_ANALYTICS,),
    check=_workspace_public,
)


APPI_PUBLIC_QUERY = ResourceRule(
    id="MLSEC-MON-002",
    name="Application Insights blocks queries from public networks",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="Application Insights holds the gateway's request telemetry, with caller identities and client "
    "addresses. Queries from public networks let a stolen token read it from anywhere; the provider sends Enabled "
    "when the property is omitted.",
    remediation="Set publicNetworkAccessForQuery to Disabled and query through the Azure Monitor Private Link "
    "Scope from inside the VNet (monitoring.privateLink, on by default).",
    mappings=Mappings(azure_policy=_APPI_POLICY),
    opt_out=_PRIVATE_LINK,
    types=(azure.APP_INSIGHTS,),
    check=field_check("publicNetworkAccessForQuery", "Disabled"),
)


APPI_PUBLIC_INGESTION = ResourceRule(
    id="MLSEC-MON-003",
    name="Application Insights blocks ingestion from public networks",
    severity=Severity.MEDIUM,
    threat=Threat.EVASION,
    rationale="With public ingestion anyone holding an ingestion credential can write forged requests into the "
    "telemetry that detection and forensics read, and the VNet's telemetry can leave through public endpoints. "
    "Online deployments in the workspace's managed network need public ingestion to send Application Insights "
    "telemetry (the managed network has no private endpoint to Azure Monitor); that trade-off is the declared "
    "opt-out monitoring.appInsightsPublicIngestion.",
    remediation="Set publicNetworkAccessForIngestion to Disabled; the endpoints' request, console and event logs "
    "reach Log Analytics through their diagnostic settings. Open it only with monitoring.appInsightsPublicIngestion "
    "{enabled: true, reason: ...}.",
    mappings=Mappings(azure_policy=_APPI_POLICY),
    opt_out=_APPI_INGESTION,
    types=(azure.APP_INSIGHTS,),
    check=field_check("publicNetworkAccessForIngestion", "Disabled"),
)


def _scope_problems(stack: StackView, scope: Res) -> list[str]:
    problems = []
    for path in ("accessModeSettings.ingestionAccessMode", "accessModeSettings.queryAccessMode"):
        found = get(scope.props, path)
        if found is not UNKNOWN and found != "PrivateOnly":
            problems.append(f"{path} is {show(found)} (PrivateOnly required)")
    exclusions = get(scope.props, "accessModeSettings.exclusions")
    if exclusions is not UNKNOWN and as_list(exclusions):
        problems.append("accessModeSettings.exclusions overrides the access modes for some private endpoints")
    groups = [g for pe in stack.dependents(scope, azure.PRIVATE_ENDPOINT) for g in group_ids(pe)]
    if GROUP_ID not in groups and UNKNOWN not in groups:
        problems.append(f"it has no private endpoint for {GROUP_ID}")
    return problems


def _in_private_scope(stack: StackView) -> Iterator[tuple[str, str]]:
    for res in stack.of_type(azure.LOG_ANALYTICS, azure.APP_INSIGHTS):
        kind = res.type.rsplit(":", 1)[-1]
        links = stack.dependents(res, SCOPED_RESOURCE)
        scopes = [scope for link in links for scope in stack.deps(link, PRIVATE_LINK_SCOPE)]
        if not scopes:
            yield res.urn, f"{kind} {res.name} is in no Azure Monitor Private Link Scope (no scoped resource links it)"
            continue
        reports = {scope.name: _scope_problems(stack, scope) for scope in scopes}
        if all(reports.values()):
            for scope_name, problems in reports.items():
                for problem in problems:
                    yield res.urn, f"{kind} {res.name}: private link scope {scope_name}: {problem}"


IN_PRIVATE_SCOPE = StackRule(
    id="MLSEC-MON-004",
    name="Log Analytics and Application Insights are in an Azure Monitor Private Link Scope with access modes "
    "PrivateOnly and a private endpoint",
    severity=Severity.HIGH,
    threat=Threat.STEALING,
    rationale="With public access disabled, the scope's private endpoint is the only way to ingest or query; "
    "without the resource in a scope, the gateway's logger and operators' queries fail, and someone re-enables "
    "public access. Access modes PrivateOnly keep the VNet from reaching Azure Monitor resources outside the "
    "scope, another tenant's workspace included, so telemetry cannot be exfiltrated through it.",
    remediation="Create a Microsoft.Insights/privateLinkScopes with accessModeSettings ingestionAccessMode and "
    "queryAccessMode PrivateOnly (no exclusions), a scopedResources entry whose linkedResourceId is each workspace "
    "and component, and a private endpoint with group azuremonitor and the Azure Monitor private DNS zones "
    "(components/telemetry.py).",
    mappings=Mappings(
        azure_policy="Azure Monitor Private Link Scope should block access to non private link resources"
    ),
    opt_out=_PRIVATE_LINK,
    check=_in_private_scope,
)


def _refused_telemetry(stack: StackView) -> Iterator[tuple[str, str]]:
    closed = [
        r for r in stack.of_type(azure.APP_INSIGHTS) if get(r.props, "publicNetworkAccessForIngestion") == "Disabled"
    ]
    if not closed:
        return
    for res in stack.of_type(azure.ONLINE_DEPLOYMENT):
        if get(res.props, "properties.appInsightsEnabled") is True:
            yield (
                res.urn,
                f"OnlineDeployment {res.name} sends Application Insights telemetry from the workspace's managed "
                f"network, which Application Insights {closed[0].name} refuses (publicNetworkAccessForIngestion "
                "is Disabled)",
            )


NO_REFUSED_TELEMETRY = StackRule(
    id="MLSEC-MON-005",
    name="Online deployments send Application Insights telemetry only where it is accepted",
    severity=Severity.LOW,
    threat=Threat.EVASION,
    rationale="A deployment in the workspace's managed network reaches Azure Monitor only over the AzureMonitor "
    "service tag: Microsoft supports no private endpoint from the managed network to Azure Monitor. With "
    "public ingestion disabled its telemetry is refused and lost without an error, and whoever reads the "
    "dashboards believes the endpoint is quiet.",
    remediation="Set appInsightsEnabled to false (the endpoint's diagnostic setting delivers its request, console "
    "and event logs), or open Application Insights ingestion with monitoring.appInsightsPublicIngestion "
    "{enabled: true, reason: ...}.",
    check=_refused_telemetry,
)

RULES = (LAW_PUBLIC_ACCESS, APPI_PUBLIC_QUERY, APPI_PUBLIC_INGESTION, IN_PRIVATE_SCOPE, NO_REFUSED_TELEMETRY)
