"""Domain: deployments — named endpoints routing to versions of a model (canary, shadow, A/B), with rollouts.

service = DeploymentService(registry)
service.create("churn", "churn@production")
service.canary("churn", 4, policy=RolloutPolicy(steps=(5, 25, 50, 100), interval_seconds=600))
service.status("churn").to_dict()
"""

from __future__ import annotations

from .comparison import Comparison, compare_outputs
from .controller import ALERT_RULE, CONTROLLER_ACTOR, CanaryController, QualityProbe, Verdict, judge
from .figures import ArmFigures
from .history import DeploymentEvent
from .inputs import parse_interval, parse_split, parse_steps, parse_sticky
from .samples import Sample, read_samples, write_samples
from .service import DeploymentService
from .snapshot import read_deployments
from .spec import Arm, Deployment, Rollout, RolloutPolicy, StickySpec, arm_label
from .status import ArmStatus, DeploymentStatus

__all__ = [
    "ALERT_RULE",
    "CONTROLLER_ACTOR",
    "Arm",
    "ArmFigures",
    "ArmStatus",
    "CanaryController",
    "Comparison",
    "Deployment",
    "DeploymentEvent",
    "DeploymentService",
    "DeploymentStatus",
    "QualityProbe",
    "Rollout",
    "RolloutPolicy",
    "Sample",
    "StickySpec",
    "Verdict",
    "arm_label",
    "compare_outputs",
    "judge",
    "parse_interval",
    "parse_split",
    "parse_steps",
    "parse_sticky",
    "read_deployments",
    "read_samples",
    "write_samples",
]
