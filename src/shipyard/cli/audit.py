"""`shipyard audit`: the audit trail of registry changes."""

from __future__ import annotations

import typer

from ..registry import open_registry
from ..store import list_events
from ._output import print_json, short_time, table


def audit(
    target: str | None = typer.Option(None, "--target", help="Only events whose target starts with this, e.g. churn"),
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. alias.set"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts instead of a table."),
) -> None:
    """Who changed what and when, newest first."""
    with open_registry().db.read() as session:
        events = list_events(session, target_prefix=target, action=action, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    table(
        "audit",
        ["at", "actor", "action", "target", "before", "after"],
        [(short_time(e.at), e.actor, e.action, e.target, e.before or "", e.after or "") for e in events],
    )


__all__ = ["audit"]
