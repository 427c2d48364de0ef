"""Alert delivery: webhooks to a real local HTTP server (retries with backoff after a 500, a failure
recorded), cooldown and deduplication by alert key, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shipyard.monitoring.alerting import Alert
from shipyard.monitoring.alerts import AlertManager, AlertStore, WebhookNotifier, WebhookOptions
from shipyard.store import Database, create_db_engine, open_database

from .._services import free_port
from ._webhook import Receiver, webhook_receiver

FAST = WebhookOptions(attempts=4, backoff_seconds=0.01, timeout_seconds=5)
ALERT = Alert("churn-errors", "churn", "12% of requests failed", "critical", {"rate": 0.12})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as found:
        yield found


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def test_webhook_retries_after_500_with_growing_backoff(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    waits: list[float] = []
    delivery = WebhookNotifier(receiver.url, FAST, sleep=waits.append).send({"key": "a:b", "message": "hi"})
    assert delivery.ok and delivery.attempts == 3 and delivery.error is None
    assert waits == [0.01, 0.02]
    assert [r["message"] for r in receiver.received] == ["hi"] * 3


def test_webhook_gives_up_and_says_why(receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    waits: list[float] = []
    delivery = WebhookNotifier(receiver.url, FAST, sleep=waits.append).send({"key": "a:b"})
    assert not delivery.ok and delivery.attempts == 4 and delivery.error == "HTTP 500"
    assert waits == [0.01, 0.02, 0.04]  # no wait after the last attempt


def test_webhook_does_not_retry_a_refusal(receiver: Receiver) -> None:
    receiver.statuses = [404]
    delivery = WebhookNotifier(receiver.url, FAST, sleep=lambda _s: None).send({"key": "a:b"})
    assert not delivery.ok and delivery.attempts == 1 and delivery.error == "HTTP 404"
    receiver.statuses = [429, 200]
    assert WebhookNotifier(receiver.url, FAST, sleep=lambda _s: None).send({}).attempts == 2


def test_webhook_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    delivery = WebhookNotifier(url, FAST, sleep=lambda _s: None).send({"key": "a:b"})
    assert not delivery.ok and delivery.attempts == 4 and "ConnectError" in (delivery.error or "")


def test_manager_delivers_records_and_deduplicates(
    db: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    store = AlertStore(db)
    manager = AlertManager(store, default_notify=[receiver.url], cooldown_seconds=600, webhook=FAST)
    receiver.statuses = [500]
    with caplog.at_level(logging.WARNING, logger="shipyard.alerts"):
        manager.fire(ALERT)
        manager.fire(ALERT)  # the same key within the cooldown: a repeat
        manager.fire(Alert("churn-errors", "fraud", "9% of requests failed"))  # another subject: its own alert
        assert manager.wait_idle(30)
    manager.close()
    assert len(receiver.received) == 3  # churn: a 500, then delivered; fraud: delivered
    body = receiver.received[0]
    assert body["key"] == "churn-errors:churn" and body["severity"] == "critical" and body["details"] == {"rate": 0.12}
    events = {e.subject: e for e in store.history()}
    assert events["churn"].repeats == 1 and events["churn"].delivery == "delivered"
    webhook = next(d for d in events["churn"].deliveries if d["notifier"].startswith("webhook:"))
    assert webhook == {"notifier": f"webhook:{receiver.url}", "ok": True, "attempts": 2, "error": None}
    assert events["fraud"].repeats == 0
    assert "12% of requests failed" in caplog.text  # the log notifier always gets it


def test_a_failed_delivery_is_recorded(db: Database) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    store = AlertStore(db)
    manager = AlertManager(store, default_notify=[url], webhook=WebhookOptions(2, 0.01, 2))
    event = manager.process(ALERT)
    [stored] = store.history()
    assert stored.id == event.id and stored.delivery == "failed"
    failed = [d for d in stored.deliveries if not d["ok"]]
    assert failed[0]["attempts"] == 2 and "ConnectError" in failed[0]["error"]


def test_cooldown_passed_notifies_again(db: Database, receiver: Receiver) -> None:
    store = AlertStore(db)
    manager = AlertManager(store, default_notify=[receiver.url], webhook=FAST)
    manager.process(ALERT, cooldown_seconds=0)
    manager.process(ALERT, cooldown_seconds=0)
    assert len(receiver.received) == 2 and len(store.history()) == 2
    manager.process(ALERT, cooldown_seconds=3600)
    assert len(receiver.received) == 2 and store.history()[0].repeats == 1


def test_two_workers_firing_at_once_make_one_alert(db: Database, receiver: Receiver) -> None:
    a = AlertManager(AlertStore(db), default_notify=[receiver.url], webhook=FAST)
    b = AlertManager(AlertStore(db), default_notify=[receiver.url], webhook=FAST)
    for _ in range(5):
        a.fire(ALERT)
        b.fire(ALERT)
    assert a.wait_idle(30) and b.wait_idle(30)
    a.close()
    b.close()
    [event] = AlertStore(db).history()
    assert event.repeats == 9 and len(receiver.received) == 1


def test_rule_notifiers_replace_the_defaults(db: Database, receiver: Receiver) -> None:
    with webhook_receiver() as other:
        manager = AlertManager(AlertStore(db), default_notify=[receiver.url], webhook=FAST)
        manager.process(ALERT, notify=[other.url, "log"])
        assert len(other.received) == 1 and receiver.received == []


def test_fire_never_raises(db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manager = AlertManager(AlertStore(db))
    manager.close()
    manager.fire(ALERT)  # closed: logged, not raised
    assert AlertStore(db).history() == []
    unmigrated = Database(create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables: records fail
    broken = AlertManager(AlertStore(unmigrated))
    with caplog.at_level(logging.ERROR):
        broken.fire(Alert("x", "y", "z"))
        assert broken.wait_idle(10)
    broken.close()
    unmigrated.close()
    assert "alert x:y could not be recorded" in caplog.text


def test_history_filters(db: Database) -> None:
    store = AlertStore(db)
    store.record(ALERT, timedelta(0))
    store.record(Alert("other", "fraud", "m"), timedelta(0))
    assert [e.rule for e in store.history(rule="other")] == ["other"]
    assert [e.subject for e in store.history(subject="churn")] == ["churn"]
    assert store.resolve("other", set()) == ["fraud"]
    assert [e.rule for e in store.history(firing=True)] == ["churn-errors"]
    assert [e.rule for e in store.history(firing=False)] == ["other"]
    assert len(store.history(limit=1)) == 1
