"""What the data plane tells the rest of the server about each inference, and who is asking.

Adapters describe the call (`CallContext`: protocol, caller, headers); after every inference the
data plane hands one `InferenceRecord` to each registered `InferenceObserver` — the metrics, the
prediction log, a deployment's health guards. Observers run on the event loop in the request's
path, so `observe` must only enqueue or count: never block (a raising observer is logged and skipped).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

PROTOCOLS = ("v2", "v2-binary", "v1", "grpc", "internal")


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who called and how: filled in by the adapter that decoded the request."""

    protocol: str = "internal"
    """One of PROTOCOLS."""
    caller: str | None = None
    """The caller's key id or token subject (`key:<id>`, `oidc:<sub>`); None when auth is off."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Request headers (HTTP) or metadata (gRPC), lower-case keys; routing keys are read from here."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


INTERNAL = CallContext()


@dataclass(slots=True)
class InferenceRecord:
    """One answered (or failed) inference, as observers see it."""

    request_id: str
    """The request's own `id` when it gave one, else one the server made up (returned in the response)."""
    endpoint: str
    """The name the caller asked for: a deployment or a model."""
    model: str
    version: int
    arm: str
    """`primary` for a model served directly; the arm's name (or `shadow:<name>`) under a deployment."""
    started_at: float
    """Wall-clock time the data plane received the request (seconds since the epoch)."""
    latency_seconds: float
    rows: int
    status: str
    """`ok`, or the error's class name (`ValidationFailed`, `ModelFailed`, …)."""
    call: CallContext
    inputs: Any = None
    """The decoded rows given to the model: one 2-D block (numeric tabular, tensor models) or column
    name → 1-D array (mixed-type tabular). A block's columns are named by `input_names`."""
    input_names: tuple[str, ...] = ()
    """The signature's input columns in order (empty for a model without a signature)."""
    outputs: dict[str, Any] | None = None
    """Output name → array, for the outputs the caller asked for; None when the request failed."""
    cached: bool = False
    shadow: bool = False
    """True for a copy answered by a shadow arm: the caller never saw it."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class InferenceObserver(Protocol):
    def observe(self, record: InferenceRecord) -> Awaitable[None] | None:
        """Take note of `record` without blocking (enqueue, count); should not raise.

        An observer that must finish something before the caller is answered (the prediction log in
        its durable and sync modes: a response must never reach a client before its log entry is written)
        returns an awaitable; the data plane awaits it for answered requests only. It may raise a
        `ShipyardError` (e.g. 503) to refuse acknowledging what it could not record.
        """


def new_request_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


__all__ = ["INTERNAL", "PROTOCOLS", "CallContext", "InferenceObserver", "InferenceRecord", "new_request_id", "now"]
