"""A small SOQL parser: tokenizer + recursive descent, schema-free.

It understands the subset of SOQL the project and its tests use::

    SELECT Id, Username, Profile.Name | COUNT()
    FROM User
    [WHERE <condition>]            -- = != <> < <= > >= LIKE IN NOT IN, AND OR NOT, ( )
    [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

Literals: single-quoted strings with SOQL escapes, numbers, TRUE/FALSE, NULL,
dates (``2024-01-31``) and datetimes (``2024-01-31T10:00:00Z``). As in
Salesforce, AND and OR cannot be mixed at one level without parentheses.
Errors are :class:`SoqlError` carrying Salesforce's error code and the
position, and format themselves the way Salesforce words them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

MAX_QUERY_LENGTH = 100_000
MAX_WHERE_STRING_LENGTH = 4_000

_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+))
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)


class SoqlError(Exception):
    """A query Salesforce would reject.

    :param error_code: Salesforce's code, e.g. ``MALFORMED_QUERY`` or ``INVALID_FIELD``.
    :param detail: the last line of Salesforce's message.
    :param position: 0-based character offset of the offending token, when known.
    """

    def __init__(self, error_code: str, detail: str, position: int | None = None) -> None:
        super().__init__(detail)
        self.error_code = error_code
        self.detail = detail
        self.position = position

    def format(self, query: str) -> str:
        """The message as Salesforce renders it: the query line, a caret, row and column."""
        if self.position is None:
            return self.detail
        line_start = query.rfind("\n", 0, self.position) + 1
        line_end = query.find("\n", self.position)
        line = query[line_start : line_end if line_end >= 0 else len(query)]
        row = query.count("\n", 0, self.position) + 1
        column = self.position - line_start + 1
        # Salesforce shows a window of the line around the error, not the whole (possibly huge) query.
        window_start = max(0, column - 1 - 60)
        excerpt = line[window_start : column - 1 + 40]
        caret = " " * (column - 1 - window_start) + "^"
        return f"\n{excerpt}\n{caret}\nERROR at Row:{row}:Column:{column}\n{self.detail}"


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, op, punct, eof
    value: str
    position: int
    text: str = ""

    @property
    def shown(self) -> str:
        """The token as Salesforce quotes it in 'unexpected token' messages."""
        return "<EOF>" if self.kind == "eof" else self.text or self.value


@dataclass(frozen=True)
class FieldRef:
    """A field path as written: ``Username`` or ``Profile.UserLicense.Name``."""

    path: tuple[str, ...]
    position: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal:
    """A literal value and its SOQL kind (string, number, boolean, null, date, datetime)."""

    kind: str
    value: Any
    position: int


@dataclass(frozen=True)
class Comparison:
    """``field <op> value``; for IN / NOT IN, ``value`` is a tuple of literals."""

    field: FieldRef
    operator: str  # = != < <= > >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    operator: str  # AND / OR
    operands: tuple[Condition, ...]


Condition = Comparison | Not | BoolOp


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool = False
    nulls_last: bool | None = None  # None = Salesforce default (NULLS FIRST for ASC, LAST for DESC)

    @property
    def effective_nulls_last(self) -> bool:
        return self.descending if self.nulls_last is None else self.nulls_last


@dataclass
class Query:
    """A parsed SELECT statement."""

    sobject: str
    sobject_position: int
    fields: list[FieldRef] = field(default_factory=list)
    count: bool = False
    where: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def tokenize(text: str) -> list[Token]:
    """Split a SOQL statement into tokens (keywords upper-cased, strings unescaped)."""
    tokens: list[Token] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char == "'":
            value, end = _read_string(text, position)
            tokens.append(Token("string", value, position, text[position:end]))
            position = end
            continue
        match = _TOKEN_RE.match(text, position)
        if not match:
            raise SoqlError(
                "MALFORMED_QUERY", f"line 1:{position} no viable alternative at character '{char}'", position
            )
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "ident":
            upper = raw.upper()
            if upper in _KEYWORDS:
                tokens.append(Token("keyword", upper, position, raw))
            else:
                tokens.append(Token("ident", raw, position, raw))
        elif kind != "ws":
            tokens.append(Token(kind, raw, position, raw))
        position = match.end()
    tokens.append(Token("eof", "", length))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted literal at ``start``; returns (value, end offset).

    ``\\%`` and ``\\_`` are kept escaped: they only mean something to LIKE.
    """
    out: list[str] = []
    position = start + 1
    length = len(text)
    while position < length:
        char = text[position]
        if char == "'":
            return "".join(out), position + 1
        if char == "\\":
            if position + 1 >= length:
                break
            nxt = text[position + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[position + 2 : position + 6]):
                out.append(chr(int(text[position + 2 : position + 6], 16)))
                position += 4
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{text[start : position + 2]}'. Illegal escape sequence "
                    f"'\\{nxt}'",
                    start,
                )
            position += 2
            continue
        out.append(char)
        position += 1
    raise SoqlError("MALFORMED_QUERY", f"line 1:{start} no viable alternative at character '''", start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    # Token helpers -----------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in words

    def unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self.current
        return SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.shown}'", token.position)

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if self.current.kind != "punct" or self.current.value != char:
            raise self.unexpected()
        return self.advance()

    # Grammar -------------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields: list[FieldRef] = []
        count = False
        if (
            self.current.kind == "ident"
            and self.current.value.upper() == "COUNT"
            and self.tokens[self.index + 1].value == "("
        ):
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            count = True
        else:
            fields.append(self.field_ref())
            while self.current.value == "," and self.current.kind == "punct":
                self.advance()
                fields.append(self.field_ref())
        self.expect_keyword("FROM")
        if self.current.kind != "ident":
            raise self.unexpected()
        sobject_token = self.advance()
        query = Query(sobject_token.value, sobject_token.position, fields, count)
        if self.at_keyword("WHERE"):
            self.advance()
            query.where = self.condition()
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            query.order_by.append(self.order_item())
            while self.current.kind == "punct" and self.current.value == ",":
                self.advance()
                query.order_by.append(self.order_item())
        if self.at_keyword("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.at_keyword("OFFSET"):
            self.advance()
            query.offset = self.integer()
        if self.current.kind != "eof":
            raise self.unexpected()
        return query

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.value.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.value)

    def field_ref(self) -> FieldRef:
        token = self.current
        if token.kind != "ident":
            raise self.unexpected()
        self.advance()
        parts = [token.value]
        while self.current.kind == "punct" and self.current.value == ".":
            self.advance()
            if self.current.kind != "ident":
                raise self.unexpected()
            parts.append(self.advance().value)
        return FieldRef(tuple(parts), token.position)

    def order_item(self) -> OrderItem:
        ref = self.field_ref()
        descending = False
        nulls_last: bool | None = None
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().value == "DESC"
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().value == "LAST"
        return OrderItem(ref, descending, nulls_last)

    def condition(self) -> Condition:
        first = self.unary()
        operator: str | None = None
        operands = [first]
        while self.at_keyword("AND", "OR"):
            token = self.current
            if operator is not None and token.value != operator:
                # Salesforce requires parentheses when AND and OR are mixed at one level.
                raise self.unexpected(token)
            operator = token.value
            self.advance()
            operands.append(self.unary())
        return first if operator is None else BoolOp(operator, tuple(operands))

    def unary(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.current.kind == "punct" and self.current.value == "(":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        ref = self.field_ref()
        token = self.current
        if token.kind == "op":
            self.advance()
            operator = "!=" if token.value == "<>" else token.value
            return Comparison(ref, operator, self.literal())
        if self.at_keyword("LIKE"):
            self.advance()
            return Comparison(ref, "LIKE", self.literal())
        if self.at_keyword("NOT"):
            self.advance()
            if not self.at_keyword("IN"):
                raise self.unexpected()
            self.advance()
            return Comparison(ref, "NOT IN", self.literal_list())
        if self.at_keyword("IN"):
            self.advance()
            return Comparison(ref, "IN", self.literal_list())
        raise self.unexpected()

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.current.kind == "punct" and self.current.value == ",":
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "string":
            self.advance()
            if len(token.value) > MAX_WHERE_STRING_LENGTH:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"String literal is too long: each string in a WHERE clause is limited to "
                    f"{MAX_WHERE_STRING_LENGTH} characters",
                    token.position,
                )
            return Literal("string", token.value, token.position)
        if token.kind == "number":
            self.advance()
            number: float | int = float(token.value) if "." in token.value else int(token.value)
            return Literal("number", number, token.position)
        if token.kind == "datetime":
            self.advance()
            return Literal("datetime", parse_datetime(token.value), token.position)
        if token.kind == "date":
            self.advance()
            return Literal("date", date.fromisoformat(token.value), token.position)
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", token.value == "TRUE", token.position)
        if token.kind == "keyword" and token.value == "NULL":
            self.advance()
            return Literal("null", None, token.position)
        raise self.unexpected()


def parse_datetime(text: str) -> datetime:
    """A SOQL / API datetime (``2024-01-31T10:00:00Z``, ``...+0000`` or ``...+00:00``) as aware UTC."""
    normalized = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    return datetime.fromisoformat(normalized).astimezone(UTC)


def parse(text: str) -> Query:
    """Parse one SOQL statement; raises :class:`SoqlError` as Salesforce would."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError(
            "MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_QUERY_LENGTH} characters"
        )
    return _Parser(text).parse()


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a LIKE pattern (``%``, ``_``, escaped ``\\%`` / ``\\_``) to a case-insensitive regex."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
