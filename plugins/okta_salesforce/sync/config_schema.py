"""The config file's JSON Schema for editors: one target's config, or shared sections and ``targets:``.

Generated from the config's models (:mod:`okta_salesforce.sync.config_model`) and committed as
``okta_salesforce/templates/okta_salesforce.schema.json`` (a test keeps the two equal; regenerate
it with ``uv run python -m okta_salesforce.sync.config_schema > <that file>``).

A file with ``targets:`` has shared sections merged under each target's, so there (and in each
target) no key is required: the schema then checks the keys' names and values, and the loader
checks what each merged target lacks.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from okta_salesforce.sync.config_model import single_schema
from okta_salesforce.sync.targets import TARGET_NAME

#: The ``$id`` of the published schema.
SCHEMA_ID = "https://github.com/okta-salesforce/airflow-provider-okta-salesforce/okta_salesforce.schema.json"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file (draft 2020-12)."""
    single = single_schema()
    defs = single.pop("$defs")
    partial = _without_required({"$defs": defs, **single})
    entry = copy.deepcopy(partial)
    entry.pop("$defs")
    entry["properties"] = {
        "name": {"type": "string", "pattern": f"^{TARGET_NAME.pattern}$"},
        **entry["properties"],
    }
    entry.update(
        required=["name"], description="One target: a name and the sections it sets over the shared ones."
    )
    shared = partial.pop("$defs")
    partial["properties"]["targets"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Target"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "description": single.get("description", ""),
        "type": "object",
        "$defs": {**defs, **{f"Partial{k}": v for k, v in shared.items()}, "Target": entry},
        "if": {"required": ["targets"]},
        "then": partial,
        "else": single,
    }


def _without_required(node: Any) -> Any:
    """A copy with no ``required`` list, its ``$ref``s pointing at the ``Partial`` definitions."""
    if isinstance(node, dict):
        out = {k: _without_required(v) for k, v in node.items() if k != "required"}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace("#/$defs/", "#/$defs/Partial")
        return out
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def schema_text() -> str:
    """:func:`config_schema` as the committed file holds it."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
