"""The sandboxes' response encoding: compact UTF-8 JSON, as Okta and Salesforce send it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from okta_salesforce_testbed.sandbox.server import Response


def test_json_bodies_are_compact_utf8() -> None:
    body = [{"id": "00u1", "profile": {"firstName": "Zoë", "tags": [1, 2.5, None, True]}}]
    payload = Response(200, body).encode()
    assert payload == '[{"id":"00u1","profile":{"firstName":"Zoë","tags":[1,2.5,null,true]}}]'.encode()
    assert json.loads(payload) == body


def test_what_orjson_cannot_encode_is_encoded_as_json_does() -> None:
    big = {"n": 2**70, 3: "int key"}
    assert json.loads(Response(200, big).encode()) == {"n": 2**70, "3": "int key"}


@dataclass
class _Thing:
    x: int


@pytest.mark.parametrize("value", [datetime(2024, 1, 1, tzinfo=UTC), _Thing(1), {1, 2}])
def test_values_json_refuses_are_still_refused(value: object) -> None:
    with pytest.raises(TypeError):
        Response(200, {"v": value}).encode()


def test_text_bytes_and_empty_bodies_pass_through() -> None:
    assert Response(200, "plain").encode() == b"plain"
    assert Response(200, b"\x00raw").encode() == b"\x00raw"
    assert Response(204).encode() == b""
