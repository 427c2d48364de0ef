"""Every error Shipyard raises on purpose.

    ShipyardError
    ├── ConfigError (ValueError)            a setting is missing or malformed
    ├── MissingDependency (ImportError)     an optional extra is not installed
    ├── NotFound (LookupError)
    │   ├── ModelNotFound
    │   ├── VersionNotFound
    │   ├── AliasNotFound
    │   ├── ArtifactNotFound
    │   ├── KeyNotFound
    │   ├── DriftRunNotFound
    │   ├── NoDriftData                   no logged rows in a drift window
    │   ├── BatchJobNotFound
    │   ├── DeploymentNotFound
    │   ├── RetrainPolicyNotFound
    │   ├── RetrainRunNotFound
    │   └── AlertRuleNotFound
    ├── ValidationFailed (ValueError)       caller input does not fit (names the field)
    ├── UnsupportedModel (TypeError)        no flavor can save this object
    ├── Conflict (RuntimeError)             the request clashes with current state
    │   ├── ApprovalRequired
    │   ├── VersionArchived
    │   ├── NoReferenceProfile            drift needs a version registered with data
    │   └── RetrainRunInProgress         runs never overlap for one model
    ├── RequestTooLarge (ValueError)        a body or message over the configured limit
    ├── ArtifactIntegrityError (RuntimeError) stored bytes do not match their sha256
    │   └── ArtifactDecryptionError         an encrypted artifact: other key, no key, or altered
    ├── NotReady (RuntimeError)             a model cannot serve yet (loading, draining); retry
    ├── DatabaseUnavailable (RuntimeError)  the metadata database cannot be reached (503); retry
    ├── ModelFailed (RuntimeError)          the model raised while predicting (cause chained)
    ├── BatchFailed (RuntimeError)          a batch job stopped on a chunk (cause chained); resumable
    ├── RetrainFailed (RuntimeError)        a step of a retraining run failed (names the step)
    ├── Unauthorized (PermissionError)      no valid credentials (401)
    ├── Forbidden (PermissionError)         credentials whose role or scope does not allow it (403)
    ├── RateLimited (RuntimeError)          too many requests for a key or deployment (429)
    └── PickleRefused (PermissionError)     a pickle-based artifact outside the registry

Transports (HTTP, gRPC, CLI) map these to status codes in one table each; the domain never
knows about them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class ShipyardError(Exception):
    """Base class for every error Shipyard raises on purpose."""


class ConfigError(ShipyardError, ValueError):
    """A setting is missing or malformed. The message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting, self.problem = setting, problem


