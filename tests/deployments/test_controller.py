"""The canary controller over the database: figures of every worker summed, steps, rollback, alert, audit."""

from __future__ import annotations

from datetime import timedelta

from shipyard.deployments import (
    ALERT_RULE,
    CONTROLLER_ACTOR,
    ArmFigures,
    CanaryController,
    DeploymentService,
    RolloutPolicy,
    Sample,
    read_samples,
    write_samples,
)
from shipyard.store import list_events

from .conftest import Alerts, Clock

POLICY = RolloutPolicy(steps=(10, 50, 100), interval_seconds=60, max_error_rate=0.05, min_requests=20)


def publish(service: DeploymentService, clock: Clock, worker: str, arm: str, requests: int, errors: int = 0) -> None:
    figures = ArmFigures()
    for i in range(requests):
        figures.add(0.005, error=i < errors)
    version = int(arm.removeprefix("v"))
    write_samples(
        service.db, worker, clock.now - timedelta(seconds=1), clock.now, [Sample("churn", arm, version, figures)]
    )


def test_figures_of_every_worker_add_up(service: DeploymentService, clock: Clock) -> None:
    publish(service, clock, "w1", "v1", 10, errors=1)
    publish(service, clock, "w2", "v1", 5)
    clock.advance(10)
    publish(service, clock, "w1", "v1", 7)
    totals = read_samples(service.db, "churn", clock.now - timedelta(seconds=5))
    assert totals["v1"].figures.requests == 7
    totals = read_samples(service.db, "churn", clock.now - timedelta(seconds=60))
    assert (totals["v1"].figures.requests, totals["v1"].figures.errors) == (22, 1)


def test_a_healthy_canary_advances_each_interval_then_is_promoted(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2, policy=POLICY)
    alerts = Alerts()
    controller = CanaryController(service, alerts=alerts, clock=clock)
    clock.advance(1)
    publish(service, clock, "w1", "v2", 15)
    publish(service, clock, "w2", "v2", 15)
    publish(service, clock, "w1", "v1", 200)
    assert controller.run_once()["churn"].action == "hold"
    clock.advance(60)
    assert controller.run_once()["churn"].action == "advance"
    assert {a.label: a.weight for a in service.get("churn").arms} == {"v1": 50.0, "v2": 50.0}
    clock.advance(60)  # a new step: no canary figures since it began yet
    verdict = controller.run_once()["churn"]
    assert verdict.action == "hold" and "waiting for 20" in verdict.reason
    for _ in range(2):
        clock.advance(1)
        publish(service, clock, "w1", "v2", 30)
        clock.advance(60)
        controller.run_once()
    done = service.get("churn")
    assert done.stable_version == 2 and done.rollout is not None and done.rollout.state == "promoted"
    assert controller.run_once() == {} and alerts.fired == []
    history = service.history("churn")
    assert [e.action for e in history][:3] == ["promote", "advance", "advance"]
    assert history[0].actor == CONTROLLER_ACTOR and history[0].detail["figures"]["canary"]["requests"] == 30


def test_a_failing_canary_is_rolled_back_with_alert_and_audit(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2, policy=POLICY)
    alerts = Alerts()
    controller = CanaryController(service, alerts=alerts, clock=clock)
    clock.advance(5)
    publish(service, clock, "w1", "v2", 40, errors=12)
    publish(service, clock, "w2", "v1", 400, errors=1)
    verdict = controller.run_once()["churn"]
    assert verdict.action == "rollback" and verdict.reason.startswith("error rate 0.3000 > 0.05")
    rolled = service.get("churn")
    assert {a.label: a.weight for a in rolled.arms} == {"v1": 100.0}
    assert rolled.rollout is not None and rolled.rollout.state == "rolled_back"
    (alert,) = alerts.fired
    assert (alert.rule, alert.subject, alert.severity) == (ALERT_RULE, "churn", "critical")
    assert "rolled back to v1" in alert.message and alert.details["canary"]["errors"] == 12
    with service.db.read() as session:
        (event,) = list_events(session, target_prefix="deployment:churn", action="deployment.rollback")
    assert event.actor == CONTROLLER_ACTOR and event.after is not None
    assert event.after["figures"]["canary"]["error_rate"] == 0.3 and "error rate" in event.after["reason"]
    assert event.before is not None and event.before["arms"] == {"v1": 90.0, "v2": 10.0}


def test_a_manual_change_meanwhile_wins(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2, policy=POLICY)
    judged = service.get("churn")
    service.pause("churn")  # between the controller's read and its write
    controller = CanaryController(service, alerts=Alerts(), clock=clock)
    clock.advance(61)
    publish(service, clock, "w1", "v2", 50)
    controller.check(judged)  # the advance it decides is for a revision that is gone: nothing happens
    assert service.get("churn").rollout.state == "paused"  # type: ignore[union-attr]
    assert {a.label: a.weight for a in service.get("churn").arms} == {"v1": 90.0, "v2": 10.0}


def test_a_broken_quality_probe_does_not_stop_the_other_guards(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2, policy=RolloutPolicy(steps=(10, 100), interval_seconds=60, max_quality_drop=0.01))

    def probe(deployment: str, version: int, since: object) -> float | None:
        raise RuntimeError("feedback store down")

    controller = CanaryController(service, alerts=Alerts(), quality=probe, clock=clock)
    clock.advance(61)
    publish(service, clock, "w1", "v2", 50)
    assert controller.run_once()["churn"].action == "advance"


def test_the_quality_guard_uses_the_probe(service: DeploymentService, clock: Clock) -> None:
    service.create("churn", "m/1")
    service.canary("churn", 2, policy=RolloutPolicy(steps=(10, 100), interval_seconds=60, max_quality_drop=0.01))
    quality = {1: 0.90, 2: 0.80}
    controller = CanaryController(service, alerts=Alerts(), quality=lambda d, v, s: quality[v], clock=clock)
    clock.advance(1)
    publish(service, clock, "w1", "v2", 50)
    verdict = controller.run_once()["churn"]
    assert verdict.action == "rollback" and "quality 0.8000" in verdict.reason


def test_old_figures_are_pruned(service: DeploymentService, clock: Clock) -> None:
    publish(service, clock, "w1", "v1", 10)
    clock.advance(25 * 3600)
    CanaryController(service, clock=clock, retention_hours=24).run_once()
    assert read_samples(service.db, "churn", clock.now - timedelta(days=30)) == {}
