"""The notebook-facing deployment calls: `shipyard.deploy`, `canary`, `shadow`, `ab_test`, `promote`, `rollback`,
`pause`, `resume`, `stop_shadow`, `list_deployments`, `deployment_history`."""

from __future__ import annotations

import numpy as np
import pytest

import shipyard
from shipyard.errors import Conflict, DeploymentNotFound, ValidationFailed

from .fakes import ScaleModel


def test_the_sdk_drives_the_same_service() -> None:
    for factor in (1, 2, 3):
        shipyard.register(ScaleModel(factor), name="churn", data=np.zeros((2, 3)))
    shipyard.set_alias("churn", "production", 1)
    assert shipyard.deploy("churn", "churn@production", sticky="header:x-user-id").stable_version == 1
    rollout = shipyard.canary("churn", 2, steps=(10, 100), interval="30s", max_p99_ratio=None).rollout
    assert rollout is not None and rollout.policy.interval_seconds == 30 and rollout.policy.max_p99_ratio is None
    with pytest.raises(Conflict, match="in progress"):
        shipyard.ab_test("churn", {1: 50, 3: 50})
    assert shipyard.rollback("churn", reason="sdk").rollout.state == "rolled_back"  # type: ignore[union-attr]
    assert shipyard.shadow("churn", 3, percent=10).shadows[0].weight == 10
    split = shipyard.ab_test("churn", {1: 50, 2: 50})
    assert split.mode == "ab" and str(split.sticky) == "header:x-user-id"
    assert shipyard.promote("churn", 2).stable_version == 2
    status = shipyard.deployment_status("churn")
    assert [a["label"] for a in status["arms"]] == ["v2"] and status["shadows"][0]["label"] == "shadow:v3"
    assert [e.action for e in shipyard.deployment_service().history("churn")][0] == "promote"
    with pytest.raises(ValidationFailed, match="sticky"):
        shipyard.deploy("other", "churn/1", sticky="cookie:x")
    with pytest.raises(ValidationFailed, match="interval"):
        shipyard.canary("churn", 3, interval="soon")


def test_pause_resume_stop_shadow_list_and_history_from_python() -> None:
    for factor in (1, 2, 3):
        shipyard.register(ScaleModel(factor), name="churn", data=np.zeros((2, 3)))
    shipyard.deploy("churn", "churn/1")
    shipyard.deploy("fraud", "churn/3")
    shipyard.canary("churn", 2, steps=(10, 100), interval="30s")
    paused = shipyard.pause("churn").rollout
    assert paused is not None and paused.state == "paused"
    with pytest.raises(Conflict, match="already paused"):
        shipyard.pause("churn")
    resumed = shipyard.resume("churn").rollout
    assert resumed is not None and resumed.state == "running"
    with pytest.raises(Conflict, match="not paused"):
        shipyard.resume("churn")
    assert [s.version for s in shipyard.shadow("churn", 3, percent=20).shadows] == [3]
    assert shipyard.stop_shadow("churn", 3).shadows == ()
    listed = shipyard.list_deployments()
    assert sorted((d.name, d.stable_version) for d in listed) == [("churn", 1), ("fraud", 3)]
    history = shipyard.deployment_history("churn")
    assert [e.action for e in history] == ["shadow.stop", "shadow", "resume", "pause", "canary", "create"]
    assert all(e.actor == "alice" for e in history)
    assert [e.action for e in shipyard.deployment_history("churn", limit=2)] == ["shadow.stop", "shadow"]


def test_an_unknown_deployment_is_refused_naming_the_closest() -> None:
    shipyard.register(ScaleModel(1), name="churn", data=np.zeros((2, 3)))
    shipyard.deploy("churn", "churn/1")
    for call in (
        lambda: shipyard.pause("chrun"),
        lambda: shipyard.resume("chrun"),
        lambda: shipyard.stop_shadow("chrun", 1),
        lambda: shipyard.deployment_history("chrun"),
    ):
        with pytest.raises(DeploymentNotFound, match="'chrun' does not exist.*churn") as caught:
            call()
        assert caught.value.suggestions == ["churn"]
    with pytest.raises(Conflict, match="No canary is in progress"):
        shipyard.pause("churn")
    with pytest.raises(ValidationFailed, match="version"):
        shipyard.stop_shadow("churn", 0)
    with pytest.raises(ValidationFailed, match="v1 is not a shadow arm of 'churn'"):
        shipyard.stop_shadow("churn", 1)
