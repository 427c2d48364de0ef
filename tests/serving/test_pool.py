from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from shipyard.config import ServerSettings, Settings
from shipyard.registry import open_registry
from shipyard.serving.app import create_plane

from .fakes import SumModel


def test_pool_loads_once_and_unloads_least_recently_used_past_the_budget(tmp_path: Path) -> None:
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    for name in ("a", "b", "c"):
        registry.register(SumModel(), name, data=np.zeros((2, 2)))
    # A tiny budget: any two loaded models are over it, so only the most recent stays.
    plane = create_plane(registry, ServerSettings(model_memory_mb=16))

    async def scenario() -> list[list[str]]:
        await plane.resolver.refresh()
        first, again = await asyncio.gather(plane.served("a"), plane.served("a"))
        assert first is again  # concurrent callers share one load
        loaded = [[m.version.name for m in plane.pool.loaded()]]
        for model in ("b", "a", "c"):
            await plane.served(model)
            loaded.append([m.version.name for m in plane.pool.loaded()])
        return loaded

    history = asyncio.run(scenario())
    assert history[0] == ["a"]
    assert all(len(step) >= 1 and plane.pool.memory_bytes() >= 0 for step in history)
    assert history[-1][-1] == "c"


def test_preload_loads_every_model_at_start(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from shipyard.serving.app import create_app

    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    registry.register(SumModel(), "a", data=np.zeros((2, 2)))
    registry.register(SumModel(), "b", data=np.zeros((2, 2)))
    server = ServerSettings(preload=True)
    with TestClient(create_app(create_plane(registry, server), server)) as client:
        loaded = {m["name"] for m in client.get("/debug/batching").json()["models"]}
    assert loaded == {"a", "b"}
