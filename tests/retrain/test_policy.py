"""Policies: valid ones stored and audited; every bad one refused with its field named, nothing stored."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shipyard.errors import RetrainPolicyNotFound, ValidationFailed
from shipyard.registry import Registry
from shipyard.retrain import RetrainService, parse_policy, parse_policy_text
from shipyard.retrain.policy import duration_seconds
from shipyard.store import list_events

from .conftest import labelled, policy, register_champion

POLICY_YAML = """
trainer:
  entry_point: tests.retrain.trainers:train_good
  timeout: 30m
data:
  log_period: 7d
  dataset: s3://bucket/churn/
  label: churned
evaluation: {metric: roc_auc, margin: 0.01, holdout: 0.2}
triggers:
  - kind: drift
  - kind: feature_drift
    feature: tenure
  - kind: quality
    metric: accuracy
    below: 0.8
  - kind: schedule
    cron: "0 3 * * 1"
rollout: {mode: canary, steps: [10, 50, 100], interval: 10m}
cooldown: 6h
"""


def test_a_yaml_policy_is_stored_shown_replaced_and_audited(service: RetrainService, registry: Registry) -> None:
    register_champion(registry, labelled(60, seed=0))
    stored = service.set_policy("churn", parse_policy_text(POLICY_YAML), actor="alice")
    policy = stored.policy
    assert [t.kind for t in policy.triggers] == ["drift", "feature_drift", "quality", "schedule"]
    assert policy.rollout.mode == "canary" and duration_seconds(policy.rollout.interval) == 600
    assert duration_seconds(policy.trainer.timeout) == 1800 and policy.data.label == "churned"
    assert service.get_policy("churn").to_dict() == stored.to_dict() and stored.created_by == "alice"
    with pytest.raises(ValidationFailed, match="evaluation.margin"):
        service.set_policy("churn", {**policy.to_dict(), "evaluation": {"margin": math.nan}}, actor="mallory")
    assert service.get_policy("churn").to_dict() == stored.to_dict()
    service.set_policy("churn", {**policy.to_dict(), "enabled": False}, actor="bob")
    again = service.get_policy("churn")
    assert not again.policy.enabled and again.updated_by == "bob" and again.created_by == "alice"
    service.delete_policy("churn", actor="carol")
    with pytest.raises(RetrainPolicyNotFound):
        service.get_policy("churn")
    with registry.db.read() as session:
        events = [(e.action, e.actor) for e in list_events(session, target_prefix="churn", action=None)]
    assert [e for e in events if e[0].startswith("retrain.")] == [
        ("retrain.policy.delete", "carol"),
        ("retrain.policy.set", "bob"),
        ("retrain.policy.set", "alice"),
    ]


def _good() -> dict[str, Any]:
    return policy("data.parquet")


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = _good()
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("document", "field", "text"),
    [
        (_with("evaluation.metric", "acuracy"), "evaluation", "unknown metric 'acuracy' (closest: accuracy)"),
        (
            _with("evaluation.metric", "mae") | {"evaluation": {"metric": "mae", "task": "classification"}},
            "evaluation",
            "for classification",
        ),
        (_with("evaluation.margin", math.nan), "evaluation.margin", "finite number"),
        (_with("evaluation.margin", -0.1), "evaluation.margin", "greater than or equal to 0"),
        (_with("evaluation.holdout", 1.5), "evaluation.holdout", "less than or equal to 0.9"),
        (_with("triggers", [{"kind": "schedule", "cron": "61 * * * *"}]), "triggers.0.cron", "not a cron expression"),
        (_with("triggers", [{"kind": "schedule", "cron": "* * *"}]), "triggers.0.cron", "5 fields"),
        (_with("triggers", [{"kind": "weather"}]), "triggers.0", "unknown trigger kind"),
        (_with("triggers", [{"metric": "accuracy"}]), "triggers.0", "needs a kind"),
        (_with("triggers", [{"kind": "quality", "metric": "mae", "below": 2}]), "triggers.0", "`above`"),
        (_with("triggers", [{"kind": "quality", "metric": "f1"}]), "triggers.0", "exactly one of below or above"),
        (_with("triggers", [{"kind": "quality", "metric": "f1", "below": math.inf}]), "triggers.0.below", "finite"),
        (_with("trainer.entry_point", _DELETE), "trainer", "exactly one of entry_point"),
        (_with("trainer", {"entry_point": "x:y", "command": "make train"}), "trainer", "exactly one of entry_point"),
        (_with("trainer.entry_point", "not an entry point"), "trainer.entry_point", "package.module:function"),
        (_with("trainer.entry_point", "no_such_package.train:fit"), "trainer.entry_point", "cannot be found"),
        (_with("trainer.timeout", "forever"), "trainer.timeout", "not a duration"),
        (_with("trainer.timeout", "8d"), "trainer.timeout", "at most 7d"),
        (_with("data", {"label": "y"}), "data", "set log_period"),
        (_with("data.min_rows", "many"), "data.min_rows", "integer"),
        (_with("rollout", {"mode": "canary", "steps": [50, 10]}), "rollout", "steps: [50.0, 10.0] must increase"),
        (_with("rollout", {"mode": "canary", "steps": [10, 50]}), "rollout", "the last step must be 100"),
        (_with("rollout", {"mode": "canary", "max_error_rate": 2}), "rollout", "max_error_rate"),
        (_with("rollout", {"mode": "blue-green"}), "rollout.mode", "'none', 'staging', 'shadow' or 'canary'"),
        (_with("cooldown", [1, 2]), "cooldown", ""),
        (_with("surprise", True), "surprise", "unknown field"),
        ([1, 2], "policy", "must be a mapping"),
        ("trainer: x", "policy", "must be a mapping"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # checks made before the DB; both DBs: above
def test_bad_policies_name_the_field_and_store_nothing(
    service: RetrainService, registry: Registry, document: Any, field: str, text: str
) -> None:
    register_champion(registry, labelled(60, seed=0))
    service.set_policy("churn", _good(), actor="alice")
    before = service.get_policy("churn").to_dict()
    with pytest.raises(ValidationFailed) as caught:
        service.set_policy("churn", document, actor="mallory")
    problems = dict(caught.value.problems)
    assert field in problems and text in problems[field], caught.value.problems
    assert service.get_policy("churn").to_dict() == before


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(ValidationFailed, match="not valid YAML at line 3"):
        parse_policy_text("trainer:\n  command: x\n   bad: [indent\n")


def test_a_policy_module_is_checked_only_when_asked() -> None:
    doc = _with("trainer.entry_point", "not_installed.train:fit")
    assert parse_policy(doc, check_imports=False).trainer.entry_point == "not_installed.train:fit"
