"""The stealing budget: the gateway's per-caller limits against the measured cost of copying a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import config
from policies.catalog.rules import stealing
from scripts.assess.__main__ import main
from scripts.assess.budget import Budget, Limits, budget, period_reach, stolen_unnoticed
from scripts.common.cli import run

ROOT = Path(__file__).resolve().parents[2]
DEV = Limits(
    rate_calls=60, rate_period_seconds=60, quota_calls=10_000, quota_period_seconds=86_400, alert_threshold=500
)


def test_without_the_quota_volume_alert_one_caller_takes_the_whole_quota_unnoticed() -> None:
    # 60 calls/min is 900 per 15 minutes; the alert caps a quiet caller at 500; 96 windows a day hold 48,000,
    # so the daily quota of 10,000 is the binding limit.
    assert budget(DEV) == Budget(
        rate_per_window=900,
        before_alert=500,
        before_quota=10_000,
        unnoticed_per_quota_period=10_000,
        quota_period_seconds=86_400,
        before_period_alert=None,
        before_any_alert=500,
    )


def test_the_alert_binds_when_the_quota_is_large() -> None:
    limits = Limits(
        rate_calls=100, rate_period_seconds=60, quota_calls=1_000_000, quota_period_seconds=3_600, alert_threshold=200
    )
    assert budget(limits) == Budget(1_500, 200, 1_000_000, 800, 3_600, None, 200)


def test_the_rate_limit_binds_when_the_alert_threshold_is_high() -> None:
    # a 7-second renewal period: a 15-minute window can span ceil(900 / 7) = 129 periods
    limits = Limits(
        rate_calls=2, rate_period_seconds=7, quota_calls=1_000_000, quota_period_seconds=3_600, alert_threshold=10_000
    )
    assert budget(limits) == Budget(258, 258, 1_000_000, 1_032, 3_600, None, 258)


# dev as shipped: the quota-volume alert fires above 5,000 calls (50% of 10,000) in a day
DEV_WATCHED = Limits(
    rate_calls=60,
    rate_period_seconds=60,
    quota_calls=10_000,
    quota_period_seconds=86_400,
    alert_threshold=500,
    period_alert=(5_000, 86_400),
)


def test_the_quota_volume_alert_halves_what_a_patient_caller_takes_unnoticed() -> None:
    assert budget(DEV_WATCHED) == Budget(
        rate_per_window=900,
        before_alert=500,
        before_quota=10_000,
        unnoticed_per_quota_period=5_000,
        quota_period_seconds=86_400,
        before_period_alert=5_000,
        before_any_alert=500,
    )


def test_the_first_alert_is_the_minimum_over_both_alerts() -> None:
    # a quota-volume threshold below the 15-minute one: the patient alert fires first even for a burst
    limits = Limits(60, 60, 10_000, 86_400, alert_threshold=500, period_alert=(300, 86_400))
    assert (budget(limits).before_any_alert, budget(limits).unnoticed_per_quota_period) == (300, 300)


def test_a_two_day_window_over_a_weekly_quota_counts_every_window() -> None:
    # a week is covered by ceil(7 / 2) = 4 two-day windows of at most 16,000 calls each: 64,000 < 70,000
    limits = Limits(600, 60, 70_000, 604_800, alert_threshold=9_000, period_alert=(16_000, 172_800))
    assert budget(limits).unnoticed_per_quota_period == 64_000
    assert budget(limits).before_period_alert == 16_000


def test_a_quota_volume_threshold_beyond_the_reach_of_the_limits_is_clamped() -> None:
    # a day spans at most two daily quota periods: 20,000 calls, so a threshold of 30,000 binds at 20,000
    limits = Limits(600, 60, 10_000, 86_400, alert_threshold=500, period_alert=(30_000, 86_400))
    assert period_reach(limits, 86_400) == 20_000
    assert budget(limits).before_period_alert == 20_000
    assert budget(limits).unnoticed_per_quota_period == 10_000
    # the rate limit binds before the quota in a short window: 60 per minute over 2 hours
    assert period_reach(Limits(60, 60, 1_000_000, 86_400, 500), 7_200) == 7_200


@pytest.mark.parametrize(("needed", "stolen"), [(5_000, True), (5_001, False), (None, False)])
def test_the_quota_volume_alert_raises_the_cost_a_model_must_exceed(needed: int | None, stolen: bool) -> None:
    assert stolen_unnoticed(needed, DEV_WATCHED) is stolen


@pytest.mark.parametrize(("needed", "stolen"), [(10_000, True), (10_001, False), (50, True), (None, False)])
def test_stolen_unnoticed_compares_the_cost_with_the_quiet_budget(needed: int | None, stolen: bool) -> None:
    assert stolen_unnoticed(needed, DEV) is stolen


def _report(tmp_path: Path, needed: int | None, largest: int = 20_000) -> Path:
    path = tmp_path / "assessment.json"
    extraction = {"queriesToTarget": needed, "fidelityTarget": 0.9, "queries": [50, largest]}
    path.write_text(json.dumps({"extraction": extraction}), encoding="utf-8")
    return path


def _budget(report: Path, stack: str = "dev") -> int:
    return run(main, ["budget", "--stack", stack, "--assessment", str(report), "--project-dir", str(ROOT)])


def test_command_fails_a_model_copied_within_the_dev_quota(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _budget(_report(tmp_path, 2_000)) == 1
    out = capsys.readouterr().out
    assert "500 queries per 15 minutes before the caller-volume alert fires" in out
    assert "5000 queries per 24 h before the quota-volume alert fires" in out
    assert "500 queries before the first alert fires" in out
    assert "10000 queries before the quota stops the caller (24 h period)" in out
    assert "5000 queries per quota period without any alert" in out
    assert "FAIL stealing-budget" in out


def test_command_passes_a_model_that_costs_more_than_the_quota(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _budget(_report(tmp_path, 12_000)) == 0
    # more than the 5,000 the quota-volume alert lets one caller make in a day, fewer than the quota
    assert _budget(_report(tmp_path, 6_000)) == 0
    assert "PASS stealing-budget" in capsys.readouterr().out
    assert _budget(_report(tmp_path, None, largest=20_000)) == 0


def test_an_extraction_that_stopped_short_of_the_budget_proves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _budget(_report(tmp_path, None, largest=4_999)) == 1
    assert "the cost is not measured far enough" in capsys.readouterr().out


def test_prod_limits_are_read_from_the_prod_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _budget(_report(tmp_path, 90_000, largest=300_000), "prod") == 1
    out = capsys.readouterr().out
    assert "3000 queries per 15 minutes" in out and "100000 queries per quota period without any alert" in out
    assert _budget(_report(tmp_path, 150_000, largest=300_000), "prod") == 0


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"extraction": {"queriesToTarget": "many", "fidelityTarget": 0.9, "queries": [50]}},
        {"extraction": {"queriesToTarget": 0, "fidelityTarget": 0.9, "queries": [50]}},
        {"extraction": {"queriesToTarget": 50, "fidelityTarget": 0.9, "queries": []}},
        {"extraction": {"queriesToTarget": 50, "fidelityTarget": 0.9, "queries": [True]}},
    ],
)
def test_malformed_reports_cannot_be_judged(tmp_path: Path, document: dict[str, object]) -> None:
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert _budget(path) == 2


def test_an_unknown_stack_cannot_be_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _budget(_report(tmp_path, 100), "nosuchstack") == 2
    assert "stacks/Pulumi.nosuchstack.yaml: no such stack file" in capsys.readouterr().err


def test_the_gate_and_the_gateway_know_the_same_alert_windows() -> None:
    assert stealing.LOG_ALERT_WINDOWS == config.LOG_ALERT_WINDOWS
    assert config.LOG_ALERT_WINDOWS[-1] == 2 * 86_400  # the longest time range a log search alert queries
