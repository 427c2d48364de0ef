"""The `shipyard` command. Each sub-command is a thin adapter over a domain service."""

from __future__ import annotations

import logging
import sys

import typer

from ..errors import ShipyardError
from . import alerts as alerts_cli
from . import audit, batch, deploy, keys, models, serve
from . import drift as drift_cli
from . import feedback as feedback_cli
from . import logs as logs_cli
from . import monitor as monitor_cli
from . import retrain as retrain_cli
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
app.add_typer(deploy.app, name="deploy")
app.add_typer(batch.app, name="batch")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(monitor_cli.app, name="monitor")
app.add_typer(retrain_cli.app, name="retrain")
app.command("audit")(audit.audit)
app.command("serve")(serve.serve)
app.command("drift")(drift_cli.drift)
app.command("logs")(logs_cli.logs)
app.command("redact")(logs_cli.redact)
app.command("feedback")(feedback_cli.feedback)
app.command("quality")(feedback_cli.quality)


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
