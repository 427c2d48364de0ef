"""Runtime: the retraining loop — triggers, data window, training, champion/challenger, rollout.

    from shipyard.retrain import RetrainService
    service = RetrainService(registry, settings.retrain)
    service.set_policy("churn", {"trainer": {"entry_point": "churn.train:train"},
                                 "data": {"dataset": "s3://bucket/churn/"}})
    run = service.run("churn")      # RetrainRun(status='succeeded', decision='accepted')

See docs/retraining.md for the policy, the trainer's files in and out, and the decision rule.
"""

from __future__ import annotations

from .evaluation import Decision, decide
from .job import trigger_job
from .policies import StoredPolicy
from .policy import RetrainPolicy, parse_policy, parse_policy_text
from .runs import RetrainRun
from .service import TRIGGER_ACTOR, RetrainService
from .triggers import DriftEvidence, Fired

__all__ = [
    "TRIGGER_ACTOR",
    "Decision",
    "DriftEvidence",
    "Fired",
    "RetrainPolicy",
    "RetrainRun",
    "RetrainService",
    "StoredPolicy",
    "decide",
    "parse_policy",
    "parse_policy_text",
    "trigger_job",
]
