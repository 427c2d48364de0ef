"""The deployment service on SQLite and PostgreSQL: every change, its history and audit event, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shipyard.deployments import DeploymentService, RolloutPolicy, StickySpec
from shipyard.deployments.routing import moved_fraction, owned
from shipyard.errors import (
    Conflict,
    DeploymentNotFound,
    ModelNotFound,
    ValidationFailed,
    VersionArchived,
    VersionNotFound,
)
from shipyard.store import list_events

from .conftest import Clock, stored


def weights(service: DeploymentService, name: str = "churn") -> dict[str, float]:
    return {a.label: a.weight for a in service.get(name).arms}


def audit(service: DeploymentService) -> list[tuple[str, str, str]]:
    with service.db.read() as session:
        return [(e.action, e.target, e.actor) for e in reversed(list_events(session, target_prefix="deployment:"))]


def test_create_resolves_the_reference_once(service: DeploymentService) -> None:
    service.registry.set_alias("m", "production", 2)
    created = service.create("churn", "m@production", sticky=StickySpec("header", "x-user-id"))
    assert (created.model, created.stable_version, created.mode, created.revision) == ("m", 2, "single", 1)
    assert weights(service) == {"v2": 100.0} and owned(created.segments) == {2: 1_000_000}
    service.registry.set_alias("m", "production", 1)
    assert service.get("churn").stable_version == 2  # moving the alias later does not move the deployment
    assert [d.name for d in service.list()] == ["churn"]
    assert audit(service) == [("deployment.create", "deployment:churn", "alice")]


def test_a_canary_from_start_to_promotion(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    policy = RolloutPolicy(steps=(10, 50, 100), interval_seconds=60)
    canary = service.canary("churn", 2, policy=policy, actor="bob")
    assert canary.mode == "canary" and weights(service) == {"v1": 90.0, "v2": 10.0}
    assert canary.rollout is not None and (canary.rollout.state, canary.rollout.step) == ("running", 0)
    before = service.get("churn").segments
    clock.advance(60)
    service.advance("churn")
    assert weights(service) == {"v1": 50.0, "v2": 50.0}
    assert moved_fraction(before, service.get("churn").segments) == pytest.approx(0.40)
    service.pause("churn")
    with pytest.raises(Conflict, match="already paused"):
        service.pause("churn")
    service.resume("churn")
    rollout = service.get("churn").rollout
    assert rollout is not None and rollout.step_started_at == clock.now  # the step starts over
    service.advance("churn")
    service.advance("churn")  # past the last step: promoted
    done = service.get("churn")
    assert done.stable_version == 2 and weights(service) == {"v2": 100.0} and done.mode == "single"
    assert done.rollout is not None and done.rollout.state == "promoted"
    assert [e.action for e in service.history("churn")] == [
        "promote", "advance", "resume", "pause", "advance", "canary", "create"
    ]  # fmt: skip
    assert audit(service)[1] == ("deployment.canary", "deployment:churn", "bob")


def test_manual_promote_and_rollback(service: DeploymentService) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2)
    rolled = service.rollback("churn", reason="looks off")
    assert weights(service) == {"v1": 100.0} and rolled.rollout is not None
    assert (rolled.rollout.state, rolled.rollout.reason) == ("rolled_back", "looks off")
    with pytest.raises(Conflict, match="Nothing to roll back"):
        service.rollback("churn")
    service.canary("churn", 3)
    with pytest.raises(Conflict, match="in progress"):
        service.promote("churn", 2)
    assert service.promote("churn").stable_version == 3
    assert service.promote("churn", 1).stable_version == 1  # any servable version, when no canary runs
    with pytest.raises(Conflict, match="Nothing to promote"):
        service.promote("churn")


def test_ab_split_with_sticky_users(service: DeploymentService) -> None:
    service.create("churn", "m/1")
    split = service.ab("churn", {1: 50, "2": 50}, sticky=StickySpec("header", "x-user-id"))
    assert (
        split.mode == "ab" and weights(service) == {"v1": 50.0, "v2": 50.0} and str(split.sticky) == "header:x-user-id"
    )
    before = split.segments
    moved = service.ab("churn", {1: 70, 2: 30})
    assert moved.sticky == split.sticky  # left out: kept
    assert moved_fraction(before, moved.segments) == pytest.approx(0.20)
    with pytest.raises(Conflict, match="splits traffic"):
        service.canary("churn", 3)
    assert service.ab("churn", {2: 100}, sticky=None).sticky is None
    assert service.get("churn").stable_version == 2  # the old stable arm left the split
    service.ab("churn", {1: 50, 2: 50})
    with pytest.raises(Conflict, match="several candidate arms"):
        service.ab("churn", {1: 40, 2: 30, 3: 30}) and service.promote("churn")
    assert service.rollback("churn").arms[0].version == 2


def test_shadow_arms(service: DeploymentService) -> None:
    service.create("churn", "m/1")
    shadowed = service.shadow("churn", 3, percent=25)
    assert [(a.label, a.weight) for a in shadowed.shadows] == [("shadow:v3", 25.0)]
    assert owned(shadowed.segments) == {1: 1_000_000}  # a shadow takes no traffic
    with pytest.raises(ValidationFailed, match="already answers callers"):
        service.shadow("churn", 1)
    service.canary("churn", 2)
    assert [a.label for a in service.get("churn").arms] == ["v1", "v2", "shadow:v3"]
    service.rollback("churn")
    assert [a.label for a in service.get("churn").arms] == ["v1", "shadow:v3"]  # shadows stay
    assert service.promote("churn").stable_version == 3  # the only other arm: the shadow
    assert weights(service) == {"v3": 100.0}
    service.shadow("churn", 2)
    assert service.stop_shadow("churn", 2).shadows == ()
    with pytest.raises(ValidationFailed, match="not a shadow arm"):
        service.stop_shadow("churn", 2)


def test_delete_keeps_the_history(service: DeploymentService) -> None:
    service.create("churn", "m/1")
    service.delete("churn")
    with pytest.raises(DeploymentNotFound):
        service.get("churn")
    assert [e.action for e in service.history("churn")] == ["delete", "create"]
    assert service.create("churn", "m/2").stable_version == 2


Change = Callable[[DeploymentService], Any]
BAD: list[tuple[Change, type[Exception], str]] = [
    (lambda s: s.create("churn", "m/2"), Conflict, "already exists"),
    (lambda s: s.create("new", "nope/1"), ModelNotFound, "not registered"),
    (lambda s: s.create("new", "m/9"), VersionNotFound, "no version 9"),
    (lambda s: s.create("new", "m/4"), VersionArchived, "archived"),
    (lambda s: s.create("bad name", "m/1"), ValidationFailed, "name"),
    (lambda s: s.get("chrun"), DeploymentNotFound, "Closest: churn"),
    (lambda s: s.canary("nope", 2), DeploymentNotFound, "does not exist"),
    (lambda s: s.canary("churn", 9), VersionNotFound, "no version 9"),
    (lambda s: s.canary("churn", 4), VersionArchived, "archived"),
    (lambda s: s.canary("churn", 0), ValidationFailed, "version"),
    (lambda s: s.canary("churn", 1), ValidationFailed, "already what"),
    (lambda s: s.canary("churn", 2, policy=RolloutPolicy(steps=(50, 10))), ValidationFailed, "steps"),
    (lambda s: s.canary("churn", 2, policy=RolloutPolicy(max_error_rate=float("nan"))), ValidationFailed, "max_error"),
    (lambda s: s.ab("churn", {1: 50, 2: 40}), ValidationFailed, "sum to 100"),
    (lambda s: s.ab("churn", {1: -50, 2: 150}), ValidationFailed, "between 0 and 100"),
    (lambda s: s.ab("churn", {1: float("nan"), 2: 50}), ValidationFailed, "finite"),
    (lambda s: s.ab("churn", {1: 50, 9: 50}), VersionNotFound, "no version 9"),
    (lambda s: s.ab("churn", {1: 50, 4: 50}), VersionArchived, "archived"),
    (lambda s: s.shadow("churn", 2, percent=0), ValidationFailed, "percent"),
    (lambda s: s.shadow("churn", 2, percent=float("inf")), ValidationFailed, "percent"),
    (lambda s: s.shadow("churn", 9), VersionNotFound, "no version 9"),
    (lambda s: s.promote("churn", 9), VersionNotFound, "no version 9"),
    (lambda s: s.pause("churn"), Conflict, "No canary"),
    (lambda s: s.resume("churn"), Conflict, "No canary"),
    (lambda s: s.rollback("churn"), Conflict, "Nothing to roll back"),
    (lambda s: s.delete("nope"), DeploymentNotFound, "does not exist"),
    (lambda s: s.history("nope"), DeploymentNotFound, "does not exist"),
    (lambda s: s.status("nope"), DeploymentNotFound, "does not exist"),
]


def test_bad_input_changes_nothing(service: DeploymentService) -> None:
    service.create("churn", "m/1")
    before = stored(service)
    for change, error, message in BAD:
        with pytest.raises(error, match=message):
            change(service)
        assert stored(service) == before, message


def test_a_stale_revision_is_refused(service: DeploymentService) -> None:
    created = service.create("churn", "m/1")
    service.canary("churn", 2)
    before = stored(service)
    with pytest.raises(Conflict, match="changed meanwhile"):
        service.advance("churn", expect_revision=created.revision)
    assert stored(service) == before
