"""What a deployment is: a named endpoint, its arms, its sticky routing key and its canary rollout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .routing import Segment

ArmKind = Literal["primary", "shadow"]
RolloutState = Literal["running", "paused", "promoted", "rolled_back"]
StickySource = Literal["header", "param"]


@dataclass(frozen=True)
class StickySpec:
    """Where a request's routing key is: an HTTP header / gRPC metadata key, or a V2 request parameter."""

    source: StickySource
    key: str

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"


@dataclass(frozen=True)
class Arm:
    """A version of the deployment's model: answering `weight` % of requests (primary), or answering
    copies of `weight` % of them in the background (shadow)."""

    version: int
    weight: float
    kind: ArmKind = "primary"

    @property
    def label(self) -> str:
        """How records, metrics and figures name the arm: `v4`, or `shadow:v5`."""
        return arm_label(self.version, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "weight": self.weight, "kind": self.kind, "label": self.label}


def arm_label(version: int, kind: ArmKind = "primary") -> str:
    return f"v{version}" if kind == "primary" else f"shadow:v{version}"


@dataclass(frozen=True)
class RolloutPolicy:
    """How a canary advances, and the guards that roll it back."""

    steps: tuple[float, ...] = (5.0, 25.0, 50.0, 100.0)
    """The canary's weight at each step, in percent, increasing, ending at 100."""
    interval_seconds: float = 600.0
    """How long each step must stay healthy before the next one."""
    max_error_rate: float | None = 0.01
    """Canary server errors / requests above this rolls it back."""
    max_p99_ratio: float | None = 1.5
    """Canary p99 latency above this × the stable arm's p99 rolls it back."""
    max_quality_drop: float | None = None
    """Stable quality − canary quality (from feedback, when there is any) above this rolls it back."""
    min_requests: int = 20
    """Requests the canary needs in a step before a guard may judge it, and before it may advance."""
    min_p99_delta_ms: float = 10.0
    """A p99 difference smaller than this never counts as a breach: at millisecond latencies the ratio
    of two p99s is mostly noise."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "interval_seconds": self.interval_seconds,
            "max_error_rate": self.max_error_rate,
            "max_p99_ratio": self.max_p99_ratio,
            "max_quality_drop": self.max_quality_drop,
            "min_requests": self.min_requests,
            "min_p99_delta_ms": self.min_p99_delta_ms,
        }


@dataclass(frozen=True)
class Rollout:
    """A canary rollout: running or paused while active; promoted or rolled_back once over."""

    canary_version: int
    stable_version: int
    policy: RolloutPolicy
    state: RolloutState
    step: int
    """Index into `policy.steps`."""
    started_at: datetime
    step_started_at: datetime
    ended_at: datetime | None = None
    reason: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def weight(self) -> float:
        return self.policy.steps[self.step]

    def to_dict(self) -> dict[str, Any]:
        return {
            "canary_version": self.canary_version,
            "stable_version": self.stable_version,
            "state": self.state,
            "step": self.step + 1,
            "steps": len(self.policy.steps),
            "weight": self.weight,
            "policy": self.policy.to_dict(),
            "started_at": self.started_at.isoformat(),
            "step_started_at": self.step_started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Deployment:
    """A named endpoint (`/v2/models/<name>/infer`) routing to versions of one registered model."""

    name: str
    model: str
    stable_version: int
    arms: tuple[Arm, ...]
    sticky: StickySpec | None = None
    segments: tuple[Segment, ...] = ()
    rollout: Rollout | None = None
    description: str | None = None
    revision: int = 1
    created_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def primaries(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.kind == "primary")

    @property
    def shadows(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.kind == "shadow")

    def arm(self, version: int) -> Arm | None:
        return next((a for a in self.arms if a.version == version), None)

    @property
    def mode(self) -> str:
        """`canary` (a rollout is active), `ab` (several primary arms), or `single`."""
        if self.rollout is not None and self.rollout.active:
            return "canary"
        return "ab" if sum(1 for a in self.primaries if a.weight > 0) > 1 else "single"

    def state(self) -> dict[str, Any]:
        """What an audit event records as before/after: arms, weights, sticky key, rollout state."""
        return {
            "model": self.model,
            "stable_version": self.stable_version,
            "arms": {a.label: a.weight for a in self.arms},
            "sticky": str(self.sticky) if self.sticky else None,
            "rollout": None
            if self.rollout is None
            else {"canary": self.rollout.canary_version, "state": self.rollout.state, "weight": self.rollout.weight},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "stable_version": self.stable_version,
            "mode": self.mode,
            "arms": [a.to_dict() for a in self.arms],
            "sticky": str(self.sticky) if self.sticky else None,
            "rollout": self.rollout.to_dict() if self.rollout else None,
            "description": self.description,
            "revision": self.revision,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
        }

    def __repr__(self) -> str:
        arms = ", ".join(f"{a.label}={a.weight:g}%" for a in self.arms)
        return f"Deployment(name={self.name!r}, model={self.model!r}, arms=[{arms}])"


__all__ = [
    "Arm",
    "ArmKind",
    "Deployment",
    "Rollout",
    "RolloutPolicy",
    "RolloutState",
    "StickySource",
    "StickySpec",
    "arm_label",
]
