from __future__ import annotations

from typing import Any

import pytest

from shipyard.errors import ValidationFailed
from shipyard.registry import Registry, diff_versions


@pytest.fixture
def three(registry: Registry, logreg: Any) -> Registry:
    registry.register(logreg, "churn", metrics={"acc": 0.80}, params={"depth": 3}, tags={"team": "risk"})
    registry.register(logreg, "churn", metrics={"acc": 0.95}, params={"depth": 6}, tags={"team": "risk"})
    registry.register(logreg, "fraud", metrics={"acc": 0.90}, tags={"team": "ops"})
    return registry


def test_filter_on_metrics_params_and_tags(three: Registry) -> None:
    assert [v.uri for v in three.search_versions(filter="metrics.acc >= 0.9", order_by="metrics.acc desc")] == [
        "models:/churn/2",
        "models:/fraud/1",
    ]
    assert [v.uri for v in three.search_versions(filter="tags.team = 'risk' and params.depth > 4")] == [
        "models:/churn/2"
    ]
    assert [v.uri for v in three.search_versions("fraud")] == ["models:/fraud/1"]
    assert [v.uri for v in three.search_versions(tags={"team": "ops"})] == ["models:/fraud/1"]


def test_archived_hidden_unless_asked(three: Registry) -> None:
    three.archive("churn", 1)
    assert "models:/churn/1" not in [v.uri for v in three.search_versions()]
    assert "models:/churn/1" in [v.uri for v in three.search_versions(include_archived=True)]


@pytest.mark.parametrize("bad", ["acc > 1", "metrics.acc >> 1", "metrics. = 3", "drop table"])
def test_bad_filters_name_the_clause(three: Registry, bad: str) -> None:
    with pytest.raises(ValidationFailed, match="filter"):
        three.search_versions(filter=bad)


def test_diff_pairs_every_key(three: Registry) -> None:
    rows = {(r.section, r.key): r for r in diff_versions(three.get_version("churn", 1), three.get_version("churn", 2))}
    assert rows[("metrics", "acc")].left == 0.80 and rows[("metrics", "acc")].right == 0.95
    assert rows[("params", "depth")].changed
    assert not rows[("tags", "team")].changed
    assert ("lineage", "environment.python") in rows
