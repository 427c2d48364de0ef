"""Fixtures for deployment tests: a registry with model "m" (versions 1-4) and a service with a settable clock.

`registry` comes from tests/conftest.py, so tests using these run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shipyard.deployments import DeploymentService
from shipyard.monitoring.alerting import Alert
from shipyard.registry import Registry
from shipyard.store import list_events

from .fakes import ScaleModel

SAMPLE = np.zeros((2, 3))


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 6, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Alerts:
    """An AlertSink keeping what it was given."""

    def __init__(self) -> None:
        self.fired: list[Alert] = []

    def fire(self, alert: Alert) -> None:
        self.fired.append(alert)


@pytest.fixture
def model(registry: Registry) -> str:
    """Model "m": versions 1-4 answering 1×, 2×, 3×, 4× the row sum; version 4 archived."""
    for factor in (1, 2, 3, 4):
        registry.register(ScaleModel(factor), "m", data=SAMPLE)
    registry.archive("m", 4)
    return "m"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(registry: Registry, model: str, clock: Clock) -> DeploymentService:
    return DeploymentService(registry, clock=clock)


def stored(service: DeploymentService) -> tuple[Any, ...]:
    """Everything a request could change: deployments, their history, the audit trail."""
    deployments = [d.to_dict() for d in service.list()]
    history = [[e.to_dict() for e in service.history(d["name"])] for d in deployments]
    with service.db.read() as session:
        events = [e.to_dict() for e in list_events(session, limit=10_000)]
    return deployments, history, events
