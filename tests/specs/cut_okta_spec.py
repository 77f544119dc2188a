"""Cut the part of Okta's Management OpenAPI description that the sandbox tests validate against.

Usage: ``python tests/specs/cut_okta_spec.py SOURCE.yaml > tests/specs/okta-management-openapi.yaml``

SOURCE is Okta's published description (okta/okta-sdk-python, file ``openapi/api.yaml``, release
v3.4.4, OpenAPI 3.0.3, API version 5.1.0, Apache-2.0). The cut keeps the operations listed in
:data:`PATHS` and every component they reference, transitively, unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

PATHS = (
    "/api/v1/apps/{appId}/users",
    "/api/v1/apps/{appId}/users/{userId}",
    "/api/v1/users/{id}",
    "/api/v1/logs",
)
HEADER = """\
# A subset of the Okta Management API OpenAPI description: the operations the Okta sandbox tests
# validate responses against, with every component they reference, unchanged.
# Source: okta/okta-sdk-python, file openapi/api.yaml, release v3.4.4 (OpenAPI 3.0.3, API 5.1.0).
# Cut with tests/specs/cut_okta_spec.py.
#
# Copyright 2024-Present Okta, Inc.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""


def _refs(node: Any) -> set[str]:
    """Every ``$ref`` string inside ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def cut(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec restricted to :data:`PATHS` and the components they reach."""
    paths = {path: spec["paths"][path] for path in PATHS}
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        pending |= _refs(value)
    if "securitySchemes" in spec["components"]:
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    out = {key: spec[key] for key in ("openapi", "info", "servers", "security") if key in spec}
    out["paths"] = paths
    out["components"] = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}
    return out


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    sys.stdout.write(HEADER)
    yaml.safe_dump(cut(spec), sys.stdout, sort_keys=False, allow_unicode=True, width=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
