"""What an accepted challenger gets, as the policy says: nothing more, an alias, a shadow arm or a canary."""

from __future__ import annotations

from typing import Any

from ..deployments import DeploymentService
from ..errors import DeploymentNotFound, RetrainFailed, ShipyardError
from ..registry import Registry
from .policy import Rollout

SOURCE = "retrain"
"""How deployment changes made by a run name their source in the deployment's history."""


def roll_out(
    rollout: Rollout,
    *,
    registry: Registry,
    deployments: DeploymentService | None,
    model: str,
    version: int,
    actor: str,
) -> dict[str, Any]:
    """Apply `rollout` to version `version` of `model`; what was done, for the run record."""
    if rollout.mode == "none":
        return {"mode": "none"}
    if rollout.mode == "staging":
        registry.set_alias(model, rollout.alias, version, actor=actor)
        return {"mode": "staging", "alias": rollout.alias, "version": version}
    service = deployments or DeploymentService(registry, actor=actor)
    name = rollout.deployment or model
    try:
        _ensure_deployment(service, name, model, actor)
        if rollout.mode == "shadow":
            service.shadow(name, version, percent=rollout.percent, actor=actor, source=SOURCE)
            return {"mode": "shadow", "deployment": name, "version": version, "percent": rollout.percent}
        policy = rollout.canary_policy()
        service.canary(name, version, policy=policy, actor=actor, source=SOURCE)
    except ShipyardError as exc:
        raise RetrainFailed("rollout", f"{rollout.mode} of v{version} on deployment {name!r}: {exc}") from exc
    return {
        "mode": "canary",
        "deployment": name,
        "version": version,
        "steps": list(policy.steps),
        "interval": policy.interval_seconds,
    }


def _ensure_deployment(service: DeploymentService, name: str, model: str, actor: str) -> None:
    """A model served under its own name gets a deployment of that name (its production version at 100 %)."""
    try:
        service.get(name)
    except DeploymentNotFound:
        if name != model:
            raise
        service.create(name, f"{model}@production", actor=actor, source=SOURCE,
                       description="created by retraining to roll out a challenger")  # fmt: skip


__all__ = ["SOURCE", "roll_out"]
