#!/usr/bin/env python3
"""Import the sandbox connections into Airflow's metadata database (docker-compose profile ``sandbox``).

``okta-salesforce sandbox --env-file F`` writes ``AIRFLOW_CONN_<ID>='<json>'`` lines. This turns them
into the JSON file ``airflow connections import`` reads and imports it with ``--overwrite``, so the
worker's tasks find ``okta_default`` and ``salesforce_oauth_default`` pointed at the sandbox. The
connection values hold (sandbox) secrets: they are written to a private temporary file, never printed.

Usage: compose-sandbox-connections.py ENV_FILE [--output JSON_FILE]   (--output: convert only)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PREFIX = "AIRFLOW_CONN_"


def parse_env_file(path: Path) -> dict[str, dict[str, Any]]:
    """Connections by id from ``AIRFLOW_CONN_<ID>='<json>'`` lines (blank lines and comments ignored)."""
    connections: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.startswith(PREFIX):
            raise ValueError(f"{path}:{number}: expected {PREFIX}<ID>=<json>")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        conn = json.loads(value)
        if isinstance(conn.get("extra"), dict):
            conn["extra"] = json.dumps(conn["extra"])
        connections[key[len(PREFIX) :].lower()] = conn
    if not connections:
        raise ValueError(f"{path}: no {PREFIX}* lines")
    return connections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_file", type=Path)
    parser.add_argument("--output", type=Path, help="write the import file here and stop")
    args = parser.parse_args(argv)
    connections = parse_env_file(args.env_file)
    if args.output:
        args.output.write_text(json.dumps(connections, indent=2), encoding="utf-8")
        return 0
    fd, name = tempfile.mkstemp(prefix="sandbox-connections-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(connections, fh)
        # `airflow` is the image's own CLI on PATH; the file name is ours.
        subprocess.run(["airflow", "connections", "import", "--overwrite", name], check=True)  # noqa: S603, S607
    finally:
        os.unlink(name)
    print(f"Imported sandbox connections: {', '.join(sorted(connections))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
