"""Retraining from Python (`shipyard.retrain_model`): a failed run's alert is in the alert history, as from the CLI."""

from __future__ import annotations

from pathlib import Path

import shipyard
from shipyard.config import load_settings
from shipyard.monitoring.alerts import AlertStore
from shipyard.registry import open_registry

from .conftest import labelled, policy, register_champion


def test_a_failed_run_started_from_python_is_in_the_alert_history(fresh_dataset: Path) -> None:
    registry = open_registry(load_settings())
    register_champion(registry, labelled(300, seed=1))
    shipyard.set_retrain_policy(
        "churn", policy(fresh_dataset, trainer={"entry_point": "tests.retrain.trainers:train_raises"})
    )

    run = shipyard.retrain_model("churn")

    assert run.status == "failed"
    [event] = AlertStore(registry.db).history(rule="retrain.failed")  # recorded before retrain_model returned
    assert (event.subject, event.details["run"], event.severity) == ("churn", run.id, "warning")
    assert f"retraining run {run.id} of churn failed" in event.message
    assert [delivery["notifier"] for delivery in event.deliveries] == ["log"]  # no webhook configured
    registry.db.close()
