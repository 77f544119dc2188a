"""The lowest-Airflow tier installs from a pinned file: it must pin every runtime dependency.

``scripts/test-lowest-airflow.sh`` syncs ``ci/airflow-3.1/requirements.txt`` exactly, so a
dependency added to ``pyproject.toml`` but not recompiled there breaks that whole tier on import.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pinned() -> dict[str, str]:
    text = (ROOT / "ci" / "airflow-3.1" / "requirements.txt").read_text(encoding="utf-8")
    return {
        canonicalize_name(match[1]): match[2]
        for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, flags=re.MULTILINE)
    }


def test_every_runtime_dependency_is_pinned_for_the_lowest_airflow() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = _pinned()
    missing = [
        str(requirement)
        for requirement in map(Requirement, project["dependencies"])
        if canonicalize_name(requirement.name) not in pinned
        or not requirement.specifier.contains(pinned[canonicalize_name(requirement.name)], prereleases=True)
    ]
    assert not missing, (
        "ci/airflow-3.1/requirements.txt lacks (or pins outside the range of) "
        f"{missing}; regenerate it with the command in ci/airflow-3.1/requirements.in"
    )
