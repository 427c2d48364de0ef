from __future__ import annotations

from types import ModuleType

import shipyard.security


def test_public_api_is_exactly_this() -> None:
    names = vars(shipyard.security).items()
    # `annotations` is the `from __future__ import annotations` feature flag, not an export.
    public = {n for n, v in names if not n.startswith("_") and not isinstance(v, ModuleType)} - {"annotations"}
    assert sorted(shipyard.security.__all__) == sorted(public)
