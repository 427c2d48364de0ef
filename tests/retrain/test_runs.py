"""Manual runs end to end on a dataset window: accepted, rejected, failed; runs never overlap."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from shipyard.errors import ModelNotFound, RetrainPolicyNotFound, RetrainRunInProgress
from shipyard.registry import Registry
from shipyard.retrain import RetrainService
from shipyard.retrain.runs import create_run
from shipyard.schema import fingerprint
from shipyard.store.leases import holder_of

from .conftest import RecordingSink, labelled, policy, register_champion
from .trainers import FEATURES, TRAIN_SCRIPT

WRITE_PICKLE = 'import os, pickle; open(os.environ["SHIPYARD_RETRAIN_DIR"] + "/model.pkl", "wb").write(pickle.dumps(1))'
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""For tests of the trainer process rather than of storage: the winning, failing and overlapping runs
cover both databases."""


def test_a_challenger_that_wins_is_registered_with_lineage_and_staged(
    service: RetrainService, registry: Registry, stale_champion: object, fresh_dataset: Path, sink: RecordingSink
) -> None:
    service.set_policy("churn", policy(fresh_dataset), actor="alice")
    streamed: list[str] = []
    run = service.run("churn", actor="alice", on_log=streamed.append)

    assert run.status == "succeeded", run.error
    assert (run.decision, run.parent_version, run.challenger_version) == ("accepted", 1, 2)
    assert run.reason is not None and run.reason.startswith("better by") and "staging now points at v2" in run.reason
    champion, challenger = run.metrics["champion"]["accuracy"], run.metrics["challenger"]["accuracy"]
    assert challenger >= champion + 0.05 and run.metrics["challenger"]["count"] == 75
    assert run.window is not None and (run.window["rows"], run.window["train_rows"], run.window["holdout_rows"]) == (
        300,
        225,
        75,
    )
    assert any("training on 225 rows" in line for line in streamed) and "training on 225 rows" in run.logs

    v2 = registry.get_version("churn", 2)
    data = pd.concat([pd.read_parquet(fresh_dataset / f"part-{i}.parquet") for i in (0, 1)], ignore_index=True)
    train = data.iloc[:225]
    assert v2.parent_version == 1 and v2.lineage["derived_from"] == {"name": "churn", "version": 1}
    assert v2.lineage["data"]["sha256"] == fingerprint(train[FEATURES], target=train["label"]).sha256
    assert v2.tags == {"retrain.run": run.id, "retrain.trigger": "manual", "retrain.window": run.window["fingerprint"]}
    assert run.window["fingerprint"] == fingerprint(data[FEATURES], target=data["label"]).sha256
    assert v2.params == {"C": 0.5} and v2.metrics["holdout_accuracy"] == challenger and v2.created_by == "alice"
    assert registry.resolve("churn@staging").version == 2 and registry.resolve("churn@production").version == 1
    assert service.get_run(run.id).to_dict() == run.to_dict() and sink.alerts == []


@SQLITE_ONLY
def test_a_worse_challenger_stops_and_says_by_how_much(
    service: RetrainService, registry: Registry, fresh_dataset: Path, sink: RecordingSink
) -> None:
    register_champion(registry, labelled(300, seed=4, flipped=True))  # already knows the current concept
    service.set_policy("churn", policy(fresh_dataset, trainer={"entry_point": "tests.retrain.trainers:train_constant"}))
    run = service.run("churn")
    assert run.status == "succeeded" and run.decision == "rejected", run.error
    assert run.reason is not None and run.reason.startswith("worse by ") and "v1 stays" in run.reason
    assert run.metrics["challenger"]["accuracy"] < run.metrics["champion"]["accuracy"]
    assert run.rollout is None and run.challenger_version == 2  # registered for the record, not rolled out
    assert set(registry.get_model("churn").aliases) == {"production"} and sink.alerts == []


def test_a_trainer_that_raises_fails_the_run_and_fires_an_alert(
    service: RetrainService, registry: Registry, stale_champion: object, fresh_dataset: Path, sink: RecordingSink
) -> None:
    service.set_policy("churn", policy(fresh_dataset, trainer={"entry_point": "tests.retrain.trainers:train_raises"}))
    run = service.run("churn")
    assert run.status == "failed" and run.decision is None and run.finished_at is not None
    assert run.error == "trainer: exited with status 1: ValueError: the training data has no column 'tenure'"
    assert "about to fail" in run.logs and "Traceback" in run.logs
    assert [(a.rule, a.subject, a.details["run"]) for a in sink.alerts] == [("retrain.failed", "churn", run.id)]
    assert len(registry.list_versions("churn")) == 1 and service.get_run(run.id).status == "failed"


