"""The server's background job that checks every retraining policy's triggers (on one worker at a time)."""

from __future__ import annotations

from ..serving.background import Job
from .service import RetrainService

JOB_NAME = "retrain-triggers"


def trigger_job(service: RetrainService, every_seconds: float) -> Job:
    """A `Job` for the server's `JobRunner`: each tick runs the policies whose triggers fire.

    A run takes as long as its training; the job's lease may lapse meanwhile and another worker
    check the other models, while the model's own lease (`retrain:<model>`) keeps its runs apart.
    """
    return Job(JOB_NAME, lambda: service.check_triggers(), every_seconds)


__all__ = ["JOB_NAME", "trigger_job"]
