"""docs/security.md cannot drift: its tables are checked against the code that enforces them."""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.security.http_auth import required_action
from shipyard.security.permissions import Role, permission_table

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
            requirement = required_action(method, concrete.replace("{id}", "0123456789ab"))
            if action is None:
                assert requirement is None, request
            else:
                assert requirement is not None and requirement.action is not None, request
                assert (requirement.action.value, requirement.model) == (action, model), request
