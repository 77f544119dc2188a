"""Config sections on what is written: ``matching`` and ``mapping`` (one rule per Salesforce User field).

Each rule is a frozen pydantic dataclass (see :mod:`okta_salesforce.sync.config_reader`); field
knowledge comes from :mod:`okta_salesforce.sync.fields`, template syntax is checked with the
environment expressions run in (:mod:`okta_salesforce.sync.expressions`).
``docs/configuration.md`` documents each key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum
from typing import Annotated, Any

from jinja2 import TemplateSyntaxError
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from okta_salesforce.sync.config_reader import (
    SECTION,
    Bool,
    Int,
    Section,
    Strings,
    Text,
    kind_of,
    problems,
)
from okta_salesforce.sync.expressions import jinja_environment
from okta_salesforce.sync.fields import (
    CASE_INSENSITIVE,
    CUSTOM_FIELD,
    GENERATED,
    RESERVED_FIELDS,
    USER_FIELDS,
    FieldType,
    is_custom,
)


class Source(StrEnum):
    """Where a mapped value comes from."""

    ATTRIBUTE = "attribute"
    CONSTANT = "constant"
    LOOKUP = "lookup"
    EXPRESSION = "expression"
    GENERATED = "generated"


class Apply(StrEnum):
    """When a mapped value is written."""

    ALWAYS = "always"
    ON_CREATE = "on_create"


class OnInvalid(StrEnum):
    """What to do with a value Salesforce would refuse."""

    ERROR = "error"
    DEFAULT = "default"


def _matchable(name: str) -> str:
    spec = USER_FIELDS.get(name)
    if spec is None and not is_custom(name):
        raise ValueError(f"unknown User field {name!r}")
    if spec is not None and spec.type is FieldType.REFERENCE:
        raise ValueError(f"cannot match on reference field {name!r}")
    return name


def _parses(template: str) -> str:
    try:
        jinja_environment().parse(template)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error: {exc.message}") from None
    return template


@dataclass(frozen=True, config=SECTION)
class MatchRule(Section):
    """One matching attribute: a Salesforce field compared with an Okta attribute.

    :param salesforce: the User field.
    :param okta: the Okta attribute.
    :param case_sensitive: Salesforce compares Username and Email case-insensitively and
        FederationIdentifier case-sensitively; this is the default per field.
    """

    salesforce: Annotated[Text, AfterValidator(_matchable)]
    okta: Text
    case_sensitive: Bool = True

    @model_validator(mode="before")
    @classmethod
    def _case_rule_of_the_field(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("case_sensitive") is None:
            return {**data, "case_sensitive": data.get("salesforce") not in CASE_INSENSITIVE}
        return data


def _no_repeated_field(rules: tuple[MatchRule, ...]) -> tuple[MatchRule, ...]:
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.salesforce in seen:
            problems((f"[{i}].salesforce", f"{rule.salesforce!r} is already a matching rule"))
        seen.add(rule.salesforce)
    return rules


#: ``matching``: the rules in order of precedence.
Matching = Annotated[tuple[MatchRule, ...], Field(min_length=1), AfterValidator(_no_repeated_field)]


def _scalar(value: Any) -> Any:
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"expected a scalar value, got {kind_of(value)}")
    return value


def _folded_keys(value: Any) -> Any:
    return {str(k).casefold(): v for k, v in value.items()} if isinstance(value, Mapping) else value


Scalar = Annotated[Any, AfterValidator(_scalar), WithJsonSchema({"type": ["string", "number", "boolean"]})]
#: A lookup table: keys compared case-insensitively (stored case-folded).
Table = Annotated[dict[str, Scalar], BeforeValidator(_folded_keys)]


@dataclass(frozen=True, config=SECTION)
class FieldMapping(Section):
    """How one Salesforce User field gets its value (the entry ``mapping.<target>``).

    :param target: the Salesforce field API name (the entry's key).
    :param source: the kind of source.
    :param attribute: the Okta attribute (``attribute`` and ``lookup`` sources).
    :param value: the constant (``constant`` source).
    :param table: the lookup table (``lookup`` source); keys compared case-insensitively.
    :param template: the Jinja expression (``expression`` source).
    :param default: used when the source gives nothing (or, with ``on_invalid: default``, an
        invalid value).
    :param apply: written always, or only when the user is created.
    :param on_invalid: an invalid value is a per-record error, or replaced by ``default``.
    :param truncate: cut overlong values to the field length instead of refusing them.
    :param allowed_values: the picklist values the org accepts (overrides the built-in list).
    :param max_length: the length limit of a custom field.
    """

    target: SkipJsonSchema[str]
    source: Source
    attribute: str | None = None
    value: Any = None
    table: Table = field(default_factory=dict)
    template: Annotated[str, AfterValidator(_parses)] | None = None
    default: Any = None
    apply: Apply = Apply.ALWAYS
    on_invalid: OnInvalid = OnInvalid.ERROR
    truncate: Bool = False
    allowed_values: Strings | None = None
    max_length: Int | None = Field(default=None, ge=1)

    @property
    def references(self) -> str | None:
        """For a reference field, the sObject whose name the mapping gives (``Profile``)."""
        spec = USER_FIELDS.get(self.target)
        return spec.references if spec else None

    @model_validator(mode="after")
    def _keys_fit_the_source(self) -> FieldMapping:
        source, found = self.source, []
        if source in (Source.ATTRIBUTE, Source.LOOKUP) and not self.attribute:
            found.append((".attribute", "is required"))
        if source is Source.EXPRESSION and not self.template:
            found.append((".template", "is required"))
        if source is Source.CONSTANT and self.value is None:
            found.append((".value", "is required for a constant"))
        if source is Source.LOOKUP and not self.table:
            found.append((".table", "expected a non-empty mapping"))
        if source is Source.GENERATED and self.target not in GENERATED:
            found.append((".source", "'generated' is only available for Alias and CommunityNickname"))
        given = {
            "attribute": self.attribute,
            "value": self.value,
            "table": self.table,
            "template": self.template,
        }
        for key, users in _SOURCES_OF.items():
            if given[key] not in (None, {}) and source not in users:
                found.append((f".{key}", f"not used by source {source.value!r}"))
        if self.on_invalid is OnInvalid.DEFAULT and self.default is None:
            found.append((".on_invalid", "'default' needs a default value"))
        problems(*found)
        spec = USER_FIELDS.get(self.target)
        if spec and not spec.updateable and self.apply is Apply.ALWAYS:
            object.__setattr__(self, "apply", Apply.ON_CREATE)
        return self


_SOURCES_OF = {
    "attribute": {Source.ATTRIBUTE, Source.LOOKUP},
    "value": {Source.CONSTANT},
    "table": {Source.LOOKUP},
    "template": {Source.EXPRESSION},
}
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_REQUIRED = object()


def _target(name: str) -> str:
    if not _FIELD_NAME.match(name):
        raise ValueError("not a valid Salesforce field API name")
    if name in RESERVED_FIELDS:
        raise ValueError(f"{name} is managed by the sync itself and cannot be mapped")
    if name not in USER_FIELDS and not is_custom(name):
        raise ValueError("unknown User field (custom fields end in __c)")
    return name


def _given(value: Any) -> Any:
    if value is _REQUIRED:
        problems(("", "is required: Salesforce needs it to create a user"))
    return value


_Entry = Annotated[FieldMapping, BeforeValidator(_given, json_schema_input_type=str | FieldMapping)]


class FieldMappings(tuple[FieldMapping, ...]):
    """The ``mapping`` section: ``{User field: rule}`` in the file, the rules in file order here.

    A rule given as a string is the ``attribute`` source of that Okta attribute.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        rules = handler.generate_schema(dict[Annotated[str, AfterValidator(_target)], _Entry])
        return core_schema.no_info_wrap_validator_function(cls._validate, rules)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """For editors: the known User fields by name (completion), custom ``__c`` fields by pattern."""
        out = handler(schema)
        rule = out.pop("additionalProperties")
        out["properties"] = {name: rule for name in USER_FIELDS if name not in RESERVED_FIELDS}
        out["patternProperties"] = {CUSTOM_FIELD.pattern: rule}
        out["additionalProperties"] = False
        out["required"] = [name for name, spec in USER_FIELDS.items() if spec.required]
        return out

    @classmethod
    def _validate(cls, value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> FieldMappings:
        if isinstance(value, tuple):
            return cls(value)
        if not isinstance(value, Mapping):
            raise PydanticCustomError("dict_type", "expected a mapping")
        entries = {target: _with_target(target, rule) for target, rule in value.items()}
        for name, spec in USER_FIELDS.items():
            if spec.required and name not in entries:
                entries[name] = _REQUIRED
        return cls(handler(entries).values())


def _with_target(target: Any, rule: Any) -> Any:
    if isinstance(rule, str):
        rule = {"source": Source.ATTRIBUTE.value, "attribute": rule}
    return {**rule, "target": target} if isinstance(rule, Mapping) else rule
