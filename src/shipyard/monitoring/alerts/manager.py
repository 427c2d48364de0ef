"""`AlertManager`: the `AlertSink` that records, deduplicates and delivers alerts.

`fire(alert)` only enqueues: it never blocks or raises, so a deployment step or a rule evaluation
can call it from anywhere. One thread per manager takes alerts in order: it records each one
(`AlertStore.record`: a repeat within the cooldown is counted and not sent again), sends a new one to
its notifiers (the log always; webhooks with retries and backoff) and records how the delivery went.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from ..alerting import Alert
from .notifiers import Delivery, Notifier, WebhookOptions, notifiers_for
from .store import AlertEvent, AlertStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    alert: Alert
    notify: tuple[str, ...] | None
    cooldown_seconds: float | None


class AlertManager:
    """Records and delivers alerts; an `AlertSink`.

    `default_notify`: webhook URLs (or `log`) for alerts that name no notifiers of their own;
    `cooldown_seconds`: the default time during which an alert of the same key is a repeat.

        manager = AlertManager(AlertStore(db), default_notify=["https://hooks.example/alerts"])
        manager.fire(Alert("deployment.rollback", "churn", "canary v4 rolled back: error rate 12%"))
    """

    def __init__(
        self,
        store: AlertStore,
        *,
        default_notify: Sequence[str] = (),
        cooldown_seconds: float = 600.0,
        webhook: WebhookOptions | None = None,
        notifier_factory: Callable[[Sequence[str], WebhookOptions], list[Notifier]] = notifiers_for,
    ) -> None:
        self.store = store
        self.default_notify = tuple(default_notify)
        self.cooldown_seconds = cooldown_seconds
        self.webhook = webhook or WebhookOptions()
        self._notifiers = notifier_factory
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def fire(self, alert: Alert) -> None:
        """Record and deliver `alert` in the background, to the default notifiers."""
        self.submit(alert)

    def submit(
        self, alert: Alert, *, notify: Sequence[str] | None = None, cooldown_seconds: float | None = None
    ) -> None:
        """Like `fire`, with the notifiers and cooldown of a rule (None: the defaults)."""
        try:
            with self._lock:
                if self._closed:
                    logger.warning("alert manager closed; alert %s only logged: %s", alert.key, alert.message)
                    return
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name="shipyard-alerts", daemon=True)
                    self._thread.start()
            self._queue.put(_Pending(alert, tuple(notify) if notify else None, cooldown_seconds))
        except Exception:  # an AlertSink must not raise into the code that fires
            logger.exception("could not queue alert %s", alert.key)

    def process(
        self, alert: Alert, *, notify: Sequence[str] | None = None, cooldown_seconds: float | None = None
    ) -> AlertEvent:
        """Record and deliver `alert` now, in this thread (what the background thread does for each alert)."""
        cooldown = timedelta(seconds=self.cooldown_seconds if cooldown_seconds is None else cooldown_seconds)
        event, new = self.store.record(alert, cooldown)
        if not new:
            return event
        payload = {
            "source": "shipyard",
            "event_id": event.id,
            "key": alert.key,
            "rule": alert.rule,
            "subject": alert.subject,
            "severity": alert.severity,
            "message": alert.message,
            "details": alert.details,
            "fired_at": event.fired_at.isoformat(),
        }
        deliveries = [self._send(n, payload) for n in self._notifiers(notify or self.default_notify, self.webhook)]
        self.store.set_delivery(event.id, [d.to_dict() for d in deliveries])
        return event

    @staticmethod
    def _send(notifier: Notifier, payload: dict[str, object]) -> Delivery:
        try:
            return notifier.send(dict(payload))
        except Exception as exc:  # a notifier's bug: recorded like a failed delivery
            logger.exception("notifier %s failed", notifier.name)
            return Delivery(notifier.name, False, 1, f"{type(exc).__name__}: {exc}")

    def _work(self) -> None:
        while True:
            pending = self._queue.get()
            try:
                if pending is None:
                    return
                self.process(pending.alert, notify=pending.notify, cooldown_seconds=pending.cooldown_seconds)
            except Exception:  # the database is down: the alert is at least in the log
                logger.exception("alert %s could not be recorded: %s", pending and pending.alert.key, pending)
            finally:
                self._queue.task_done()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every alert fired so far is processed; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Process what is queued (within `timeout`), then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def __repr__(self) -> str:
        return f"AlertManager(default_notify={list(self.default_notify)!r}, cooldown_seconds={self.cooldown_seconds})"


__all__ = ["AlertManager"]
