from __future__ import annotations
import __future__

import subprocess
import sys
from types import ModuleType

import shipyard


def test_public_api_is_exactly_this() -> None:
    public = {
        n
        for n, v in vars(shipyard).items()
        if not n.startswith("_") and not isinstance(v, ModuleType | __future__._Feature)
    }
    assert sorted(shipyard.__all__) == sorted(public)


def test_import_does_not_pull_heavy_frameworks() -> None:
    code = (
        "import sys, shipyard, shipyard.cli; "
        "heavy = {'torch', 'xgboost', 'lightgbm', 'onnxruntime', 'boto3', 'ray', 's3fs', 'mlflow'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_deployment_calls_of_the_cli_are_exported() -> None:
    # `shipyard deploy create|canary|shadow [--stop]|ab|promote|pause|resume|rollback|list|status|history`
    calls = {
        "deploy",
        "canary",
        "shadow",
        "stop_shadow",
        "ab_test",
        "promote",
        "pause",
        "resume",
        "rollback",
        "list_deployments",
        "deployment_status",
        "deployment_history",
        "deployment_service",
    }
    assert calls <= set(shipyard.__all__)
    assert all(callable(getattr(shipyard, name)) for name in calls)
