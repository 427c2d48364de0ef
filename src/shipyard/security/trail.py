"""What authentication must leave in the database, even while the database is down.

Two kinds of record, both idempotent so that writing one twice changes nothing:

- `{"kind": "audit", "key": …, "at": …, "actor": …, "action": …, "target": …, …}`: an audit event
  of a refused request (`auth.failed`, `auth.denied`); its key is unique in the audit table.
- `{"kind": "key.used", "key": …, "at": …, "key_ids": [...]}`: when API keys were last used;
  a later `at` never goes back to an earlier one.

`AuthTrail.write` writes them in one transaction; when that fails they go to the spill file
(`store.spill`, one fsynced JSON line each, under `$SHIPYARD_HOME/spill/`) and `replay` writes
them once the database answers again — every worker tries each second, and at start-up, so what
a worker that stopped during the outage had spilled is written by the next one to start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import or_, update

from ..store import Database, record_keyed_events
from ..store.spill import SpillFile
from ..store.tables import ApiKeyRow

logger = logging.getLogger(__name__)

Record = dict[str, Any]


def apply_records(db: Database, records: Sequence[Record]) -> None:
    """Write `records` in one transaction (blocking; run it in a thread). Idempotent."""
    with db.write() as session:
        record_keyed_events(session, (r for r in records if r.get("kind", "audit") == "audit"))
        for used in (r for r in records if r.get("kind") == "key.used"):
            at = datetime.fromisoformat(str(used["at"]))
            session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id.in_([str(k) for k in used["key_ids"]]))
                .where(or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < at))
                .values(last_used_at=at)
            )


class AuthTrail:
    """Writes authentication's records to `db`, or spills them to `spill` while it cannot."""

    def __init__(self, db: Database, spill: SpillFile | None = None) -> None:
        self._db = db
        self._spill = spill
        self._outage = False

    async def write(self, records: Sequence[Record]) -> None:
        """Write now, else spill (else, with no spill file, log what is lost). Never raises."""
        if not records:
            return
        try:
            await anyio.to_thread.run_sync(apply_records, self._db, records)
            return
        except Exception as exc:
            failure: Exception = exc
        if self._spill is None:
            logger.error("lost %d audit record(s): the database failed (%s)", len(records), failure)
            return
        try:
            await anyio.to_thread.run_sync(self._spill.append, records)
        except OSError:
            logger.exception(
                "lost %d audit record(s): the database failed (%s), and the spill file too", len(records), failure
            )
            return
        if not self._outage:
            logger.warning(
                "database unreachable (%s): audit records go to %s until it is back", failure, self._spill.folder
            )
        self._outage = True

    def due(self) -> bool:
        """True when spilled records wait: this process's, or possibly another's."""
        return self._spill is not None and (self._spill.pending > 0 or self._spill.has_orphans())

    async def replay(self) -> int:
        """Write what was spilled (here or by a process that stopped); the number of records written."""
        spill = self._spill
        if spill is None:
            return 0
        try:
            written = await anyio.to_thread.run_sync(spill.replay, lambda records: apply_records(self._db, records))
        except Exception as exc:
            logger.debug("spilled audit records wait: %s", exc)
            return 0
        if written:
            logger.warning("the database is back: wrote %d spilled audit record(s)", written)
        self._outage = False
        return written

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()

    def __repr__(self) -> str:
        return f"AuthTrail(db={self._db!r}, spill={self._spill!r})"


__all__ = ["AuthTrail", "Record", "apply_records"]
