"""A throw-away PostgreSQL that a test may stop and start again (same port, same data): a database outage.

Never the shared server on 127.0.0.1:5432, nor the one named by SHIPYARD_TEST_POSTGRES_URL: stopping
those would break every other test using them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._services import _as_postgres_user, _pg_bin, _postgres_answers, free_port, unavailable


class PostgresInstance:
    """`initdb` in a temporary folder, then `start()` / `stop()` at will; `url` stays the same."""

    def __init__(self, folder: Path, initdb: str, pg_ctl: str) -> None:
        self.folder, self.pg_ctl = folder, pg_ctl
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        command = [initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        subprocess.run(_as_postgres_user(command), check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1"
        command = [self.pg_ctl, "-D", str(self.data), "-w", "-o", options, "start", "-l", str(self.folder / "log")]
        subprocess.run(_as_postgres_user(command), check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while not _postgres_answers(self.url):
            assert time.monotonic() < deadline, "throw-away PostgreSQL did not answer after start"
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop now: open connections are cut, as when the database host goes away."""
        command = [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres_user(command), capture_output=True)

    @property
    def answers(self) -> bool:
        return _postgres_answers(self.url)


@contextmanager
def postgres_instance() -> Iterator[PostgresInstance]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("initdb/pg_ctl are not installed (make system-deps)")
        raise AssertionError("unreachable")
    folder = Path(tempfile.mkdtemp(prefix="shipyard-pg-outage-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    instance = PostgresInstance(folder, initdb, pg_ctl)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(folder, ignore_errors=True)
