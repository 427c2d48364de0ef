"""`shipyard serve --workers 2`: /metrics sums both workers (multiprocess files), passes promtool, and a
worker killed with SIGKILL keeps its counts but leaves the live gauges; both workers publish traffic rows."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.store import open_database
from shipyard.store.tables.alerts import TrafficMinuteRow

from .._services import free_port, wait_ready
from ._metrics import Samples, parse, register_models, v2, value
from ._promtool import check_metrics

pytestmark = pytest.mark.integration

# (path, body, expected status) of each kind of request sent
REQUESTS = {
    "sum-ok": ("/v2/models/sum/infer", v2([1, 2, 3]), 200),
    "sum-model-failed": ("/v2/models/sum/infer", v2([10, 2, 1]), 500),
    "sum-bad-input": ("/v2/models/sum/infer", v2([1, 2]), 400),
    "cached-ok": ("/v1/models/cached:predict", {"instances": [[1, 2, 3]]}, 200),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    home = tmp_path_factory.mktemp("workers") / "home"
    register_models(Settings(home=home, user="alice"))
    port = free_port()
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_MONITORING__LOG_MODE": "off",
        "SHIPYARD_MONITORING__TRAFFIC_FLUSH_SECONDS": "0.2",
        "SHIPYARD_MONITORING__METRICS_SAMPLE_SECONDS": "0.1",
        "PYTHONWARNINGS": "ignore",
    }
    command = [sys.executable, "-m", "shipyard", "serve", "--workers", "2", "--no-grpc", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, deadline_s=120)
        yield url, f"Bearer {(home / 'admin.key').read_text().strip()}", home
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _send(url: str, auth: str, kind: str) -> None:
    path, body, status = REQUESTS[kind]
    with httpx.Client(base_url=url, headers={"Authorization": auth}, timeout=30) as client:  # a new connection
        assert client.post(path, json=body).status_code == status


def _workers_with_rows(home: Path) -> set[str]:
    db = open_database(f"sqlite:///{home / 'shipyard.db'}")
    try:
        with db.read() as session:
            return set(session.scalars(select(TrafficMinuteRow.worker).distinct()))
    finally:
        db.close()


def _scrape(url: str, auth: str) -> str:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": auth}, timeout=30)
    assert response.status_code == 200
    return response.text


def _poll(url: str, auth: str, done: Callable[[Samples], bool], what: str, deadline_s: float = 60) -> str:
    deadline = time.monotonic() + deadline_s
    while True:
        text = _scrape(url, auth)
        if done(parse(text)):
            return text
        assert time.monotonic() < deadline, f"{what}; last scrape:\n{text}"
        time.sleep(0.1)


def _pids(folder: Path, prefix: str) -> set[int]:
    return {int(m[1]) for f in folder.iterdir() if (m := re.match(rf"^{prefix}_(\d+)\.db$", f.name))}


def test_counts_add_up_across_workers_and_survive_a_killed_worker(server: tuple[str, str, Path]) -> None:
    url, auth, home = server
    sent: Counter[str] = Counter()
    kinds = ["sum-ok"] * 6 + ["sum-bad-input", "cached-ok", "cached-ok"]
    deadline = time.monotonic() + 120
    # Rounds of concurrent requests, each on its own connection, until both workers have answered some.
    with ThreadPoolExecutor(8) as pool:
        while len(_workers_with_rows(home)) < 2 or not sent:
            assert time.monotonic() < deadline, "the traffic never reached both workers"
            list(pool.map(lambda kind: _send(url, auth, kind), kinds))
            sent.update(kinds)
            time.sleep(0.3)  # a flush of the traffic rows
    # One at a time: a failing row merged into a batch with others would fail them all.
    for _ in range(3):
        _send(url, auth, "sum-model-failed")
        sent["sum-model-failed"] += 1
    text = _poll(url, auth, lambda s: value(s, "shipyard_requests_total") == sum(sent.values()), "counts")
    samples = parse(text)
    sum_v1 = {"endpoint": "sum", "model": "sum", "version": "1"}
    assert value(samples, "shipyard_requests_total", **sum_v1, status="ok") == sent["sum-ok"]
    assert value(samples, "shipyard_requests_total", **sum_v1, status="ModelFailed") == sent["sum-model-failed"]
    assert value(samples, "shipyard_request_errors_total", kind="client") == sent["sum-bad-input"]
    assert value(samples, "shipyard_requests_total", endpoint="cached", protocol="v1") == sent["cached-ok"]
    rows = sent["sum-ok"] + sent["sum-model-failed"]  # one row each; concurrent ones may share a model call
    assert value(samples, "shipyard_batch_rows_sum", model="sum") == rows
    assert value(samples, "shipyard_queue_seconds_count", model="sum") == rows
    assert 0 < value(samples, "shipyard_batch_rows_count", model="sum") <= rows
    assert value(samples, "shipyard_workers") == 2
    assert value(samples, "shipyard_model_load_seconds_count", model="sum") == 2  # each worker loaded it
    result = check_metrics(text)
    assert result.returncode == 0 and not result.stdout.strip(), result

    # Every answered request reaches its worker's traffic rows before the kill (a SIGKILL loses at most the
    # last flush interval of those rows, which would make the next test's count depend on timing).
    _wait_for_traffic_rows(url, auth, home)
    folder = next((home / "run" / "metrics").iterdir())
    before = _pids(folder, "counter")
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # The supervisor starts a replacement; its live gauges replace the dead worker's, its counts stay.
    _poll(
        url,
        auth,
        lambda s: (
            len(_pids(folder, "gauge_livesum")) == 2
            and victim not in _pids(folder, "gauge_livesum")
            and value(s, "shipyard_workers") == 2
        ),
        "the dead worker's live gauges were not dropped",
        120,
    )
    samples = parse(_scrape(url, auth))
    assert value(samples, "shipyard_requests_total") == sum(sent.values())
    assert value(samples, "shipyard_inflight_requests") == 0


def test_traffic_rows_hold_every_request(server: tuple[str, str, Path]) -> None:
    _wait_for_traffic_rows(*server)


def _wait_for_traffic_rows(url: str, auth: str, home: Path) -> None:
    db = open_database(f"sqlite:///{home / 'shipyard.db'}")
    try:
        deadline = time.monotonic() + 30
        while True:
            with db.read() as session:
                total = session.scalar(select(func.sum(TrafficMinuteRow.requests)))
            # Every answered request of the first test (bad input included) is in some worker's row.
            expected = value(parse(_scrape(url, auth)), "shipyard_requests_total")
            if total == expected and expected > 0:
                break
            assert time.monotonic() < deadline, (total, expected)
            time.sleep(0.1)
    finally:
        db.close()
