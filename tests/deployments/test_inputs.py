"""What callers give a deployment is checked field by field: every mistake names the field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shipyard.deployments import RolloutPolicy
from shipyard.deployments.inputs import (
    check_deployment_name,
    check_policy,
    check_split,
    parse_interval,
    parse_split,
    parse_steps,
    parse_sticky,
)
from shipyard.deployments.spec import StickySpec
from shipyard.errors import ValidationFailed


def test_the_cli_forms_parse() -> None:
    assert parse_split("3=50, 4=50") == {3: 50.0, 4: 50.0}
    assert parse_split("3=33.3333,4=33.3333,5=33.3334") == {3: 33.3333, 4: 33.3333, 5: 33.3334}
    assert parse_steps("5,25,50,100") == (5.0, 25.0, 50.0, 100.0)
    assert [parse_interval(t) for t in ("10m", "30s", "2h", "1d", "45", "500ms", "1.5m")] == [
        600,
        30,
        7200,
        86400,
        45,
        0.5,
        90,
    ]
    assert parse_sticky("header:X-User-Id") == StickySpec("header", "x-user-id")
    assert parse_sticky("param:userId") == StickySpec("param", "userId")
    assert parse_sticky("none") is None and parse_sticky(None) is None


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("3=50,4=40", "split", "sum to 100, not 90"),
        ("3=50,4=60", "split", "sum to 100, not 110"),
        ("3=-10,4=110", "split.3", "between 0 and 100"),
        ("3=nan,4=50", "split.3", "finite"),
        ("3=inf", "split.3", "finite"),
        ("3=abc", "split.3", "not a number"),
        ("3", "split", "VERSION=PERCENT"),
        ("x=100", "split.version", "not a version"),
        ("0=100", "split.version", "not a version"),
        ("3=50,3=50", "split", "appears twice"),
        ("3=50.000001,4=49.999999", "split.3", "4 decimal places"),
        ("", "split", "VERSION=PERCENT"),
    ],
)
def test_bad_splits(text: str, field: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_split(text)
    assert caught.value.problems[0][0] == field and problem in caught.value.problems[0][1]


@pytest.mark.parametrize(
    "split", [{}, {True: 100}, {"3": "50", "4": 50}, {3: None}, {3: math.nan}, {2**31: 100}, [("3", 100)]]
)
def test_bad_split_values_from_python_or_json(split: Any) -> None:
    with pytest.raises(ValidationFailed):
        check_split(split)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("5,25,50", "last step must be 100"),
        ("25,5,100", "must increase"),
        ("0,100", "above 0"),
        ("5,5,100", "must increase"),
        ("-5,100", "above 0"),
        ("5,x,100", "not a number"),
        ("5,nan,100", "finite"),
        ("5,150", "at most 100"),
    ],
)
def test_bad_steps(text: str, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        parse_steps(text)


@pytest.mark.parametrize("text", ["soon", "-5m", "0s", "40d", "10 minutes", "1e9", ""])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValidationFailed, match="interval"):
        parse_interval(text)


@pytest.mark.parametrize(
    "text", ["cookie:x", "header", "header:", "header:x y", "param:a/b", ":x", "header:" + "x" * 200]
)
def test_bad_sticky_specs(text: str) -> None:
    with pytest.raises(ValidationFailed, match="sticky"):
        parse_sticky(text)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_error_rate": 1.5}, "max_error_rate"),
        ({"max_error_rate": math.nan}, "max_error_rate"),
        ({"max_p99_ratio": 0.5}, "max_p99_ratio"),
        ({"max_p99_ratio": math.inf}, "max_p99_ratio"),
        ({"max_quality_drop": -1}, "max_quality_drop"),
        ({"min_requests": 0}, "min_requests"),
        ({"min_requests": 2.5}, "min_requests"),
        ({"min_requests": True}, "min_requests"),
        ({"interval_seconds": -1}, "interval"),
        ({"interval_seconds": math.nan}, "interval"),
        ({"steps": (50, 100, 100)}, "steps"),
        ({"steps": ()}, "steps"),
        ({"steps": "5,100"}, "steps"),
    ],
)
def test_bad_policies(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_policy(RolloutPolicy(**changes))
    assert caught.value.problems[0][0].startswith(field)


def test_a_good_policy_comes_back_normalised() -> None:
    policy = check_policy(RolloutPolicy(steps=(10, 100), interval_seconds=30, max_error_rate=None, max_p99_ratio=2))
    assert policy.steps == (10.0, 100.0) and policy.max_error_rate is None and policy.max_p99_ratio == 2.0


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a" * 129, None, 3, "ü"])
def test_bad_deployment_names(name: Any) -> None:
    with pytest.raises(ValidationFailed, match="name"):
        check_deployment_name(name)
