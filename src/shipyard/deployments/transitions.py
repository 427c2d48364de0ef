"""Every change a deployment can go through, as pure functions `Deployment → Deployment`.

The service runs one of these inside a write transaction on the locked row, then recomputes the
routing segments (`routing.rebalance`) and records the event; the canary controller uses the same
`advance`, `promote` and `roll_back`, so a manual and an automatic step are the same change.
A transition that makes no sense in the current state raises `Conflict` saying what to do instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from ..errors import Conflict, ValidationFailed
from .spec import Arm, Deployment, Rollout, RolloutPolicy, StickySpec

MAX_SHADOWS = 8


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
"""Leave the sticky key as it is (None would turn sticky routing off)."""


def _shadows_without(d: Deployment, *versions: int) -> tuple[Arm, ...]:
    return tuple(a for a in d.shadows if a.version not in versions)


def _single(d: Deployment, version: int) -> tuple[Arm, ...]:
    return (Arm(version, 100.0), *_shadows_without(d, version))


def _no_active_rollout(d: Deployment, doing: str) -> None:
    if d.rollout is not None and d.rollout.active:
        raise Conflict(
            f"A canary of v{d.rollout.canary_version} is in progress on {d.name!r}; promote it or roll it back "
            f"before you {doing} (`shipyard deploy promote {d.name}` or `shipyard deploy rollback {d.name}`)."
        )


def _active_rollout(d: Deployment) -> Rollout:
    if d.rollout is None or not d.rollout.active:
        raise Conflict(f"No canary is in progress on {d.name!r}. Start one with `shipyard deploy canary {d.name}`.")
    return d.rollout


def _canary_arms(d: Deployment, rollout: Rollout, weight: float) -> tuple[Arm, ...]:
    stable, canary = rollout.stable_version, rollout.canary_version
    return (
        Arm(stable, 100.0 - weight),
        Arm(canary, weight),
        *_shadows_without(d, stable, canary),
    )


def start_canary(d: Deployment, version: int, policy: RolloutPolicy, now: datetime) -> Deployment:
    """Send `policy.steps[0]` % of traffic to `version`; the stable arm keeps the rest."""
    _no_active_rollout(d, "start another")
    if d.mode == "ab":
        raise Conflict(
            f"{d.name!r} splits traffic between {', '.join(a.label for a in d.primaries)}; keep one version first "
            f"(`shipyard deploy promote {d.name} --version N`), then start the canary."
        )
    if version == d.stable_version:
        raise ValidationFailed([("version", f"v{version} is already what {d.name!r} serves; name a new version")])
    rollout = Rollout(version, d.stable_version, policy, "running", 0, now, now)
    return replace(d, arms=_canary_arms(d, rollout, policy.steps[0]), rollout=rollout)


def advance(d: Deployment, now: datetime) -> Deployment:
    """The canary's next step; past the last one it is promoted."""
    rollout = _active_rollout(d)
    if rollout.step + 1 >= len(rollout.policy.steps):
        return promote(d, None, now)
    moved = replace(rollout, step=rollout.step + 1, step_started_at=now)
    return replace(d, arms=_canary_arms(d, moved, moved.weight), rollout=moved)


def _promotable(d: Deployment) -> int:
    others = sorted({a.version for a in d.arms if a.version != d.stable_version and (a.weight > 0)})
    if len(others) == 1:
        return others[0]
    if not others:
        raise Conflict(
            f"Nothing to promote: {d.name!r} serves v{d.stable_version} alone. "
            f"Name a version: `shipyard deploy promote {d.name} --version N`."
        )
    listed = ", ".join(f"v{v}" for v in others)
    raise Conflict(f"{d.name!r} has several candidate arms ({listed}); name one with --version.")


