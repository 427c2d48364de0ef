"""What the client puts on the wire, read back by the server's own decoder (an echo server on a MockTransport)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard.errors import ShipyardError, ValidationFailed
from shipyard.serving.codec_binary import (
    HEADER_LENGTH,
    binary_output_names,
    decode_binary_request,
    encode_infer_response_binary,
)
from shipyard.serving.codec_json import encode_infer_response
from shipyard.serving.datatypes import v2_datatype
from shipyard.serving.protocol import InferRequest, InferResponse, InferTensor


def echo(request: httpx.Request, *, binary: bool = True) -> httpx.Response:
    """A V2 server whose outputs are its inputs (datatype, shape and values as it decoded them)."""
    decoded: InferRequest = decode_binary_request(request.read(), int(request.headers[HEADER_LENGTH]))
    outputs = [InferTensor(t.name, t.datatype, t.shape, t.data) for t in decoded.inputs]
    response = InferResponse("echo", outputs, model_version="7", id=decoded.id)
    if not binary:
        return httpx.Response(200, content=encode_infer_response(response))
    body, length = encode_infer_response_binary(response, binary_output_names(decoded, response))
    return httpx.Response(200, content=body, headers={HEADER_LENGTH: str(length)})


@pytest.fixture
def client() -> Iterator[shipyard.Client]:
    with shipyard.Client("http://echo.test", transport=httpx.MockTransport(echo)) as client:
        yield client


def round_trip(client: shipyard.Client, values: Any) -> tuple[str, np.ndarray[Any, Any]]:
    """The datatype the server decoded `values` as, and the values it decoded."""
    got = client.infer("echo", {"x": values}).outputs["x"]
    return v2_datatype(got.dtype), got


@pytest.mark.parametrize(
    ("values", "datatype", "expected"),
    [
        (np.array([[1.5, np.nan], [np.inf, -0.0]]), "FP64", None),
        (np.array([1.5, 2.5], dtype=np.float32), "FP32", None),
        (np.array([1, -2], dtype=np.int32), "INT32", None),
        (np.array([[1, 2]], dtype=">i8"), "INT64", np.array([[1, 2]])),  # big-endian in, native out
        (np.array([0, 255], dtype=np.uint8), "UINT8", None),
        (np.array([True, False]), "BOOL", None),
        (np.array(["héllo", ""]), "BYTES", np.array(["héllo".encode(), b""], dtype=object)),
        (np.array([b"\x00\xff"], dtype=object), "BYTES", None),
        (np.array(["2024-01-02T03:04"], dtype="datetime64[m]"), "BYTES", np.array([b"2024-01-02T03:04"], dtype=object)),
        (np.array([1, None, 2.5], dtype=object), "FP64", np.array([1.0, np.nan, 2.5])),
        (np.array([3, 4], dtype=object), "INT64", np.array([3, 4])),
        ([[1, 2], [3, 4]], "INT64", np.array([[1, 2], [3, 4]])),
        ([[1, 2.5]], "FP64", np.array([[1.0, 2.5]])),
    ],
)
def test_every_datatype_crosses_exactly(
    client: shipyard.Client, values: Any, datatype: str, expected: np.ndarray[Any, Any] | None
) -> None:
    got_type, got = round_trip(client, values)
    assert got_type == datatype
    np.testing.assert_array_equal(got, np.asarray(values) if expected is None else expected)


def test_dataframe_columns_by_dtype(client: shipyard.Client) -> None:
    frame = pd.DataFrame(
        {
            "f": [1.0, 2.0],
            "i": pd.array([1, None], dtype="Int64"),
            "j": pd.array([1, 2], dtype="Int64"),
            "b": [True, False],
            "s": ["a", "b"],
            "c": pd.Categorical(["x", "y"]),
            "t": pd.to_datetime(["2024-01-01 00:00", "2024-06-30 12:00"]),
            "z": pd.to_datetime(["2024-01-01 00:00", "2024-06-30 12:00"]).tz_localize("Europe/Paris"),
        },
        index=[10, 11],
    )
    result = client.infer("echo", frame)
    out = result.outputs
    assert list(out) == list(frame.columns) and result.model_version == "7"
    np.testing.assert_array_equal(out["i"], [1.0, np.nan])
    assert out["j"].dtype == np.int64 and out["b"].dtype == np.bool_ and out["f"].dtype == np.float64
    assert out["s"].tolist() == [b"a", b"b"] and out["c"].tolist() == [b"x", b"y"]
    assert pd.to_datetime([v.decode() for v in out["t"]]).equals(pd.DatetimeIndex(frame["t"]))
    assert out["z"][0].decode().startswith("2023-12-31T23:00") and out["z"][0].decode().endswith("Z")


def test_outputs_asked_for_by_name_or_all(client: shipyard.Client) -> None:
    result = client.infer("echo", {"a": [1.0], "b": [2.0]}, request_id="r-1")
    assert set(result.outputs) == {"a", "b"} and result.id == "r-1"


def test_plain_json_responses_are_read_too() -> None:
    transport = httpx.MockTransport(lambda request: echo(request, binary=False))
    with shipyard.Client("http://echo.test", transport=transport) as client:
        out = client.infer("echo", {"x": np.array([[1.5, 2.0]]), "s": np.array(["a"])}).outputs
    np.testing.assert_array_equal(out["x"], [[1.5, 2.0]])
    assert out["s"].tolist() == [b"a"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([[1, "a"]], "not text"),
        (np.array(["a", None], dtype=object), "1 of its 2 values are not text"),
        ([[1, 2], [3]], "list values"),
        (np.array([1 + 2j]), "no V2 datatype"),
        (np.float64(1.0), "single value"),
        ([2**70], "too large for INT64"),
    ],
)
def test_values_that_cannot_be_sent(client: shipyard.Client, values: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as exc:
        client.infer("echo", {"x": values})
    assert exc.value.problems[0][0] == "x"


def test_duplicate_or_missing_columns(client: shipyard.Client) -> None:
    with pytest.raises(ValidationFailed, match="more than once"):
        client.infer("echo", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(ValidationFailed, match="no columns"):
        client.infer("echo", pd.DataFrame(index=[0, 1]))


def test_a_response_that_is_not_v2_is_a_clear_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"<html>hello</html>"))
    with shipyard.Client("http://proxy.test", transport=transport) as client:
        with pytest.raises(ShipyardError, match=r"http://proxy.test sent an inference response this client cannot"):
            client.predict("m", [[1.0]])
