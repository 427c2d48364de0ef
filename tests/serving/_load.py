"""Load for the shutdown tests: HTTP and gRPC clients that keep calling a real server until it refuses
them, and a readiness probe playing the load balancer. Each outcome is tallied as answered, refused
(the server no longer accepted the connection: expected once it has stopped) or failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx

from shipyard.serving.proto import grpc_predict_v2_pb2 as pb
from shipyard.serving.proto.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

GIVE_UP_S = 60.0
"""A client still going after this long stops: the test then fails on what it tallied."""


@dataclass
class Tally:
    answered: int = 0
    answered_while_draining: int = 0
    refused: list[float] = field(default_factory=list)  # when (monotonic) each refusal came
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, draining: bool) -> None:
        with self.lock:
            self.answered += 1
            self.answered_while_draining += draining

    def refuse(self) -> None:
        with self.lock:
            self.refused.append(time.monotonic())

    def fail(self, what: str) -> None:
        with self.lock:
            self.failed.append(what)


class ReadinessProbe(threading.Thread):
    """Polls /v2/health/ready every 10 ms; `not_ready_at` is when it first answered anything but 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.not_ready_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.not_ready_at is None:
            try:
                status = httpx.get(f"{self.url}/v2/health/ready", timeout=5).status_code
            except httpx.TransportError:
                status = 0
            if status != 200:
                self.not_ready_at = time.monotonic()
            time.sleep(0.01)

    @property
    def flipped(self) -> bool:
        return self.not_ready_at is not None


def v2_body(rows: list[list[float]]) -> dict[str, Any]:
    flat = [v for row in rows for v in row]
    return {"inputs": [{"name": "x", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": flat}]}


def http_load(
    url: str,
    headers: dict[str, str],
    tally: Tally,
    probe: ReadinessProbe,
    *,
    keep_alive: bool,
    exited: Callable[[], bool],
) -> None:
    """Call `sum` until a connection is refused (or the server has exited)."""
    client = httpx.Client(headers=headers, timeout=20) if keep_alive else None
    deadline = time.monotonic() + GIVE_UP_S
    try:
        while time.monotonic() < deadline:
            draining = probe.flipped
            try:
                if client is not None:
                    response = client.post(f"{url}/v2/models/sum/infer", json=v2_body([[1, 2, 3]]))
                else:
                    response = httpx.post(
                        f"{url}/v2/models/sum/infer", json=v2_body([[1, 2, 3]]), headers=headers, timeout=20
                    )
            except httpx.ConnectError:
                tally.refuse()
                return
            except httpx.TransportError as exc:  # accepted, then reset or never answered
                tally.fail(f"{'keep-alive' if keep_alive else 'fresh'} HTTP: {exc!r}")
                if exited():
                    return
                continue
            if response.status_code == 200:
                tally.answer(draining)
            else:
                tally.fail(f"HTTP {response.status_code} {response.text}")
    finally:
        if client is not None:
            client.close()


def grpc_request(model: str, row: list[float]) -> pb.ModelInferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP64", shape=[1, len(row)], contents=pb.InferTensorContents(fp64_contents=row)
    )
    return pb.ModelInferRequest(model_name=model, inputs=[tensor])


def grpc_load(
    target: str, headers: dict[str, str], tally: Tally, probe: ReadinessProbe, *, exited: Callable[[], bool]
) -> None:
    """Call `sum` over one channel until the server is unavailable after readiness went false."""
    metadata = (("authorization", headers["Authorization"]),)
    deadline = time.monotonic() + GIVE_UP_S
    with grpc.insecure_channel(target) as channel:
        stub = GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        while not exited() and time.monotonic() < deadline:
            draining = probe.flipped
            try:
                stub.ModelInfer(grpc_request("sum", [1.0, 2.0, 3.0]), metadata=metadata, timeout=20)
            except grpc.RpcError as exc:
                code = exc.code()  # type: ignore[attr-defined]
                if code == grpc.StatusCode.UNAVAILABLE and probe.flipped:
                    tally.refuse()  # the port has closed: the channel cannot connect any more
                    return
                tally.fail(f"gRPC {code}: {exc.details()}")  # type: ignore[attr-defined]
                continue
            tally.answer(draining)
