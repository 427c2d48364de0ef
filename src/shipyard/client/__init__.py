"""The Python client of a running Shipyard server: V2 REST with binary tensors under the hood.

>>> import shipyard
>>> with shipyard.Client("http://127.0.0.1:8080") as client:
...     labels = client.predict("churn", X_test)                               # Series, X_test's index
...     proba = client.predict("churn", X_test, output="predict_proba", version=3)
"""

from __future__ import annotations

from ._client import Client
from ._result import InferResult

__all__ = ["Client", "InferResult"]
