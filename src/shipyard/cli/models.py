"""`shipyard models …`: register, list, show, alias, approve, archive, diff, search, import-mlflow."""

from __future__ import annotations

from pathlib import Path

import typer

from ..registry import ModelVersion, Registry, diff_versions, open_registry, parse_ref
from ..registry.files import read_model_file, read_table, split_target
from ..registry.importer import import_mlflow_model
from ._output import console, print_json, short_time, table
from ._parsing import key_values, version_ref

app = typer.Typer(help="Register, inspect, promote and retire model versions.", no_args_is_help=True)
alias_app = typer.Typer(help="Move or remove aliases such as production and staging.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def _registry() -> Registry:
    return open_registry()


def _print_version(version: ModelVersion, as_json: bool) -> None:
    if as_json:
        print_json(version.to_dict())
        return
    data = version.lineage.get("data") or {}
    git = version.lineage.get("git") or {}
    rows = [
        ("uri", version.uri),
        ("status", version.status),
        ("aliases", ", ".join(version.aliases) or "-"),
        ("flavor", f"{version.flavor} ({version.saved.format}{', pickle' if version.uses_pickle else ''})"),
        ("digest", version.digest),
        ("size", f"{version.size:,} bytes"),
        ("params", version.params or "-"),
        ("metrics", version.metrics or "-"),
        ("tags", version.tags or "-"),
        (
            "data",
            f"{data.get('rows')} rows × {data.get('columns')} columns, {data.get('sha256', '')[:16]}" if data else "-",
        ),
        ("git", f"{git.get('commit', '')[:12]}{' (dirty)' if git.get('dirty') else ''}" if git else "-"),
        ("created", f"{short_time(version.created_at)} by {version.created_by}"),
    ]
    table(f"{version.name} v{version.version}", ["field", "value"], rows)
    if version.signature:
        inputs = version.signature.get("inputs") or []
        table(
            "signature inputs",
            ["name", "dtype", "nullable", "shape"],
            [(f.get("name"), f.get("dtype"), f.get("nullable"), f.get("shape")) for f in inputs if isinstance(f, dict)],
        )


@app.command("register")
def register(
    path: Path = typer.Argument(
        ...,
        help="A saved model: .skops/.pkl/.joblib, xgboost .ubj/.json, lightgbm .txt, "
        ".onnx, TorchScript .pt, torch.export .pt2, or an MLflow model folder.",
    ),
    name: str = typer.Option(..., "--name", "-n", help="Model name; the version number is assigned."),
    flavor: str | None = typer.Option(None, "--flavor", "-f", help="Force a flavor instead of detecting it."),
    data: Path | None = typer.Option(None, "--data", help="Training data (.csv/.parquet) for signature and profile."),
    target: str | None = typer.Option(None, "--target", help="Column of --data that is the label (excluded)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="KEY=VALUE, repeatable."),
    metric: list[str] | None = typer.Option(None, "--metric", "-m", help="KEY=NUMBER, repeatable."),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help="KEY=VALUE, repeatable."),
    description: str | None = typer.Option(None, "--description", "-d"),
    require_approval: bool | None = typer.Option(
        None, "--require-approval/--no-require-approval", help="Require an approval before production."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register the model saved at PATH as the next version of --name."""
    model, chosen = read_model_file(path, flavor, field="--flavor")
    frame, labels = split_target(read_table(data, "--data"), target, "--target") if data else (None, None)
    version = _registry().register(
        model,
        name,
        flavor=chosen,
        data=frame,
        target=labels,
        params=key_values(param, "--param"),
        metrics=key_values(metric, "--metric"),
        tags=key_values(tag, "--tag"),
        description=description,
        requires_approval=require_approval,
    )
    _print_version(version, as_json)


@app.command("import-mlflow")
def import_mlflow(
    path: Path = typer.Argument(..., help="An MLflow model folder (with an MLmodel file)."),
    name: str = typer.Option(..., "--name", "-n"),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help="KEY=VALUE, repeatable."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import an MLflow model directory: flavors, signature and requirements come along."""
    _print_version(import_mlflow_model(_registry(), path, name, tags=key_values(tag, "--tag")), as_json)


@app.command("list")
def list_models(as_json: bool = JSON_OPTION) -> None:
    """Every registered model with its latest version and aliases."""
    models = _registry().list_models()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    if not models:
        console.print("No models registered yet. Register one with `shipyard models register PATH --name NAME`.")
        return
    table(
        "models",
        ["name", "latest", "aliases", "approval", "created"],
        [
            (
                m.name,
                m.latest_version,
                ", ".join(f"{a}→v{v}" for a, v in m.aliases.items()) or "-",
                "required" if m.requires_approval else "-",
                f"{short_time(m.created_at)} by {m.created_by}",
            )
            for m in models
        ],
    )


@app.command("show")
def show(ref: str = typer.Argument(..., help="NAME, NAME/VERSION or NAME@ALIAS"), as_json: bool = JSON_OPTION) -> None:
    """A model with its versions, or one version in full."""
    parsed = parse_ref(ref)
    registry = _registry()
    if parsed.version is not None or parsed.alias is not None:
        _print_version(registry.resolve(parsed), as_json)
        return
    info, versions = registry.get_model(parsed.name), registry.list_versions(parsed.name)
    if as_json:
        print_json({**info.to_dict(), "versions": [v.to_dict() for v in versions]})
        return
    table(
        f"{info.name}" + (" (approval required for production)" if info.requires_approval else ""),
        ["version", "status", "aliases", "flavor", "metrics", "created"],
        [
            (
                v.version,
                v.status,
                ", ".join(v.aliases) or "-",
                v.flavor,
                ", ".join(f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}" for k, val in v.metrics.items())
                or "-",
                f"{short_time(v.created_at)} by {v.created_by}",
            )
            for v in versions
        ],
    )


@app.command("search")
def search(
    filter: str | None = typer.Option(None, "--filter", help="e.g. \"metrics.accuracy > 0.9 and tags.team = 'x'\""),
    name: str | None = typer.Option(None, "--name", "-n"),
    order_by: str | None = typer.Option(None, "--order-by", help="e.g. 'metrics.accuracy desc'"),
    include_archived: bool = typer.Option(False, "--include-archived"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Versions that match a filter on metrics, params and tags."""
    found = _registry().search_versions(name, filter=filter, order_by=order_by, include_archived=include_archived)
    if as_json:
        print_json([v.to_dict() for v in found])
        return
    table(
        "versions",
        ["uri", "status", "aliases", "metrics", "tags"],
        [(v.uri, v.status, ", ".join(v.aliases) or "-", v.metrics or "-", v.tags or "-") for v in found],
    )


@alias_app.command("set")
def alias_set(name: str, alias: str, version: int, as_json: bool = JSON_OPTION) -> None:
    """Point ALIAS of model NAME at VERSION (atomically)."""
    moved = _registry().set_alias(name, alias, version)
    print_json(moved.to_dict()) if as_json else console.print(f"{name}@{alias} → v{version}")


@alias_app.command("rm")
def alias_rm(name: str, alias: str) -> None:
    """Remove ALIAS from model NAME."""
    _registry().delete_alias(name, alias)
    console.print(f"removed {name}@{alias}")


@app.command("approve")
def approve(ref: str = typer.Argument(..., help="NAME/VERSION"), comment: str | None = typer.Option(None)) -> None:
    """Approve a version for production (by a user other than the one who registered it)."""
    name, version = version_ref(ref)
    _registry().approve(name, version, comment=comment)
    console.print(f"approved {name} v{version}")


@app.command("archive")
def archive(ref: str = typer.Argument(..., help="NAME/VERSION"), as_json: bool = JSON_OPTION) -> None:
    """Archive a version: its aliases are removed and it can no longer be aliased or served."""
    name, version = version_ref(ref)
    archived = _registry().archive(name, version)
    print_json(archived.to_dict()) if as_json else console.print(f"archived {name} v{version}")


@app.command("require-approval")
def require_approval(name: str, off: bool = typer.Option(False, "--off", help="Stop requiring approval.")) -> None:
    """Require (or stop requiring) an approval before a version of NAME becomes production."""
    _registry().set_requires_approval(name, not off)
    console.print(f"{name}: approval {'not ' if off else ''}required for production")


@app.command("diff")
def diff(
    name: str,
    v1: int,
    v2: int,
    all_rows: bool = typer.Option(False, "--all", help="Show unchanged rows too."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Params, metrics, signature and lineage of two versions side by side."""
    registry = _registry()
    rows = diff_versions(registry.get_version(name, v1), registry.get_version(name, v2))
    if as_json:
        print_json(
            [{"section": r.section, "key": r.key, "left": r.left, "right": r.right, "changed": r.changed} for r in rows]
        )
        return
    shown = [r for r in rows if all_rows or r.changed]
    table(
        f"{name}: v{v1} vs v{v2}",
        ["section", "key", f"v{v1}", f"v{v2}"],
        [(r.section, r.key, r.left, r.right) for r in shown],
    )


__all__ = ["app"]
