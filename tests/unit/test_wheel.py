"""The built wheel is only the provider: no test bed, a licence, type hints, no test-only requirement."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from okta_salesforce import __version__, get_provider_info

REPO = Path(__file__).resolve().parents[2]
#: Requirements that belong to the test bed or the test suite, never to the provider.
TEST_ONLY = {
    "trustme",
    "apache-airflow-providers-postgres",
    "pytest",
    "hypothesis",
    "playwright",
    "openapi-core",
    "check-jsonschema",
    "ruff",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    uv = shutil.which("uv")
    assert uv, "uv is needed to build the wheel (scripts/bootstrap.sh installs it)"
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_wheel_holds_the_provider_and_no_test_bed(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "okta_salesforce/__init__.py" in names
    assert "okta_salesforce/hooks/salesforce.py" in names
    assert "okta_salesforce/py.typed" in names
    test_bed = [
        n
        for n in names
        if "/sandbox/" in n or n.endswith(("/demo.py", "/airflow_env.py")) or n.startswith("tests/")
    ]
    assert test_bed == []


def test_wheel_carries_the_licence(wheel: zipfile.ZipFile) -> None:
    (licence,) = [n for n in wheel.namelist() if re.search(r"\.dist-info/licenses/LICENSE$", n)]
    assert b"Apache License" in wheel.read(licence)
    assert b"Version 2.0, January 2004" in wheel.read(licence)
    assert _metadata(wheel)["License-Expression"] == "Apache-2.0"


def test_wheel_requires_nothing_test_only(wheel: zipfile.ZipFile) -> None:
    metadata = _metadata(wheel)
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in runtime}
    assert names & TEST_ONLY == set()
    assert "apache-airflow<4,>=3.1" in runtime
    extras = metadata.get_all("Provides-Extra")
    assert {"postgres", "celery"} <= set(extras)


def test_one_version_everywhere(wheel: zipfile.ZipFile) -> None:
    metadata = _metadata(wheel)
    assert metadata["Version"] == __version__
    assert get_provider_info()["versions"][0] == __version__
    classifiers = metadata.get_all("Classifier")
    for python in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
