"""``okta-salesforce init``: thin DAG files and a commented config, never overwriting without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from okta_salesforce.scaffold import (
    DAG_FILES,
    EXAMPLE_DAG_FILES,
    SCHEMA_NAME,
    config_template,
    init_project,
    next_steps,
    thin_dag_source,
)
from okta_salesforce.sync.config import parse_config

REPO = Path(__file__).resolve().parents[2]


def test_init_writes_thin_dag_files_and_the_config(tmp_path: Path) -> None:
    result = init_project(tmp_path)
    assert sorted(p.name for p in (tmp_path / "dags").iterdir()) == sorted(DAG_FILES)
    assert result.config_path == tmp_path / "include" / "okta_salesforce.yaml"
    for name, (module, _) in DAG_FILES.items():
        text = (tmp_path / "dags" / name).read_text()
        assert f"from okta_salesforce.dags.{module} import dags\n" in text
        assert "globals().update(dags)" in text
        assert len(text.splitlines()) < 10
    assert (tmp_path / "include" / SCHEMA_NAME).read_text() == config_template(SCHEMA_NAME)
    assert not result.kept


def test_init_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    config = tmp_path / "include" / "okta_salesforce.yaml"
    config.parent.mkdir()
    config.write_text("mine\n")
    result = init_project(tmp_path)
    assert config in result.kept
    assert config.read_text() == "mine\n"
    init_project(tmp_path, force=True)
    assert config.read_text() == config_template()


def test_init_refuses_a_missing_project(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="create the Airflow project first"):
        init_project(tmp_path / "nope")


def test_the_repository_dags_are_the_files_init_writes() -> None:
    for name, spec in {**DAG_FILES, **EXAMPLE_DAG_FILES}.items():
        assert (REPO / "dags" / name).read_text() == thin_dag_source(*spec), name


def test_config_template_is_valid_and_shows_japanese_values() -> None:
    text = config_template()
    config = parse_config(yaml.safe_load(text))
    assert config.okta_app_id.startswith("0oa")
    for value in ("Asia/Tokyo", "ja_JP", "# ja"):
        assert value in text


def test_next_steps_name_the_pool_command_only_when_the_pool_is_missing(tmp_path: Path) -> None:
    result = init_project(tmp_path)
    missing = next_steps(result, None)
    assert 'airflow pools set salesforce_api 4 "Bounds concurrent Salesforce API work"' in missing
    assert f"OKTA_SALESFORCE_CONFIG={result.config_path}" in missing
    assert "[okta_salesforce] config_path" in missing
    assert "okta-salesforce check" in missing
    assert "airflow pools set" not in next_steps(result, 4)
    assert "could not be asked" in next_steps(result, None, pool_known=False)
