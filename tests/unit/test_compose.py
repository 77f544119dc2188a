"""The compose deployment is valid without a Docker engine: schema, `docker-compose config`, paths.

No Docker daemon runs here, so the compose file is proven by the compose-spec JSON schema
(check-jsonschema's built-in copy), by Debian's `docker-compose config` when it is installed
(scripts/e2e-prerequisites.sh installs it), and by checking that every path, service, volume and
script the compose file and the Dockerfile name exists. Each validator is also shown to reject a
deliberately broken file, so a green run means something.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
SANDBOX_CONNECTIONS = REPO / "scripts" / "compose-sandbox-connections.py"

AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
    "airflow-cli",
}
LONG_RUNNING = {
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "okta-salesforce-sandbox",
}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _broken_variants() -> dict[str, str]:
    """Compose files that must fail validation, each broken in one typical way."""
    text = COMPOSE.read_text(encoding="utf-8")
    return {
        # A misspelt top-level key (compose-spec forbids unknown top-level properties).
        "unknown_top_level_key": text.replace("\nservices:\n", "\nservcies:\n", 1),
        # A depends_on condition compose does not know.
        "bad_depends_on_condition": text.replace(
            "condition: service_completed_successfully", "condition: service_finished", 1
        ),
        # ports must be a list, not a mapping.
        "ports_as_mapping": text.replace(
            '    ports:\n      - "8080:8080"\n', "    ports:\n      web: 8080\n", 1
        ),
    }


@pytest.fixture(params=sorted(_broken_variants()))
def broken_compose(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    text = _broken_variants()[request.param]
    assert text != COMPOSE.read_text(encoding="utf-8"), f"variant {request.param} did not change the file"
    path = tmp_path / "docker-compose.yaml"
    path.write_text(text, encoding="utf-8")
    # `build: .` and bind mounts resolve next to the file: give the copy the same neighbours.
    for name in ("Dockerfile", "dags", "include", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    return path


# -- compose-spec JSON schema -------------------------------------------------------------------


def test_compose_file_matches_compose_spec_schema() -> None:
    result = _schema_check(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_compose_file_fails_schema(broken_compose: Path) -> None:
    result = _schema_check(broken_compose)
    assert result.returncode != 0, f"schema accepted a broken file:\n{result.stdout}"


# -- docker-compose config (Debian's package; no engine needed) ---------------------------------


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (scripts/e2e-prerequisites.sh installs it)")
    return exe


#: A valid Fernet key for the runs that must resolve (the compose file refuses to start without one).
FERNET_KEY = "qXl4Qh1p9Yl6iO9yQq6kYQm0mJ2bq8m3Zb1mR2w3n4o="


def _compose_config(
    exe: str, path: Path, *profiles: str, fernet_key: str | None = FERNET_KEY
) -> subprocess.CompletedProcess[str]:
    args = [exe, "--project-directory", str(path.parent), "-f", str(path)]
    for profile in profiles:
        args += ["--profile", profile]
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__FERNET_KEY"}
    if fernet_key is not None:
        env["AIRFLOW__CORE__FERNET_KEY"] = fernet_key
    return subprocess.run(
        [*args, "config"], capture_output=True, text=True, timeout=120, cwd=path.parent, env=env
    )


@pytest.mark.parametrize(
    "profiles", [(), ("sandbox",), ("sandbox", "debug")], ids=["default", "sandbox", "all"]
)
def test_docker_compose_config_accepts_the_file(profiles: tuple[str, ...]) -> None:
    result = _compose_config(_docker_compose(), COMPOSE, *profiles)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) >= AIRFLOW_SERVICES
    assert resolved["services"]["airflow-worker"]["command"] in (["celery", "worker"], "celery worker")


def _copy_without_env_file(tmp_path: Path) -> Path:
    """The compose file in a folder of its own (no .env next to it), with the paths it names."""
    path = tmp_path / "docker-compose.yaml"
    path.write_text(COMPOSE.read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("Dockerfile", "dags", "include", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    return path


@pytest.mark.parametrize("key", [None, ""], ids=["unset", "empty"])
def test_compose_refuses_to_start_without_a_fernet_key(tmp_path: Path, key: str | None) -> None:
    """An empty key would store connections and the rotated refresh token unencrypted."""
    result = _compose_config(_docker_compose(), _copy_without_env_file(tmp_path), fernet_key=key)
    assert result.returncode != 0, "compose resolved without a Fernet key"
    assert "AIRFLOW__CORE__FERNET_KEY" in result.stderr
    assert ".env.example" in result.stderr


def test_every_airflow_service_gets_the_fernet_key(tmp_path: Path) -> None:
    result = _compose_config(_docker_compose(), _copy_without_env_file(tmp_path), "sandbox", "debug")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    airflow = [name for name, spec in services.items() if "AIRFLOW_CONFIG" in (spec.get("environment") or {})]
    assert set(airflow) >= AIRFLOW_SERVICES
    for name in airflow:
        assert services[name]["environment"]["AIRFLOW__CORE__FERNET_KEY"] == FERNET_KEY, name


def test_docker_compose_config_rejects_broken_file(broken_compose: Path) -> None:
    result = _compose_config(_docker_compose(), broken_compose)
    assert result.returncode != 0, f"docker-compose accepted a broken file:\n{result.stdout[:2000]}"


# -- topology: the official Airflow 3 services, with this package ------------------------------


def test_topology_follows_the_official_airflow_compose_file() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", *AIRFLOW_SERVICES} <= set(services)
    common = compose["x-airflow-common"]
    assert common["build"] == "."
    env = common["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["OKTA_SALESFORCE_CONFIG"] == "/opt/airflow/include/okta_salesforce.yaml"
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-worker"] == "celery worker"
    assert commands["airflow-triggerer"] == "triggerer"
    for name in AIRFLOW_SERVICES | {"okta-salesforce-sandbox-connections"}:
        assert services[name]["build"] == ".", f"{name} does not use the image built from ./Dockerfile"
    # The sandbox runs the test bed, which only the Dockerfile's `sandbox` target installs.
    assert services["okta-salesforce-sandbox"]["build"] == {"context": ".", "target": "sandbox"}
    assert services["okta-salesforce-sandbox"]["image"].endswith("-sandbox")
    assert services["airflow-cli"]["profiles"] == ["debug"]
    init_script = "\n".join(services["airflow-init"]["command"])
    assert "airflow pools set salesforce_api" in init_script
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_long_running_services_have_healthchecks_and_restart() -> None:
    services = _compose()["services"]
    for name in LONG_RUNNING:
        assert "test" in services[name].get("healthcheck", {}), f"{name} has no healthcheck"
        assert services[name].get("restart") == "always", f"{name} does not restart"


def test_depends_on_names_existing_services_and_init_gates_airflow() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        mode = service.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in services
    for name in AIRFLOW_SERVICES - {"airflow-init", "airflow-cli"}:
        condition = services[name]["depends_on"]["airflow-init"]["condition"]
        assert condition == "service_completed_successfully"


def test_sandbox_profile_runs_the_sandbox_and_imports_connections() -> None:
    services = _compose()["services"]
    sandbox = services["okta-salesforce-sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    command = " ".join(sandbox["command"])
    assert "okta-salesforce sandbox" in command
    assert "--env-file /opt/airflow/sandbox/connections.env" in command
    # Tasks run on the worker; the sandbox listens on loopback, so it shares the worker's network.
    assert sandbox["network_mode"] == "service:airflow-worker"
    importer = services["okta-salesforce-sandbox-connections"]
    assert importer["profiles"] == ["sandbox"]
    assert importer["depends_on"]["okta-salesforce-sandbox"]["condition"] == "service_healthy"
    # Default `docker compose up` must not need the sandbox.
    for name, service in services.items():
        if "sandbox" not in service.get("profiles", []):
            assert not set(service.get("depends_on", {})) & {"okta-salesforce-sandbox"}, name


# -- every path the compose file and the Dockerfile name exists -------------------------------


def _bind_sources(compose: dict[str, Any]) -> set[str]:
    sources = set()
    for service in [compose["x-airflow-common"], *compose["services"].values()]:
        for volume in service.get("volumes", []):
            source = volume.replace("${AIRFLOW_PROJ_DIR:-.}", ".").split(":", 1)[0]
            if source.startswith((".", "/")):
                sources.add(source)
    return sources


def test_bind_mounts_named_volumes_and_scripts_exist() -> None:
    compose = _compose()
    sources = _bind_sources(compose)
    assert {"./dags", "./include"} <= sources
    for source in sources:
        assert (REPO / source).is_dir(), f"bind mount source {source} does not exist"
    declared = set(compose["volumes"])
    for service in [compose["x-airflow-common"], *compose["services"].values()]:
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("$", ".", "/")):
                assert source in declared, f"named volume {source} is not declared"
    text = COMPOSE.read_text(encoding="utf-8")
    for script in re.findall(r"/opt/airflow/scripts/([\w.-]+)", text):
        assert (REPO / "scripts" / script).is_file(), script


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_dockerfile_copies_existing_paths_and_installs_the_lock() -> None:
    instructions = _dockerfile_instructions()
    copies = [args.split() for op, args in instructions if op == "COPY" and "--from=" not in args]
    assert copies, "the Dockerfile copies nothing from the build context"
    for args in copies:
        sources = [a for a in args[:-1] if not a.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile COPY source {source} does not exist"
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "uv export --frozen --no-dev --extra celery" in runs
    assert "--require-hashes" in runs
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for args in copies:
        for source in args[:-1]:
            assert source not in ignored, f"{source} is copied but excluded by .dockerignore"


def test_dockerfile_base_image_matches_locked_airflow_version() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p.get("version") for p in lock["package"]}  # the project itself: dynamic
    text = DOCKERFILE.read_text(encoding="utf-8")
    image = re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:(\S+)-python(\d+\.\d+)$", text, re.MULTILINE)
    assert image, "AIRFLOW_IMAGE must default to an apache/airflow:<version>-python<x.y> tag"
    assert image.group(1) == locked["apache-airflow"]
    assert image.group(2) == "3.11"


def test_env_example_covers_the_variables_compose_reads() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(\w+)=", example, re.MULTILINE))
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


# -- the sandbox profile's connection importer -------------------------------------------------


def test_sandbox_connections_script_converts_the_cli_env_file(tmp_path: Path) -> None:
    conn = {"conn_type": "okta", "host": "https://127.0.0.1:8443", "password": "t0k", "extra": {"a": 1}}
    env_file = tmp_path / "connections.env"
    env_file.write_text(f"AIRFLOW_CONN_OKTA_DEFAULT='{json.dumps(conn)}'\n\n", encoding="utf-8")
    out = tmp_path / "import.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "compose-sandbox-connections.py"),
            str(env_file),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "t0k" not in result.stdout + result.stderr
    imported = json.loads(out.read_text(encoding="utf-8"))
    assert imported == {"okta_default": {**conn, "extra": json.dumps({"a": 1})}}
