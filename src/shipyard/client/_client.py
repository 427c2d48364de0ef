"""`Client`: the Python client of a running `shipyard serve` (V2 REST, binary tensor extension)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal, overload
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd

from ..errors import ConfigError, ShipyardError
from ..serving.protocol import InferTensor
from ._inputs import Rows, input_tensors, prediction
from ._result import InferResult
from ._status import check
from ._wire import HEADER_LENGTH, decode_infer_response, encode_infer_request

Array = np.ndarray[Any, Any]
Version = int | str | None
Output = Literal["predict", "predict_proba"]


def _local_key() -> str | None:
    """The admin key a local server created at first start (`$SHIPYARD_HOME/admin.key`), if any."""
    from ..config import load_settings
    from ..security.bootstrap import read_local_key

    try:
        settings = load_settings()
    except ConfigError:
        return None
    return read_local_key(settings.home, file_name=settings.security.admin_key_file)


class Client:
    """A connection to a Shipyard inference server (or any V2 server with the binary extension).

    One `httpx.Client` is kept open and reused; close it with `close()` or a `with` block.
    `api_key` is sent as `Authorization: Bearer <key>`; without one, the admin key that a local
    `shipyard serve` created in `$SHIPYARD_HOME` is used when there is one. `transport` replaces httpx's network
    transport (tests pass one that calls the app in-process; `httpx.HTTPTransport(verify=...)`
    sets TLS options).

    >>> import shipyard
    >>> with shipyard.Client("http://127.0.0.1:8080", api_key="sk-...") as client:
    ...     client.predict("churn", X_test)          # a DataFrame in → a Series out, same index
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if "://" not in url:
            raise ConfigError("url", f"{url!r} has no scheme; use e.g. 'http://{url}'")
        self.url = url.rstrip("/")
        self.timeout = timeout
        headers = {"User-Agent": "shipyard-python-client"}
        if api_key is None:
            api_key = _local_key()
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections. The client cannot send requests afterwards."""
        self._http.close()

    # --- health and metadata -------------------------------------------------------------------

    def is_live(self) -> bool:
        """Whether the server answers at all; False (not an error) when it cannot be reached."""
        return self._health("/v2/health/live")

    def is_ready(self) -> bool:
        """Whether the server is ready to serve; False (not an error) when it cannot be reached.

        >>> while not client.is_ready():
        ...     time.sleep(0.5)
        """
        return self._health("/v2/health/ready")

    def server_metadata(self) -> dict[str, Any]:
        """The server's V2 metadata: name, version and protocol extensions."""
        return self._get_json("/v2")

    def model_metadata(self, model: str, version: Version = None) -> dict[str, Any]:
        """The V2 metadata of `model` (the version it serves, or `version`): inputs, outputs, versions.

        >>> [i["name"] for i in client.model_metadata("churn")["inputs"]]
        ['tenure', 'plan', 'monthly_fee']
        """
        return self._get_json(_model_path(model, version), model, version)

    def model_ready(self, model: str, version: Version = None) -> bool:
        """Whether `model` (or that version) can serve now; `ModelNotFound` if the server does not know it."""
        response = self._send("GET", _model_path(model, version) + "/ready")
        return response.status_code != 503 and check(response, model, version).is_success

    # --- inference -----------------------------------------------------------------------------

    @overload
    def predict(
        self, model: str, X: pd.DataFrame, *, version: Version = None, output: Literal["predict"] = "predict"
    ) -> pd.Series[Any] | pd.DataFrame: ...

    @overload
    def predict(
        self, model: str, X: pd.DataFrame, *, version: Version = None, output: Literal["predict_proba"]
    ) -> pd.DataFrame: ...

    @overload
    def predict(self, model: str, X: Rows, *, version: Version = None, output: Output = "predict") -> Array: ...

    def predict(
        self, model: str, X: pd.DataFrame | Rows, *, version: Version = None, output: Output = "predict"
    ) -> Array | pd.Series[Any] | pd.DataFrame:
        """Predictions of `model` for the rows `X`, as the model's own `predict` / `predict_proba` gives them.

        `X` is a numpy array or a list of rows (sent as one tensor, columns in the model's order), or
        a pandas DataFrame or a dict of columns (one tensor per column, matched by name; text
        columns go as BYTES). A DataFrame gets pandas back with its index: a Series of predictions,
        or for `output="predict_proba"` a DataFrame with a column per class index. Anything else
        gets a numpy array; string labels come back as `str`. `version` pins a version number or
        an alias instead of the one the server serves by default.

        >>> client.predict("churn", df.head(3))
        17    0
        18    1
        19    0
        Name: predict, dtype: int64
        >>> client.predict("iris", [[5.1, 3.5, 1.4, 0.2]], version=2)
        array(['setosa'], dtype=object)

        Raises `ModelNotFound` / `VersionNotFound`, `ValidationFailed` (the server's message names
        the bad input), `RequestTooLarge`, `ModelFailed`, `NotReady`, or `ShipyardError` when the
        server cannot be reached.
        """
        result = self._infer(model, input_tensors(X), version, [output], None)
        return prediction(result.outputs[output], X, output)

    def infer(
        self,
        model: str,
        inputs: pd.DataFrame | Rows,
        *,
        version: Version = None,
        outputs: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> InferResult:
        """One V2 inference with tensors named as you choose: the protocol without the pandas conveniences.

        `inputs` maps tensor names to arrays, or is anything `predict` takes (a DataFrame sends a
        tensor per column; one array or list of rows is sent as "input-0"). `outputs` names the
        outputs to return (default: all). Data goes and comes back as binary tensors.

        >>> result = client.infer("churn", {"input-0": X}, outputs=["predict_proba"], request_id="r-1")
        >>> result.outputs["predict_proba"].shape, result.model_version, result.id
        ((100, 2), '3', 'r-1')
        """
        return self._infer(model, input_tensors(inputs), version, outputs, request_id)

    # --- plumbing ------------------------------------------------------------------------------

    def _infer(
        self,
        model: str,
        tensors: list[InferTensor],
        version: Version,
        outputs: Sequence[str] | None,
        request_id: str | None,
    ) -> InferResult:
        body, header_length = encode_infer_request(tensors, outputs, request_id)
        headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(header_length)}
        response = self._send("POST", _model_path(model, version) + "/infer", content=body, headers=headers)
        check(response, model, version)
        return decode_infer_response(response.content, response.headers.get(HEADER_LENGTH), self.url)

    def _get_json(self, path: str, model: str | None = None, version: Version = None) -> dict[str, Any]:
        response = check(self._send("GET", path), model, version)
        body: dict[str, Any] = response.json()
        return body

    def _health(self, path: str) -> bool:
        try:
            response = self._send("GET", path)
        except ShipyardError:
            return False
        return response.status_code != 503 and check(response).is_success

    def _send(
        self, method: str, path: str, *, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            return self._http.request(method, path, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ShipyardError(
                f"Cannot reach the Shipyard server at {self.url} ({exc}). Is `shipyard serve` running there?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ShipyardError(
                f"The server at {self.url} did not answer {method} {path} within {self.timeout} s; "
                "raise Client(timeout=...) or send fewer rows per request."
            ) from exc
        except httpx.TransportError as exc:
            raise ShipyardError(f"The connection to {self.url} failed during {method} {path}: {exc}") from exc


def _model_path(model: str, version: Version) -> str:
    path = f"/v2/models/{quote(model, safe='')}"
    return path if version is None else f"{path}/versions/{quote(str(version), safe='')}"


__all__ = ["Client"]
