"""The transport-agnostic core of the server: health, metadata and inference.

REST (V2 and V1) and gRPC adapters parse their wire format into `protocol` objects, call one
method here and format the result. Nothing in this module knows about HTTP or gRPC.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

import numpy as np

from .. import __version__
from ..errors import ModelFailed, ModelNotFound, ShipyardError, ValidationFailed, closest
from ..schema import FieldSpec, Signature
from .cache import cache_key
from .datatypes import v2_datatype
from .events import INTERNAL, CallContext, InferenceObserver, InferenceRecord, new_request_id, now
from .pool import ModelPool, ServedModel
from .protocol import InferRequest, InferResponse, InferTensor, ModelMetadata, ServerMetadata, TensorMetadata
from .resolver import ModelResolver
from .router import DeploymentRouter, RoutingTable, arm_label
from .shadow import ShadowCopy, ShadowRunner
from .tabular import Rows, decode_rows

logger = logging.getLogger(__name__)

EXTENSIONS = ("binary_tensor_data", "v1_predict")
_SPEC_DATATYPES = {
    "bool": "BOOL",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
}


def spec_datatype(spec: FieldSpec) -> str:
    return _SPEC_DATATYPES.get(spec.dtype, "BYTES")


def _tensor_metadata(signature: Signature) -> tuple[tuple[TensorMetadata, ...], tuple[TensorMetadata, ...]]:
    inputs: tuple[TensorMetadata, ...]
    if signature.layout == "tensor":
        spec = signature.inputs[0]
        inputs = (TensorMetadata(spec.name, spec_datatype(spec), tuple(spec.shape or (-1,))),)
    else:
        inputs = tuple(TensorMetadata(s.name, spec_datatype(s), (-1,)) for s in signature.inputs)
    outputs = tuple(TensorMetadata(s.name, spec_datatype(s), tuple(s.shape or (-1,))) for s in signature.outputs)
    return inputs, outputs


class DataPlane:
    """Serves every deployment and registered model: `{m}` is a deployment name (routed to one of its arms,
    see `serving.router`) or else a model name; `version` pins one of the model's versions (or of the
    deployment's arms). A deployment named like a model takes precedence over the model."""

    def __init__(self, resolver: ModelResolver, pool: ModelPool, *, max_rows: int = 1_000_000) -> None:
        self.resolver = resolver
        self.pool = pool
        self.max_rows = max_rows
        # The version each name's default route serves now; during a hot-swap it stays on the old
        # version until the new one has loaded in the background.
        self._current: dict[str, int] = {}
        self.observers: list[InferenceObserver] = []
        self.router = DeploymentRouter(resolver, pool)
        self.shadows: ShadowRunner | None = None
        """Answers the copies for shadow arms; without one (or while its task is not running) none are sent."""

    def add_observer(self, observer: InferenceObserver) -> None:
        """Tell `observer` about every inference from now on (metrics, prediction log, deployment guards)."""
        self.observers.append(observer)

    async def live(self) -> bool:
        return True

    async def ready(self) -> bool:
        return self.resolver.refreshed_at > 0

    async def server_metadata(self) -> ServerMetadata:
        return ServerMetadata("shipyard", __version__, EXTENSIONS)

    async def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata:
        table = await self.deployment(name)
        served = await self.served(name, version)
        mv = served.version
        inputs: tuple[TensorMetadata, ...] = ()
        outputs = tuple(TensorMetadata(o, "FP64" if o == "predict_proba" else "BYTES", (-1,)) for o in served.outputs)
        if mv.signature:
            inputs, outputs = _tensor_metadata(Signature.from_dict(mv.signature))
        state = self.resolver.snapshot.get(name)
        if table is not None:
            versions = tuple(str(v) for v in sorted({a.version for a in table.deployment.arms}))
        else:
            versions = tuple(str(v) for v in state.ready) if state else (str(mv.version),)
        parameters = {"version": str(mv.version), "flavor": mv.flavor}
        if table is not None:
            parameters["model"] = table.model
        return ModelMetadata(name, versions, mv.flavor, inputs, outputs, parameters)

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        """Ready once loaded (loading it now if needed); a deployment once every arm with traffic has loaded."""
        try:
            table = await self.deployment(name)
            if table is not None and version is None:
                await asyncio.gather(*(self.pool.get((table.model, v)) for v in table.serving_versions()))
            else:
                await self.served(name, version)
        except ShipyardError as exc:
            if isinstance(exc, LookupError):
                raise
            return False
        return True

    async def deployment(self, name: str) -> RoutingTable | None:
        """The routing table when `name` is a deployment, None when it is a model; `ModelNotFound` otherwise.

        A name in neither snapshot triggers the resolver's early refresh, so a deployment created a
        moment ago is found at once, like a model registered a moment ago.
        """
        table = self.router.get(name)
        if table is not None or name in self.resolver.snapshot:
            return table
        try:
            await self.resolver.state(name)
        except ModelNotFound:
            table = self.router.get(name)
            if table is None:
                raise ModelNotFound(name, closest(name, [*self.resolver.snapshot, *self.router.names()])) from None
        return self.router.get(name)

    async def served(self, name: str, version: str | None = None) -> ServedModel:
        """The loaded model a request for `name` (and `version`) goes to, loading it if needed.

        For a deployment: its stable arm, or the arm `version` pins.
        """
        table = await self.deployment(name)
        if table is not None:
            number = table.pinned(version)[0] if version is not None else table.stable
            return await self.pool.get((table.model, number))
        number = await self.resolver.resolve(name, version)
        key = (name, number)
        loaded = self.pool.get_loaded(key)
        if loaded is None and version is None:
            loaded = self._previous_while_swapping(name, number)
        if loaded is None:
            loaded = await self.pool.get(key)
        if version is None and loaded.version.version == number:
            self._current[name] = number
        return loaded

    def _previous_while_swapping(self, name: str, number: int) -> ServedModel | None:
        current = self._current.get(name)
        state = self.resolver.snapshot.get(name)
        if current is None or current == number or state is None or current in state.archived:
            return None
        previous = self.pool.get_loaded((name, current))
        if previous is not None:
            self.pool.start_loading((name, number))
        return previous

    async def _route(
        self, table: RoutingTable, request: InferRequest, version: str | None, call: CallContext
    ) -> tuple[ServedModel, str]:
        """The arm that answers this request under a deployment, and its label.

        An arm not yet loaded on this worker starts loading and the stable arm answers meanwhile, so a
        weight change never makes a request wait for (or fail on) a model load.
        """
        if version is not None:
            number, label = table.pinned(version)
            return await self.pool.get((table.model, number)), label
        number = self.router.choose(table, request, call)
        served = self.pool.get_loaded((table.model, number))
        if served is None and number != table.stable:
            self.pool.start_loading((table.model, number))
            fallback = self.pool.get_loaded((table.model, table.stable))
            if fallback is not None:
                return fallback, arm_label(table.stable)
        if served is None:
            served = await self.pool.get((table.model, number))
        return served, arm_label(number)

    async def infer(
        self,
        name: str,
        request: InferRequest,
        version: str | None = None,
        *,
        call: CallContext = INTERNAL,
        served: ServedModel | None = None,
    ) -> InferResponse:
        """Answer `request`; `served` is the model an adapter already resolved (saves resolving twice;
        ignored for a deployment, which routes each request itself).

        The response carries the request's id, or one made up here, so a caller can send feedback
        about it later; every observer hears of the inference, answered or failed. Under a deployment
        with shadow arms, a copy of an answered request then goes to the shadow runner.
        """
        if request.id is None:
            request.id = new_request_id()
        table = await self.deployment(name)
        if table is None and not self.observers:
            served = served or await self.served(name, version)
            return (await self._answer(name, served, request, None))[0]
        arm = "primary" if table is None else arm_label(table.stable)
        record = InferenceRecord(request.id, name, name, 0, arm, now(), 0.0, 0, "ok", call)
        start = time.perf_counter()
        try:
            if table is not None:
                served, record.arm = await self._route(table, request, version, call)
            else:
                served = served or await self.served(name, version)
            response, outputs = await self._answer(name, served, request, record)
        except Exception as exc:
            record.status = type(exc).__name__
            record.latency_seconds = time.perf_counter() - start
            self.notify(record)
            raise
        record.latency_seconds = time.perf_counter() - start
        waits = self.notify(record)
        if table is not None and version is None and table.shadows and self.shadows is not None:
            self._mirror(table, request, call, outputs)
        if len(waits) == 1:  # e.g. the prediction log's group commit: acknowledged means logged
            await waits[0]
        elif waits:
            await asyncio.gather(*waits)
        return response

    def _mirror(self, table: RoutingTable, request: InferRequest, call: CallContext, outputs: dict[str, Any]) -> None:
        assert self.shadows is not None
        for arm in table.shadows:
            if self.router.mirror(arm):
                self.shadows.submit(ShadowCopy(table.name, table.model, arm, request, call, outputs))

    def notify(self, record: InferenceRecord) -> list[Awaitable[None]]:
        """Hand `record` to every observer; the awaitables some return (see `InferenceObserver`)."""
        waits = []
        for observer in self.observers:
            try:
                wait = observer.observe(record)
            except Exception:  # an observer's bug must not fail the request it watches
                logger.exception("observer %r failed on request %s", observer, record.request_id)
                continue
            if wait is not None:
                waits.append(wait)
        return waits

    async def compute_outputs(
        self, endpoint: str, served: ServedModel, request: InferRequest, record: InferenceRecord | None
    ) -> dict[str, Any]:
        """The outputs `served` gives for `request` (those it asks for), without a response (shadow copies)."""
        wanted, outputs = await self._compute(endpoint, served, request, record)
        return {n: outputs[n] for n in wanted}

    async def _answer(
        self, endpoint: str, served: ServedModel, request: InferRequest, record: InferenceRecord | None
    ) -> tuple[InferResponse, dict[str, Any]]:
        wanted, outputs = await self._compute(endpoint, served, request, record)
        return self._response(endpoint, served, request, wanted, outputs), {n: outputs[n] for n in wanted}

    async def _compute(
        self, endpoint: str, served: ServedModel, request: InferRequest, record: InferenceRecord | None
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        model, number = served.version.name, served.version.version
        if record is not None:
            record.model, record.version = model, number
        rows, count = self._rows(served, request)
        wanted = self._wanted_outputs(served, request)
        if record is not None:
            record.inputs, record.rows = rows, count
            record.input_names = served.plan.names if served.plan is not None else ()
        cache, key = served.cache, ""
        outputs: dict[str, Any] | None = None
        if cache is not None:
            key = cache_key(model, number, wanted, rows)
            outputs = await cache.get(key)
            if record is not None:
                record.cached = outputs is not None
        if outputs is None:
            try:
                outputs = await served.batcher.submit(rows, count, wanted)
            except ShipyardError:
                raise
            except Exception as exc:
                logger.exception("model %s v%s failed on request %s (%s)", model, number, request.id, endpoint)
                raise ModelFailed(endpoint, number) from exc
            if cache is not None:
                await cache.put(key, outputs)
        if record is not None:
            record.outputs = {n: outputs[n] for n in wanted}
        return wanted, outputs

    def _response(
        self, name: str, served: ServedModel, request: InferRequest, wanted: tuple[str, ...], outputs: dict[str, Any]
    ) -> InferResponse:
        tensors = [_output_tensor(n, outputs[n]) for n in wanted]
        return InferResponse(name, tensors, model_version=str(served.version.version), id=request.id)

    def _rows(self, served: ServedModel, request: InferRequest) -> tuple[Rows, int]:
        if served.plan is not None:
            rows, count = decode_rows(request.inputs, served.plan)
        elif len(request.inputs) == 1:
            rows, count = request.inputs[0].data, request.rows
        else:
            rows = {t.name: t.data.reshape(len(t.data), -1)[:, 0] if t.data.ndim else t.data for t in request.inputs}
            count = request.rows
        if count == 0:
            raise ValidationFailed([("inputs", "no rows")])
        if count > self.max_rows:
            raise ValidationFailed([("inputs", f"{count} rows is more than the limit of {self.max_rows} per request")])
        return rows, count

    def _wanted_outputs(self, served: ServedModel, request: InferRequest) -> tuple[str, ...]:
        if not request.outputs:
            return served.outputs
        names = tuple(o.name for o in request.outputs)
        unknown = [n for n in names if n not in served.outputs]
        if unknown:
            raise ValidationFailed(
                [(f"outputs.{n}", f"unknown output; this model has {', '.join(served.outputs)}") for n in unknown]
            )
        return names


def _output_tensor(name: str, values: Any) -> InferTensor:
    array = np.asarray(values)
    if array.dtype.kind in ("U", "S", "O"):
        array = np.array([v.encode() if isinstance(v, str) else v for v in array.ravel()], dtype=object).reshape(
            array.shape
        )
    return InferTensor(name, v2_datatype(array.dtype), tuple(array.shape), array)


__all__ = ["EXTENSIONS", "DataPlane", "spec_datatype"]
