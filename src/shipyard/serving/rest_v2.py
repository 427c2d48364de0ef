"""V2 REST routes of the Open Inference Protocol → `DataPlane`. Each handler parses, calls, formats."""

from __future__ import annotations

import functools

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .body import BINARY_HEADER, check_content_type, http_call, read_body
from .codec_binary import decode_binary_request, encode_infer_response_binary
from .codec_json import decode_infer_request, encode_infer_response, encode_metadata
from .dataplane import DataPlane
from .protocol import InferRequest, InferResponse
from .v2_openapi import v2_openapi

_JSON = "application/json"


def _plane(request: Request) -> DataPlane:
    plane: DataPlane = request.app.state.plane
    return plane


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=_JSON)


async def live(request: Request) -> Response:
    return _json(b'{"live":true}')


async def ready(request: Request) -> Response:
    # After SIGTERM the worker drains (serving.drain): not ready, so load balancers stop sending it requests.
    drain = getattr(request.app.state, "drain", None)
    is_ready = not (drain is not None and drain.draining) and await _plane(request).ready()
    return _json(b'{"ready":true}' if is_ready else b'{"ready":false}', 200 if is_ready else 503)


async def server_metadata(request: Request) -> Response:
    return _json(encode_metadata(await _plane(request).server_metadata()))


async def model_metadata(request: Request) -> Response:
    params = request.path_params
    return _json(encode_metadata(await _plane(request).model_metadata(params["model"], params.get("version"))))


async def model_ready(request: Request) -> Response:
    params = request.path_params
    is_ready = await _plane(request).model_ready(params["model"], params.get("version"))
    body = orjson.dumps({"name": params["model"], "ready": is_ready})
    return _json(body, 200 if is_ready else 503)


async def _decode(request: Request) -> tuple[InferRequest, bool]:
    header_length = check_content_type(request)
    body = await read_body(request, request.app.state.max_body_bytes)
    if header_length is None:
        return decode_infer_request(body), False
    return decode_binary_request(body, header_length), True


def _wants_binary(infer: InferRequest) -> set[str] | bool:
    if infer.parameters.get("binary_data_output"):
        return True
    return {o.name for o in infer.outputs or () if o.binary}


def _encode(response: InferResponse, binary: set[str] | bool) -> Response:
    if not binary:
        return _json(encode_infer_response(response))
    body, header_length = encode_infer_response_binary(response, binary)
    return Response(body, media_type="application/octet-stream", headers={BINARY_HEADER: str(header_length)})


async def infer(request: Request) -> Response:
    params = request.path_params
    plane = _plane(request)
    served = await plane.served(params["model"], params.get("version"))  # 404 before any 400
    infer_request, binary = await _decode(request)
    call = http_call(request, "v2-binary" if binary else "v2")
    response = await plane.infer(params["model"], infer_request, params.get("version"), call=call, served=served)
    return _encode(response, _wants_binary(infer_request))


@functools.cache
def _openapi_body() -> bytes:
    return orjson.dumps(v2_openapi())


async def openapi_document(request: Request) -> Response:
    """The OpenAPI document of the V2 and V1 inference routes (public, like `/api/v1/openapi.json`)."""
    return _json(_openapi_body())


def v2_routes() -> list[Route]:
    return [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/docs/dataplane.json", openapi_document, methods=["GET"]),
        Route("/v2/models/{model}", model_metadata, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}", model_metadata, methods=["GET"]),
        Route("/v2/models/{model}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", infer, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}/infer", infer, methods=["POST"]),
    ]


__all__ = ["v2_routes"]
