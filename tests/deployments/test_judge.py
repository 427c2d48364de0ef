"""The canary controller's decision, the per-arm figures it reads, and the shadow comparison — pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shipyard.deployments import ArmFigures, Comparison, Rollout, RolloutPolicy, compare_outputs, judge
from shipyard.deployments.figures import bucket_of, bucket_value

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RolloutPolicy(steps=(5, 25, 50, 100), interval_seconds=600, max_error_rate=0.01, max_p99_ratio=1.5)
ROLLOUT = Rollout(4, 3, POLICY, "running", 1, START, START)


def figures(requests: int, errors: int = 0, latency: float = 0.010) -> ArmFigures:
    f = ArmFigures()
    for i in range(requests):
        f.add(latency, error=i < errors)
    return f


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_a_healthy_step_advances_after_its_interval() -> None:
    assert judge(ROLLOUT, figures(500), figures(100), at(599)).action == "hold"
    verdict = judge(ROLLOUT, figures(500), figures(100), at(600))
    assert verdict.action == "advance"
    assert verdict.figures["canary"]["requests"] == 100 and verdict.figures["step"] == 2


def test_too_few_canary_requests_neither_judge_nor_advance() -> None:
    verdict = judge(ROLLOUT, figures(500), figures(19, errors=19), at(10_000))
    assert verdict.action == "hold" and "waiting for 20 canary requests (19 so far)" in verdict.reason


def test_an_error_rate_over_the_limit_rolls_back_with_the_numbers() -> None:
    verdict = judge(ROLLOUT, figures(500), figures(100, errors=30), at(5))
    assert verdict.action == "rollback"
    assert verdict.reason.startswith("error rate 0.3000 > 0.01 (30 errors in 100 requests of v4)")
    assert verdict.figures["canary"]["error_rate"] == 0.3 and verdict.figures["limits"]["max_error_rate"] == 0.01
    assert judge(ROLLOUT, figures(500), figures(100, errors=1), at(5)).action == "hold"  # 0.01 is not above 0.01


def test_a_breach_rolls_back_even_while_paused() -> None:
    paused = replace(ROLLOUT, state="paused")
    assert judge(paused, figures(500), figures(100, errors=50), at(5)).action == "rollback"
    assert judge(paused, figures(500), figures(100), at(10_000)).action == "hold"


def test_p99_relative_to_the_stable_arm() -> None:
    slow = judge(ROLLOUT, figures(500, latency=0.020), figures(100, latency=0.060), at(5))
    assert slow.action == "rollback" and "p99 latency" in slow.reason and "1.5 ×" in slow.reason
    assert judge(ROLLOUT, figures(500, latency=0.020), figures(100, latency=0.026), at(5)).action == "hold"


def test_p99_differences_below_the_floor_are_noise() -> None:
    # 3 ms against 1 ms is 3×, but 2 ms apart: under min_p99_delta_ms (10) it is not a breach.
    assert judge(ROLLOUT, figures(500, latency=0.001), figures(100, latency=0.003), at(5)).action == "hold"


def test_p99_needs_figures_on_both_arms_and_an_enabled_guard() -> None:
    at_full = replace(ROLLOUT, step=3)  # 100 %: the stable arm has no traffic left to compare with
    assert judge(at_full, figures(0), figures(100, latency=5.0), at(5)).action == "hold"
    off = replace(ROLLOUT, policy=replace(POLICY, max_p99_ratio=None, max_error_rate=None))
    assert judge(off, figures(500), figures(100, errors=100, latency=5.0), at(5)).action == "hold"


def test_quality_guard_when_feedback_exists() -> None:
    guarded = replace(ROLLOUT, policy=replace(POLICY, max_quality_drop=0.02))
    assert judge(guarded, figures(500), figures(100), at(5), (0.91, 0.85)).action == "rollback"
    assert judge(guarded, figures(500), figures(100), at(5), (0.91, 0.90)).action == "hold"
    assert judge(guarded, figures(500), figures(100), at(5), (0.91, None)).action == "hold"  # no feedback yet


def test_latency_histogram_percentiles_are_within_ten_percent() -> None:
    rng = np.random.default_rng(0)
    latencies = rng.lognormal(mean=-4, sigma=1, size=20_000)
    f = ArmFigures()
    for value in latencies:
        f.add(float(value), error=False)
    for q in (0.5, 0.9, 0.99):
        assert f.quantile(q) == pytest.approx(np.quantile(latencies, q), rel=0.10)
    assert bucket_of(0.0) == 0 and bucket_of(float("nan")) == 0 and bucket_of(1e9) == bucket_of(1e12)
    assert bucket_value(0) > 0 and ArmFigures().quantile(0.99) is None


def test_figures_add_up_across_workers() -> None:
    a, b = figures(10, errors=1, latency=0.01), figures(30, errors=2, latency=0.1)
    a.merge(b)
    assert (a.requests, a.errors, a.error_rate) == (40, 3, 0.075)
    again = ArmFigures.from_json(a.requests, a.errors, a.latency_sum, a.buckets_json())
    assert again == a
    summary = a.summary(window_seconds=20)
    assert summary["requests_per_second"] == 2.0 and summary["p99_ms"] == pytest.approx(100, rel=0.1)


def test_labels_are_compared_for_agreement_and_scores_by_difference() -> None:
    primary = {"predict": np.array([0, 1, 1, 0]), "predict_proba": np.array([[0.9, 0.1], [0.2, 0.8]])}
    shadow = {"predict": np.array([0, 1, 0, 0]), "predict_proba": np.array([[0.8, 0.2], [0.2, 0.8]])}
    result = compare_outputs(primary, shadow)
    assert (result.pairs, result.labels, result.agreed, result.agreement) == (1, 4, 3, 0.75)
    assert result.scores == 4 and result.diff_max == pytest.approx(0.1) and result.mean_abs_diff == pytest.approx(0.05)
    strings = compare_outputs(
        {"predict": np.array(["a", "b"], dtype=object)}, {"predict": np.array(["a", "c"], dtype=object)}
    )
    assert strings.agreement == 0.5


def test_mismatched_or_missing_outputs_and_nan() -> None:
    assert compare_outputs({"predict": np.array([1, 2])}, {"predict": np.array([1, 2, 3])}).agreement == 0.0
    assert compare_outputs({"p": np.ones(2)}, {"p": np.ones(3)}).scores == 0
    assert compare_outputs({"p": np.ones(2)}, {"q": np.ones(2)}).pairs == 1
    nan = compare_outputs({"p": np.array([np.nan, 1.0])}, {"p": np.array([0.0, 3.0])})
    assert (nan.scores, nan.diff_max) == (1, 2.0)


def test_comparisons_add_up_and_survive_json() -> None:
    total = Comparison()
    total.merge(compare_outputs({"p": np.array([1.0])}, {"p": np.array([1.5])}))
    total.merge(Comparison(dropped=3))
    assert Comparison.from_json(total.to_json()) == total
    assert Comparison.from_json({"pairs": 2, "unknown": 1}).pairs == 2
    assert total.summary() == {"pairs": 1, "agreement": None, "mean_abs_diff": 0.5, "max_abs_diff": 0.5, "dropped": 3}
