"""Failing cases of the rules that read the rendered plan rather than the stack file
(policies/catalog/rules/plan_facts.py): per-caller limits inside the gateway policies (MLSEC-APIM-030) and
one writer per data zone at any scope (MLSEC-DATA-020)."""

from __future__ import annotations

from tests.policies.case import Case

DAY = 'calls="10000" renewal-period="86400"'


def policy(rate: str, quota: str) -> str:
    """A gateway policy with the given rate-limit-by-key and quota-by-key attributes."""
    return (
        f'<policies><inbound><base /><rate-limit-by-key {rate} counter-key="@(context.Request.IpAddress)" />'
        f'<quota-by-key {quota} counter-key="@(context.Request.IpAddress)" /></inbound><backend><base /></backend>'
        "<outbound><base /></outbound><on-error><base /></on-error></policies>"
    )


MINUTE = 'calls="60" renewal-period="60"'

SUB = "/subscriptions/00000000-0000-4000-8000-000000000000"

WRITER = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def _writers(zone: str, stack: str, names: str, count: int = 2) -> tuple[str, str]:
    return (f"mlsec-{stack}-data-{zone}", f"zone {zone} has {count} writing principals (role assignments {names})")


CASES: tuple[Case, ...] = (
    Case(
        name="rate-limit-60000-per-minute",
        rule="MLSEC-APIM-030",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=policy('calls="60000" renewal-period="60"', DAY),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-policy",
                "mlsec-dev-gw-fraud-score-policy: <rate-limit-by-key> allows 60000 calls per minute per caller; dev "
                "allows at most 600",
            ),
        ),
    ),
    Case(
        name="prod-rate-limit-period-600-seconds",
        rule="MLSEC-APIM-030",
        base="prod",
        resource="mlsec-prod-gw-fraud-score-policy",
        path="value",
        value=policy('calls="300" renewal-period="600"', 'calls="6000000" renewal-period="86400"'),
        expected=(
            (
                "mlsec-prod-gw-fraud-score-policy",
                "mlsec-prod-gw-fraud-score-policy: <rate-limit-by-key> renewal-period 600 s exceeds 300 s",
            ),
            (
                "mlsec-prod-gw-fraud-score-policy",
                "mlsec-prod-gw-fraud-score-policy: <quota-by-key> allows 6000000 calls per day per caller; prod allows "
                "at most 5000000",
            ),
        ),
    ),
    Case(
        name="rate-limit-calls-not-literal",
        rule="MLSEC-APIM-030",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=policy('calls="@(int.Parse(&quot;60000&quot;))" renewal-period="60"', DAY),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-policy",
                "mlsec-dev-gw-fraud-score-policy: <rate-limit-by-key> has no literal calls and renewal-period, so its "
                "limit cannot be verified",
            ),
        ),
    ),
    Case(
        name="quota-period-60-seconds",
        rule="MLSEC-APIM-030",
        base="dev",
        resource="mlsec-dev-gw-fraud-score-policy",
        path="value",
        value=policy(MINUTE, 'calls="100" renewal-period="60"'),
        expected=(
            (
                "mlsec-dev-gw-fraud-score-policy",
                "mlsec-dev-gw-fraud-score-policy: <quota-by-key> renewal-period 60 s is shorter than 3600 s",
            ),
            (
                "mlsec-dev-gw-fraud-score-policy",
                "mlsec-dev-gw-fraud-score-policy: <quota-by-key> allows 144000 calls per day per caller; dev allows "
                "at most 100000",
            ),
        ),
    ),
    Case(
        name="anonymized-zone-two-writers",
        rule="MLSEC-DATA-020",
        base="dev",
        resource="mlsec-dev-data-curation-reads-anonymized",
        path="roleDefinitionId",
        value=WRITER,
        expected=(
            _writers(
                "anonymized",
                "dev",
                "mlsec-dev-data-anonymization-writes-anonymized, mlsec-dev-data-curation-reads-anonymized",
            ),
        ),
    ),
    Case(
        name="models-zone-without-writer",
        rule="MLSEC-DATA-020",
        base="dev",
        resource="mlsec-dev-data-release-writes-models",
        path=None,
        value=None,
        expected=(("mlsec-dev-data-models", "zone models has no writing principal"),),
    ),
    Case(
        name="prod-release-writer-on-subscription",
        rule="MLSEC-DATA-020",
        base="prod",
        resource="mlsec-prod-data-release-writes-models",
        path="scope",
        value=SUB,
        expected=(
            _writers(
                "anonymized",
                "prod",
                "mlsec-prod-data-anonymization-writes-anonymized, mlsec-prod-data-release-writes-models",
            ),
            _writers(
                "curated", "prod", "mlsec-prod-data-curation-writes-curated, mlsec-prod-data-release-writes-models"
            ),
            _writers(
                "quarantine",
                "prod",
                "mlsec-prod-data-ingestion-writes-quarantine, mlsec-prod-data-release-writes-models",
            ),
            _writers("raw", "prod", "mlsec-prod-data-release-writes-models, mlsec-prod-data-validation-writes-raw"),
        ),
    ),
)
