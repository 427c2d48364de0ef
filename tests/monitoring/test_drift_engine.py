"""`compare`: drifted columns flagged and none on undrifted data, missing values, unseen categories,
every kind of input, per-model settings, and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from shipyard.errors import ValidationFailed
from shipyard.monitoring.drift import DriftConfig, Reference, auto_method, compare, render_html
from shipyard.schema import profile_data

from ._drift import frame


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.from_profile(profile_data(frame(3000, seed=0), sample_size=3000))


def test_drifted_columns_are_flagged_and_only_them(reference: Reference) -> None:
    report = compare(reference, frame(2000, seed=1, drift=True))
    assert sorted(report.drifted_features) == ["city", "x1", "x2"]
    assert report.share == pytest.approx(3 / 4) and report.dataset_drift
    assert {f.name: f.method for f in report.features} == {
        "x1": "wasserstein",
        "x2": "wasserstein",
        "x3": "wasserstein",
        "city": "jensenshannon",
    }


def test_nothing_is_flagged_on_undrifted_data(reference: Reference) -> None:
    report = compare(reference, frame(2000, seed=2))
    assert report.drifted_features == [] and report.share == 0.0 and not report.dataset_drift
    x1 = report.feature("x1")
    assert set(x1.statistics) == {
        "ks_statistic",
        "ks_pvalue",
        "wasserstein",
        "wasserstein_normed",
        "psi",
        "jensenshannon",
    }
    assert set(report.feature("city").statistics) == {"chisquare_statistic", "chisquare_pvalue", "psi", "jensenshannon"}


def test_small_windows_are_decided_by_tests(reference: Reference) -> None:
    report = compare(reference, frame(300, seed=3, drift=True))
    assert report.feature("x1").method == "ks" and report.feature("city").method == "chisquare"
    assert sorted(report.drifted_features) == ["city", "x1", "x2"]
    assert auto_method("numeric", 100_000, 1000) == "ks" and auto_method("numeric", 100_000, 1001) == "wasserstein"


def test_numeric_figures_are_the_statistics_of_the_finite_values(reference: Reference) -> None:
    current = frame(500, seed=4)
    current.loc[:9, "x1"] = np.nan
    current.loc[10:12, "x1"] = np.inf
    report = compare(reference, current)
    x1 = report.feature("x1")
    assert (x1.current_rows, x1.current_missing) == (487, 13)
    sample = reference.features["x1"].sample.values  # type: ignore[union-attr]
    finite = current["x1"].to_numpy()[13:]
    expected = stats.ks_2samp(sample, finite)
    assert x1.statistics["ks_statistic"] == pytest.approx(expected.statistic, abs=1e-9)
    assert x1.statistics["ks_pvalue"] == pytest.approx(expected.pvalue, abs=1e-9)
    assert x1.statistics["wasserstein"] == pytest.approx(stats.wasserstein_distance(sample, finite), rel=1e-9)
    assert x1.statistics["wasserstein_normed"] == pytest.approx(
        x1.statistics["wasserstein"] / np.std(sample), rel=1e-12
    )


def test_missing_and_empty_columns_are_reported_not_fatal(reference: Reference) -> None:
    current = frame(200, seed=5).drop(columns=["x3"])
    current["x2"] = np.nan
    current["city"] = None
    report = compare(reference, current)
    assert "not in the current data" in (report.feature("x3").error or "")
    assert report.feature("x2").error == "no finite values in the window"
    assert report.feature("x2").current_missing == 200
    assert report.feature("city").error == "no values in the window"
    assert [f.name for f in report.inputs] == ["x1"]  # only evaluated features count in the share
    assert not any(f.drifted for f in report.features if f.error)


def test_text_in_a_numeric_column_is_reported(reference: Reference) -> None:
    current = frame(100, seed=6)
    current["x1"] = "abc"
    assert "numeric" in (compare(reference, current).feature("x1").error or "")


def test_unseen_categories_register_as_drift(reference: Reference) -> None:
    current = frame(2000, seed=7)
    current.loc[:600, "city"] = "Atlantis"
    city = compare(reference, current).feature("city")
    assert city.drifted and city.statistics["chisquare_pvalue"] < 1e-10
    assert city.histogram is not None and "Atlantis" in (city.histogram.labels or [])


def test_every_source_gives_the_same_figures(reference: Reference, tmp_path: Path) -> None:
    data = frame(1500, seed=8, drift=True)
    path = tmp_path / "window.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=400)
    sources = [data, pa.Table.from_pandas(data), path, str(path), {c: data[c].to_numpy() for c in data.columns}]
    reports = [compare(reference, source, threads=2).to_dict() for source in sources]
    for other in reports[1:]:
        assert other["results"] == reports[0]["results"]


def test_arrow_nulls_and_integers_are_numbers(reference: Reference) -> None:
    table = pa.table({"x1": pa.array([1, None, 3, 2], pa.int32()), "city": pa.array(["Oslo", None, "Rome", "Rome"])})
    report = compare(reference, table)
    assert (report.feature("x1").current_rows, report.feature("x1").current_missing) == (3, 1)
    assert (report.feature("city").current_rows, report.feature("city").current_missing) == (3, 1)
    nothing = compare(reference, pa.table({"x1": pa.nulls(4), "city": pa.nulls(4)}))
    assert (
        nothing.feature("x1").error == "no finite values in the window" and nothing.feature("x1").current_missing == 4
    )
    assert nothing.feature("city").error == "no values in the window"


def test_per_model_settings_choose_methods_thresholds_and_share(reference: Reference) -> None:
    config = DriftConfig(
        methods={"x1": "psi"},
        numeric_method="ks",
        categorical_method="chisquare",
        thresholds={"psi": 10.0},
        column_thresholds={"x2": 1e-9},
        share_threshold=0.25,
        ignore=("x3",),
    )
    report = compare(reference, frame(2000, seed=9, drift=True), config)
    x1, x2 = report.feature("x1"), report.feature("x2")
    assert (x1.method, x1.threshold, x1.drifted) == ("psi", 10.0, False)
    assert (x2.method, x2.threshold) == ("ks", 1e-9)
    assert [f.name for f in report.features] == ["x1", "x2", "city"]
    assert report.drifted_features == ["x2", "city"] and report.share == pytest.approx(2 / 3) and report.dataset_drift


def test_report_round_trips_through_json(reference: Reference) -> None:
    report = compare(reference, frame(400, seed=10, drift=True))
    doc = report.to_dict()
    again = type(report)(features=[type(report.features[0]).from_dict(f) for f in doc["results"]], rows=report.rows)
    assert again.to_dict()["results"] == doc["results"]
    assert all(v is None or math.isfinite(v) for f in doc["results"] for v in f["statistics"].values())


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"numeric_method": "chisquare"}, "numeric_method"),
        ({"methods": {"x1": "magic"}}, "methods.x1"),
        ({"thresholds": {"ks": 1.5}}, "thresholds.ks"),
        ({"thresholds": {"wasserstein": float("nan")}}, "thresholds.wasserstein"),
        ({"thresholds": {"nope": 0.1}}, "thresholds.nope"),
        ({"share_threshold": 0}, "share_threshold"),
        ({"share_threshold": "half"}, "share_threshold"),
        ({"column_thresholds": {"x1": -1}}, "column_thresholds.x1"),
        ({"ignore": "x1"}, "ignore"),
        ({"enabled": "yes"}, "enabled"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        DriftConfig.from_dict(doc)
    assert caught.value.problems[0][0] == field


def test_bad_current_data_is_refused(reference: Reference, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="current"):
        compare(reference, 42)
    with pytest.raises(ValidationFailed, match="does not exist"):
        compare(reference, tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValidationFailed, match="not readable Parquet"):
        compare(reference, tmp_path / "junk.parquet")
    with pytest.raises(ValidationFailed):
        compare(reference, pd.DataFrame([[1, 2]], columns=["x1", "x1"]))


def test_the_html_report_escapes_names_and_values() -> None:
    hostile = "<img src=https://evil.example/x onerror=alert(1)>"
    data = pd.DataFrame({hostile: np.arange(50.0), "kind": [hostile] * 25 + ["ok"] * 25})
    report = compare(Reference.from_profile(profile_data(data)), data)
    page = render_html([report])
    assert hostile not in page and "&lt;img src=https://evil.example/x" in page
    assert "<script" not in page and report.feature(hostile).histogram is not None
