from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shipyard.errors import ValidationFailed
from shipyard.serving.datatypes import (
    DATATYPES,
    check_datatype,
    element_size,
    numpy_dtype,
    v2_datatype,
    wire_dtype,
)

FIXED = {
    "BOOL": (np.bool_, 1),
    "UINT8": (np.uint8, 1),
    "UINT16": (np.uint16, 2),
    "UINT32": (np.uint32, 4),
    "UINT64": (np.uint64, 8),
    "INT8": (np.int8, 1),
    "INT16": (np.int16, 2),
    "INT32": (np.int32, 4),
    "INT64": (np.int64, 8),
    "FP16": (np.float16, 2),
    "FP32": (np.float32, 4),
    "FP64": (np.float64, 8),
}


def test_the_protocol_datatypes_are_all_known() -> None:
    assert set(DATATYPES) == {*FIXED, "BYTES"}


@pytest.mark.parametrize("datatype", sorted(FIXED))
def test_fixed_size_datatypes_round_trip(datatype: str) -> None:
    scalar, size = FIXED[datatype]
    assert numpy_dtype(datatype) == np.dtype(scalar)
    assert v2_datatype(numpy_dtype(datatype)) == datatype
    assert v2_datatype(scalar) == datatype
    assert element_size(datatype) == size
    assert wire_dtype(datatype).byteorder in "<|="
    assert wire_dtype(datatype).newbyteorder("<") == wire_dtype(datatype)


def test_bytes_is_an_object_array_of_variable_size() -> None:
    assert numpy_dtype("BYTES") == np.dtype(object)
    assert element_size("BYTES") is None
    with pytest.raises(ValidationFailed, match="BYTES has no fixed-size binary form"):
        wire_dtype("BYTES")


@pytest.mark.parametrize("dtype", [np.dtype(object), np.dtype("S5"), np.dtype("U3"), np.dtype(str), np.dtype(bytes)])
def test_strings_and_objects_are_bytes(dtype: np.dtype[Any]) -> None:
    assert v2_datatype(dtype) == "BYTES"


def test_big_endian_dtypes_map_like_native_ones() -> None:
    assert v2_datatype(np.dtype(">f4")) == "FP32"
    assert v2_datatype(np.dtype(">i8")) == "INT64"


@pytest.mark.parametrize("dtype", [np.complex64, np.dtype("M8[s]"), np.dtype("V4")])
def test_dtypes_without_a_datatype_are_refused(dtype: np.dtype[Any]) -> None:
    with pytest.raises(ValidationFailed, match="has no V2 datatype") as info:
        v2_datatype(dtype)
    assert info.value.problems[0][0] == "dtype"


@pytest.mark.parametrize("name", ["fp32", "FLOAT32", "", "STRING"])
def test_unknown_datatype_lists_the_valid_ones(name: str) -> None:
    for call in (numpy_dtype, wire_dtype, element_size):
        with pytest.raises(ValidationFailed) as info:
            call(name, "inputs[0].datatype")
        field, message = info.value.problems[0]
        assert field == "inputs[0].datatype"
        assert f"unknown datatype {name!r}" in message
        assert "BOOL, UINT8" in message and "BYTES" in message


def test_unknown_datatype_suggests_the_closest() -> None:
    with pytest.raises(ValidationFailed, match="Did you mean FP32"):
        numpy_dtype("fp32")


def test_check_datatype_names_the_tensor() -> None:
    assert check_datatype("INT8") == "INT8"
    with pytest.raises(ValidationFailed) as info:
        check_datatype(3, "inputs[1].datatype", "input 'x'")
    assert info.value.problems == [
        ("inputs[1].datatype", f"input 'x': unknown datatype 3; expected one of {', '.join(DATATYPES)}.")
    ]
    with pytest.raises(ValidationFailed, match="input 'x': no datatype given"):
        check_datatype(None, "inputs[1].datatype", "input 'x'")


def test_non_string_names_are_refused_not_crashed() -> None:
    with pytest.raises(ValidationFailed):
        numpy_dtype(["FP32"])  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        wire_dtype({})  # type: ignore[arg-type]