def promote(d: Deployment, version: int | None, now: datetime) -> Deployment:
    """Make the canary (or `version`, or the only other arm) the deployment's one version, at 100 %."""
    if d.rollout is not None and d.rollout.active:
        canary = d.rollout.canary_version
        if version is not None and version != canary:
            raise Conflict(
                f"A canary of v{canary} is in progress on {d.name!r}; promote it, or roll it back before "
                f"promoting v{version}."
            )
        ended = replace(d.rollout, state="promoted", ended_at=now, reason=None)
        return replace(d, stable_version=canary, arms=_single(d, canary), rollout=ended)
    chosen = version if version is not None else _promotable(d)
    return replace(d, stable_version=chosen, arms=_single(d, chosen))


def pause(d: Deployment, now: datetime) -> Deployment:
    rollout = _active_rollout(d)
    if rollout.state == "paused":
        raise Conflict(f"The canary of v{rollout.canary_version} on {d.name!r} is already paused.")
    return replace(d, rollout=replace(rollout, state="paused"))


def resume(d: Deployment, now: datetime) -> Deployment:
    """Let a paused canary advance again; its current step starts over (a full healthy interval)."""
    rollout = _active_rollout(d)
    if rollout.state != "paused":
        raise Conflict(f"The canary of v{rollout.canary_version} on {d.name!r} is not paused.")
    return replace(d, rollout=replace(rollout, state="running", step_started_at=now))


def roll_back(d: Deployment, reason: str | None, now: datetime) -> Deployment:
    """Back to the stable version alone: the canary (or the other A/B arms) gets 0 %. Shadows stay."""
    if d.rollout is not None and d.rollout.active:
        ended = replace(d.rollout, state="rolled_back", ended_at=now, reason=reason)
        return replace(d, arms=_single(d, d.stable_version), rollout=ended)
    if not any(a.version != d.stable_version and a.weight > 0 for a in d.primaries):
        raise Conflict(
            f"Nothing to roll back: {d.name!r} serves v{d.stable_version} alone. To serve another version: "
            f"`shipyard deploy promote {d.name} --version N`."
        )
    return replace(d, arms=_single(d, d.stable_version))


def split(d: Deployment, weights: Mapping[int, float], sticky: StickySpec | None | _Keep = KEEP) -> Deployment:
    """A/B: primary arms with these weights (checked to sum to 100), optionally pinning users by `sticky`."""
    _no_active_rollout(d, "split traffic")
    stable = d.stable_version if weights.get(d.stable_version, 0) > 0 else max(weights, key=lambda v: (weights[v], -v))
    primaries = tuple(Arm(v, float(w)) for v, w in sorted(weights.items()))
    new_sticky = d.sticky if isinstance(sticky, _Keep) else sticky
    return replace(d, stable_version=stable, arms=(*primaries, *_shadows_without(d, *weights)), sticky=new_sticky)


def add_shadow(d: Deployment, version: int, percent: float) -> Deployment:
    """Mirror `percent` % of requests to `version` (replacing its previous percentage)."""
    if any(a.version == version for a in d.primaries):
        raise ValidationFailed(
            [("version", f"v{version} already answers callers on {d.name!r}; a shadow must be another version")]
        )
    shadows = _shadows_without(d, version)
    if len(shadows) >= MAX_SHADOWS:
        raise ValidationFailed([("version", f"{d.name!r} already has {MAX_SHADOWS} shadow arms; stop one first")])
    return replace(d, arms=(*d.primaries, *shadows, Arm(version, percent, "shadow")))


def remove_shadow(d: Deployment, version: int) -> Deployment:
    if not any(a.version == version for a in d.shadows):
        shadows = ", ".join(a.label for a in d.shadows) or "none"
        raise ValidationFailed([("version", f"v{version} is not a shadow arm of {d.name!r} (shadows: {shadows})")])
    return replace(d, arms=(*d.primaries, *_shadows_without(d, version)))


__all__ = [
    "KEEP",
    "add_shadow",
    "advance",
    "pause",
    "promote",
    "remove_shadow",
    "resume",
    "roll_back",
    "split",
    "start_canary",
]
