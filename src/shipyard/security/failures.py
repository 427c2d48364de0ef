"""Refused requests — failed authentications (401) and refused permissions (403) — gathered between
two writes to the audit trail.

Every refusal is counted, but failures from one source address, or refusals of one caller's action
on one target from one source, make one audit event per flush (the authenticator flushes every
`key_refresh_seconds`), carrying how many requests it stands for. A flood of bad requests
therefore costs one small insert per source per second instead of one per request, and the number
of entries held between flushes is bounded too.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_MAX_TARGETS = 5  # distinct targets kept per event; the count covers the rest
OVERFLOW_SOURCE = "*"
"""Source of the one event that gathers failures from sources past `max_sources` in one flush."""


@dataclass
class FailedAuthentication:
    """One audit event's worth of failures from one source."""

    source: str | None
    target: str
    reason: str
    what: str | None
    first_at: datetime
    last_at: datetime
    count: int = 1
    targets: list[str] = field(default_factory=list)

    def audit_after(self) -> dict[str, Any]:
        """The event's `after` field: what was tried, why it failed, how often, first and last time."""
        return {
            "reason": self.reason,
            "what": self.what,
            "count": self.count,
            "targets": self.targets,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
        }

    def audit_event(self) -> dict[str, Any]:
        """The `auth.failed` event, with a fresh idempotency key (see `store.audit.record_keyed_events`)."""
        return _event("anonymous", "auth.failed", self.target, self.source, self.audit_after(), self.last_at)

    def __repr__(self) -> str:
        return f"FailedAuthentication(source={self.source!r}, target={self.target!r}, count={self.count})"


_AUDIT_FIELD = 255  # the width of the audit table's actor, target and source columns


def _event(
    actor: str, action: str, target: str, source: str | None, after: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "kind": "audit",
        "key": uuid.uuid4().hex,
        "at": at.isoformat(),
        "actor": actor[:_AUDIT_FIELD],
        "action": action,
        "target": target[:_AUDIT_FIELD],
        "source": source[:_AUDIT_FIELD] if source else None,
        "after": after,
    }


class FailureLog:
    """Pending failures keyed by source; `drain()` hands them over for writing and starts afresh."""

    def __init__(self, *, max_sources: int = 1000) -> None:
        self._max_sources = max_sources
        self._pending: dict[str | None, FailedAuthentication] = {}
        # The HTTP app and the gRPC server may run on different threads.
        self._lock = threading.Lock()

    def note(self, *, source: str | None, target: str, reason: str, what: str | None, at: datetime) -> None:
        with self._lock:
            self._note(source, target, reason, what, at)

    def _note(self, source: str | None, target: str, reason: str, what: str | None, at: datetime) -> None:
        if source not in self._pending and len(self._pending) >= self._max_sources:
            source = OVERFLOW_SOURCE
        pending = self._pending.get(source)
        if pending is None:
            self._pending[source] = FailedAuthentication(source, target, reason, what, at, at, targets=[target])
            return
        pending.count += 1
        pending.last_at = at
        if target not in pending.targets and len(pending.targets) < _MAX_TARGETS:
            pending.targets.append(target)

    def drain(self) -> list[FailedAuthentication]:
        with self._lock:
            drained, self._pending = list(self._pending.values()), {}
        return drained

    def __len__(self) -> int:
        return len(self._pending)

    def __repr__(self) -> str:
        return f"FailureLog(pending={len(self._pending)})"


@dataclass
class DeniedRequest:
    """One audit event's worth of refusals (403) of one caller's action on one target, from one source."""

    subject: str
    roles: list[str]
    action: str
    target: str
    what: str | None
    source: str | None
    first_at: datetime
    last_at: datetime
    count: int = 1

    def audit_event(self) -> dict[str, Any]:
        """The `auth.denied` event, with a fresh idempotency key."""
        after = {
            "action": self.action,
            "what": self.what,
            "roles": self.roles,
            "count": self.count,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
        }
        return _event(self.subject, "auth.denied", self.target, self.source, after, self.last_at)

    def __repr__(self) -> str:
        return f"DeniedRequest(subject={self.subject!r}, action={self.action!r}, target={self.target!r})"


class DenialLog:
    """Pending refusals keyed by (caller, action, target, source); `drain()` hands them over."""

    def __init__(self, *, max_entries: int = 1000) -> None:
        self._max_entries = max_entries
        self._pending: dict[tuple[str, str, str, str | None], DeniedRequest] = {}
        self._lock = threading.Lock()

    def note(
        self,
        *,
        subject: str,
        roles: list[str],
        action: str,
        target: str,
        what: str | None,
        source: str | None,
        at: datetime,
    ) -> None:
        key = (subject, action, target, source)
        with self._lock:
            if key not in self._pending and len(self._pending) >= self._max_entries:
                # Past the bound, one event gathers the rest: counted, never silently dropped.
                key = subject, action, target, source = ("*", "*", "*", OVERFLOW_SOURCE)
                roles, what = [], None
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = DeniedRequest(subject, roles, action, target, what, source, at, at)
            else:
                pending.count += 1
                pending.last_at = at

    def drain(self) -> list[DeniedRequest]:
        with self._lock:
            drained, self._pending = list(self._pending.values()), {}
        return drained

    def __len__(self) -> int:
        return len(self._pending)

    def __repr__(self) -> str:
        return f"DenialLog(pending={len(self._pending)})"


__all__ = ["OVERFLOW_SOURCE", "DeniedRequest", "DenialLog", "FailedAuthentication", "FailureLog"]
