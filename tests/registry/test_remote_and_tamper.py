"""The registry on PostgreSQL + S3 (two settings changed), and refusing tampered artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipyard.config import S3Settings, Settings
from shipyard.errors import ArtifactIntegrityError
from shipyard.registry import Registry, open_registry


@pytest.fixture
def remote_registry(tmp_path: Path, postgres_url: str, s3_url: tuple[str, S3Settings]) -> Any:
    from .._services import postgres_schema as fresh_schema

    url, s3 = s3_url
    with fresh_schema(postgres_url) as db_url:
        registry = open_registry(Settings(home=tmp_path / "home", db_url=db_url, artifacts=url, s3=s3, user="alice"))
        yield registry
        registry.db.close()


def test_register_and_load_on_postgres_and_s3(remote_registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    mv = remote_registry.register(logreg, "churn", data=X, target=y)
    remote_registry.set_alias("churn", "production", mv.version)
    assert remote_registry.artifacts.url.startswith("s3://")
    np.testing.assert_array_equal(remote_registry.load("churn@production").predict(X), logreg.predict(X))


def test_tampered_s3_artifact_is_refused(
    remote_registry: Registry, logreg: Any, boto_s3: Any, tmp_path: Path, s3_url: tuple[str, S3Settings]
) -> None:
    mv = remote_registry.register(logreg, "churn")
    bucket, _, prefix = remote_registry.artifacts.url.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in boto_s3.list_objects_v2(Bucket=bucket)["Contents"] if mv.digest[7:] in o["Key"]]
    assert len(keys) == 1
    boto_s3.put_object(Bucket=bucket, Key=keys[0], Body=b"not the model")
    # Another machine (an empty read-through cache) on the same database and bucket:
    settings = Settings(
        home=tmp_path / "elsewhere",
        db_url=str(remote_registry.db.engine.url.render_as_string(False)),
        artifacts=remote_registry.artifacts.url,
        s3=s3_url[1],
        user="bob",
    )
    elsewhere = open_registry(settings)
    with pytest.raises(ArtifactIntegrityError) as info:
        elsewhere.load("churn/1")
    assert mv.digest in str(info.value)
    elsewhere.db.close()


def test_tampered_local_artifact_is_refused(registry: Registry, logreg: Any) -> None:
    mv = registry.register(logreg, "churn")
    blob = registry.artifacts.fetch(mv.digest)  # type: ignore[arg-type]  # Digest is a str NewType
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactIntegrityError, match=mv.digest):
        registry.load("churn")