class MissingDependency(ShipyardError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, package: str | None = None) -> None:
        pkg = package or extra
        super().__init__(f"The {feature} needs {pkg}. Install it with: pip install 'shipyard[{extra}]'")
        self.feature, self.extra = feature, extra


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates closest to `name`, for "did you mean" hints in messages."""
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.4)


def _hint(suggestions: Sequence[str]) -> str:
    return f" Closest: {', '.join(suggestions)}." if suggestions else ""


class NotFound(ShipyardError, LookupError):
    """Something the caller named does not exist."""


class ModelNotFound(NotFound):
    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(
            f"Model {name!r} is not registered.{_hint(suggestions)} "
            "Run `shipyard models list` to see registered models."
        )
        self.name, self.suggestions = name, list(suggestions)


class VersionNotFound(NotFound):
    def __init__(self, name: str, version: int | str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(
            f"Model {name!r} has no version {version}.{_hint(suggestions)} "
            f"Run `shipyard models show {name}` to see its versions."
        )
        self.name, self.version, self.suggestions = name, version, list(suggestions)


class AliasNotFound(NotFound):
    def __init__(self, name: str, alias: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(
            f"Model {name!r} has no alias {alias!r}.{_hint(suggestions)} "
            f"Set one with `shipyard models alias set {name} {alias} VERSION`."
        )
        self.name, self.alias, self.suggestions = name, alias, list(suggestions)


class ArtifactNotFound(NotFound):
    def __init__(self, digest: str, where: str) -> None:
        super().__init__(
            f"Artifact {digest} is missing from {where}. The artifact store may have been changed by hand."
        )
        self.digest = digest


class KeyNotFound(NotFound):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id!r} does not exist. Run `shipyard keys list --all` to see the keys.")
        self.key_id = key_id


class DeploymentNotFound(NotFound):
    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(
            f"Deployment {name!r} does not exist.{_hint(suggestions)} "
            "Run `shipyard deploy list` to see deployments, or create it with `shipyard deploy create`."
        )
        self.name, self.suggestions = name, list(suggestions)


class RetrainPolicyNotFound(NotFound):
    def __init__(self, model: str) -> None:
        super().__init__(
            f"Model {model!r} has no retraining policy. Set one with `shipyard retrain policy set {model} "
            "--file policy.yaml` (see docs/retraining.md)."
        )
        self.model = model


class RetrainRunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"Retraining run {run_id!r} does not exist. Run `shipyard retrain list` to see the runs.")
        self.run_id = run_id


class AlertRuleNotFound(NotFound):
    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(
            f"Alert rule {name!r} does not exist.{_hint(suggestions)} "
            "Run `shipyard alerts rules list` to see the rules."
        )
        self.name, self.suggestions = name, list(suggestions)


class DriftRunNotFound(NotFound):
    def __init__(self, model: str, run_id: int | None = None) -> None:
        what = f"drift run {run_id} of model {model!r}" if run_id is not None else f"drift run of model {model!r}"
        super().__init__(
            f"There is no {what}. Run `shipyard drift {model} --since 1h` (or POST /api/v1/drift/{model}) to make one."
        )
        self.model, self.run_id = model, run_id


class NoDriftData(NotFound):
    """The window of the prediction log holds no rows to measure drift on."""

    def __init__(self, model: str, window: str, version: int | None = None) -> None:
        which = f"model {model!r}" if version is None else f"model {model!r} version {version}"
        super().__init__(
            f"No logged predictions of {which} {window}: nothing to measure drift on. Send traffic, "
            "widen the window (--since 1d), or check the prediction log is on (monitoring.log_mode)."
        )
        self.model, self.version = model, version


class ValidationFailed(ShipyardError, ValueError):
    """Caller input does not fit. `problems` lists each one as (field, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        text = "; ".join(f"{field}: {msg}" if field else msg for field, msg in self.problems)
        super().__init__(text or "invalid input")


class UnsupportedModel(ShipyardError, TypeError):
    def __init__(self, obj_type: str, supported: Sequence[str], hint: str | None = None) -> None:
        super().__init__(
            f"No flavor can save an object of type {obj_type}. Supported: {', '.join(supported)}. "
            + (hint or "Wrap it in a class with a `predict(X)` method to register it as a python model.")
        )
        self.obj_type, self.supported = obj_type, list(supported)


class Conflict(ShipyardError, RuntimeError):
    """The request is well-formed but clashes with the current state."""


class ApprovalRequired(Conflict):
    def __init__(self, name: str, version: int, alias: str) -> None:
        super().__init__(
            f"Model {name!r} requires approval before {alias!r} can point at version {version}. "
            f"Ask a different user to run `shipyard models approve {name}/{version}`."
        )
        self.name, self.version, self.alias = name, version, alias


class VersionArchived(Conflict):
    def __init__(self, name: str, version: int) -> None:
        super().__init__(f"Model {name!r} version {version} is archived; it can no longer be aliased or served.")
        self.name, self.version = name, version


class NoReferenceProfile(Conflict):
    """A version registered without training data has no reference profile to measure drift against."""

    def __init__(self, model: str, version: int) -> None:
        super().__init__(
            f"Model {model!r} version {version} has no reference profile: it was registered without data. "
            f"Register a version with its training data (`shipyard.register(model, name={model!r}, data=X)`) "
            "to measure drift."
        )
        self.model, self.version = model, version


class ArtifactIntegrityError(ShipyardError, RuntimeError):
    def __init__(self, digest: str, actual: str, where: str) -> None:
        super().__init__(
            f"Artifact {digest} at {where} does not match its sha256 (found {actual}); refusing to use it. "
            "It was changed or corrupted after registration: register the model again."
        )
        self.digest, self.actual, self.where = digest, actual, where


class ArtifactDecryptionError(ArtifactIntegrityError):
    """An encrypted artifact cannot be decrypted: stored with another key (or none), or altered.

    `stored_key_id` / `configured_key_id` name the keys involved (None: not encrypted / no key set).
    `actual` is empty: nothing was decrypted to hash.
    """

    def __init__(
        self,
        digest: str,
        where: str,
        problem: str,
        *,
        stored_key_id: str | None = None,
        configured_key_id: str | None = None,
    ) -> None:
        # Not ArtifactIntegrityError.__init__: its message speaks of a sha256 that was never computed.
        ShipyardError.__init__(self, f"Artifact {digest} at {where} cannot be decrypted: {problem}")
        self.digest, self.actual, self.where, self.problem = digest, "", where, problem
        self.stored_key_id, self.configured_key_id = stored_key_id, configured_key_id


class NotReady(ShipyardError, RuntimeError):
    """A model cannot serve right now (still loading, unloading, draining); the caller may retry."""

    def __init__(self, name: str, reason: str = "it is still loading") -> None:
        super().__init__(f"Model {name!r} is not ready to serve: {reason}. Retry in a moment.")
        self.name, self.reason = name, reason


class DatabaseUnavailable(ShipyardError, RuntimeError):
    """The metadata database cannot be reached (HTTP 503): loaded models keep serving, changes must wait."""

    def __init__(self, dialect: str, reason: str) -> None:
        super().__init__(
            f"The metadata database ({dialect}) cannot be reached: {reason}. Models already loaded keep "
            "serving; retry this request once the database is back."
        )
        self.dialect, self.reason = dialect, reason


class ModelFailed(ShipyardError, RuntimeError):
    """The model raised while predicting. The cause is chained and logged, never sent to the caller."""

    def __init__(self, name: str, version: int | str | None = None) -> None:
        ref = repr(name) if version is None else f"{name!r} version {version}"
        super().__init__(f"Model {ref} failed while predicting. The server log has the details.")
        self.name, self.version = name, version

    def __str__(self) -> str:
        # The data plane chains what the model raised (`raise ModelFailed(...) from exc`). Running out
        # of memory is the one cause a caller can act on, so it is named; nothing of the cause's text is.
        if isinstance(self.__cause__, MemoryError):
            ref = repr(self.name) if self.version is None else f"{self.name!r} version {self.version}"
            return (
                f"Model {ref} ran out of memory while predicting: the worker's memory limit "
                "(SHIPYARD_SERVER__WORKER_MEMORY_MB) or the machine's memory was reached. "
                "Send fewer rows per request, or raise the limit."
            )
        return super().__str__()


class RequestTooLarge(ShipyardError, ValueError):
    """A request body or message is over the configured limit."""

    def __init__(self, size: int | None, limit: int, hint: str | None = None) -> None:
        got = f"{size:,} bytes" if size is not None else "The body"
        advice = hint or "send fewer rows per request or raise SHIPYARD_SERVER__MAX_BODY_BYTES."
        super().__init__(f"{got} is over the limit of {limit:,} bytes; {advice}")
        self.size, self.limit = size, limit


class Unauthorized(ShipyardError, PermissionError):
    """No valid credentials: missing, malformed, unknown, expired or revoked (HTTP 401)."""

    def __init__(self, reason: str = "missing credentials") -> None:
        super().__init__(f"Not authenticated: {reason}. Send `Authorization: Bearer <api key or token>`.")
        self.reason = reason


class Forbidden(ShipyardError, PermissionError):
    """Valid credentials whose roles or scope do not allow the action (HTTP 403)."""

    def __init__(self, subject: str, action: str, model: str | None = None) -> None:
        on = f" on {model!r}" if model else ""
        super().__init__(
            f"{subject} may not {action}{on}. Ask an admin for a key with a role that allows it (see docs/security.md)."
        )
        self.subject, self.action, self.model = subject, action, model


class RateLimited(ShipyardError, RuntimeError):
    """Too many requests for a key or deployment (HTTP 429 with Retry-After)."""

    def __init__(self, who: str, retry_after: float) -> None:
        super().__init__(f"Rate limit exceeded for {who}; retry after {retry_after:.1f} s.")
        self.who, self.retry_after = who, retry_after


class RetrainRunInProgress(Conflict):
    """A retraining run of this model is already going on: runs never overlap for one model."""

    def __init__(self, model: str, run_id: str | None) -> None:
        which = f" (run {run_id})" if run_id else ""
        super().__init__(
            f"A retraining run of {model!r} is already in progress{which}; wait for it to finish "
            f"(`shipyard retrain show {run_id or model}`) and start again."
        )
        self.model, self.run_id = model, run_id


class RetrainFailed(ShipyardError, RuntimeError):
    """A step of a retraining run failed (the data window, the trainer, the evaluation or the rollout)."""

    def __init__(self, step: str, problem: str) -> None:
        super().__init__(f"{step}: {problem}")
        self.step, self.problem = step, problem


class PickleRefused(ShipyardError, PermissionError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is pickle-based; pickles are loaded only from the registry after an authenticated "
            "registration. Register it with `shipyard models register` first."
        )


class BatchJobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"Batch job {job_id} does not exist. Run `shipyard batch list` to see the jobs.")
        self.job_id = job_id


