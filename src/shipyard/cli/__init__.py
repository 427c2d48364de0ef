"""The `shipyard` command. Each sub-command is a thin adapter over a domain service."""

from __future__ import annotations

import logging
import sys

import typer

from ..errors import ShipyardError
from . import audit, keys, models, serve
from ._output import fail

app = typer.Typer(
    name="shipyard",
    help="Take trained models to production and keep them healthy there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.add_typer(keys.app, name="keys")
app.command("audit")(audit.audit)
app.command("serve")(serve.serve)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point: run the app; turn errors into one line on stderr and exit code 1 (tracebacks with --debug)."""
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="shipyard")
    except ShipyardError as exc:
        if debug:
            raise
        fail(str(exc))
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(1)


__all__ = ["app", "main"]
