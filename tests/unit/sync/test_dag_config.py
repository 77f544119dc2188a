"""What DAG parsing reads of the config (sync.dag_config) agrees with the validating reader, and is cheap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from sync_helpers import CONFIG_PATH

from okta_salesforce.sync.config import ConfigError, load_config, parse_config
from okta_salesforce.sync.dag_config import parse_dag_configs, read_dag_config, read_dag_configs
from okta_salesforce.sync.target_names import target_names


def shipped() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


def two_targets() -> dict:
    data = shipped()
    del data["okta"]["app_id"]
    data["tasks"] = {"retries": 4, "retry_delay_seconds": 12}
    data["notifications"] = {"on_failure": [{"webhook": {"conn_id": "chat", "format": "teams"}}]}
    data["targets"] = [
        {"name": "emea", "okta": {"app_id": "0oaemea", "conn_id": "okta_emea"}, "tasks": {"retries": 0}},
        {"name": "apac", "okta": {"app_id": "0oaapac"}, "salesforce": {"conn_id": "sf_apac", "pool": "p"}},
    ]
    for target in data["targets"]:
        target["managed"] = {
            **data["managed"],
            "filters": [{"attribute": "Department", "operator": "in", "values": ["x"]}],
        }
    return data


def test_the_shipped_config_reads_as_the_validating_reader_reads_it() -> None:
    (light,) = read_dag_configs(CONFIG_PATH)
    full = load_config(CONFIG_PATH)
    assert light.target is None
    for name in ("okta_app_id", "okta_conn_id", "salesforce_conn_id", "salesforce_pool"):
        assert getattr(light, name) == getattr(full, name), name
    assert (light.tasks.retries, light.tasks.retry_delay_seconds) == (
        full.tasks.retries,
        full.tasks.retry_delay_seconds,
    )
    assert target_names(light) == target_names(full)


def test_each_target_merges_the_shared_sections_like_the_validating_reader() -> None:
    data = two_targets()
    light = parse_dag_configs(data, "config.yaml")
    full = [parse_config(data, target=name) for name in ("emea", "apac")]
    assert [c.target for c in light] == ["emea", "apac"]
    for one, other in zip(light, full, strict=True):
        assert (one.okta_app_id, one.okta_conn_id, one.salesforce_conn_id, one.salesforce_pool) == (
            other.okta_app_id,
            other.okta_conn_id,
            other.salesforce_conn_id,
            other.salesforce_pool,
        )
        assert (one.tasks.retries, one.tasks.retry_delay_seconds) == (
            other.tasks.retries,
            other.tasks.retry_delay_seconds,
        )
        assert len(one.notifications.on_failure) == len(other.notifications.on_failure) == 1
        assert target_names(one) == target_names(other)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"okta": {}}, "okta.app_id: is required"),
        ({"tasks": {"retries": "3"}}, "tasks.retries: expected a whole number"),
        ({"tasks": {"retries": 21}}, "tasks.retries: expected a whole number"),
        ({"tasks": {"retry_delay_seconds": -1}}, "tasks.retry_delay_seconds"),
        ({"notifications": {"on_failure": [{"pager": {}}]}}, "notifications.on_failure"),
        ({"salesforce": {"conn_id": ""}}, "salesforce.conn_id: expected a non-empty string"),
    ],
)
def test_a_problem_in_what_parsing_reads_is_an_error_naming_the_key(change: dict, problem: str) -> None:
    data = {**shipped(), **change}
    with pytest.raises(ConfigError, match=problem):
        parse_dag_configs(data, "config.yaml")


def test_bad_target_names_are_the_validating_readers_problems() -> None:
    data = two_targets()
    data["targets"][1]["name"] = "Bad Name"
    with pytest.raises(ConfigError, match=r"targets\[1\]\.name: expected a lower-case name"):
        parse_dag_configs(data, "config.yaml")


def test_a_named_target_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(two_targets()))
    assert read_dag_config(path, "apac").salesforce_conn_id == "sf_apac"
    with pytest.raises(ConfigError, match="no target 'nope'"):
        read_dag_config(path, "nope")
    with pytest.raises(ConfigError, match="no target was named"):
        read_dag_config(path)


def test_the_file_is_read_again_only_when_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import okta_salesforce.sync.dag_config as module

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(shipped()))
    reads: list[object] = []
    real = module.read_config_file
    monkeypatch.setattr(module, "read_config_file", lambda p: reads.append(p) or real(p))
    read_dag_configs(path)
    read_dag_configs(path)
    assert len(reads) == 1
    data = shipped()
    data["tasks"] = {"retries": 5}
    path.write_text(yaml.safe_dump(data))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert read_dag_configs(path)[0].tasks.retries == 5
    assert len(reads) == 2
