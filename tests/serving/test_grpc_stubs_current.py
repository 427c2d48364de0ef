"""The committed gRPC modules match the proto, and the proto matches what V2 clients send."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import Descriptor
from tritonclient.grpc import service_pb2 as triton_pb2

from shipyard.serving.proto import grpc_predict_v2_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "src" / "shipyard" / "serving" / "proto"
GENERATED = ["grpc_predict_v2_pb2.py", "grpc_predict_v2_pb2.pyi", "grpc_predict_v2_pb2_grpc.py"]


def test_committed_modules_are_what_the_script_generates(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "generate_grpc.sh"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(script), str(tmp_path)], check=True, env=env, capture_output=True)
    stale = [name for name in GENERATED if (tmp_path / name).read_bytes() != (PROTO_DIR / name).read_bytes()]
    assert not stale, f"{stale} differ from the proto; run scripts/generate_grpc.sh and commit the result"


def _fields(message: Descriptor) -> list[tuple[str, int, int, bool]]:
    return [(f.name, f.number, f.type, f.is_repeated) for f in message.fields]


def _messages(message: Descriptor) -> list[Descriptor]:
    return [message, *(d for nested in message.nested_types for d in _messages(nested))]


@pytest.mark.parametrize("name", sorted(pb.DESCRIPTOR.message_types_by_name))
def test_every_message_matches_tritonclient_field_by_field(name: str) -> None:
    # tritonclient's grpc_service.proto is a superset of the V2 proto with the same field numbers.
    for ours in _messages(pb.DESCRIPTOR.message_types_by_name[name]):
        theirs = triton_pb2.DESCRIPTOR.pool.FindMessageTypeByName(ours.full_name)
        assert _fields(ours) == _fields(theirs), ours.full_name


def test_service_methods_match_tritonclient() -> None:
    ours = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    theirs = triton_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert ours.full_name == theirs.full_name == "inference.GRPCInferenceService"
    for method in ours.methods:
        twin = theirs.methods_by_name[method.name]
        assert (method.input_type.full_name, method.output_type.full_name) == (
            twin.input_type.full_name,
            twin.output_type.full_name,
        )


def test_messages_live_in_a_private_pool_so_tritonclient_can_be_imported_alongside() -> None:
    assert pb.DESCRIPTOR.pool is not triton_pb2.DESCRIPTOR.pool
