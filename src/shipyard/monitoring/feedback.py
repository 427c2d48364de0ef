"""Ground-truth feedback: labels for logged predictions, validated and stored (upserted) in the DB.

    items = parse_feedback([{"request_id": "9f…", "label": 1}, {"request_id": "a1…", "label": 0, "row": 2}])
    result = store_feedback(db, items, actor="key:abc")      # FeedbackResult(stored=2, replaced=0)

A label is stored for (model, request id, row); a second label for the same row replaces the first
and is counted. Nothing is joined here: quality joins labels with the prediction log when asked
(`feedback_join`), so labels may arrive in any order and long after the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..store import Database
from ..store.tables.feedback import FeedbackRow
from ..store.tables.registry import RegisteredModel
from .predlog.layout import check_model_name

Label = str | int | float | bool
_MAX_ID = 128
_MAX_LABEL_TEXT = 1000
_CHUNK = 500


@dataclass(frozen=True)
class FeedbackItem:
    request_id: str
    label: Label
    row: int = 0
    model: str | None = None


@dataclass(frozen=True)
class FeedbackResult:
    stored: int
    """Labels written (new or replacing)."""
    replaced: int
    """Of those, how many replaced an earlier label for the same row (including repeats in one request)."""

    def to_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "replaced": self.replaced}


def parse_feedback(raw: Any, *, max_items: int = 10_000, model: str | None = None) -> list[FeedbackItem]:
    """Check a list of `{"request_id", "label", "row"?, "model"?}` items; `ValidationFailed` names every bad
    item (`items[3].label: …`). `model` applies to items that do not name one."""
    if not isinstance(raw, list):
        raise ValidationFailed([("items", f"must be a list of feedback items, got {type(raw).__name__}")])
    if not raw:
        raise ValidationFailed([("items", "is empty: send at least one {request_id, label}")])
    if len(raw) > max_items:
        raise ValidationFailed([("items", f"{len(raw)} items is more than the limit of {max_items} per request")])
    if model is not None:
        check_model_name(model)
    items, problems = [], []
    for i, entry in enumerate(raw):
        try:
            items.append(_item(entry, model))
        except ValidationFailed as exc:
            problems += [(f"items[{i}].{field}" if field else f"items[{i}]", msg) for field, msg in exc.problems]
        if len(problems) >= 20:
            break
    if problems:
        raise ValidationFailed(problems)
    return items


def _item(entry: Any, default_model: str | None) -> FeedbackItem:
    if not isinstance(entry, Mapping):
        raise ValidationFailed([("", f"must be an object with request_id and label, got {type(entry).__name__}")])
    unknown = set(entry) - {"request_id", "label", "row", "model"}
    problems = [(str(k), "unknown field (expected request_id, label, row, model)") for k in sorted(map(str, unknown))]
    request_id = entry.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > _MAX_ID or "\x00" in request_id:
        problems.append(
            ("request_id", f"must be the request's id (text of 1–{_MAX_ID} characters), got {request_id!r}")
        )
    if "label" not in entry:
        problems.append(("label", "is missing"))
    else:
        problem = _label_problem(entry["label"])
        if problem:
            problems.append(("label", problem))
    row = entry.get("row", 0)
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < 2**31:
        problems.append(("row", f"must be a row number ≥ 0 within the request, got {row!r}"))
    model = entry.get("model", default_model)
    if model is not None and not (isinstance(model, str) and _is_name(model)):
        problems.append(("model", f"{model!r} is not a model name"))
    if problems:
        raise ValidationFailed(problems)
    return FeedbackItem(request_id.strip(), entry["label"], row, model)  # type: ignore[union-attr]  # checked above


def _label_problem(label: Any) -> str | None:
    if label is None:
        return "is null; send the true class or value"
    if isinstance(label, bool | int):
        return None if isinstance(label, bool) or abs(label) < 2**63 else "is too large an integer"
    if isinstance(label, float):
        return None if math.isfinite(label) else f"{label} is not a label (NaN or infinite)"
    if isinstance(label, str):
        if len(label) > _MAX_LABEL_TEXT or "\x00" in label:
            return f"text labels are at most {_MAX_LABEL_TEXT} characters, without NUL"
        return None
    return f"must be a class (text, integer, bool) or a number, got {type(label).__name__}"


def _is_name(model: str) -> bool:
    try:
        check_model_name(model)
    except ValidationFailed:
        return False
    return True


ModelFinder = Callable[[Sequence[str]], Mapping[str, str]]
"""Request ids → the model that answered them (looked up in the prediction log)."""


def resolve_models(items: list[FeedbackItem], finder: ModelFinder | None) -> list[FeedbackItem]:
    """Fill in the model of items that do not name one, from the prediction log; `ValidationFailed`
    naming the items whose request id is not there."""
    missing = [item.request_id for item in items if item.model is None]
    if not missing:
        return items
    found = finder(sorted(set(missing))) if finder is not None else {}
    problems = []
    resolved = []
    for i, item in enumerate(items):
        if item.model is None:
            model = found.get(item.request_id)
            if model is None:
                problems.append(
                    (
                        f"items[{i}].request_id",
                        f"{item.request_id!r} is not in the recent prediction log (not logged yet, or older); "
                        "send its model as `model`",
                    )
                )
                continue
            item = FeedbackItem(item.request_id, item.label, item.row, model)
        resolved.append(item)
    if problems:
        raise ValidationFailed(problems[:20])
    return resolved


def check_models_exist(db: Database, models: Iterable[str]) -> None:
    wanted = set(models)
    with db.read() as session:
        known = set(session.scalars(select(RegisteredModel.name).where(RegisteredModel.name.in_(wanted))))
    unknown = sorted(wanted - known)
    if unknown:
        raise ValidationFailed([("model", f"{unknown[0]!r} is not a registered model")])


def store_feedback(db: Database, items: list[FeedbackItem], *, actor: str) -> FeedbackResult:
    """Upsert every item (each must have its model); a label for a row already labelled replaces it."""
    if any(item.model is None for item in items):
        raise ValidationFailed([("model", "every item needs its model before it is stored")])
    latest: dict[tuple[str, str, int], Label] = {}
    for item in items:
        latest[(item.model or "", item.request_id, item.row)] = item.label
    repeats = len(items) - len(latest)
    keys = list(latest)
    with db.write() as session:
        existing = _existing(session, keys)
        for start in range(0, len(keys), _CHUNK):
            _upsert(session, [(k, latest[k]) for k in keys[start : start + _CHUNK]], actor)
    return FeedbackResult(stored=len(latest), replaced=repeats + len(existing))


def _existing(session: Session, keys: list[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    found: set[tuple[str, str, int]] = set()
    columns = tuple_(FeedbackRow.model, FeedbackRow.request_id, FeedbackRow.row)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        query = select(FeedbackRow.model, FeedbackRow.request_id, FeedbackRow.row).where(columns.in_(chunk))
        found.update((m, r, w) for m, r, w in session.execute(query))
    return found


def _upsert(session: Session, rows: list[tuple[tuple[str, str, int], Label]], actor: str) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    from ..store.tables.base import utcnow

    now = utcnow()
    values = [
        {"model": m, "request_id": r, "row": w, "label": label, "received_at": now, "revisions": 1, "sent_by": actor}
        for (m, r, w), label in rows
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FeedbackRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["model", "request_id", "row"],
        set_={
            "label": statement.excluded.label,
            "received_at": statement.excluded.received_at,
            "sent_by": statement.excluded.sent_by,
            "revisions": FeedbackRow.revisions + 1,
        },
    )
    session.execute(statement)


def labels_since(db: Database, model: str, since: datetime) -> list[tuple[str, int, Any, datetime]]:
    """(request id, row, label, received at) of every label for `model` received since `since`."""
    with db.read() as session:
        query = select(FeedbackRow.request_id, FeedbackRow.row, FeedbackRow.label, FeedbackRow.received_at).where(
            FeedbackRow.model == model, FeedbackRow.received_at >= since
        )
        return [(r, w, label, at) for r, w, label, at in session.execute(query)]


__all__ = [
    "FeedbackItem",
    "FeedbackResult",
    "ModelFinder",
    "check_models_exist",
    "labels_since",
    "parse_feedback",
    "resolve_models",
    "store_feedback",
]
