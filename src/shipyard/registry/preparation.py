"""Turn a model object (and its training data) into the parts of a new version.

Everything here happens before the database is touched: the model is saved by its flavor,
packed and stored as one artifact, read back to predict on a sample (that gives the output
signature and proves the saved form works), and the training data is profiled and fingerprinted.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import ArtifactStore
from ..config import RegistrySettings
from ..errors import ValidationFailed
from ..flavors import Flavor, flavor_for, get_flavor
from ..flavors.base import LoadedModel, SavedModel
from ..schema import fingerprint, infer_signature, profile_data
from ..schema.profile import OUTPUT_PREFIX, Profile
from ..types import JSONObject
from .lineage import environment, git_state
from .packing import pack_folder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedVersion:
    flavor: str
    saved: SavedModel
    digest: str
    size: int
    signature: JSONObject | None
    profile_digest: str | None
    lineage: JSONObject


def _head(data: Any, rows: int) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[:rows]
    return np.asarray(data)[:rows] if not isinstance(data, dict) else {k: v[:rows] for k, v in data.items()}


def sample_outputs(model: LoadedModel, sample: Any) -> dict[str, Any]:
    outputs = {"predict": np.asarray(model.predict(sample))}
    predict_proba = getattr(model, "predict_proba", None)
    if callable(predict_proba):
        outputs["predict_proba"] = np.asarray(predict_proba(sample))
    return outputs


def _predict_sample(model: LoadedModel, sample: Any) -> dict[str, Any]:
    try:
        return sample_outputs(model, sample)
    except Exception as exc:  # each framework fails in its own way on data that does not fit the model
        problem = f"the model cannot predict on its first rows ({type(exc).__name__}: {exc})"
        raise ValidationFailed([("data", f"{problem}; send the data it was trained on, without the target")]) from exc


def _reference_outputs(model: LoadedModel, data: Any, rows: int) -> dict[str, Any] | None:
    # The reference of prediction drift: the saved model's outputs on a seeded random sample of the
    # training rows (as many as a numeric profile keeps). Drift is optional, so a failure only logs.
    try:
        count = len(data) if not isinstance(data, dict) else len(next(iter(data.values())))
        chosen = np.sort(np.random.default_rng(0).choice(count, size=min(rows, count), replace=False))
        if hasattr(data, "iloc"):
            picked: Any = data.iloc[chosen]
        elif isinstance(data, dict):
            picked = {k: np.asarray(v)[chosen] for k, v in data.items()}
        else:
            picked = np.asarray(data)[chosen]
        return sample_outputs(model, picked)
    except Exception:
        logger.warning("no prediction-drift reference: the model failed on a sample of its data", exc_info=True)
        return None


def _with_outputs(profile: Profile, outputs: dict[str, Any], sample_size: int) -> Profile:
    """`profile` plus a feature per output (`output:predict`; `output:predict_proba[0]`, … per column)."""
    columns: dict[str, Any] = {}
    for name, values in outputs.items():
        array = np.asarray(values)
        if array.ndim == 1:
            columns[f"{OUTPUT_PREFIX}{name}"] = array
        elif array.ndim == 2 and array.shape[1] <= 64:
            columns.update({f"{OUTPUT_PREFIX}{name}[{j}]": array[:, j] for j in range(array.shape[1])})
    if not columns:
        return profile
    described = profile_data(columns, sample_size=sample_size)
    return Profile(rows=profile.rows, features={**profile.features, **described.features})


def choose_flavor(model: object, name: str | None) -> Flavor:
    return get_flavor(name) if name else flavor_for(model)


def prepare_version(
    model: object,
    *,
    flavor: Flavor,
    artifacts: ArtifactStore,
    settings: RegistrySettings,
    actor: str,
    data: Any = None,
    target: Any = None,
    signature: JSONObject | None = None,
    derived_from: JSONObject | None = None,
) -> PreparedVersion:
    with tempfile.TemporaryDirectory(prefix="shipyard-register-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        saved = flavor.save(model, folder)
        archive = pack_folder(folder, Path(tmp) / "model.tar")
        digest = artifacts.put_file(archive)
        size = archive.stat().st_size
        outputs: dict[str, Any] | None = None
        if data is not None and signature is None:
            # Predict with the model as it was saved, not the live object: it proves the saved form loads.
            loaded = flavor.load(folder, saved, allow_pickle=True)
            sample = _head(data, settings.signature_sample_rows)
            signature = infer_signature(data, _predict_sample(loaded, sample)).to_dict()
            outputs = _reference_outputs(loaded, data, settings.profile_sample_size)
    profile_digest = None
    lineage: JSONObject = {
        "registered_by": actor,
        "git": git_state(),
        "environment": environment(saved.requirements),
        "derived_from": derived_from,
        "data": None,
    }
    if data is not None:
        profile = profile_data(data, sample_size=settings.profile_sample_size)
        if outputs:
            profile = _with_outputs(profile, outputs, settings.profile_sample_size)
        profile_digest = artifacts.put_bytes(profile.to_bytes())
        fp = fingerprint(data, target=target)
        lineage["data"] = {
            "sha256": fp.sha256,
            "rows": fp.rows,
            "columns": fp.columns,
            "column_names": list(fp.column_names),
            "has_target": target is not None,
        }
    return PreparedVersion(flavor.name, saved, digest, size, signature, profile_digest, lineage)


__all__ = ["PreparedVersion", "choose_flavor", "prepare_version", "sample_outputs"]
