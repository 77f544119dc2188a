"""Okta profile → Salesforce User fields, validated the way Salesforce would validate them.

A :class:`Mapper` is built once per run from the config (expressions are compiled once) and
maps each :class:`~okta_salesforce.sync.models.OktaAssignment` to a :class:`MappedUser`: the
field values, plus per-field errors that name the record and the field. Nothing here raises
for bad data; a bad profile becomes errors on its own record.

The attributes an Okta attribute name can refer to are those of
:func:`~okta_salesforce.sync.expressions.assignment_context`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from okta_salesforce.sync.config_mapping import Apply, FieldMapping, OnInvalid, Source
from okta_salesforce.sync.expressions import assignment_context, fold_ascii, jinja_environment
from okta_salesforce.sync.fields import (
    CASE_INSENSITIVE,
    USER_FIELDS,
    FieldType,
    has_control_characters,
    has_lone_surrogate,
    is_email,
    parse_boolean,
    picklist_allows,
    truncate_utf16,
    utf16_len,
)
from okta_salesforce.sync.identities import IdentityAllocator
from okta_salesforce.sync.models import FieldError, OktaAssignment
from okta_salesforce.sync.plain_text import PlainText
from okta_salesforce.sync.scoping import filters_match

if TYPE_CHECKING:
    from jinja2 import Template

    from okta_salesforce.sync.config_model import SyncConfig

#: Names other modules import from here (the mapper's own, and helpers re-exported for them).
__all__ = [
    "CASE_INSENSITIVE",
    "IdentityAllocator",
    "MappedUser",
    "Mapper",
    "assignment_context",
    "fold_ascii",
    "truncate_utf16",
]
#: Fields resolved after the users they refer to are known (:mod:`okta_salesforce.sync.managers`).
SECOND_PASS = frozenset({"ManagerId"})
#: A field's ``(value, error, warning)``, and a memo of them by attribute value.
_Result = tuple[Any, str | None, str | None]
_Memo = dict[str | None, _Result]


@dataclass(frozen=True)
class MappedUser:
    """The Salesforce User fields mapped from one Okta assignment.

    :param values: every mapped field, reference fields holding names (``ProfileId`` →
        ``"Standard User"``); a field whose source gave nothing is absent.
    :param errors: per-field problems; a create with any error is not attempted.
    :param warnings: values replaced by their default.
    :param permission_sets: permission set names the rules give this user.
    """

    login: str
    values: dict[str, Any]
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()


class Mapper:
    """Maps Okta assignments to Salesforce User fields per the config's ``mapping`` section.

    :param config: the sync config.
    :param picklists: the org's restricted picklist values by field (from ``describe``); they
        take precedence over the built-in lists, and a field's ``allowed_values`` over both.
    """

    def __init__(self, config: SyncConfig, picklists: Mapping[str, Collection[str]] | None = None) -> None:
        self.config = config
        self.picklists = {k: frozenset(v) for k, v in (picklists or {}).items() if v}
        env = jinja_environment()
        self._templates: dict[str, Template] = {
            m.target: env.from_string(m.template)
            for m in config.mapping
            if m.source is Source.EXPRESSION and m.template
        }
        self.always = tuple(
            m.target
            for m in config.mapping
            if m.apply is Apply.ALWAYS and m.source is not Source.GENERATED and m.target not in SECOND_PASS
        )
        self.generated = tuple(m.target for m in config.mapping if m.source is Source.GENERATED)
        # Fields with few distinct values (constants, lookups, picklists) validate each value once.
        self._few = frozenset(
            m.target
            for m in config.mapping
            if m.source in (Source.CONSTANT, Source.LOOKUP)
            or ((spec := USER_FIELDS.get(m.target)) is not None and spec.type is FieldType.PICKLIST)
        )
        self._validated: dict[tuple[str, str], tuple[Any, str | None, str | None]] = {}
        # Each mapped field, with the fast check of its common values when it has one, and a memo
        # of its results by attribute value when that value is all they depend on (constants,
        # lookups, picklist attributes: few distinct values).
        self._mapped: tuple[tuple[FieldMapping, PlainText | None, _Memo | None], ...] = tuple(
            (
                m,
                PlainText.of(m, self._few),
                {}
                if m.source in (Source.CONSTANT, Source.LOOKUP)
                or (m.source is Source.ATTRIBUTE and m.target in self._few)
                else None,
            )
            for m in config.mapping
            if m.source is not Source.GENERATED and m.target not in SECOND_PASS
        )

    def map(self, assignment: OktaAssignment) -> MappedUser:
        """Map and validate one assignment (generated fields are left to :class:`IdentityAllocator`)."""
        context = assignment_context(assignment)
        get = context.get
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        warnings: list[str] = []
        # PlainText.__call__ and the memo look-up, inline: they run for every field of every user
        # (a call each cost a third of the mapping). A property test holds the two to each other.
        for mapping, plain, memo in self._mapped:
            checked: _Result | None = None
            if plain is not None:
                raw = get(plain.attribute)
                if type(raw) is str and raw.isascii():
                    value = raw.strip()
                    if value and value.isprintable():
                        if plain.lower:
                            value = value.lower()
                        limit = plain.limit
                        if (limit is None or len(value) <= limit) and (not plain.email or is_email(value)):
                            values[mapping.target] = value
                            continue
            elif memo is not None:
                key = get(mapping.attribute) if mapping.attribute else None
                if key is None or type(key) is str:
                    checked = memo.get(key)
                    if checked is None:
                        checked = self.field_value(mapping, context)
                        if len(memo) < _VALIDATED_MAX:
                            memo[key] = checked
            value, error, warning = checked or self.field_value(mapping, context)
            if error:
                errors.append(FieldError(mapping.target, error))
            elif value is not None:
                values[mapping.target] = value
            if warning:
                warnings.append(f"{mapping.target}: {warning}")
        permission_sets = (
            tuple(rule.name for rule in self.config.permission_sets if filters_match(rule.when, context))
            if self.config.permission_sets
            else ()
        )
        return MappedUser(assignment.login, values, tuple(errors), tuple(warnings), permission_sets)

    def field_value(
        self, mapping: FieldMapping, context: dict[str, Any]
    ) -> tuple[Any, str | None, str | None]:
        """One field's validated value for an attribute ``context``: ``(value, error, warning)``."""
        if mapping.source is Source.ATTRIBUTE:
            raw = context.get(mapping.attribute or "")
        else:
            try:
                raw = self._raw(mapping, context)
            except _MappingError as exc:
                return None, str(exc), None
        if mapping.target not in self._few or not isinstance(raw, str):
            return self._validate(mapping, raw)
        key = (mapping.target, raw)
        result = self._validated.get(key)
        if result is None:
            result = self._validate(mapping, raw)
            if len(self._validated) < _VALIDATED_MAX:
                self._validated[key] = result
        return result

    def required_errors(self, mapped: MappedUser) -> list[FieldError]:
        """Errors for fields Salesforce requires on create that the mapping left empty."""
        errors = []
        failed = {e.field for e in mapped.errors}
        for name, spec in USER_FIELDS.items():
            if (
                spec.required
                and name not in mapped.values
                and name not in failed
                and name not in self.generated
            ):
                errors.append(
                    FieldError(name, "is required to create a Salesforce user but the mapping gave no value")
                )
        return errors

    # Sources ---------------------------------------------------------------------
    def _raw(self, mapping: FieldMapping, context: dict[str, Any]) -> Any:
        if mapping.source is Source.CONSTANT:
            return mapping.value
        if mapping.source is Source.ATTRIBUTE:
            return context.get(mapping.attribute or "")
        if mapping.source is Source.LOOKUP:
            key = context.get(mapping.attribute or "")
            if _blank(key):
                return None
            if isinstance(key, (dict, list)):
                raise _MappingError(
                    f"Okta attribute {mapping.attribute!r} holds {type(key).__name__}, not a value"
                )
            return mapping.table.get(str(key).strip().casefold())
        template = self._templates[mapping.target]
        try:
            return template.render(context)
        except TemplateError as exc:
            raise _MappingError(f"expression failed: {exc.message or type(exc).__name__}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise _MappingError(f"expression failed: {type(exc).__name__}: {exc}") from None

    # Validation ------------------------------------------------------------------
    def _validate(self, mapping: FieldMapping, raw: Any) -> tuple[Any, str | None, str | None]:
        """Normalise and validate one value: ``(value, error, warning)``."""
        if _blank(raw):
            raw = mapping.default
            if _blank(raw):
                return None, None, None
        picklist = self.picklists.get(mapping.target)
        value, error = normalise(mapping, raw, picklist)
        if error is None:
            return value, None, None
        if mapping.on_invalid is OnInvalid.DEFAULT and not _blank(mapping.default):
            fallback, fallback_error = normalise(mapping, mapping.default, picklist)
            if fallback_error is None:
                return fallback, None, f"{error}; used the default {fallback!r}"
        return None, error, None


def normalise(
    mapping: FieldMapping, raw: Any, picklist: Collection[str] | None = None
) -> tuple[Any, str | None]:
    """Turn a raw value into what Salesforce stores, or explain why it cannot: ``(value, error)``.

    :param picklist: the values the org accepts for this field, when known.
    """
    spec = USER_FIELDS.get(mapping.target)
    if isinstance(raw, bool):
        if spec and spec.type is not FieldType.BOOLEAN:
            return None, f"expected text, got a boolean ({raw})"
        return raw, None
    if isinstance(raw, (int, float)):
        raw = str(raw)
    if not isinstance(raw, str):
        return None, f"expected a single value, got {type(raw).__name__}"
    # ASCII (most values) has no surrogates, is its own NFC form, and counts one UTF-16 unit per
    # character: the checks below skip what cannot apply to it.
    ascii_only = raw.isascii()
    if not ascii_only and has_lone_surrogate(raw):
        return None, "contains an invalid character (a lone UTF-16 surrogate)"
    if spec and spec.type is FieldType.BOOLEAN:
        flag = parse_boolean(raw)
        if flag is None:
            return None, f"{_shorten(raw.strip())!r} is not true or false"
        return flag, None
    value = (raw if ascii_only else unicodedata.normalize("NFC", raw)).strip()
    if not (ascii_only and value.isprintable()) and has_control_characters(value):
        return None, "contains control characters"
    if not value:
        return None, None
    kind = spec.type if spec else FieldType.STRING
    if mapping.target == "Username":
        value = value.lower()
    if kind is FieldType.EMAIL and not is_email(value):
        return None, f"{_shorten(value)!r} is not a valid email address"
    if kind is FieldType.PICKLIST or mapping.allowed_values is not None:
        if mapping.target == "LocaleSidKey":
            value = value.replace("-", "_")
        if mapping.allowed_values is not None:
            allowed: bool | None = value in mapping.allowed_values
        elif picklist is not None:
            allowed = value in picklist
        else:
            allowed = picklist_allows(mapping.target, value)
        if allowed is False:
            return None, f"{_shorten(value)!r} is not an accepted {mapping.target} value"
    limit = mapping.max_length or (spec.length if spec else None)
    if (
        limit is not None
        and kind is not FieldType.REFERENCE
        and (len(value) if ascii_only else utf16_len(value)) > limit
    ):
        if mapping.truncate and kind is FieldType.STRING:
            return truncate_utf16(value, limit), None
        return None, f"is {utf16_len(value)} characters long; Salesforce allows at most {limit}"
    return value, None


#: Values kept by a :class:`Mapper`'s cache of validated low-cardinality fields.
_VALIDATED_MAX = 4096


class _MappingError(Exception):
    pass


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shorten(value: str, size: int = 60) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"
