"""A cheap, whole-registry view of what can be served: every model's aliases and ready versions.

Servers poll it (three small queries) to notice moved aliases and archived versions within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..store import Database
from ..store.tables import AliasRow, ModelVersionRow, RegisteredModel


@dataclass(frozen=True)
class ModelState:
    name: str
    aliases: dict[str, int] = field(default_factory=dict)
    ready: tuple[int, ...] = ()
    archived: tuple[int, ...] = ()

    def default_version(self) -> int | None:
        """`production` if set, else the latest ready version."""
        return self.aliases.get("production") or (self.ready[-1] if self.ready else None)


def read_snapshot(db: Database) -> dict[str, ModelState]:
    with db.read() as session:
        names = dict(session.execute(select(RegisteredModel.id, RegisteredModel.name)).all())
        aliases: dict[int, dict[str, int]] = {}
        for model_id, alias, version in session.execute(select(AliasRow.model_id, AliasRow.alias, AliasRow.version)):
            aliases.setdefault(model_id, {})[alias] = version
        ready: dict[int, list[int]] = {}
        archived: dict[int, list[int]] = {}
        for model_id, version, status in session.execute(
            select(ModelVersionRow.model_id, ModelVersionRow.version, ModelVersionRow.status).order_by(
                ModelVersionRow.version
            )
        ):
            (archived if status == "archived" else ready).setdefault(model_id, []).append(version)
    return {
        name: ModelState(name, aliases.get(mid, {}), tuple(ready.get(mid, ())), tuple(archived.get(mid, ())))
        for mid, name in names.items()
    }


__all__ = ["ModelState", "read_snapshot"]
