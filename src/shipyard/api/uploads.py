"""`POST /models/{name}/versions`: register an uploaded model file (`shipyard models register` and
`import-mlflow` over HTTP). The body streams to a temporary folder under a size limit; the rest
runs in a worker thread. Requires `registry.write`, which is what lets pickle files in (DESIGN rule 2)."""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Request

from ..errors import RequestTooLarge, ValidationFailed
from .deps import CAN_WRITE, ActorDep, RegistryDep
from .errors import error_responses
from .multipart import FormLimits, read_form
from .params import NamePath
from .registration import FILE_FIELDS, TEXT_FIELDS, parse_registration_form, register_upload
from .schemas import ModelVersionOut

router = APIRouter(tags=["models"])

_JSON_OBJECT_TEXT = {"type": "string", "description": 'A JSON object, e.g. {"max_depth": 6}.'}
_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The saved model: .skops, .pkl/.joblib (pickle), xgboost .ubj/.json, lightgbm .txt, "
            ".onnx, TorchScript .pt/.pth, torch.export .pt2; or an MLflow model folder as .zip/.tar/.tar.gz.",
        },
        "flavor": {"type": "string", "description": "Force a flavor instead of detecting it."},
        "params": _JSON_OBJECT_TEXT,
        "metrics": {"type": "string", "description": 'A JSON object of finite numbers, e.g. {"auc": 0.91}.'},
        "tags": _JSON_OBJECT_TEXT,
        "description": {"type": "string"},
        "requires_approval": {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]},
        "data": {"type": "string", "format": "binary", "description": "Training data (.csv or .parquet)."},
        "target": {"type": "string", "description": "The column of `data` that is the label (left out)."},
    },
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}}}
}


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


@router.post(
    "/models/{name}/versions",
    status_code=201,
    dependencies=[CAN_WRITE],
    responses=error_responses(409, 413),
    openapi_extra=UPLOAD_BODY,
)
async def register_version(name: NamePath, request: Request, registry: RegistryDep, actor: ActorDep) -> ModelVersionOut:
    """Register an uploaded model file as the next version of `name` (multipart/form-data).

    Pickle files (.pkl/.joblib) are accepted: this route needs the `registry.write` role, and an
    authenticated registration by such a role is the one place pickles may come in (DESIGN rule 2).
    """
    limit: int = request.app.state.max_upload_bytes
    hint = "upload a smaller file, or raise the management API's max_upload_bytes."
    size = _content_length(request)
    if size is not None and size > limit:
        raise RequestTooLarge(size, limit, hint)
    workdir = Path(await anyio.to_thread.run_sync(partial(tempfile.mkdtemp, prefix="shipyard-upload-")))
    try:
        form = await read_form(
            request.stream(),
            request.headers.get("content-type"),
            workdir,
            FormLimits(max_bytes=limit),
            file_fields=FILE_FIELDS,
            text_fields=TEXT_FIELDS,
            too_large_hint=hint,
        )
        if "file" not in form.files:
            raise ValidationFailed([("file", "is required: the saved model, as a file part of the form")])
        fields = parse_registration_form(form.fields)
        register = partial(
            register_upload,
            registry,
            name,
            fields,
            form.files["file"],
            form.files.get("data"),
            actor=actor,
            workdir=workdir,
            max_unpacked_bytes=4 * limit,
        )
        version = await anyio.to_thread.run_sync(register)
    finally:
        # Removing a large upload (and an unpacked archive) takes a while: not on the event loop.
        await anyio.to_thread.run_sync(partial(shutil.rmtree, workdir, ignore_errors=True))
    return ModelVersionOut.model_validate(version.to_dict())


__all__ = ["UPLOAD_BODY", "router"]
