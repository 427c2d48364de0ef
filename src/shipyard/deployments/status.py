"""What `deploy status` shows: arms and weights, per-arm figures, the rollout's step, the shadow comparison."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .comparison import Comparison
from .figures import ArmFigures
from .samples import Sample
from .spec import Deployment, arm_label


@dataclass(frozen=True)
class ArmStatus:
    label: str
    version: int
    kind: str
    weight: float | None
    """Percent now; None for an arm removed within the window (e.g. a canary just rolled back), and for
    `pinned:v<N>`: requests that named a version (`/versions/{v}`) instead of letting the deployment route."""
    figures: dict[str, Any]
    """requests, requests_per_second, errors, error_rate, mean_ms, p50_ms, p99_ms over the window."""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "version": self.version, "kind": self.kind, "weight": self.weight, **self.figures}


@dataclass(frozen=True)
class DeploymentStatus:
    deployment: Deployment
    window_seconds: float
    arms: tuple[ArmStatus, ...]
    shadows: tuple[dict[str, Any], ...]
    """Per shadow arm: its figures, the primary's latency beside them, and the comparison of answers."""
    rollout: dict[str, Any] | None
    """The rollout with its step (1-based), the figures of the current step and seconds to the next one."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment.to_dict(),
            "window_seconds": self.window_seconds,
            "arms": [a.to_dict() for a in self.arms],
            "shadows": list(self.shadows),
            "rollout": self.rollout,
        }


def _figures(samples: Mapping[str, Sample], label: str) -> ArmFigures:
    sample = samples.get(label)
    return sample.figures if sample is not None else ArmFigures()


def _arms(d: Deployment, samples: Mapping[str, Sample], window: float) -> tuple[ArmStatus, ...]:
    arms = [
        ArmStatus(a.label, a.version, "primary", a.weight, _figures(samples, a.label).summary(window))
        for a in d.primaries
    ]
    current = {a.label for a in d.arms}
    for label, sample in sorted(samples.items()):
        if label not in current and not label.startswith("shadow:"):
            kind = "pinned" if label.startswith("pinned:") else "primary"
            arms.append(ArmStatus(label, sample.version, kind, None, sample.figures.summary(window)))
    return tuple(arms)


def _shadows(d: Deployment, samples: Mapping[str, Sample], window: float) -> tuple[dict[str, Any], ...]:
    primary = ArmFigures()
    for arm in d.primaries:
        primary.merge(_figures(samples, arm.label))
    primary_latency = primary.summary(window)
    shadows = []
    for arm in d.shadows:
        sample = samples.get(arm.label)
        comparison = sample.comparison if sample is not None and sample.comparison is not None else Comparison()
        shadows.append(
            {
                "label": arm.label,
                "version": arm.version,
                "percent": arm.weight,
                **_figures(samples, arm.label).summary(window),
                "primary_p50_ms": primary_latency["p50_ms"],
                "primary_p99_ms": primary_latency["p99_ms"],
                **comparison.summary(),
            }
        )
    return tuple(shadows)


def _rollout(d: Deployment, step_samples: Mapping[str, Sample] | None, now: datetime) -> dict[str, Any] | None:
    if d.rollout is None:
        return None
    info = d.rollout.to_dict()
    if d.rollout.active and step_samples is not None:
        elapsed = (now - d.rollout.step_started_at).total_seconds()
        info["step_elapsed_seconds"] = round(elapsed, 1)
        if d.rollout.state == "running":
            info["next_step_in_seconds"] = round(max(0.0, d.rollout.policy.interval_seconds - elapsed), 1)
        info["canary_step_figures"] = _figures(step_samples, arm_label(d.rollout.canary_version)).summary(elapsed)
        info["stable_step_figures"] = _figures(step_samples, arm_label(d.rollout.stable_version)).summary(elapsed)
    return info


def build_status(
    d: Deployment,
    samples: Mapping[str, Sample],
    window_seconds: float,
    now: datetime,
    step_samples: Mapping[str, Sample] | None = None,
) -> DeploymentStatus:
    return DeploymentStatus(
        d,
        window_seconds,
        _arms(d, samples, window_seconds),
        _shadows(d, samples, window_seconds),
        _rollout(d, step_samples, now),
    )


__all__ = ["ArmStatus", "DeploymentStatus", "build_status"]
