from __future__ import annotations

import pytest

from shipyard.errors import ValidationFailed
from shipyard.registry import ModelRef, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models:/churn/3", ModelRef("churn", version=3)),
        ("models:/churn@production", ModelRef("churn", alias="production")),
        ("churn/3", ModelRef("churn", version=3)),
        ("churn@staging", ModelRef("churn", alias="staging")),
        ("churn", ModelRef("churn")),
        ("models:/churn/latest", ModelRef("churn")),
    ],
)
def test_parse(text: str, expected: ModelRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["", "models:/", "churn/0", "churn/x", "churn/1/2", "a@b@c", "../x", "churn@1"])
def test_malformed_refs_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_ref(text)


def test_round_trip_str() -> None:
    for ref in ("models:/churn/3", "models:/churn@production"):
        assert str(parse_ref(ref)) == ref
