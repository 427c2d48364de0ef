"""Python modules generated from `grpc_predict_v2.proto`; regenerate with `scripts/generate_grpc.sh`."""
