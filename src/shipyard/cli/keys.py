"""`shipyard keys …`: create, list and revoke API keys, directly in the metadata database."""

from __future__ import annotations

import typer

from ..config import load_settings
from ..security.keys import ApiKeyInfo, KeyService, parse_expiry
from ..store import open_database
from ._output import console, err_console, print_json, short_time, table

app = typer.Typer(help="Create, list and revoke API keys (shown once, stored only as hashes).", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")
_COLUMNS = ["id", "name", "roles", "scope", "status", "expires", "created", "last used"]


def _service() -> tuple[KeyService, str]:
    settings = load_settings()
    return KeyService(open_database(settings.resolved_db_url)), settings.actor


def _row(key: ApiKeyInfo) -> tuple[str, ...]:
    return (
        key.id,
        key.name,
        ", ".join(r.value for r in key.roles),
        ", ".join(key.scope) if key.scope is not None else "all",
        key.status(),
        short_time(key.expires_at) or "never",
        f"{short_time(key.created_at)} by {key.created_by}",
        short_time(key.last_used_at) or "-",
    )


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", "-n", help="Who or what uses the key, e.g. churn-app."),
    role: list[str] = typer.Option(..., "--role", "-r", help="admin, deployer, predictor or viewer; repeatable."),
    scope: list[str] | None = typer.Option(
        None, "--scope", "-s", help="Limit inference and metadata to this model or deployment; repeatable."
    ),
    expires: str | None = typer.Option(None, "--expires", "-e", help="30d, 12h, 2w or a date such as 2026-12-31."),
    description: str | None = typer.Option(None, "--description", "-d"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    service, actor = _service()
    info, plaintext = service.create(
        name,
        role,
        scope or None,
        parse_expiry(expires) if expires else None,
        actor=actor,
        description=description,
        source="cli",
    )
    err_console.print(
        "[bold yellow]Store this key now: it is shown only once and cannot be recovered.[/]", highlight=False
    )
    if as_json:
        print_json({**info.to_dict(), "key": plaintext})
        return
    table(f"key {info.id}", ["field", "value"], zip(_COLUMNS, _row(info), strict=True))
    console.print(plaintext, highlight=False, soft_wrap=True)


@app.command("list")
def list_keys(
    include_revoked: bool = typer.Option(False, "--all", "-a", help="Include revoked keys."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Keys and their roles, scope, expiry and last use. Never a secret."""
    service, _ = _service()
    keys = service.list(include_revoked=include_revoked)
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    table("API keys", _COLUMNS, map(_row, keys))


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (the part after sy_), from `shipyard keys list`."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke a key for good; every server refuses it within 2 seconds."""
    service, actor = _service()
    info = service.revoke(key_id.removeprefix("sy_").split("_", 1)[0], actor=actor, source="cli")
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"Revoked key {info.id} ({info.name}); every server refuses it within 2 seconds.", highlight=False)


__all__ = ["app"]
