"""Where alerts go: the log, and webhooks (a JSON POST, retried with exponential backoff).

A notifier never raises: it returns a `Delivery` saying whether it got through, after how many
attempts, and why not; the alert manager records it with the alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx

logger = logging.getLogger("shipyard.alerts")

_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Delivery:
    notifier: str
    ok: bool
    attempts: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Notifier(Protocol):
    name: str

    def send(self, payload: dict[str, Any]) -> Delivery: ...


class LogNotifier:
    """Writes the alert to the `shipyard.alerts` logger (critical alerts at CRITICAL, others at WARNING)."""

    name = "log"

    def send(self, payload: dict[str, Any]) -> Delivery:
        level = logging.CRITICAL if payload.get("severity") == "critical" else logging.WARNING
        logger.log(
            level,
            "[%s] %s %s: %s",
            payload.get("severity"),
            payload.get("rule"),
            payload.get("subject"),
            payload.get("message"),
        )
        return Delivery(self.name, True, 1)


@dataclass(frozen=True)
class WebhookOptions:
    attempts: int = 4
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0


class WebhookNotifier:
    """POSTs the alert as JSON to `url`; retries transport errors, 5xx, 408, 425 and 429 after
    `backoff`, 2×`backoff`, 4×`backoff`, ... up to `attempts` tries; other 4xx answers fail at once
    (the request will not get better)."""

    def __init__(
        self,
        url: str,
        options: WebhookOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.name = f"webhook:{url}"
        self.options = options or WebhookOptions()
        self._sleep = sleep

    def send(self, payload: dict[str, Any]) -> Delivery:
        error: str | None = "not attempted"
        for attempt in range(1, self.options.attempts + 1):
            retry, error = self._attempt(payload)
            if error is None:
                return Delivery(self.name, True, attempt)
            if not retry:
                return Delivery(self.name, False, attempt, error)
            if attempt < self.options.attempts:
                self._sleep(self.options.backoff_seconds * 2 ** (attempt - 1))
        logger.error("alert %s not delivered to %s: %s", payload.get("key"), self.url, error)
        return Delivery(self.name, False, self.options.attempts, error)

    def _attempt(self, payload: dict[str, Any]) -> tuple[bool, str | None]:
        """(retry?, error or None when delivered)."""
        try:
            response = httpx.post(self.url, json=payload, timeout=self.options.timeout_seconds)
        except httpx.HTTPError as exc:
            return True, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return False, None
        retry = response.status_code >= 500 or response.status_code in _RETRY_STATUSES
        return retry, f"HTTP {response.status_code}"


def notifiers_for(targets: Sequence[str], options: WebhookOptions) -> list[Notifier]:
    """`log` and webhook URLs → notifiers; the log is always among them, each target once."""
    notifiers: list[Notifier] = [LogNotifier()]
    for target in dict.fromkeys(targets):
        if target != "log":
            notifiers.append(WebhookNotifier(target, options))
    return notifiers


__all__ = ["Delivery", "LogNotifier", "Notifier", "WebhookNotifier", "WebhookOptions", "notifiers_for"]