@pytest.mark.parametrize(
    ("trainer", "error"),
    [
        ({"entry_point": "tests.retrain.trainers:train_returns_nothing"}, "returned no model"),
        ({"entry_point": "tests.retrain.trainers:no_such_function"}, "has no function 'no_such_function'"),
        (
            {"command": "echo starting; echo broken >&2; exit 3"},
            "exited with status 3: its last lines: starting | broken",
        ),
        ({"command": f"{sys.executable} -c '{WRITE_PICKLE}'"}, "model.pkl is a pickle"),
        ({"command": "true"}, "exactly one model.<ext> file in the folder, found none"),
        ({"command": "sleep 30", "timeout": 1}, "timed out after 1 s and was stopped"),
    ],
)
@SQLITE_ONLY
def test_trainers_that_fail_or_hang_fail_the_run(
    service: RetrainService,
    registry: Registry,
    stale_champion: object,
    fresh_dataset: Path,
    sink: RecordingSink,
    trainer: dict[str, object],
    error: str,
) -> None:
    service.set_policy("churn", policy(fresh_dataset, trainer=trainer))
    started = time.monotonic()
    run = service.run("churn")
    assert run.status == "failed" and run.error is not None and error in run.error, run.error
    assert time.monotonic() - started < 20
    assert [a.rule for a in sink.alerts] == ["retrain.failed"] and len(registry.list_versions("churn")) == 1


@SQLITE_ONLY
def test_a_shell_command_trains_from_the_documented_files(
    service: RetrainService, registry: Registry, stale_champion: object, fresh_dataset: Path, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    service.set_policy("churn", policy(fresh_dataset, trainer={"command": f"{sys.executable} {script}"}))
    run = service.run("churn")
    assert run.status == "succeeded" and run.decision == "accepted", run.error
    assert f"wrote model.skops for run {run.id}" in run.logs
    v2 = registry.get_version("churn", 2)
    assert v2.flavor == "sklearn" and not v2.uses_pickle and v2.metrics["rows"] == 225.0


def test_two_runs_of_one_model_never_overlap(
    service: RetrainService, registry: Registry, stale_champion: object, fresh_dataset: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    script = tmp_path / "train.py"
    script.write_text(
        f"import pathlib, time\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.05)\n{TRAIN_SCRIPT}"
    )
    service.set_policy("churn", policy(fresh_dataset, trainer={"command": f"{sys.executable} {script}"}))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(service.start("churn"))
        except RetrainRunInProgress as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, RetrainRunInProgress)]
    assert len(started) == 1 and len(refused) == 1
    run_id = started[0].id  # type: ignore[attr-defined]
    assert refused[0].run_id == run_id and run_id in str(refused[0])
    with pytest.raises(RetrainRunInProgress):
        service.run("churn")
    assert [r.id for r in service.list_runs("churn")] == [run_id]
    gate.touch()
    deadline = time.monotonic() + 60
    while service.get_run(run_id).status == "running":
        assert time.monotonic() < deadline, "the run never finished"
        time.sleep(0.05)
    assert service.get_run(run_id).status == "succeeded"
    # The lease is given back just after the run's record is final: free again within moments.
    while holder_of(registry.db, "retrain:churn") is not None:
        assert time.monotonic() < deadline, "the lease was never released"
        time.sleep(0.05)


def test_a_run_left_running_by_a_dead_process_is_marked_failed_by_the_next(
    service: RetrainService, registry: Registry, stale_champion: object, fresh_dataset: Path
) -> None:
    service.set_policy("churn", policy(fresh_dataset, trainer={"entry_point": "tests.retrain.trainers:train_constant"}))
    create_run(registry.db, "deadbeef0000", "churn", {"kind": "manual"}, "bob", 1)  # its process died: no lease
    run = service.run("churn")
    orphan = service.get_run("deadbeef0000")
    assert run.status == "succeeded" and orphan.status == "failed" and "interrupted" in (orphan.error or "")


def test_a_run_needs_a_registered_model_and_a_policy(service: RetrainService, registry: Registry) -> None:
    with pytest.raises(ModelNotFound):
        service.set_policy("nope", policy("x.parquet"))
    register_champion(registry, labelled(100, seed=5))
    with pytest.raises(RetrainPolicyNotFound, match="retrain policy set churn --file"):
        service.run("churn")
    assert service.list_runs() == [] and service.list_policies() == []
