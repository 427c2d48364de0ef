"""The notebook-facing deployment calls: `shipyard.deploy`, `canary`, `shadow`, `ab_test`, `promote`, `rollback`."""

from __future__ import annotations

import numpy as np
import pytest

import shipyard
from shipyard.errors import Conflict, ValidationFailed

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
