"""DESIGN rule 2: pickle-based formats load only from the registry, after the sha256 check, never
from anything an inference request carries."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

import shipyard
from shipyard.config import ServerSettings, Settings
from shipyard.errors import PickleRefused
from shipyard.flavors import get_flavor
from shipyard.registry import open_registry
from shipyard.serving.app import create_app, create_plane

SRC = Path(shipyard.__file__).parent


def test_only_registration_and_the_registry_allow_pickle() -> None:
    """Every `allow_pickle=True` in the code is on one of three paths: the registry's verified load,
    registration reading back what it just saved, and reading a file a registering user hands over
    (`shipyard models register model.pkl`, the authenticated registration path)."""
    callers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        for line in path.read_text().splitlines()
        if re.search(r"allow_pickle\s*=\s*True", line) and not line.strip().startswith(">>>")
    )
    assert callers == ["flavors/sklearn.py", "registry/preparation.py", "registry/service.py"]


class _Bomb:
    """Unpickling this writes a file: proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "pwned"))


def test_pickle_flavors_refuse_outside_the_registry(tmp_path: Path) -> None:
    class Model:
        def predict(self, data: Any) -> Any:
            return np.zeros(len(data))

    flavor = get_flavor("python")
    saved = flavor.save(Model(), tmp_path)
    assert saved.uses_pickle
    with pytest.raises(PickleRefused):
        flavor.load(tmp_path, saved)


def test_pickled_bytes_in_a_request_are_data_never_code(tmp_path: Path) -> None:
    import pandas as pd
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    frame = pd.DataFrame({"text": ["good", "bad", "fine", "awful"]})
    model = make_pipeline(HashingVectorizer(n_features=16), LogisticRegression())
    model.fit(frame["text"], [1, 0, 1, 0])
    registry.register(model, "text", data=frame["text"].to_numpy().reshape(-1, 1).astype(str).ravel())
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Bomb(marker))
    server = ServerSettings()
    with TestClient(create_app(create_plane(registry, server), server), raise_server_exceptions=False) as client:
        body = {"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "data": [payload.decode("latin-1")]}]}
        response = client.post("/v2/models/text/infer", json=body)
    assert response.status_code in (200, 400)
    assert not marker.exists()
