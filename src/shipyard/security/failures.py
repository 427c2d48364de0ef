"""Failed authentications, gathered per source address between two writes to the audit trail.

Every failure is counted, but a source gets one audit event per flush (the authenticator flushes
every `key_refresh_seconds`), carrying how many failures it stands for. A flood of bad requests
therefore costs one small insert per source per second instead of one per request, and the
number of sources held between flushes is bounded too.
"""

from __future__ import annotations

import threading
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

    def __repr__(self) -> str:
        return f"FailedAuthentication(source={self.source!r}, target={self.target!r}, count={self.count})"


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


__all__ = ["OVERFLOW_SOURCE", "FailedAuthentication", "FailureLog"]
