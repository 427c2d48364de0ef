"""Routing requests for a deployment name to one of its arms, from a snapshot every worker shares.

The resolver re-reads every deployment with the registry snapshot (every second); the router turns
each into a `RoutingTable` — segment starts and versions for a bisect, shadow arms, the sticky
key — and swaps the whole dict of tables in one assignment, so a request sees either the old
routing or the new one, never half of each. Every worker builds the same tables from the same
rows, hence agrees on where each sticky key goes (see `deployments.routing`).

Each time the tables change, the router starts loading (in the background) every version the
deployments route to, so a new arm is loaded before it receives traffic; a request routed to an
arm that has not loaded yet on this worker is answered by the stable arm meanwhile.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from ..deployments.routing import SPACE, point_for_key
from ..deployments.spec import Arm, Deployment, arm_label
from ..errors import VersionNotFound
from ..registry.snapshot import ModelState
from .events import CallContext
from .pool import ModelPool
from .protocol import InferRequest
from .resolver import ModelResolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingTable:
    """One deployment as the data plane routes it."""

    deployment: Deployment
    starts: tuple[int, ...]
    versions: tuple[int, ...]
    """`versions[i]` owns the points from `starts[i]` to the next start."""
    shadows: tuple[Arm, ...]

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def model(self) -> str:
        return self.deployment.model

    @property
    def stable(self) -> int:
        return self.deployment.stable_version

    def version_at(self, point: int) -> int:
        return self.versions[bisect.bisect_right(self.starts, point) - 1]

    def serving_versions(self) -> tuple[int, ...]:
        """Versions that may answer callers: the arms with traffic, and the stable arm (the fallback)."""
        return tuple(sorted({*self.versions, self.stable}))

    def pinned(self, version: str) -> tuple[int, str]:
        """`/versions/{v}` under a deployment: one of its arms, asked directly (version, `pinned:v<N>`).

        The label keeps these answers out of the arm's own figures: the canary controller judges the
        traffic the deployment routed, not what a caller chose to send to one version.
        """
        arm = self.deployment.arm(int(version)) if version.isdigit() else None
        if arm is None:
            arms = [str(a.version) for a in self.deployment.arms]
            raise VersionNotFound(self.model, version, arms)
        return arm.version, f"pinned:v{arm.version}"

    @classmethod
    def build(cls, deployment: Deployment, state: ModelState | None) -> RoutingTable:
        """The table for `deployment`; points of an arm whose version is no longer servable go to the stable arm."""
        servable = set(state.ready) if state is not None else None
        segments = deployment.segments or ((0, SPACE, deployment.stable_version),)
        versions = tuple(v if servable is None or v in servable else deployment.stable_version for _, _, v in segments)
        shadows = tuple(a for a in deployment.shadows if servable is None or a.version in servable)
        return cls(deployment, tuple(s for s, _, _ in segments), versions, shadows)


def routing_key(table: RoutingTable, request: InferRequest, call: CallContext) -> str | None:
    """The request's sticky key, if the deployment has one and the request carries it."""
    sticky = table.deployment.sticky
    if sticky is None:
        return None
    value = call.header(sticky.key) if sticky.source == "header" else request.parameters.get(sticky.key)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return None if value is None or value == "" else str(value)


class DeploymentRouter:
    """The routing tables of every deployment, rebuilt whenever the resolver's snapshot changes them."""

    def __init__(self, resolver: ModelResolver, pool: ModelPool, *, rng: random.Random | None = None) -> None:
        self._resolver = resolver
        self._pool = pool
        self._rng = rng or random.Random()
        self._source: Mapping[str, Deployment] = {}
        self.tables: dict[str, RoutingTable] = {}
        resolver.add_listener(self.rebuild)

    def get(self, name: str) -> RoutingTable | None:
        return self.tables.get(name)

    def names(self) -> list[str]:
        return sorted(self.tables)

    def choose(self, table: RoutingTable, request: InferRequest, call: CallContext) -> int:
        """The version this request goes to: its sticky key's point, else a random one."""
        key = routing_key(table, request, call)
        point = point_for_key(table.name, key) if key is not None else self._rng.randrange(SPACE)
        return table.version_at(point)

    def mirror(self, arm: Arm) -> bool:
        """Whether this request is copied to the shadow `arm` (it mirrors `arm.weight` % of requests)."""
        return arm.weight >= 100 or self._rng.random() * 100 < arm.weight

    def rebuild(self) -> None:
        deployments, snapshot = self._resolver.deployments, self._resolver.snapshot
        tables = {name: RoutingTable.build(d, snapshot.get(d.model)) for name, d in deployments.items()}
        if deployments == self._source and tables == self.tables:
            return
        self._source, self.tables = deployments, tables
        self.preload()

    def preload(self) -> None:
        """Start loading every version a deployment routes or mirrors to (no-op for loaded ones)."""
        for table in self.tables.values():
            for version in (*table.serving_versions(), *(a.version for a in table.shadows)):
                key = (table.model, version)
                if self._pool.get_loaded(key) is None:
                    self._pool.start_loading(key)


__all__ = ["DeploymentRouter", "RoutingTable", "arm_label", "routing_key"]
