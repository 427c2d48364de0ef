"""docs/monitoring.md lists every metric with its labels: its table is the catalog's."""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.monitoring.metrics.catalog import markdown_table

DOC = Path(__file__).parents[2] / "docs" / "monitoring.md"


def test_the_documented_metrics_are_the_exposed_ones() -> None:
    match = re.search(r"<!-- metrics-table:start -->\n(.*?)<!-- metrics-table:end -->", DOC.read_text(), re.S)
    assert match, "docs/monitoring.md lost its metrics-table markers"
    assert match[1] == markdown_table(), "paste this into docs/monitoring.md:\n" + markdown_table()
