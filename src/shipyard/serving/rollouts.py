"""Wiring deployments into a server worker: per-arm figures, shadow traffic, the canary controller.

`attach_deployments` is called by the composition root (`shipyard.server.build_app`): it adds the
figures recorder as an observer of the data plane, gives the plane its shadow runner, schedules the
canary controller as a background job (exactly one worker of all replicas runs it) and returns the
tasks every worker runs for its lifetime (publishing figures, answering shadow copies).
"""

from __future__ import annotations

from ..config import DeploymentSettings
from ..deployments import CanaryController, DeploymentService, QualityProbe
from ..monitoring.alerting import AlertSink, LogAlertSink
from ..registry import Registry
from .app import AppTask
from .arm_figures import ArmFiguresRecorder
from .background import Job, JobRunner
from .dataplane import DataPlane
from .shadow import ShadowRunner

CONTROLLER_JOB = "deployments.canary-controller"


def attach_deployments(
    plane: DataPlane,
    jobs: JobRunner,
    registry: Registry,
    settings: DeploymentSettings,
    *,
    alerts: AlertSink | None = None,
    quality: QualityProbe | None = None,
    service: DeploymentService | None = None,
) -> list[AppTask]:
    """Wire deployments into `plane` and `jobs`; the app tasks to run beside them."""
    recorder = ArmFiguresRecorder(registry.db, flush_seconds=settings.flush_seconds, worker=jobs.holder)
    plane.add_observer(recorder)
    plane.shadows = ShadowRunner(
        plane, recorder, queue_size=settings.shadow_queue, concurrency=settings.shadow_concurrency
    )
    service = service or DeploymentService(registry, status_window_seconds=settings.status_window_seconds)
    controller = CanaryController(
        service, alerts=alerts or LogAlertSink(), quality=quality, retention_hours=settings.sample_retention_hours
    )
    jobs.add(Job(CONTROLLER_JOB, controller.run_once, every_seconds=settings.controller_seconds))
    return [recorder.run, plane.shadows.run]


__all__ = ["CONTROLLER_JOB", "attach_deployments"]
