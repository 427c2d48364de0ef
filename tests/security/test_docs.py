"""docs/security.md cannot drift: its tables are checked against the code that enforces them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route

from shipyard.config import Settings
from shipyard.security.http_auth import required_action
from shipyard.security.permissions import Role, permission_table
from shipyard.server import build_app

DOC = Path(__file__).parents[2] / "docs" / "security.md"


def _block(name: str) -> list[str]:
    text = DOC.read_text()
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"docs/security.md lost its {name} markers"
    return [line for line in match[1].splitlines() if line.startswith("|")][2:]


def render_permission_table() -> str:
    roles = [r.value for r in Role]
    lines = ["| action | " + " | ".join(roles) + " |", "|---|" + "---|" * len(roles)]
    for action, grants in permission_table():
        lines.append(f"| `{action}` | " + " | ".join("✓" if grants[r] else "—" for r in roles) + " |")
    return "\n".join(lines) + "\n"


def test_the_documented_permission_table_is_the_enforced_one() -> None:
    documented = DOC.read_text().split("<!-- permission-table:start -->\n")[1].split("<!-- permission-table")[0]
    assert documented == render_permission_table(), "paste this into docs/security.md:\n" + render_permission_table()


def test_every_documented_endpoint_needs_the_documented_action() -> None:
    rows = _block("endpoint-table")
    assert len(rows) > 10
    for row in rows:
        requests, needs = (cell.strip() for cell in row.strip("|").split("|"))
        action = None if needs == "public" else re.match(r"`([a-z.]+)`", needs)[1]  # type: ignore[index]
        model = "m" if "on `{m}`" in needs else None
        for request in re.findall(r"`([A-Z]+ [^`]+)`", requests):
            method, path = request.split(" ", 1)
            concrete = path.replace("{m}", "m").replace("{v}", "1").replace("{d}", "d").replace("{a}", "a")
            concrete = re.sub(r"\{[^}]+\}", "x1", concrete.replace("{id}", "0123456789ab"))
            requirement = required_action(method, concrete)
            if action is None:
                assert requirement is None, request
            else:
                assert requirement is not None and requirement.action is not None, request
                assert (requirement.action.value, requirement.model) == (action, model), request


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, mounted apps included; a FastAPI app's own routes from its OpenAPI
    document (how FastAPI itself enumerates them, whichever way its version nests included routers)."""
    for route in routes:
        if isinstance(route, Mount):
            if isinstance(route.app, FastAPI):
                for path, operations in route.app.openapi()["paths"].items():
                    yield from ((method.upper(), prefix + route.path + path) for method in operations)
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield from ((m, prefix + route.path) for m in route.methods or () if m != "HEAD")  # HEAD: with GET


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)  # `{name}` in the app is `{m}` in the doc


def test_the_endpoint_table_lists_exactly_the_real_routes(tmp_path: Path) -> None:
    app = build_app(Settings(home=tmp_path / "home", user="alice"))
    real = {(method, _shape(path)) for method, path in _walk(app.routes)}
    assert len(real) > 60 and ("POST", "/api/v1/deployments/{}/canary") in real  # the walk reached the API
    documented: set[tuple[str, str]] = set()
    for row in _block("endpoint-table"):
        for request in re.findall(r"`([A-Z]+ [^`]+)`", row.strip("|").split("|")[0]):
            method, path = request.split(" ", 1)
            documented.add((method, _shape(path)))
    assert sorted(real - documented) == [], "routes missing from docs/security.md's endpoint table"
    assert sorted(documented - real) == [], "rows of docs/security.md's endpoint table that are no route"
    # And every real route has a rule of its own: public, or an action (not just "any valid credentials").
    unruled = [(m, p) for m, p in real if (r := required_action(m, p.replace("{}", "x1"))) and r.action is None]
    assert unruled == []