class BatchFailed(ShipyardError, RuntimeError):
    """A batch job stopped: the model raised on a chunk, or the output cannot be written (cause chained)."""

    def __init__(self, job_id: int | None, reason: str) -> None:
        job = f"Batch job {job_id}" if job_id is not None else "The batch job"
        super().__init__(f"{job} failed: {reason}. Fix the cause, then continue it with `--resume`.")
        self.job_id, self.reason = job_id, reason


__all__ = [
    "AlertRuleNotFound",
    "BatchFailed",
    "BatchJobNotFound",
    "AliasNotFound",
    "ApprovalRequired",
    "ArtifactDecryptionError",
    "ArtifactIntegrityError",
    "ArtifactNotFound",
    "ConfigError",
    "Conflict",
    "DatabaseUnavailable",
    "DeploymentNotFound",
    "DriftRunNotFound",
    "MissingDependency",
    "ModelFailed",
    "ModelNotFound",
    "NoDriftData",
    "NoReferenceProfile",
    "NotFound",
    "NotReady",
    "Forbidden",
    "KeyNotFound",
    "PickleRefused",
    "RateLimited",
    "Unauthorized",
    "RequestTooLarge",
    "RetrainFailed",
    "RetrainPolicyNotFound",
    "RetrainRunInProgress",
    "RetrainRunNotFound",
    "ShipyardError",
    "UnsupportedModel",
    "ValidationFailed",
    "VersionArchived",
    "VersionNotFound",
    "closest",
]
