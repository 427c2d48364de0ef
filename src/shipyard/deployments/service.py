"""The deployment service: create, canary, shadow, A/B, promote, pause, resume, rollback, status, history.

The CLI, the management API, the SDK and the retraining loop all call this. Every change runs in
one write transaction on the locked deployment row: the transition (`transitions`), the new
routing segments (`routing.rebalance`, moving as few sticky keys as possible), a history event and
an audit event. Servers pick the change up within two seconds (`serving.router`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, VersionArchived
from ..registry import Registry
from ..store import record_event
from ..store.tables import utcnow
from ..store.tables.deployments import DeploymentEventRow, DeploymentRow
from . import records, transitions
from .history import DeploymentEvent, read_history
from .inputs import check_deployment_name, check_percent, check_policy, check_split, check_version
from .routing import rebalance, to_units
from .samples import read_samples
from .spec import Arm, Deployment, RolloutPolicy, StickySpec
from .status import DeploymentStatus, build_status

Transition = Callable[[Deployment, datetime], Deployment]


class DeploymentService:
    """Deployments of registered models. `actor` is who changes are recorded as, unless a call names another."""

    def __init__(
        self,
        registry: Registry,
        *,
        actor: str | None = None,
        status_window_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.registry = registry
        self.db = registry.db
        self.actor = actor or registry.actor
        self.status_window_seconds = status_window_seconds
        self.clock = clock

    def __repr__(self) -> str:
        return f"DeploymentService(db={self.db!r})"

    # -- queries ----------------------------------------------------------------------------------

    def get(self, name: str) -> Deployment:
        """The deployment; `DeploymentNotFound` naming the closest ones."""
        with self.db.read() as session:
            return records.load(session, records.find_row(session, name))

    def list(self) -> list[Deployment]:
        with self.db.read() as session:
            return records.load_all(session)

    def history(self, name: str, *, limit: int = 100) -> builtins.list[DeploymentEvent]:
        """What happened to `name`, newest first (also after it was deleted)."""
        with self.db.read() as session:
            events = read_history(session, name, limit)
            if not events:
                records.find_row(session, name)  # no events at all: say whether it exists
        return events

    def status(self, name: str, *, window_seconds: float | None = None) -> DeploymentStatus:
        """Arms, weights, per-arm figures (req/s, error rate, p50/p99) over the window, rollout, shadow comparison."""
        deployment = self.get(name)
        window = window_seconds or self.status_window_seconds
        now = self.clock()
        samples = read_samples(self.db, name, now - timedelta(seconds=window))
        step = None
        if deployment.rollout is not None and deployment.rollout.active:
            step = read_samples(self.db, name, deployment.rollout.step_started_at)
        return build_status(deployment, samples, window, now, step)

    # -- changes ----------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        model: str,
        *,
        sticky: StickySpec | None = None,
        description: str | None = None,
        actor: str | None = None,
        source: str | None = None,
    ) -> Deployment:
        """A deployment `name` serving the version `model` names (`churn@production`, `churn/3`, `churn`)
        at 100 %. The reference is resolved now: moving the alias later does not move the deployment."""
        check_deployment_name(name)
        version = self.registry.resolve(model)
        if version.archived:
            raise VersionArchived(version.name, version.version)
        actor = actor or self.actor
        now = self.clock()
        arms = (Arm(version.version, 100.0),)
        created = Deployment(
            name, version.name, version.version, arms, sticky, rebalance((), to_units({version.version: 100.0}))
        )
        try:
            with self.db.write() as session:
                if session.scalars(select(DeploymentRow.id).where(DeploymentRow.name == name)).first() is not None:
                    raise Conflict(f"Deployment {name!r} already exists; see `shipyard deploy status {name}`.")
                row = DeploymentRow(
                    name=name,
                    model=version.name,
                    stable_version=version.version,
                    segments=[],
                    description=description,
                    revision=1,
                    created_at=now,
                    created_by=actor,
                    updated_at=now,
                    updated_by=actor,
                )
                session.add(row)
                session.flush()
                records.store(session, row, created)
                self._record(session, name, "create", actor, source, None, created, {"ref": model})
                return records.load(session, row)
        except IntegrityError as exc:  # created by someone else between the check and the insert
            raise Conflict(f"Deployment {name!r} already exists; see `shipyard deploy status {name}`.") from exc

    def canary(
        self,
        name: str,
        version: int,
        *,
        policy: RolloutPolicy | None = None,
        actor: str | None = None,
        source: str | None = None,
    ) -> Deployment:
        """Start a canary of `version`: `policy.steps[0]` % of traffic, advanced by the controller while healthy."""
        checked = check_policy(policy or RolloutPolicy())
        self._check_servable(name, version)
        return self._change(
            name, "canary", lambda d, now: transitions.start_canary(d, version, checked, now), actor, source,
            {"version": version, "policy": checked.to_dict()},
        )  # fmt: skip

    def shadow(
        self, name: str, version: int, *, percent: float = 100.0, actor: str | None = None, source: str | None = None
    ) -> Deployment:
        """Mirror `percent` % of requests to `version` in the background; its answers are logged, never returned."""
        share = check_percent(percent, "percent", allow_zero=False)
        self._check_servable(name, version)
        return self._change(
            name, "shadow", lambda d, _now: transitions.add_shadow(d, version, share), actor, source,
            {"version": version, "percent": share},
        )  # fmt: skip

    def stop_shadow(
        self, name: str, version: int, *, actor: str | None = None, source: str | None = None
    ) -> Deployment:
        check_version(version)
        return self._change(
            name,
            "shadow.stop",
            lambda d, _now: transitions.remove_shadow(d, version),
            actor,
            source,
            {"version": version},
        )

    def ab(
        self,
        name: str,
        split: Mapping[Any, float],
        *,
        sticky: StickySpec | None | Any = transitions.KEEP,
        actor: str | None = None,
        source: str | None = None,
    ) -> Deployment:
        """Split traffic between versions (`{3: 50, 4: 50}`); with `sticky`, each key always reaches one arm.

        `sticky=None` turns sticky routing off; leaving it out keeps the current setting.
        """
        weights = check_split(split)
        for version in weights:
            self._check_servable(name, version)
        detail: dict[str, Any] = {"split": {str(v): w for v, w in weights.items()}}
        if sticky is not transitions.KEEP:
            detail["sticky"] = str(sticky) if sticky else None
        return self._change(name, "ab", lambda d, _now: transitions.split(d, weights, sticky), actor, source, detail)

    def promote(
        self, name: str, version: int | None = None, *, actor: str | None = None, source: str | None = None
    ) -> Deployment:
        """The canary (or `version`) becomes the one version served, at 100 %, at once."""
        if version is not None:
            self._check_servable(name, check_version(version))
        return self._change(
            name, "promote", lambda d, now: transitions.promote(d, version, now), actor, source, {"version": version}
        )

    def pause(self, name: str, *, actor: str | None = None, source: str | None = None) -> Deployment:
        """Freeze the canary at its step (the guards keep watching and still roll it back on a breach)."""
        return self._change(name, "pause", transitions.pause, actor, source, {})

    def resume(self, name: str, *, actor: str | None = None, source: str | None = None) -> Deployment:
        return self._change(name, "resume", transitions.resume, actor, source, {})

    def rollback(
        self,
        name: str,
        *,
        reason: str | None = None,
        figures: Mapping[str, Any] | None = None,
        expect_revision: int | None = None,
        actor: str | None = None,
        source: str | None = None,
    ) -> Deployment:
        """Back to the stable version at 100 % (the canary, or the other A/B arms, get 0 %)."""
        detail = {"reason": reason or "manual", **({"figures": dict(figures)} if figures else {})}
        return self._change(
            name, "rollback", lambda d, now: transitions.roll_back(d, reason or "manual", now), actor, source, detail,
            expect_revision,
        )  # fmt: skip

    def advance(
        self,
        name: str,
        *,
        figures: Mapping[str, Any] | None = None,
        expect_revision: int | None = None,
        actor: str | None = None,
        source: str | None = None,
    ) -> Deployment:
        """The canary's next step now (past the last one: promoted). The controller calls this."""
        detail = {"figures": dict(figures)} if figures else {}
        return self._change(name, "advance", transitions.advance, actor, source, detail, expect_revision)

    def delete(self, name: str, *, actor: str | None = None, source: str | None = None) -> None:
        """Remove the deployment (its history stays); its name then means the model of that name, if any."""
        actor = actor or self.actor
        with self.db.write() as session:
            row = records.find_row(session, name, lock=True)
            before = records.load(session, row)
            session.delete(row)
            self._record(session, name, "delete", actor, source, before, None, {})

    # -- internals ----------------------------------------------------------------------------------

    def _check_servable(self, name: str, version: int) -> None:
        """`version` of the deployment's model exists and is not archived (404 / 409 before any change)."""
        check_version(version)
        deployment = self.get(name)
        found = self.registry.get_version(deployment.model, version)
        if found.archived:
            raise VersionArchived(found.name, found.version)

    def _change(
        self,
        name: str,
        action: str,
        transition: Transition,
        actor: str | None,
        source: str | None,
        detail: dict[str, Any],
        expect_revision: int | None = None,
    ) -> Deployment:
        actor = actor or self.actor
        with self.db.write() as session:
            row = records.find_row(session, name, lock=True)
            current = records.load(session, row)
            if expect_revision is not None and current.revision != expect_revision:
                raise Conflict(f"Deployment {name!r} changed meanwhile (revision {current.revision}); nothing done.")
            now = self.clock()
            changed = transition(current, now)
            if action == "advance" and changed.rollout is not None and changed.rollout.state == "promoted":
                action = "promote"  # the step past the last one: the history says what it did
            weights = {a.version: a.weight for a in changed.primaries}
            changed = replace(changed, segments=rebalance(current.segments, to_units(weights)))
            records.store(session, row, changed)
            row.revision += 1
            row.updated_at, row.updated_by = now, actor
            self._record(session, name, action, actor, source, current, changed, detail)
            session.flush()
            return records.load(session, row)

    @staticmethod
    def _record(
        session: Session,
        name: str,
        action: str,
        actor: str,
        source: str | None,
        before: Deployment | None,
        after: Deployment | None,
        detail: dict[str, Any],
    ) -> None:
        state = after.state() if after is not None else None
        session.add(
            DeploymentEventRow(
                deployment=name, at=utcnow(), actor=actor, action=action, detail={**detail, "state": state}
            )
        )
        record_event(
            session,
            actor=actor,
            action=f"deployment.{action}",
            target=f"deployment:{name}",
            before=before.state() if before is not None else None,
            after={**(state or {}), **detail} if after is not None else None,
            source=source,
        )


__all__ = ["DeploymentService"]
