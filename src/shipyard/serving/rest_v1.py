"""V1 `POST /v1/models/{m}:predict`: `{"instances": [...]}` or `{"inputs": ...}` → `{"predictions": [...]}`.

Rows may be lists (in signature column order) or objects (column → value); `inputs` may also be
one object of columns. The answer names the version that produced it in `x-model-version`, and
carries the request's id in `x-request-id` (for feedback).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationFailed
from .body import check_content_type, http_call, read_body
from .codec_json import load_json
from .dataplane import DataPlane
from .datatypes import v2_datatype
from .protocol import InferRequest, InferTensor


def _array(values: list[Any], field: str) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(values)
    except ValueError as exc:  # ragged rows
        raise ValidationFailed([(field, f"rows have different lengths ({exc})")]) from exc
    if array.dtype.kind in ("U", "S"):
        array = np.array([v.encode() for v in array.ravel()], dtype=object).reshape(array.shape)
    elif array.dtype.kind == "O":
        raise ValidationFailed([(field, "values must be numbers, booleans or strings of one kind per column")])
    return array


def _tensor(name: str, values: list[Any], field: str) -> InferTensor:
    array = _array(values, field)
    return InferTensor(name, v2_datatype(array.dtype), tuple(array.shape), array)


def _json_kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "an array"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "an object")


def _from_objects(rows: list[Any], field: str) -> list[InferTensor]:
    names = list(rows[0])
    problems = [
        (f"{field}[{i}]", f"is {_json_kind(r)}, but row 0 is an object: send every row as an object")
        if not isinstance(r, dict)
        else (f"{field}[{i}]", f"has keys {sorted(r)} but row 0 has {sorted(names)}")
        for i, r in enumerate(rows)
        if not isinstance(r, dict) or set(r) != set(names)
    ]
    if problems:
        raise ValidationFailed(problems[:5])
    return [_tensor(n, [r[n] for r in rows], f"{field}.{n}") for n in names]


def tensors_from_v1(body: Any) -> list[InferTensor]:
    """The V1 body as V2 input tensors: one 2-D tensor for list rows, one tensor per column otherwise."""
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise ValidationFailed([("body", 'send an object with either "instances" (a list of rows) or "inputs"')])
    field = "instances" if "instances" in body else "inputs"
    data = body[field]
    if isinstance(data, dict):  # columns
        if not data:
            raise ValidationFailed([(field, "no columns")])
        return [_tensor(n, v if isinstance(v, list) else [v], f"{field}.{n}") for n, v in data.items()]
    if not isinstance(data, list) or not data:
        raise ValidationFailed([(field, "must be a non-empty list of rows")])
    if isinstance(data[0], dict):
        return _from_objects(data, field)
    return [_tensor("instances", data if isinstance(data[0], list) else [[v] for v in data], field)]


def parameters_from_v1(body: dict[str, Any]) -> dict[str, Any]:
    """The optional top-level `parameters` object (a deployment's sticky `param:` key is read from it)."""
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ValidationFailed([("parameters", "must be an object of names to values")])
    return parameters


async def predict(request: Request) -> Response:
    if check_content_type(request) is not None:
        raise ValidationFailed([("Content-Type", "the V1 protocol takes JSON only")])
    body = load_json(await read_body(request, request.app.state.max_body_bytes), "body")
    plane: DataPlane = request.app.state.plane
    name = request.path_params["model"]
    infer_request = InferRequest(tensors_from_v1(body), parameters=parameters_from_v1(body))
    response = await plane.infer(name, infer_request, request.path_params.get("version"), call=http_call(request, "v1"))
    predictions = next((t for t in response.outputs if t.name == "predict"), response.outputs[0]).data
    if predictions.dtype.kind in ("O", "U", "S"):
        listed: Any = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in predictions.tolist()]
    else:
        listed = predictions
    return Response(
        orjson.dumps({"predictions": listed}, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
        # V1 bodies have no id field: the header carries it, so a caller can send feedback about this answer.
        headers={"x-model-version": response.model_version or "", "x-request-id": response.id or ""},
    )


def v1_routes() -> list[Route]:
    return [
        Route("/v1/models/{model}:predict", predict, methods=["POST"]),
        Route("/v1/models/{model}/versions/{version}:predict", predict, methods=["POST"]),
    ]


__all__ = ["parameters_from_v1", "tensors_from_v1", "v1_routes"]
