"""An uploaded model file (and training data) becomes a registered version: what `shipyard models
register PATH` and `shipyard models import-mlflow DIR` do, for files that arrived over HTTP.

Pickle-based files (.pkl/.joblib) are read here, which runs code from the file. DESIGN rule 2
allows that only for an authenticated registration by a role allowed to register: the upload
route requires the `registry.write` action, exactly as calling `register(model)` in Python would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ValidationFailed
from ..registry import ModelVersion, Registry
from ..registry.files import read_model_file, read_table, split_target
from ..registry.importer import import_mlflow_model
from .archive import is_archive, unpack_mlflow_archive
from .multipart import UploadedFile

FILE_FIELDS = ("file", "data")
TEXT_FIELDS = ("flavor", "params", "metrics", "tags", "description", "requires_approval", "target")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_NOT_FOR_MLFLOW = ("flavor", "params", "metrics", "description", "requires_approval", "target")


@dataclass(frozen=True)
class RegistrationForm:
    """The text fields of an upload, parsed; None where a field was not sent (or sent empty)."""

    flavor: str | None = None
    params: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    description: str | None = None
    requires_approval: bool | None = None
    target: str | None = None


def _json_object(text: str, field: str) -> dict[str, Any]:
    def refuse(constant: str) -> Any:
        raise ValidationFailed([(field, f"{constant} is not JSON; send finite numbers")])

    try:
        value = json.loads(text, parse_constant=refuse)
    except ValidationFailed:
        raise
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ValidationFailed([(field, f"is not valid JSON ({exc})")]) from exc
    if not isinstance(value, dict):
        raise ValidationFailed([(field, f'must be a JSON object such as {{"key": 1}}, not {type(value).__name__}')])
    return value


def _boolean(text: str, field: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValidationFailed([(field, f"{text[:40]!r} is not true or false")])


def parse_registration_form(fields: Mapping[str, str]) -> RegistrationForm:
    """Every text field checked; one `ValidationFailed` lists all the problems."""
    given = {k: v for k, v in fields.items() if v.strip()}
    parsed: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for field, text in given.items():
        try:
            if field in ("params", "metrics", "tags"):
                parsed[field] = _json_object(text, field)
            elif field == "requires_approval":
                parsed[field] = _boolean(text, field)
            else:
                parsed[field] = text.strip() if field in ("flavor", "target") else text
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return RegistrationForm(**parsed)


def _about_upload(exc: ValidationFailed, upload: UploadedFile, field: str) -> ValidationFailed:
    # Messages from the file readers name the CLI's "path" and our temporary file: name the form field
    # and the file as the client sent it instead.
    return ValidationFailed(
        [
            (
                field if name in ("path", "data") else name,
                text.replace(str(upload.path), upload.filename).replace(upload.path.name, upload.filename),
            )
            for name, text in exc.problems
        ]
    )


def _read_data(form: RegistrationForm, data: UploadedFile | None) -> tuple[Any, Any]:
    if data is None:
        if form.target is not None:
            raise ValidationFailed([("target", "names a column of the training data: send that file as `data`")])
        return None, None
    try:
        frame = read_table(data.path, "data")
    except ValidationFailed as exc:
        raise _about_upload(exc, data, "data") from exc
    return split_target(frame, form.target)


def _import_mlflow(
    registry: Registry,
    name: str,
    form: RegistrationForm,
    upload: UploadedFile,
    data: UploadedFile | None,
    *,
    actor: str,
    workdir: Path,
    max_unpacked_bytes: int,
) -> ModelVersion:
    extra = [
        f for f in _NOT_FOR_MLFLOW if getattr(form, f) is not None and not (f == "flavor" and form.flavor == "mlflow")
    ]
    extra += ["data"] if data is not None else []
    if extra:
        raise ValidationFailed(
            [(f, "is not used when importing an MLflow model archive (only tags are)") for f in extra]
        )
    folder = workdir / "mlflow"
    folder.mkdir()
    model_dir = unpack_mlflow_archive(upload.path, folder, max_bytes=max_unpacked_bytes)
    return import_mlflow_model(registry, model_dir, name, tags=form.tags, actor=actor)


def register_upload(
    registry: Registry,
    name: str,
    form: RegistrationForm,
    upload: UploadedFile,
    data: UploadedFile | None,
    *,
    actor: str,
    workdir: Path,
    max_unpacked_bytes: int,
) -> ModelVersion:
    """Register the uploaded model file as the next version of `name`, recorded as `actor`.

    A .zip/.tar/.tar.gz/.tgz upload is an MLflow model folder, imported as `import-mlflow` does.
    Blocking (reads files, may unpickle, predicts on the data): call it from a worker thread.
    """
    if is_archive(upload.filename):
        return _import_mlflow(
            registry, name, form, upload, data, actor=actor, workdir=workdir, max_unpacked_bytes=max_unpacked_bytes
        )
    frame, labels = _read_data(form, data)  # before the model: reading that may be slow, or unpickle
    try:
        model, flavor = read_model_file(upload.path, form.flavor)
    except ValidationFailed as exc:
        raise _about_upload(exc, upload, "file") from exc
    return registry.register(
        model,
        name,
        flavor=flavor,
        data=frame,
        target=labels,
        params=form.params,
        metrics=form.metrics,
        tags=form.tags,
        description=form.description,
        requires_approval=form.requires_approval,
        actor=actor,
    )


__all__ = ["FILE_FIELDS", "TEXT_FIELDS", "RegistrationForm", "parse_registration_form", "register_upload"]
