"""Real services for tests: use the one the environment names, else the local one, else start one.

Under CI (`CI=true`) a service that cannot be had fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: service tests must not skip)")
    pytest.skip(reason)


def _postgres_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _as_postgres_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; the Debian package's `postgres` user can.
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@contextmanager
def _throwaway_postgres() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("PostgreSQL is not running and initdb/pg_ctl are not installed")
        raise AssertionError("unreachable")
    folder = Path(tempfile.mkdtemp(prefix="shipyard-pg-"))
    shutil.chown(folder, "postgres") if os.geteuid() == 0 else None
    port = free_port()
    data = folder / "data"
    subprocess.run(
        _as_postgres_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust"]), check=True, capture_output=True
    )
    subprocess.run(
        _as_postgres_user(
            [
                pg_ctl,
                "-D",
                str(data),
                "-w",
                "-o",
                f"-p {port} -k {folder} -h 127.0.0.1",
                "start",
                "-l",
                str(folder / "log"),
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL URL (SQLAlchemy form) of a server that answers."""
    named = os.environ.get("SHIPYARD_TEST_POSTGRES_URL")
    if named:
        if not _postgres_answers(named):
            unavailable(f"SHIPYARD_TEST_POSTGRES_URL={named} does not answer")
        yield named
        return
    local = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    if _postgres_answers(local):
        yield local
        return
    with _throwaway_postgres() as url:
        yield url


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on the server, as a URL whose connections use it; dropped afterwards."""
    import psycopg

    schema = f"t_{os.getpid()}_{time.monotonic_ns()}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


__all__ = ["free_port", "postgres_schema", "postgres_server", "redis_server", "unavailable", "wait_ready"]


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis URL that answers: SHIPYARD_TEST_REDIS_URL, else the local one, else a throw-away server."""
    named = os.environ.get("SHIPYARD_TEST_REDIS_URL")
    if named:
        if not _redis_answers(named):
            unavailable(f"SHIPYARD_TEST_REDIS_URL={named} does not answer")
        yield named
        return
    local = "redis://127.0.0.1:6379/0"
    if _redis_answers(local):
        yield local
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("Redis is not running and redis-server is not installed")
        raise AssertionError("unreachable")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _redis_answers(url):
        assert time.monotonic() < deadline, "throw-away redis-server did not start"
        time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def poll(check: Callable[[], Any], what: str, deadline_s: float = 30.0) -> Any:
    """Call `check` until it returns something truthy (returned), failing past `deadline_s` seconds."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s} s"
        time.sleep(0.05)


def wait_ready(url: str, proc: subprocess.Popen[str], deadline_s: float = 60, **httpx_options: Any) -> None:
    """Poll a `shipyard serve` process's readiness with a deadline; fail early if it exits."""
    import httpx

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"shipyard serve exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1, **httpx_options).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"shipyard serve at {url} was not ready within {deadline_s} s")


@contextmanager
def shipyard_serve(
    home: Path, env: dict[str, str], log: Path, deadline_s: float = 60
) -> Iterator[tuple[str, dict[str, str]]]:
    """A real `shipyard serve --no-grpc` over `home` on a free port, its stderr in `log` (a file, not a
    pipe: a chatty server never blocks on a full pipe); yields its URL and the admin key's headers."""
    port = free_port()
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc"],
            env={**os.environ, **env, "SHIPYARD_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, deadline_s=deadline_s)
        yield url, {"Authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
