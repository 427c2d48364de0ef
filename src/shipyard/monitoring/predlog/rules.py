"""Per-model redaction settings in the database: which input fields are dropped or hashed.

Every worker re-reads them every `monitoring.log_settings_refresh_seconds` (the `PredictionLog`
does it), so a change applies to new log entries within about that; entries already logged are
not rewritten. Each change writes an audit event.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from ...errors import ValidationFailed
from ...store import Database
from ...store.audit import record_event
from ...store.tables.feedback import LogSettingsRow
from .layout import check_model_name
from .redaction import Redaction

_MAX_FIELDS = 1000


def load_rules(db: Database) -> dict[str, Redaction]:
    """Every model's rule (models without one are logged as they are)."""
    with db.read() as session:
        rows = session.scalars(select(LogSettingsRow)).all()
        return {r.model: Redaction.of(r.drop_fields, r.hash_fields) for r in rows}


def get_redaction(db: Database, model: str) -> Redaction:
    check_model_name(model)
    with db.read() as session:
        row = session.get(LogSettingsRow, model)
        return Redaction.of(row.drop_fields, row.hash_fields) if row else Redaction()


def set_redaction(
    db: Database,
    model: str,
    *,
    drop: Iterable[str] = (),
    hash: Iterable[str] = (),
    actor: str,
) -> Redaction:
    """Replace `model`'s rule: `drop` fields are left out of the log, `hash` fields logged as a salted
    sha256. Both empty: log every field again. Raises `ValidationFailed` naming a bad field name."""
    check_model_name(model)
    rule = Redaction.of(_names("drop", drop), _names("hash", hash))
    both = rule.drop & rule.hash
    if both:
        raise ValidationFailed([("hash", f"{sorted(both)} are also dropped; a field is either dropped or hashed")])
    with db.write() as session:
        row = session.get(LogSettingsRow, model)
        before = Redaction.of(row.drop_fields, row.hash_fields).to_dict() if row else None
        if row is None:
            row = LogSettingsRow(model=model, updated_by=actor)
            session.add(row)
        row.drop_fields, row.hash_fields, row.updated_by = sorted(rule.drop), sorted(rule.hash), actor
        record_event(
            session, actor=actor, action="log.redaction", target=f"model:{model}", before=before, after=rule.to_dict()
        )
    return rule


def _names(field: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        values = [values]
    names = list(values)
    if len(names) > _MAX_FIELDS:
        raise ValidationFailed([(field, f"{len(names)} fields is more than the limit of {_MAX_FIELDS}")])
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip() or len(name) > 256 or "\x00" in name:
            raise ValidationFailed([(f"{field}[{i}]", f"{name!r} is not a field name")])
    return [n.strip() for n in names]


def load_salt(configured: str | None, home: Path) -> bytes:
    """The hashing salt: the configured one, else a random one created once in `<home>/log-salt`."""
    if configured:
        return configured.encode("utf-8")
    path = home / "log-salt"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: a worker starting at the same moment sees no file or the
    # whole salt, never an empty one, and only one salt ever wins.
    temp = home / f".log-salt.{secrets.token_hex(4)}"
    temp.write_bytes(secrets.token_hex(32).encode())
    os.chmod(temp, 0o600)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return path.read_bytes().strip()


__all__ = ["get_redaction", "load_rules", "load_salt", "set_redaction"]
