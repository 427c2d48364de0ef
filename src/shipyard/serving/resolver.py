"""Which version a request means: `{m}` → production alias else latest ready; `{m}/versions/{v}` → v.

It answers from an in-memory snapshot of the registry refreshed every `refresh_seconds` (1 s by
default), so a moved alias or an archived version takes effect on every worker within 2 seconds
without a database query per request. A name it does not know triggers one early refresh, so a
model registered a moment ago is found at once. The same refresh reads every deployment
(`deployments`), which the router turns into its routing tables (listeners run after each refresh).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import anyio.to_thread

from ..deployments.snapshot import read_deployments
from ..deployments.spec import Deployment
from ..errors import AliasNotFound, ModelNotFound, VersionArchived, VersionNotFound, closest
from ..registry.snapshot import ModelState, read_snapshot
from ..store import Database

logger = logging.getLogger(__name__)

_MIN_MISS_REFRESH = 0.25


class ModelResolver:
    def __init__(self, db: Database, *, refresh_seconds: float = 1.0) -> None:
        self._db = db
        self.refresh_seconds = refresh_seconds
        self.snapshot: dict[str, ModelState] = {}
        self.deployments: dict[str, Deployment] = {}
        self.refreshed_at = 0.0
        self.healthy = False
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the event loop) after every successful refresh."""
        self._listeners.append(listener)

    def _read(self) -> tuple[dict[str, ModelState], dict[str, Deployment]]:
        return read_snapshot(self._db), read_deployments(self._db)

    async def refresh(self) -> None:
        try:
            self.snapshot, self.deployments = await anyio.to_thread.run_sync(self._read)
            self.healthy = True
        except Exception:
            logger.exception(
                "registry refresh failed; serving from the snapshot of %.1f s ago", time.monotonic() - self.refreshed_at
            )
            self.healthy = False
            return
        finally:
            self.refreshed_at = time.monotonic()
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not stop the refreshes
                logger.exception("snapshot listener %r failed", listener)

    async def run(self) -> None:
        """Refresh forever (a task of the server's lifespan)."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            await self.refresh()

    async def state(self, name: str) -> ModelState:
        state = self.snapshot.get(name)
        if state is None and time.monotonic() - self.refreshed_at > _MIN_MISS_REFRESH:
            await self.refresh()
            state = self.snapshot.get(name)
        if state is None:
            raise ModelNotFound(name, closest(name, self.snapshot))
        return state

    async def resolve(self, name: str, version: str | None = None) -> int:
        """The version number to serve; `NotFound` (with the closest names) or `VersionArchived`."""
        state = await self.state(name)
        if version is None:
            number = state.default_version()
            if number is None:
                raise VersionArchived(name, state.archived[-1] if state.archived else 0)
            return number
        if not version.isdigit():
            if version not in state.aliases:
                raise AliasNotFound(name, version, closest(version, state.aliases))
            return state.aliases[version]
        number = int(version)
        if number in state.archived:
            raise VersionArchived(name, number)
        if number not in state.ready:
            await self.refresh()  # registered since the last refresh?
            state = self.snapshot.get(name, state)
            if number not in state.ready:
                raise VersionNotFound(
                    name, number, closest(version, [str(v) for v in state.ready]) or [str(v) for v in state.ready[-3:]]
                )
        return number

    def names(self) -> list[str]:
        return sorted(self.snapshot)


__all__ = ["ModelResolver"]
