"""The one small reader under every config section: pydantic dataclasses, and their errors as key paths.

Each section of the sync config is a frozen pydantic dataclass with the config :data:`SECTION`:
unknown keys are refused, a key set to nothing (``writer:`` with no value) keeps its default, and
:class:`ConfigError` lists every problem at once, each with the path of the key at fault::

    mapping.Department.source: unknown source 'foo' (expected one of 'attribute', ...)
    matching[3].salesforce: unknown User field 'Nope'

A check that needs several keys of one section raises :func:`problems` from an ``after`` model
validator; its paths are relative to the section (``.values[0]``).
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from okta_salesforce.sync.config_error import (
    ConfigError as ConfigError,  # its home before DAG parsing went light
)


def _describe(schema: dict[str, Any], cls: type) -> None:
    """Editor hints from the docstring: its first paragraph, and each ``:param key:`` line."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    schema["description"] = doc.split("\n\n", 1)[0].replace("\n", " ")
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    for name, text in re.findall(r"^:param (\w+): (.*(?:\n(?!:)\s+.*)*)", doc, re.MULTILINE):
        prop = schema.get("properties", {}).get("class" if name == "class_path" else name)
        if prop is not None:
            prop["description"] = re.sub(r"\s+", " ", text)
    schema.pop("title", None)


#: The pydantic config of every section, declared ``@dataclass(frozen=True, config=SECTION)``: unknown
#: keys refused, validators built on first use (so importing the config costs DAG parsing little).
SECTION = ConfigDict(extra="forbid", json_schema_extra=_describe, defer_build=True)


@dataclass(frozen=True, config=SECTION)
class Section:
    """Base of the sections: a key given as nothing keeps its default (unless it may be null)."""

    @model_validator(mode="before")
    @classmethod
    def _nothing_is_default(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        fields = getattr(cls, "__pydantic_fields__", {})
        return {k: v for k, v in data.items() if v is not None or k not in fields or _nullable(fields[k])}


def _nullable(info: Any) -> bool:
    hint = info.annotation
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


def _listed(value: Any) -> Any:
    """A single string is a list of one; numbers in a list of names are names."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


#: A list of strings (a single string is a list of one).
Strings = Annotated[tuple[str, ...], BeforeValidator(_listed, json_schema_input_type=str | list[str | int])]
#: A string that is not blank.
Text = Annotated[str, StringConstraints(pattern=r"\S")]
Bool = Annotated[bool, Field(strict=True)]
#: An integer (true/false and "3" are refused); bounds go in the field's ``Field(ge=, le=)``.
Int = Annotated[int, Field(strict=True)]
#: A number, integer or decimal.
Number = Annotated[float, Field(strict=True)]


def problems(*found: tuple[str, str] | None) -> None:
    """Raise the problems found (``(relative key path, message)``; ``None`` entries are ignored)."""
    listed = [p for p in found if p]
    if listed:
        raise PydanticCustomError("config", "{problems}", {"problems": listed})


def error_lines(error: ValidationError, schema: Mapping[str, Any]) -> list[str]:
    """Each error of ``error`` as ``key.path: message``, in the words of the config docs.

    :param schema: the JSON Schema of what was validated (for the expected keys and bounds).
    """
    lines: list[str] = []
    for detail in error.errors():
        loc = [part for part in detail["loc"] if part != "[key]"]
        ctx = detail.get("ctx") or {}
        if detail["type"] == "config":
            lines.extend(f"{_path(loc) + sub}: {message}" for sub, message in ctx["problems"])
        else:
            lines.append(f"{_path(loc) or '<file>'}: {_message(detail, loc, schema)}")
    return lines


_MAPPING_TYPES = ("dict_type", "dataclass_type", "dataclass_args_type", "model_type", "model_attributes_type")


def _message(detail: Mapping[str, Any], loc: Sequence[str | int], schema: Mapping[str, Any]) -> str:
    kind, value, ctx = detail["type"], detail.get("input"), detail.get("ctx") or {}
    what = {"apply": "apply mode"}.get(str(loc[-1]), str(loc[-1])) if loc else "value"
    got = f", got {kind_of(value)}"
    node = _schema_at(schema, loc)
    if kind in ("missing", "missing_argument", "missing_keyword_only_argument"):
        return "is required"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        keys = _schema_at(schema, loc[:-1]).get("properties", {})
        return f"unknown key (expected one of {', '.join(sorted(keys))})"
    if kind in ("enum", "literal_error"):
        return f"unknown {what} {value!r} (expected one of {ctx.get('expected')})"
    if kind == "bool_type":
        return "expected true or false" + got
    if kind.startswith("int_"):
        return "expected an integer" + got
    if kind.startswith("float_"):
        return "expected a number" + got
    if kind == "string_type":
        return "expected a string" + got
    if kind == "string_pattern_mismatch":
        return "expected a non-empty string"
    if kind in _MAPPING_TYPES:
        return "expected a mapping" + got
    if kind in ("list_type", "tuple_type", "iterable_type"):
        return "expected a list" + got
    if kind == "too_short":
        return "expected a non-empty list"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = node.get("minimum"), node.get("maximum")
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        return f"must be {bounds}, got {value}"
    return str(detail["msg"]).removeprefix("Value error, ")


def _schema_at(schema: Mapping[str, Any], loc: Iterable[str | int]) -> Mapping[str, Any]:
    """The JSON Schema node describing the value at ``loc`` (empty when unknown)."""
    node = _resolve(schema, schema)
    for part in loc:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            extra = node.get("additionalProperties")
            fallback = (
                extra
                if isinstance(extra, Mapping)
                else next(iter(node.get("patternProperties", {}).values()), {})
            )
            node = node.get("properties", {}).get(part, fallback)
        node = _resolve(schema, node)
    return node


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow ``$ref`` and pick the first non-null branch of ``anyOf`` (optional values)."""
    while True:
        if "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            branches = [b for b in node["anyOf"] if b.get("type") != "null"]
            objects = [b for b in branches if "$ref" in b or "properties" in b]
            node = (objects or branches or [{}])[0]
        else:
            return node


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def kind_of(value: Any) -> str:
    """How a value reads in a problem: ``a mapping``, ``a list``, ``nothing`` ..."""
    if value is None:
        return "nothing"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)
