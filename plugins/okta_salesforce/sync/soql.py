"""Build SOQL from untrusted data: string-literal escaping and request-size-aware ``IN`` lists.

Every value that reaches a SOQL statement from an Okta profile goes through :func:`quote`,
so a login like ``x' OR Username LIKE '%`` stays one string literal. Long ``IN`` lists are
split by :func:`in_queries` so that each statement stays under Salesforce's request limits:
the URI (a query travels as ``GET .../query?q=...``) should stay near 2,000 characters and
never pass 16,384 bytes with headers, a statement is at most 100,000 characters and each
string in a ``WHERE`` clause at most 4,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import quote_plus

#: Target length of a query URI (the URL-encoded ``q`` parameter plus everything before it).
URI_TARGET = 2_000
#: Hard limit of the URI plus headers; a URI over it is refused with HTTP 414.
URI_MAX = 16_384
#: Longest SOQL statement Salesforce accepts.
STATEMENT_MAX = 100_000
#: Longest string literal allowed in a ``WHERE`` clause.
STRING_MAX = 4_000


class SoqlValueError(ValueError):
    """A value cannot be placed in a SOQL string literal."""


def escape(value: str) -> str:
    """Escape ``value`` for use inside a single-quoted SOQL string literal.

    Backslash, both quotes and the control characters SOQL knows get a backslash escape (the
    table of ``simple_salesforce.format``, the client that sends the query); other control
    characters cannot be expressed in SOQL and are refused.

    :raises SoqlValueError: for a value with a control character SOQL has no escape for.
    """
    # Imported here: simple-salesforce takes ~0.7 s to import, and only a Salesforce call needs it.
    from simple_salesforce.format import soql_escapes

    if not isinstance(value, str):
        raise SoqlValueError(f"expected a string, got {type(value).__name__}")
    escaped = value.translate(soql_escapes)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in escaped):
        raise SoqlValueError("value contains a control character that SOQL cannot express")
    return escaped


def quote(value: str) -> str:
    """``value`` as a complete SOQL string literal, quotes included.

    :raises SoqlValueError: if the value is longer than :data:`STRING_MAX` or cannot be escaped.
    """
    if len(value) > STRING_MAX:
        raise SoqlValueError(f"string literal longer than {STRING_MAX} characters")
    return f"'{escape(value)}'"


def _encoded_len(text: str) -> int:
    """Length of ``text`` once URL-encoded as a query-string value (what requests sends)."""
    return len(quote_plus(text, safe=""))


def in_queries(
    select: str,
    field: str,
    values: Iterable[str],
    *,
    extra_where: str | None = None,
    uri_prefix_len: int = 0,
    uri_target: int = URI_TARGET,
) -> Iterator[str]:
    """Yield SOQL statements ``<select> WHERE <field> IN (...)`` covering every value once.

    Values are de-duplicated; values that could never fit one request (longer than
    :data:`STRING_MAX`, or alone past the URI target) are left out, since they cannot match a
    Salesforce field anyway. The work is linear in the total size of the values.

    :param select: the statement up to its ``FROM`` clause, e.g. ``SELECT Id FROM User``.
    :param field: the field compared with the list, e.g. ``Username``.
    :param values: raw (unescaped) values.
    :param extra_where: a trusted condition ANDed with the ``IN`` list.
    :param uri_prefix_len: length of the URI before the ``q`` value (scheme, host, path, ``?q=``).
    :param uri_target: the URI length each statement should stay under.
    """
    head = f"{select} WHERE "
    if extra_where:
        head += f"({extra_where}) AND "
    head += f"{field} IN ("
    tail = ")"
    fixed = uri_prefix_len + _encoded_len(head) + _encoded_len(tail)
    budget = min(uri_target, URI_MAX) - fixed
    if budget <= 0:
        raise SoqlValueError("the statement prefix alone exceeds the URI target")
    comma = _encoded_len(",")
    seen: set[str] = set()
    chunk: list[str] = []
    used = 0
    chars = len(head) + len(tail)
    for value in values:
        if value in seen:
            continue
        seen.add(value)
        try:
            literal = quote(value)
        except SoqlValueError:
            continue
        cost = _encoded_len(literal)
        if cost > budget:
            continue
        extra = cost + (comma if chunk else 0)
        if chunk and (used + extra > budget or chars + len(literal) + 1 > STATEMENT_MAX):
            yield head + ",".join(chunk) + tail
            chunk, used, chars = [], 0, len(head) + len(tail)
            extra = cost
        chunk.append(literal)
        used += extra
        chars += len(literal) + 1
    if chunk:
        yield head + ",".join(chunk) + tail
