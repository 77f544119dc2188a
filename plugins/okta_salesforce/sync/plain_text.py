"""The fast check of a mapped free-text value (:class:`~okta_salesforce.sync.mapping.Mapper`).

Most mapped values are short printable ASCII: names, logins, emails, titles. For them the full
:func:`~okta_salesforce.sync.mapping.normalise` (Unicode normalisation, surrogate and control
character searches, UTF-16 length) has nothing to do but trim; :class:`PlainText` says so in a few
C calls and leaves every other value to it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config_mapping import Source
from okta_salesforce.sync.fields import USER_FIELDS, FieldType, is_email

if TYPE_CHECKING:
    from okta_salesforce.sync.config_mapping import FieldMapping


class PlainText:
    """The common case of a free-text attribute, checked fast: a str of printable ASCII that fits
    the field (and is an email where one is needed) gives what the full check would give, its
    trimmed self; anything else returns None and takes the full path
    (:func:`~okta_salesforce.sync.mapping.normalise`).

    :param attribute: the Okta attribute the field reads.
    """

    __slots__ = ("attribute", "email", "limit", "lower")

    def __init__(self, attribute: str, limit: int | None, email: bool, lower: bool) -> None:
        self.attribute, self.limit, self.email, self.lower = attribute, limit, email, lower

    @classmethod
    def of(cls, mapping: FieldMapping, few: Collection[str]) -> PlainText | None:
        """The fast check for ``mapping``, or None when it has none (not an attribute, a picklist...)."""
        spec = USER_FIELDS.get(mapping.target)
        kind = spec.type if spec else FieldType.STRING
        if (
            mapping.source is not Source.ATTRIBUTE
            or not mapping.attribute
            or mapping.target in few
            or kind not in (FieldType.STRING, FieldType.EMAIL)
            or mapping.allowed_values is not None
        ):
            return None
        limit = mapping.max_length or (spec.length if spec else None)
        return cls(mapping.attribute, limit, kind is FieldType.EMAIL, mapping.target == "Username")

    def __call__(self, raw: Any) -> tuple[str, None, None] | None:
        if type(raw) is not str or not raw.isascii():
            return None
        value = raw.strip()
        if not value or not value.isprintable():
            return None
        if self.lower:
            value = value.lower()
        if (self.email and not is_email(value)) or (self.limit is not None and len(value) > self.limit):
            return None
        return value, None, None
