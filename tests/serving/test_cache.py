from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from shipyard.config import ServerSettings, Settings
from shipyard.errors import ValidationFailed
from shipyard.registry import open_registry
from shipyard.serving.app import create_app, create_plane
from shipyard.serving.cache import MemoryResponseCache, RedisResponseCache, cache_key, decode_outputs, encode_outputs

from .conftest import v2_rows
from .fakes import SlowModel


def test_outputs_round_trip_without_pickle() -> None:
    outputs = {"predict": np.array([b"cat", b"dog"], dtype=object), "predict_proba": np.array([[0.1, 0.9]] * 2)}
    back = decode_outputs(encode_outputs(outputs))
    assert back["predict"].tolist() == [b"cat", b"dog"]
    np.testing.assert_array_equal(back["predict_proba"], outputs["predict_proba"])


def test_key_depends_on_every_byte() -> None:
    rows = np.array([[1.0, 2.0]])
    base = cache_key("m", 1, ("predict",), rows)
    assert base == cache_key("m", 1, ("predict",), rows.copy())
    assert base != cache_key("m", 2, ("predict",), rows)
    assert base != cache_key("m", 1, ("predict_proba",), rows)
    assert base != cache_key("m", 1, ("predict",), np.array([[1.0, 2.0000001]]))
    assert base != cache_key("m", 1, ("predict",), rows.astype(np.float32))


def test_memory_cache_is_lru() -> None:
    async def scenario() -> None:
        cache = MemoryResponseCache(max_entries=2)
        for key in "abc":
            await cache.put(key, {"predict": np.array([1])})
        assert await cache.get("a") is None and await cache.get("c") is not None
        assert (cache.hits, cache.misses) == (1, 1)

    asyncio.run(scenario())


def _client(tmp_path: Path, redis_url: str | None) -> TestClient:
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    registry.register(SlowModel(), "cached", data=np.zeros((2, 2)), serving={"cache": True})
    registry.register(SlowModel(), "plain", data=np.zeros((2, 2)))
    server = ServerSettings()
    return TestClient(create_app(create_plane(registry, server, redis_url=redis_url), server))


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_repeated_input_is_answered_from_the_cache(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    with _client(tmp_path, redis_url) as client:
        if redis_url:  # isolate from other runs sharing the server
            plane: Any = client.app.state.plane  # type: ignore[attr-defined]
            served = client.portal.call(plane.served, "cached")  # type: ignore[union-attr]
            assert isinstance(served.cache, RedisResponseCache)
            served.cache.prefix = f"test:{uuid.uuid4().hex}:"
        unique = [[float(np.random.default_rng().integers(1 << 30)), 2.0]]
        first = client.post("/v2/models/cached/infer", json=v2_rows(unique)).json()
        second = client.post("/v2/models/cached/infer", json=v2_rows(unique)).json()
        other = client.post("/v2/models/cached/infer", json=v2_rows([[5.0, 6.0]])).json()
        assert first["outputs"] == second["outputs"] and other["outputs"][0]["data"] == [11.0]
        stats = {m["name"]: m for m in client.get("/debug/batching").json()["models"]}
        assert stats["cached"]["cache"] == {"hits": 1, "misses": 2}
        client.post("/v2/models/plain/infer", json=v2_rows([[1.0, 2.0]]))
        client.post("/v2/models/plain/infer", json=v2_rows([[1.0, 2.0]]))
        stats = {m["name"]: m for m in client.get("/debug/batching").json()["models"]}
        assert stats["plain"]["cache"] is None and stats["plain"]["batching"]["requests"] == 2


def test_unreachable_redis_costs_a_model_call_not_a_request(tmp_path: Path) -> None:
    with _client(tmp_path, "redis://127.0.0.1:1/0") as client:
        response = client.post("/v2/models/cached/infer", json=v2_rows([[1.0, 2.0]]))
        assert response.status_code == 200 and response.json()["outputs"][0]["data"] == [3.0]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_cache_option_must_be_a_bool(tmp_path: Path, value: Any) -> None:
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    with pytest.raises(ValidationFailed, match="serving.cache"):
        registry.register(SlowModel(), "x", serving={"cache": value})
