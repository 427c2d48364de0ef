from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import load_settings
from shipyard.errors import ConfigError


def test_defaults_live_in_the_home(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.home == tmp_path / "home"
    assert settings.resolved_db_url == f"sqlite:///{tmp_path / 'home' / 'shipyard.db'}"
    assert settings.resolved_artifacts == str(tmp_path / "home" / "artifacts")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DB_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("SHIPYARD_ARTIFACTS", "s3://bucket/prefix")
    monkeypatch.setenv("SHIPYARD_REGISTRY__PROFILE_SAMPLE_SIZE", "500")
    settings = load_settings()
    assert settings.resolved_db_url == "postgresql+psycopg://u@h/db"
    assert settings.resolved_artifacts == "s3://bucket/prefix"
    assert settings.registry.profile_sample_size == 500


def test_toml_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shipyard.toml").write_text('artifacts = "s3://from-toml/x"\nuser = "toml-user"\n')
    monkeypatch.delenv("SHIPYARD_USER")
    assert load_settings().resolved_artifacts == "s3://from-toml/x"
    assert load_settings().actor == "toml-user"
    monkeypatch.setenv("SHIPYARD_ARTIFACTS", "/tmp/env-wins")
    assert load_settings().resolved_artifacts == "/tmp/env-wins"


@pytest.mark.parametrize(
    ("artifacts", "log_url"),
    [
        ("s3://bucket/prefix", "s3://bucket/prefix/predictions"),
        ("s3://bucket/prefix/", "s3://bucket/prefix/predictions"),
        ("gs://bucket", "gs://bucket/predictions"),
        (None, "{home}/predictions"),
        ("/srv/artifacts", "{home}/predictions"),
        ("file:///srv/artifacts", "{home}/predictions"),
        ("memory://", "{home}/predictions"),
    ],
)
def test_the_log_defaults_to_a_remote_artifact_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: str | None, log_url: str
) -> None:
    if artifacts is not None:
        monkeypatch.setenv("SHIPYARD_ARTIFACTS", artifacts)
    assert load_settings().resolved_log_url == log_url.format(home=tmp_path / "home")


def test_an_explicit_log_url_wins_over_the_artifact_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_ARTIFACTS", "s3://bucket/prefix")
    monkeypatch.setenv("SHIPYARD_MONITORING__LOG_URL", "s3://other/log")
    assert load_settings().resolved_log_url == "s3://other/log"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHIPYARD_DB_URL", "mysql://x/y"),
        ("SHIPYARD_ARTIFACTS", "ftp://host/path"),
        ("SHIPYARD_REGISTRY__PROFILE_SAMPLE_SIZE", "ten"),
        ("SHIPYARD_REGISTRY__PROFILE_SAMPLE_SIZE", "-5"),
    ],
)
def test_misconfiguration_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(variable + ":") and "\n" not in message


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="COLOUR"):
        load_settings()
