from __future__ import annotations

from typing import Any

import pytest

from shipyard.errors import AliasNotFound, ApprovalRequired, Conflict, ValidationFailed, VersionArchived
from shipyard.registry import Registry
from shipyard.store import list_events


def _events(registry: Registry, target: str) -> list[tuple[str, Any, Any]]:
    with registry.db.read() as session:
        return [(e.action, e.before, e.after) for e in reversed(list_events(session, target_prefix=target))]


def test_alias_moves_atomically_and_is_audited(registry: Registry, logreg: Any) -> None:
    for _ in range(3):
        registry.register(logreg, "churn")
    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 3)
    assert registry.resolve("models:/churn@production").version == 3
    assert registry.resolve("churn").version == 3
    assert registry.get_model("churn").aliases == {"production": 3}
    assert _events(registry, "churn@production") == [
        ("alias.set", None, {"version": 1}),
        ("alias.set", {"version": 1}, {"version": 3}),
    ]


def test_bare_name_means_production_else_latest(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    registry.register(logreg, "churn")
    assert registry.resolve("churn").version == 2
    registry.set_alias("churn", "production", 1)
    assert registry.resolve("churn").version == 1


def test_delete_alias(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    registry.set_alias("churn", "staging", 1)
    registry.delete_alias("churn", "staging")
    with pytest.raises(AliasNotFound):
        registry.resolve("churn@staging")
    with pytest.raises(AliasNotFound):
        registry.delete_alias("churn", "staging")
    assert [a for a, _, _ in _events(registry, "churn@staging")] == ["alias.set", "alias.delete"]


@pytest.mark.parametrize("alias", ["", "1", "latest", "has space", "a" * 80])
def test_bad_aliases_are_refused(registry: Registry, logreg: Any, alias: str) -> None:
    registry.register(logreg, "churn")
    with pytest.raises(ValidationFailed, match="alias"):
        registry.set_alias("churn", alias, 1)
    assert registry.get_model("churn").aliases == {}


def test_production_needs_approval_by_someone_else(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn", requires_approval=True, actor="alice")
    registry.set_alias("churn", "staging", 1)  # only production is gated
    with pytest.raises(ApprovalRequired):
        registry.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match="different user"):
        registry.approve("churn", 1, actor="alice")
    with pytest.raises(ApprovalRequired):
        registry.set_alias("churn", "production", 1)
    registry.approve("churn", 1, actor="bob", comment="looks good")
    registry.set_alias("churn", "production", 1, actor="alice")
    assert registry.resolve("churn@production").version == 1
    approvals = [e for e in _events(registry, "churn/1") if e[0] == "version.approve"]
    assert approvals == [("version.approve", None, {"comment": "looks good"})]


def test_archive_drops_aliases_and_blocks_use(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    registry.register(logreg, "churn")
    registry.set_alias("churn", "production", 2)
    archived = registry.archive("churn", 2)
    assert archived.archived and archived.archived_by == "alice"
    assert registry.get_model("churn").aliases == {}
    assert registry.resolve("churn").version == 1  # latest ready version
    with pytest.raises(VersionArchived):
        registry.set_alias("churn", "production", 2)
    with pytest.raises(VersionArchived):
        registry.load("churn/2")
    assert _events(registry, "churn/2")[-1] == (
        "version.archive",
        {"status": "ready", "aliases": ["production"]},
        {"status": "archived"},
    )


def test_policy_change_is_audited(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    registry.set_requires_approval("churn", True)
    assert registry.get_model("churn").requires_approval
    assert ("model.policy", {"requires_approval": False}, {"requires_approval": True}) in _events(registry, "churn")
