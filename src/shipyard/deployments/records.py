"""Deployment rows ↔ `Deployment` values, and lookups with "closest match" errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import DeploymentNotFound, closest
from ..store.tables.deployments import DeploymentArmRow, DeploymentRolloutRow, DeploymentRow
from .spec import Arm, Deployment, Rollout, RolloutPolicy, StickySpec


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; every stored one is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def find_row(session: Session, name: str, *, lock: bool = False) -> DeploymentRow:
    query = select(DeploymentRow).where(DeploymentRow.name == name)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise DeploymentNotFound(name, closest(name, session.scalars(select(DeploymentRow.name)).all()))
    return row


def _rollout(row: DeploymentRolloutRow) -> Rollout:
    policy = RolloutPolicy(
        steps=tuple(float(s) for s in row.steps),
        interval_seconds=row.interval_seconds,
        max_error_rate=row.max_error_rate,
        max_p99_ratio=row.max_p99_ratio,
        max_quality_drop=row.max_quality_drop,
        min_requests=row.min_requests,
        min_p99_delta_ms=row.min_p99_delta_ms,
    )
    return Rollout(
        canary_version=row.canary_version,
        stable_version=row.stable_version,
        policy=policy,
        state=row.state,  # type: ignore[arg-type]  # only the values of RolloutState are ever stored
        step=row.step,
        started_at=as_utc(row.started_at),
        step_started_at=as_utc(row.step_started_at),
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
        reason=row.reason,
    )


def to_deployment(
    row: DeploymentRow, arms: Sequence[DeploymentArmRow], rollout: DeploymentRolloutRow | None
) -> Deployment:
    sticky = StickySpec(row.sticky_source, row.sticky_key) if row.sticky_source and row.sticky_key else None  # type: ignore[arg-type]
    ordered = sorted(arms, key=lambda a: (a.kind != "primary", a.version))
    return Deployment(
        name=row.name,
        model=row.model,
        stable_version=row.stable_version,
        arms=tuple(Arm(a.version, a.weight, a.kind) for a in ordered),  # type: ignore[arg-type]
        sticky=sticky,
        segments=tuple((int(s), int(e), int(v)) for s, e, v in row.segments),
        rollout=_rollout(rollout) if rollout is not None else None,
        description=row.description,
        revision=row.revision,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
    )


def load(session: Session, row: DeploymentRow) -> Deployment:
    arms = session.scalars(select(DeploymentArmRow).where(DeploymentArmRow.deployment_id == row.id)).all()
    return to_deployment(row, arms, session.get(DeploymentRolloutRow, row.id))


def load_all(session: Session) -> list[Deployment]:
    """Every deployment, by name, in three queries whatever their number (the routing snapshot uses it)."""
    rows = session.scalars(select(DeploymentRow).order_by(DeploymentRow.name)).all()
    arms: dict[int, list[DeploymentArmRow]] = {}
    for arm in session.scalars(select(DeploymentArmRow)):
        arms.setdefault(arm.deployment_id, []).append(arm)
    rollouts = {r.deployment_id: r for r in session.scalars(select(DeploymentRolloutRow))}
    return [to_deployment(row, arms.get(row.id, []), rollouts.get(row.id)) for row in rows]


def store(session: Session, row: DeploymentRow, new: Deployment) -> None:
    """Write `new`'s arms, sticky key, segments and rollout over `row` (the caller bumps the revision)."""
    row.stable_version = new.stable_version
    row.sticky_source = new.sticky.source if new.sticky else None
    row.sticky_key = new.sticky.key if new.sticky else None
    row.segments = [list(s) for s in new.segments]
    session.execute(delete(DeploymentArmRow).where(DeploymentArmRow.deployment_id == row.id))
    session.add_all(
        DeploymentArmRow(deployment_id=row.id, version=a.version, kind=a.kind, weight=a.weight) for a in new.arms
    )
    existing = session.get(DeploymentRolloutRow, row.id)
    if new.rollout is None:
        if existing is not None:
            session.delete(existing)
        return
    target = existing or DeploymentRolloutRow(deployment_id=row.id)
    _write_rollout(target, new.rollout)
    if existing is None:
        session.add(target)


def _write_rollout(target: DeploymentRolloutRow, rollout: Rollout) -> None:
    policy = rollout.policy
    target.canary_version = rollout.canary_version
    target.stable_version = rollout.stable_version
    target.steps = list(policy.steps)
    target.step = rollout.step
    target.interval_seconds = policy.interval_seconds
    target.max_error_rate = policy.max_error_rate
    target.max_p99_ratio = policy.max_p99_ratio
    target.max_quality_drop = policy.max_quality_drop
    target.min_requests = policy.min_requests
    target.min_p99_delta_ms = policy.min_p99_delta_ms
    target.state = rollout.state
    target.started_at = rollout.started_at
    target.step_started_at = rollout.step_started_at
    target.ended_at = rollout.ended_at
    target.reason = rollout.reason


__all__ = ["as_utc", "find_row", "load", "load_all", "store", "to_deployment"]
