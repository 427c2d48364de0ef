"""Leases and the job runner: one holder at a time, takeover after expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from shipyard.serving.background import Job, JobRunner
from shipyard.store import Database, open_database
from shipyard.store.leases import acquire, holder_of, release


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def test_one_holder_at_a_time_and_renewal(db: Database) -> None:
    assert acquire(db, "drift", "a", 30)
    assert not acquire(db, "drift", "b", 30)
    assert acquire(db, "drift", "a", 30)  # renewing keeps it
    assert acquire(db, "canary", "b", 30)  # another job is another lease
    assert holder_of(db, "drift") == "a" and holder_of(db, "canary") == "b"


def test_an_expired_lease_is_taken_over_and_a_released_one_at_once(db: Database) -> None:
    assert acquire(db, "drift", "a", 0.2)
    deadline = time.monotonic() + 5
    while not acquire(db, "drift", "b", 30):
        assert time.monotonic() < deadline, "the expired lease was never taken over"
        time.sleep(0.05)
    assert holder_of(db, "drift") == "b"
    release(db, "drift", "a")  # not the holder: changes nothing
    assert holder_of(db, "drift") == "b"
    release(db, "drift", "b")
    assert holder_of(db, "drift") is None and acquire(db, "drift", "a", 30)


def test_contending_threads_never_share_a_lease(db: Database) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if acquire(db, "job", name, 30):
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and holder_of(db, "job") == winners[0]


def test_of_two_runners_only_the_holder_runs_a_job(db: Database) -> None:
    ran: list[str] = []
    first, second = JobRunner(db, holder="first"), JobRunner(db, holder="second")
    for runner in (first, second):
        runner.add(Job("tick", lambda who=runner.holder: ran.append(who), every_seconds=60))

    async def both() -> tuple[bool, bool]:
        return await first.tick(first.jobs[0]), await second.tick(second.jobs[0])

    assert asyncio.run(both()) == (True, False)
    assert ran == ["first"]


def test_a_failing_job_is_counted_and_the_runner_goes_on(db: Database) -> None:
    def boom() -> None:
        raise RuntimeError("job bug")

    runner = JobRunner(db, [Job("boom", boom, every_seconds=60)])
    assert asyncio.run(runner.tick(runner.jobs[0]))
    assert runner.jobs[0].failures == 1 and runner.jobs[0].runs == 1
    with pytest.raises(ValueError, match="already scheduled"):
        runner.add(Job("boom", boom, every_seconds=1))
