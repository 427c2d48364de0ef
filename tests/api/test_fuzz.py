"""Schemathesis against the served app: /api/v1 from its own OpenAPI document (`/api/v1/openapi.json`), the
V2 and V1 inference routes from theirs (`/v2/docs/dataplane.json`), each loaded from the running app.

Every generated request carries an admin key (auth is on, as `shipyard serve` runs it). Checks: no 5xx,
and every answer matches the response schema its document declares. Bounded and derandomized so a CI run
is short and repeatable; docs/security.md ("Fuzzing") has the command for a longer run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from starlette.applications import Starlette

from shipyard.config import Settings
from shipyard.registry import open_registry
from shipyard.security.bootstrap import ensure_admin_key
from shipyard.server import build_app

# Per operation. SHIPYARD_FUZZ_EXAMPLES raises it for a longer run (docs/security.md, "Fuzzing").
MAX_EXAMPLES = int(os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Generating valid multipart model uploads is impractical: that route is only checked for 5xx.
UPLOAD = ("POST", "/models/{name}/versions")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Starlette, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("fuzz") / "home"
    config = Settings(home=home, user="alice")
    registry = open_registry(config)
    admin = ensure_admin_key(registry.db, config.home, "alice")
    assert admin is not None
    iris = load_iris()
    registry.register(LogisticRegression(max_iter=500).fit(iris.data, iris.target), "iris", data=iris.data)
    registry.set_alias("iris", "production", 1)
    registry.register(LogisticRegression(max_iter=500).fit(iris.data, iris.target), "flowers", data=iris.data)
    registry.db.close()
    app = build_app(config)
    yield app, {"Authorization": f"Bearer {admin}"}
    shutdown_lifespans()


@pytest.fixture(scope="module")
def admin(served: tuple[Starlette, dict[str, str]]) -> dict[str, str]:
    return served[1]


@pytest.fixture(scope="module")
def api_schema(served: tuple[Starlette, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", served[0])


@pytest.fixture(scope="module")
def v2_schema(served: tuple[Starlette, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/v2/docs/dataplane.json", served[0])


# Path parameters of the registered model, used for half the generated cases so the fuzzer also
# reaches the handlers past their 404 (random names find no model).
# The management API run archives and re-aliases its model, so the inference routes get a model of their own.
API_PINS = {"name": "iris", "version": "1", "alias": "production"}
V2_PINS = {"model": "flowers", "version": "1"}
IRIS_ROW = {
    "inputs": [
        {"name": f"x{i}", "shape": [1], "datatype": "FP64", "data": [value]}
        for i, value in enumerate([5.1, 3.5, 1.4, 0.2])
    ]
}
INFERENCE_BODIES = {
    "/infer": [IRIS_ROW, {**IRIS_ROW, "outputs": [{"name": "predict"}]}],
    ":predict": [{"instances": [[5.1, 3.5, 1.4, 0.2]]}, {"inputs": {f"x{i}": [1.0, 2.0] for i in range(4)}}],
}


def cases(operation: Any, pins: dict[str, str], bodies: Mapping[str, list[Any]]) -> st.SearchStrategy[Any]:
    """`operation`'s cases, valid and invalid; half with `pins` as path parameters, and some POSTs with one of
    the `bodies` of the suffix their path ends with."""
    path, method = operation.path, operation.method.upper()
    mine = next((b for suffix, b in bodies.items() if method == "POST" and path.endswith(suffix)), [])

    def pin(drawn: tuple[Any, bool, Any]) -> Any:
        case, pinned, body = drawn
        if pinned:
            case.path_parameters = {
                **(case.path_parameters or {}),
                **{k: v for k, v in pins.items() if k in (case.path_parameters or {})},
            }
            if body is not None:
                case.body = body
        return case

    return st.tuples(
        st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)),
        st.booleans(),
        st.sampled_from([None, *mine]),
    ).map(pin)


def fuzz(schema: Any, check: Callable[[Any], None], pins: dict[str, str], bodies: Mapping[str, list[Any]]) -> None:
    """Run `check` on up to MAX_EXAMPLES generated cases of every operation of `schema`."""
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=cases(operation, pins, bodies))
        def run(case: Any) -> None:
            check(case)

        run()


def test_management_api(api_schema: Any, admin: dict[str, str]) -> None:
    def check(case: Any) -> None:
        checks = [not_a_server_error]
        if (case.operation.method.upper(), case.operation.path) != UPLOAD:
            checks.append(response_schema_conformance)
        case.call_and_validate(headers=admin, checks=checks)

    fuzz(api_schema, check, API_PINS, {})


def test_v2_routes(v2_schema: Any, admin: dict[str, str]) -> None:
    def check(case: Any) -> None:
        response = case.call(headers=admin)
        if response.status_code == 503 and case.operation.path.endswith("/ready"):
            # Not ready is a 503 by the protocol, not a server error: its body must still be the declared one.
            case.validate_response(response, headers=admin, checks=[response_schema_conformance])
            return
        case.validate_response(response, headers=admin, checks=[not_a_server_error, response_schema_conformance])

    fuzz(v2_schema, check, V2_PINS, INFERENCE_BODIES)
