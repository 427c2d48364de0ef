"""Request and response bodies of the V2 binary tensor data extension, client side.

The raw tensor encoding is the server's own (`serving.codec_binary`), so both ends agree byte for
byte; this module only lays out the JSON header around it. Every input goes as binary and every
output is asked for as binary, so numbers cross exactly (NaN included) and no JSON number
formatting sits on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ..errors import ShipyardError, ValidationFailed
from ..serving.codec_binary import HEADER_LENGTH, decode_binary_tensor, encode_binary_tensor
from ..serving.codec_json import decode_tensor_data
from ..serving.protocol import InferTensor
from ._result import InferResult


def encode_infer_request(
    tensors: Sequence[InferTensor], outputs: Sequence[str] | None = None, request_id: str | None = None
) -> tuple[bytes, int]:
    """The binary body for `tensors` and its JSON header's length (the `Inference-Header-Content-Length`).

    `outputs` names the outputs to return (None: all of them); every output comes back binary.
    """
    raws = [encode_binary_tensor(t) for t in tensors]
    header: dict[str, Any] = {
        "inputs": [
            {
                "name": t.name,
                "shape": list(t.shape),
                "datatype": t.datatype,
                "parameters": {"binary_data_size": len(raw)},
            }
            for t, raw in zip(tensors, raws, strict=True)
        ]
    }
    if request_id is not None:
        header["id"] = request_id
    if outputs is None:
        header["parameters"] = {"binary_data_output": True}
    else:
        header["outputs"] = [{"name": name, "parameters": {"binary_data": True}} for name in outputs]
    head = orjson.dumps(header)
    return b"".join([head, *raws]), len(head)


def decode_infer_response(body: bytes, header_length: str | None, source: str) -> InferResult:
    """The InferResult in a response `body` (binary when `header_length` is set, else plain JSON).

    `source` (the server's URL) names where a malformed response came from.
    """
    try:
        return _decode(body, header_length)
    except (ValidationFailed, ValueError, TypeError, KeyError) as exc:
        raise ShipyardError(
            f"The server at {source} sent an inference response this client cannot read ({exc}). "
            "Is it a V2 inference server?"
        ) from exc


def _decode(body: bytes, header_length: str | None) -> InferResult:
    size = len(body) if header_length is None else int(header_length)
    if not 0 < size <= len(body):
        raise ValueError(f"{HEADER_LENGTH} is {size}, but the body has {len(body)} bytes")
    view = memoryview(body)
    header = orjson.loads(view[:size])
    if not isinstance(header, dict) or not isinstance(header.get("outputs"), list):
        raise ValueError("no 'outputs' list in the response")
    offset, outputs = size, {}
    for item in header["outputs"]:
        name, datatype, shape = item["name"], item["datatype"], tuple(item["shape"])
        label = f"output {name!r}"
        raw_size = (item.get("parameters") or {}).get("binary_data_size")
        if raw_size is None:
            outputs[name] = decode_tensor_data(item["data"], datatype, shape, field=f"outputs.{name}", label=label)
            continue
        if offset + raw_size > len(body):
            raise ValueError(f"{label} claims {raw_size} bytes, but only {len(body) - offset} remain")
        raw = view[offset : offset + raw_size]
        offset += raw_size
        outputs[name] = decode_binary_tensor(raw, datatype, shape, field=f"outputs.{name}", label=label)
    return InferResult(
        model_name=header.get("model_name", ""),
        model_version=header.get("model_version"),
        outputs=outputs,
        id=header.get("id"),
        parameters=header.get("parameters") or {},
    )


__all__ = ["HEADER_LENGTH", "decode_infer_response", "encode_infer_request"]
