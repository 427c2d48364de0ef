"""A minimal OpenAPI 3 document of the inference routes: V2 REST (Open Inference Protocol), as `rest_v2`
serves them, and the V1 `:predict` routes of `rest_v1` beside them.

Served, without credentials, at `GET /v2/docs/dataplane.json` (MLServer's path for its V2 document); the
fuzz tests (tests/api/test_fuzz.py) load it from there, generate requests from it and check the answers
against it. Schemas follow the protocol's REST spec: `InferenceRequest`, `InferenceResponse`, metadata.
"""

from __future__ import annotations

import copy
from typing import Any

_PARAMETERS: dict[str, Any] = {
    "type": "object",
    # OpenAPI 3.0 has no list of types (3.1 does): anyOf, as an integer is a number too.
    "additionalProperties": {"anyOf": [{"type": t} for t in ("boolean", "integer", "number", "string")]},
}
_SHAPE: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 0}}
# In metadata, -1 marks a dimension of any size.
_METADATA_SHAPE: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": -1}}
_TENSOR_METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {"name": {"type": "string"}, "datatype": {"type": "string"}, "shape": _METADATA_SHAPE},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Live": {"type": "object", "required": ["live"], "properties": {"live": {"type": "boolean"}}},
    "Ready": {"type": "object", "required": ["ready"], "properties": {"ready": {"type": "boolean"}}},
    "ModelReady": {
        "type": "object",
        "required": ["name", "ready"],
        "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
    },
    "ServerMetadata": {
        "type": "object",
        "required": ["name", "version", "extensions"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}},
        },
    },
    "ModelMetadata": {
        "type": "object",
        "required": ["name", "platform", "inputs", "outputs"],
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": _TENSOR_METADATA},
            "outputs": {"type": "array", "items": _TENSOR_METADATA},
            "parameters": _PARAMETERS,
        },
    },
    "RequestInput": {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": _SHAPE,
            "datatype": {
                "type": "string",
                "enum": [
                    "BOOL",
                    "UINT8",
                    "UINT16",
                    "UINT32",
                    "UINT64",
                    "INT8",
                    "INT16",
                    "INT32",
                    "INT64",
                    "FP16",
                    "FP32",
                    "FP64",
                    "BYTES",
                ],
            },
            "parameters": _PARAMETERS,
            "data": {"type": "array"},
        },
    },
    "RequestOutput": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "parameters": _PARAMETERS},
    },
    "InferenceRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": _PARAMETERS,
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/RequestInput"}},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/RequestOutput"}},
        },
    },
    "ResponseOutput": {
        "type": "object",
        "required": ["name", "shape", "datatype"],
        "properties": {
            "name": {"type": "string"},
            "shape": _SHAPE,
            "datatype": {"type": "string"},
            "parameters": _PARAMETERS,
            "data": {"type": "array"},
        },
    },
    "V1PredictRequest": {
        "type": "object",
        "description": 'Either "instances" (rows: lists in signature column order, or objects of column to value) '
        'or "inputs" (the same rows, or one object of columns).',
        "properties": {
            "instances": {"type": "array", "minItems": 1},
            "inputs": {"oneOf": [{"type": "array", "minItems": 1}, {"type": "object", "minProperties": 1}]},
            "parameters": _PARAMETERS,
        },
    },
    "V1PredictResponse": {
        "type": "object",
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array"}},
    },
    "InferenceResponse": {
        "type": "object",
        "required": ["model_name", "outputs"],
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": _PARAMETERS,
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/ResponseOutput"}},
        },
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ERRORS: dict[str, Any] = {
    "400": _json("Error", "The request is malformed"),
    "401": _json("Error", "No or bad credentials"),
    "403": _json("Error", "Not allowed"),
    "404": _json("Error", "No such model or version"),
    "413": _json("Error", "Body too large"),
    "429": _json("Error", "Rate limited"),
}


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}} for n in names]


def _operations(*params: str) -> dict[str, dict[str, Any]]:
    base = "/v2/models/{model}" + ("/versions/{version}" if "version" in params else "")
    suffix = "_version" if "version" in params else ""
    return {
        base: {
            "get": {
                "operationId": f"model_metadata{suffix}",
                "parameters": _path_params(*params),
                "responses": {"200": _json("ModelMetadata", "Model metadata"), **_ERRORS},
            }
        },
        f"{base}/ready": {
            "get": {
                "operationId": f"model_ready{suffix}",
                "parameters": _path_params(*params),
                "responses": {
                    "200": _json("ModelReady", "The model is ready"),
                    "503": _json("ModelReady", "The model is not ready"),
                    **_ERRORS,
                },
            }
        },
        f"{base}/infer": {
            "post": {
                "operationId": f"infer{suffix}",
                "parameters": _path_params(*params),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}},
                },
                "responses": {
                    "200": _json("InferenceResponse", "The model's outputs"),
                    **_ERRORS,
                    "503": _json("Error", "The model cannot serve now"),
                },
            }
        },
    }


def _v1_operation(*params: str) -> dict[str, dict[str, Any]]:
    base = "/v1/models/{model}" + ("/versions/{version}" if "version" in params else "")
    suffix = "_version" if "version" in params else ""
    header = {"schema": {"type": "string"}}
    return {
        f"{base}:predict": {
            "post": {
                "operationId": f"v1_predict{suffix}",
                "parameters": _path_params(*params),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V1PredictRequest"}}},
                },
                "responses": {
                    "200": {
                        **_json("V1PredictResponse", "The model's predictions, one per row"),
                        "headers": {
                            "x-model-version": {**header, "description": "The version that answered"},
                            "x-request-id": {**header, "description": "The request's id, for feedback"},
                        },
                    },
                    **_ERRORS,
                    "503": _json("Error", "The model cannot serve now"),
                },
            }
        }
    }


_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Shipyard inference: V2 (Open Inference Protocol) and V1 :predict", "version": "2"},
    "servers": [{"url": "/"}],
    "paths": {
        "/v2/health/live": {
            "get": {"operationId": "live", "responses": {"200": _json("Live", "The server is live"), **_ERRORS}}
        },
        "/v2/health/ready": {
            "get": {
                "operationId": "ready",
                "responses": {
                    "200": _json("Ready", "Every served model is ready"),
                    "503": _json("Ready", "Not ready"),
                    **_ERRORS,
                },
            }
        },
        "/v2": {
            "get": {
                "operationId": "server_metadata",
                "responses": {"200": _json("ServerMetadata", "Server metadata"), **_ERRORS},
            }
        },
        **_operations("model"),
        **_operations("model", "version"),
        **_v1_operation("model"),
        **_v1_operation("model", "version"),
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearer": []}],
}


def v2_openapi() -> dict[str, Any]:
    """A fresh copy of the document (callers may change it)."""
    return copy.deepcopy(_DOCUMENT)


__all__ = ["v2_openapi"]
