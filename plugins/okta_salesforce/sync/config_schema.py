"""The config file's JSON Schema for editors.

Generated from the config's models (:mod:`okta_salesforce.sync.config_model`) and committed as
``okta_salesforce/templates/okta_salesforce.schema.json`` (a test keeps the two equal; regenerate
it with ``uv run python -m okta_salesforce.sync.config_schema > <that file>``).
"""

from __future__ import annotations

import json
from typing import Any

from okta_salesforce.sync.config_model import single_schema

#: The ``$id`` of the published schema.
SCHEMA_ID = "https://github.com/okta-salesforce/airflow-provider-okta-salesforce/okta_salesforce.schema.json"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file (draft 2020-12)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **single_schema()}


def schema_text() -> str:
    """:func:`config_schema` as the committed file holds it."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
