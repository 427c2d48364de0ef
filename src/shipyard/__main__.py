"""`python -m shipyard` is the `shipyard` command."""

from __future__ import annotations

from .cli import main

main()
