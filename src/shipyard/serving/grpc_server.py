"""The V2 gRPC service `inference.GRPCInferenceService` over a data plane, on `grpc.aio`.

Each RPC decodes its message (`codec_grpc`), calls the data plane and encodes the answer.
Errors become gRPC statuses through one table, `grpc_status`; an error the table does not
know is logged with its traceback and reaches the client only as "internal error (request
id …)". This is the only module that imports grpc.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeAlias, TypeVar

import grpc

from ..errors import (
    ConfigError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    ModelFailed,
    NotFound,
    NotReady,
    PickleRefused,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from ..security.access import authorize
from ..security.authenticator import Authenticator
from ..security.permissions import Action, Principal
from .codec_grpc import (
    decode_infer_request,
    encode_infer_response,
    encode_model_metadata,
    encode_server_metadata,
    uses_typed_contents,
)
from .drain import Drain
from .events import CallContext
from .proto import grpc_predict_v2_pb2 as pb
from .proto.grpc_predict_v2_pb2_grpc import add_GRPCInferenceServiceServicer_to_server
from .protocol import InferRequest, InferResponse, ModelMetadata, ServerMetadata
from .ratelimit import RateLimits, caller_key

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

_GRPC_STATUS: dict[type[BaseException], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,
    Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    DatabaseUnavailable: grpc.StatusCode.UNAVAILABLE,
    PickleRefused: grpc.StatusCode.PERMISSION_DENIED,
    Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ModelFailed: grpc.StatusCode.INTERNAL,
}


def grpc_status(exc: BaseException) -> grpc.StatusCode:
    """The gRPC status code for `exc`: the table entry of its nearest class, else INTERNAL."""
    return _known_status(exc) or grpc.StatusCode.INTERNAL


def _known_status(exc: BaseException) -> grpc.StatusCode | None:
    return next((_GRPC_STATUS[c] for c in type(exc).__mro__ if c in _GRPC_STATUS), None)


class InferencePlane(Protocol):
    """What the gRPC service needs from the data plane (`serving.dataplane.DataPlane` provides it)."""

    async def live(self) -> bool: ...

    async def ready(self) -> bool: ...

    async def server_metadata(self) -> ServerMetadata: ...

    async def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata: ...

    async def model_ready(self, name: str, version: str | None = None) -> bool: ...

    async def infer(
        self,
        name: str,
        request: InferRequest,
        version: str | None = None,
        *,
        call: CallContext = ...,
    ) -> InferResponse: ...


Context: TypeAlias = grpc.aio.ServicerContext
_Self = TypeVar("_Self")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


def _mapping_errors(
    method: Callable[[_Self, _Request, Context], Awaitable[_Response]],
) -> Callable[[_Self, _Request, Context], Coroutine[Any, Any, _Response]]:
    """Ends the RPC with the status of any exception the method raises."""

    @functools.wraps(method)
    async def wrapper(self: _Self, request: _Request, context: Context) -> _Response:
        try:
            return await method(self, request, context)
        except Exception as exc:
            await _abort(context, exc, method.__name__)

    return wrapper


async def _abort(context: Context, exc: Exception, method: str) -> NoReturn:
    # ServicerContext.abort() raises, ending the RPC with that status.
    status = _known_status(exc)
    if status is not None and status != grpc.StatusCode.INTERNAL:
        logger.debug("gRPC %s: %s %s", method, status.name, exc)
        if isinstance(exc, RateLimited):  # what HTTP says with Retry-After
            context.set_trailing_metadata((("retry-after", str(max(1, math.ceil(exc.retry_after)))),))
        await context.abort(status, str(exc))
    request_id = uuid.uuid4().hex[:16]
    logger.error("gRPC %s failed (request id %s)", method, request_id, exc_info=exc)
    # Only a deliberate error (ModelFailed) tells more than "internal error": its message is ours, not the cause's.
    details = "internal error" if status is None else str(exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"{details} (request id {request_id})")
    raise AssertionError("unreachable: ServicerContext.abort() raises")  # pragma: no cover


def _headers(context: Context) -> dict[str, str]:
    # Binary metadata (keys ending in -bin) carries bytes; headers are text only. Credentials stop
    # here: nothing past authentication (logs, the prediction log) may ever see them.
    return {
        key: value
        for key, value in context.invocation_metadata() or ()
        if isinstance(value, str) and key != "authorization"
    }


def _authorization(context: Context) -> str | None:
    # Several `authorization` entries are joined, which no token matches: ambiguity fails closed.
    values = [v for k, v in context.invocation_metadata() or () if k == "authorization" and isinstance(v, str)]
    return ", ".join(values) if values else None


def _peer_address(context: Context) -> str | None:
    """`ipv4:10.0.0.5:51234` → `10.0.0.5`, `ipv6:[::1]:51234` → `::1`; anything else as gRPC gives it."""
    peer: str = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rpartition(":")[0]
        return host.strip("[]") or None
    return peer or None


class InferenceServicer:
    """`inference.GRPCInferenceService`: each RPC decodes, calls the data plane and encodes."""

    def __init__(
        self,
        plane: InferencePlane,
        authenticator: Authenticator | None = None,
        *,
        rate_limits: RateLimits | None = None,
        drain: Drain | None = None,
    ) -> None:
        self._plane = plane
        self._authenticator = authenticator
        self._limits = rate_limits
        self._drain = drain

    async def _authorize(self, context: Context, action: Action, model: str | None, method: str) -> Principal | None:
        """The `authorization` metadata must allow `action` (on `model`): the same check as REST's,
        and a refusal is audited the same way. Returns the caller (None when auth is off)."""
        if self._authenticator is None:
            return None
        source, what = _peer_address(context), f"gRPC {method}"
        principal = await self._authenticator.authenticate(_authorization(context), source=source, what=what)
        try:
            authorize(principal, action, model)
        except Forbidden as exc:
            self._authenticator.note_denied(principal, exc, source=source, what=what)
            raise
        return principal

    @_mapping_errors
    async def ServerLive(self, request: pb.ServerLiveRequest, context: Context) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=await self._plane.live())

    @_mapping_errors
    async def ServerReady(self, request: pb.ServerReadyRequest, context: Context) -> pb.ServerReadyResponse:
        if self._drain is not None and self._drain.draining:  # SIGTERM came: load balancers, look elsewhere
            return pb.ServerReadyResponse(ready=False)
        return pb.ServerReadyResponse(ready=await self._plane.ready())

    @_mapping_errors
    async def ModelReady(self, request: pb.ModelReadyRequest, context: Context) -> pb.ModelReadyResponse:
        await self._authorize(context, Action.MODEL_READ, request.name, "ModelReady")
        ready = await self._plane.model_ready(request.name, request.version or None)
        return pb.ModelReadyResponse(ready=ready)

    @_mapping_errors
    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Context) -> pb.ServerMetadataResponse:
        await self._authorize(context, Action.SERVER_READ, None, "ServerMetadata")
        return encode_server_metadata(await self._plane.server_metadata())

    @_mapping_errors
    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Context) -> pb.ModelMetadataResponse:
        await self._authorize(context, Action.MODEL_READ, request.name, "ModelMetadata")
        return encode_model_metadata(await self._plane.model_metadata(request.name, request.version or None))

    @_mapping_errors
    async def ModelInfer(self, request: pb.ModelInferRequest, context: Context) -> pb.ModelInferResponse:
        caller = await self._authorize(context, Action.MODEL_INFER, request.model_name, "ModelInfer")
        if self._limits is not None:  # after authorization, like HTTP: a refused caller costs nothing
            await self._limits.charge(caller_key(caller, _peer_address(context)), request.model_name)
        decoded = decode_infer_request(request)
        version = request.model_version or None
        call = CallContext("grpc", None if caller is None else caller.subject, _headers(context))
        response = await self._plane.infer(request.model_name, decoded, version, call=call)
        return encode_infer_response(response, typed=uses_typed_contents(request))


class _DeadlineInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type hints
    """Ends a ModelInfer still running after `seconds` with DEADLINE_EXCEEDED (a client's shorter deadline still wins).

    The model call runs in a worker thread that cannot be interrupted: it finishes in the background
    and its result is dropped.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or not details.method.endswith("/ModelInfer"):
            return handler
        inner, seconds = handler.unary_unary, self.seconds

        async def limited(request: Any, context: Context) -> Any:
            timeout = asyncio.timeout(seconds)
            try:
                async with timeout:
                    return await inner(request, context)
            except TimeoutError:
                if not timeout.expired():
                    raise
                logger.warning("gRPC ModelInfer timed out after %g s", seconds)
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"the request took longer than {seconds:g} s and was stopped "
                    "(SHIPYARD_SERVER__REQUEST_TIMEOUT_SECONDS); retry later, or send fewer rows",
                )

        return grpc.unary_unary_rpc_method_handler(
            limited,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _ClosingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type hints
    """Once the drain is over, answers every new call UNAVAILABLE (which clients retry elsewhere) right away.

    `grpc.aio`'s own stop cancels calls that had arrived but were not yet picked up (CANCELLED, which
    clients do not retry); refusing them here for a moment first leaves it next to nothing to cancel.
    """

    def __init__(self, drain: Drain) -> None:
        self.drain = drain

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or not self.drain.closing:
            return handler

        async def refuse(request: Any, context: Context) -> Any:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "this server is shutting down; retry the call")

        return grpc.unary_unary_rpc_method_handler(
            refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass(frozen=True)
class GrpcServer:
    """A started gRPC server and the port it listens on (the one picked when asked for port 0)."""

    server: grpc.aio.Server
    host: str
    port: int

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting RPCs; let those in flight finish for up to `grace` seconds (None: cancel them)."""
        await self.server.stop(grace)

    def __repr__(self) -> str:
        return f"GrpcServer(host={self.host!r}, port={self.port})"


async def start_grpc_server(
    plane: InferencePlane,
    host: str,
    port: int,
    *,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    tls: tuple[bytes, bytes] | None = None,
    reuse_port: bool = False,
    authenticator: Authenticator | None = None,
    request_timeout: float | None = None,
    rate_limits: RateLimits | None = None,
    drain: Drain | None = None,
) -> GrpcServer:
    """Serve `inference.GRPCInferenceService` over `plane` on host:port (0 picks a free port).

    A message larger than `max_message_bytes`, either way, fails with RESOURCE_EXHAUSTED. `tls` is
    (private key, certificate chain), both PEM; without it the port is plaintext. Raises
    ConfigError when the address cannot be bound (port in use, host not local). With an
    `authenticator`, every RPC but ServerLive/ServerReady needs `authorization: Bearer …` metadata
    allowing it (UNAUTHENTICATED / PERMISSION_DENIED otherwise); without one, none does. A ModelInfer
    running longer than `request_timeout` seconds ends with DEADLINE_EXCEEDED. `rate_limits` are charged
    for each ModelInfer (RESOURCE_EXHAUSTED with `retry-after` trailing metadata), and `drain` turns
    ServerReady false once SIGTERM has come.
    """
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # gRPC sets SO_REUSEPORT by default, which lets a second server bind a port in use and
        # silently share its traffic; a busy port must be an error instead.
        # `reuse_port` is for `--workers N`, where each worker process binds the same port on purpose.
        ("grpc.so_reuseport", 1 if reuse_port else 0),
    ]
    interceptors: list[grpc.aio.ServerInterceptor] = [_ClosingInterceptor(drain)] if drain is not None else []
    if request_timeout:
        interceptors.append(_DeadlineInterceptor(request_timeout))
    server = grpc.aio.server(options=options, interceptors=interceptors or None)
    # The generated grpc module has no annotations.
    servicer = InferenceServicer(plane, authenticator, rate_limits=rate_limits, drain=drain)
    add_GRPCInferenceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if tls is None:
            bound: int = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, grpc.ssl_server_credentials([tls]))
    except RuntimeError as exc:
        raise ConfigError("grpc port", f"cannot listen on {address}; is the port free and the host local?") from exc
    await server.start()
    logger.info("V2 gRPC inference service listening on %s:%d%s", host, bound, " (TLS)" if tls else "")
    return GrpcServer(server, host, bound)


__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "GrpcServer",
    "InferencePlane",
    "InferenceServicer",
    "grpc_status",
    "start_grpc_server",
]
