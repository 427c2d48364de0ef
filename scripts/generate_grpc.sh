#!/usr/bin/env bash
# Regenerate the Python modules of the V2 gRPC proto (src/shipyard/serving/proto/).
#
#   scripts/generate_grpc.sh            # rewrite the committed modules in place
#   scripts/generate_grpc.sh OUT_DIR    # write them to OUT_DIR instead (the CI check does this)
#
# PYTHON picks the interpreter (default: .venv/bin/python); it needs grpcio-tools at the
# version in requirements.lock, since the generated code pins the protobuf and grpcio versions.
#
# Two edits follow protoc, both checked to apply exactly once:
# - _pb2_grpc.py imports _pb2 relatively, as modules of the shipyard.serving.proto package;
# - _pb2.py registers its messages in a private descriptor pool instead of protobuf's
#   default one. KServe, MLServer and tritonclient all define `inference.ModelInferRequest`
#   and friends in the default pool, and protobuf refuses a second definition of the same
#   symbol ("duplicate symbol 'inference.ServerLiveRequest'"), so without this a process
#   could not import Shipyard and tritonclient together. The wire format is unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_DIR="$ROOT/src/shipyard/serving/proto"
OUT_DIR="${1:-$PROTO_DIR}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"

mkdir -p "$OUT_DIR"
cd "$PROTO_DIR"
"$PYTHON" -m grpc_tools.protoc -I. \
    --python_out="$OUT_DIR" --pyi_out="$OUT_DIR" --grpc_python_out="$OUT_DIR" \
    grpc_predict_v2.proto

"$PYTHON" - "$OUT_DIR" <<'PY'
import pathlib
import sys

out = pathlib.Path(sys.argv[1])


def rewrite(name: str, old: str, new: str) -> None:
    path = out / name
    text = path.read_text()
    if text.count(old) != 1:
        sys.exit(f"generate_grpc.sh: expected {old!r} once in {name}; protoc's output changed, update this script")
    path.write_text(text.replace(old, new))


rewrite(
    "grpc_predict_v2_pb2_grpc.py",
    "import grpc_predict_v2_pb2 as grpc__predict__v2__pb2",
    "from . import grpc_predict_v2_pb2 as grpc__predict__v2__pb2",
)
rewrite(
    "grpc_predict_v2_pb2.py",
    "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(",
    "# Shipyard: a private pool, so that tritonclient/KServe/MLServer's copies of these messages can coexist\n"
    "# in one process (see scripts/generate_grpc.sh).\n"
    "_POOL = _descriptor_pool.DescriptorPool()\n"
    "DESCRIPTOR = _POOL.AddSerializedFile(",
)
PY
