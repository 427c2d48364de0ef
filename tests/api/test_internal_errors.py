"""An unexpected exception is a 500 that says nothing but a request id, logged once with its traceback."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from shipyard.registry import Registry


def test_unexpected_errors_are_500_with_a_request_id(
    client: TestClient, registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(registry, "list_models", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/models")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal error" and len(body["request_id"]) == 16
    assert "secret" not in response.text
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert body["request_id"] in record.getMessage() and record.exc_info is not None
