"""Fixtures for S3 tests: an S3 server (moto, in server mode) with a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
import pytest
from moto.server import ThreadedMotoServer

from shipyard.config import S3Settings

_REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, on a free port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_url(moto_endpoint: str) -> Iterator[tuple[str, S3Settings]]:
    """("s3://<new bucket>/artifacts", the S3Settings that reach it), e.g. for
    `Settings(artifacts=url, s3=s3)`."""
    s3 = S3Settings(
        endpoint_url=moto_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        region=_REGION,
    )
    bucket = f"shipyard-{uuid.uuid4().hex[:12]}"
    _client(s3).create_bucket(Bucket=bucket)
    yield f"s3://{bucket}/artifacts", s3


@pytest.fixture
def boto_s3(s3_url: tuple[str, S3Settings]) -> Any:
    """A plain boto3 client for the `s3_url` bucket: a second, independent way in (to tamper with it)."""
    return _client(s3_url[1])


def _client(s3: S3Settings) -> Any:
    secret = s3.secret_access_key.get_secret_value() if s3.secret_access_key else None
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=secret,
        region_name=s3.region,
    )
