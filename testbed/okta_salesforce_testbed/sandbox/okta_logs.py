"""The Okta sandbox's System Log: event records, the ``filter`` language and paged queries.

Events are kept in an append-only list in the order they were published, so a
query is a bisect on ``published`` plus a scan of one page (``O(page)``, not
``O(events)``). Paging follows Okta's two request types:

* *bounded* requests (``until`` given, or ``sortOrder=DESCENDING``) return a
  ``next`` link only while the page is full;
* *polling* requests (no ``until``, ascending) ALWAYS return a ``next`` link,
  even on an empty page, so a client can keep following it for new events.
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

__all__ = [
    "FilterError",
    "LogQuery",
    "LogQueryError",
    "SystemLog",
    "format_time",
    "parse_filter",
    "parse_time",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DEFAULT_WINDOW = timedelta(days=7)


@lru_cache(maxsize=1 << 18)
def format_time(moment: datetime) -> str:
    """Okta's timestamp format: UTC, milliseconds, ``Z`` (``2024-01-31T18:25:01.000Z``); cached, as
    the same seeded timestamps are rendered on every page (a full read of 100k app users renders
    more timestamps than the cache holds, so the formatting itself is kept cheap too)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp as Okta accepts it in ``since``/``until`` (``Z`` or an offset)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FilterError(ValueError):
    """A ``filter`` expression the System Log does not accept."""


class LogQueryError(ValueError):
    """A query parameter the System Log does not accept; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


# Filter language ---------------------------------------------------------------------------
Predicate = Callable[[Mapping[str, Any]], bool]
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')
_OPERATORS = {"eq", "ne", "sw", "co", "ew", "gt", "ge", "lt", "le", "pr"}


def _values(event: Mapping[str, Any], path: list[str]) -> list[Any]:
    """Every value at ``path`` (``target.id`` fans out over the target list)."""
    current: list[Any] = [event]
    for part in path:
        found: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            for element in items:
                if isinstance(element, Mapping) and part in element:
                    found.append(element[part])
        current = found
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if op in ("sw", "co", "ew"):
        if not isinstance(actual, str):
            return False
        text, wanted = actual.lower(), str(expected).lower()
        return {"sw": text.startswith, "ew": text.endswith, "co": text.__contains__}[op](wanted)
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    try:
        return {"gt": actual > expected, "ge": actual >= expected, "lt": actual < expected}.get(
            op, actual <= expected
        )
    except TypeError:
        return False


class _Parser:
    """Recursive descent over ``expr := term (or term)*; term := factor (and factor)*``."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise FilterError(f"Invalid filter near position {position}")
            position = match.end()
            open_, close, string, word = match.groups()
            if open_:
                self.tokens.append(("(", "("))
            elif close:
                self.tokens.append((")", ")"))
            elif string is not None:
                self.tokens.append(("str", re.sub(r"\\(.)", r"\1", string)))
            else:
                self.tokens.append(("word", word))
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("Unexpected end of filter expression")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.peek() is not None:
            raise FilterError(f"Unexpected token {self.peek()[1]!r} in filter")  # type: ignore[index]
        return predicate

    def expression(self) -> Predicate:
        terms = [self.term()]
        while self.keyword("or"):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else (lambda event: any(t(event) for t in terms))

    def term(self) -> Predicate:
        factors = [self.factor()]
        while self.keyword("and"):
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else (lambda event: all(f(event) for f in factors))

    def factor(self) -> Predicate:
        if self.keyword("not"):
            inner = self.factor()
            return lambda event: not inner(event)
        kind, value = self.take()
        if kind == "(":
            inner = self.expression()
            if self.take()[0] != ")":
                raise FilterError("Missing closing parenthesis in filter")
            return inner
        if kind != "word":
            raise FilterError(f"Expected an attribute name, got {value!r}")
        path = value.split(".")
        op_kind, op = self.take()
        op = op.lower()
        if op_kind != "word" or op not in _OPERATORS:
            raise FilterError(f"Unsupported operator {op!r} in filter")
        if op == "pr":
            return lambda event: any(v is not None for v in _values(event, path))
        literal_kind, literal = self.take()
        expected: Any
        if literal_kind == "str":
            expected = literal
        elif literal_kind == "word" and literal in ("true", "false"):
            expected = literal == "true"
        elif literal_kind == "word" and re.fullmatch(r"-?\d+(\.\d+)?", literal):
            expected = float(literal) if "." in literal else int(literal)
        else:
            raise FilterError(f"Invalid value {literal!r} in filter (strings must be double-quoted)")
        return lambda event: any(_compare(op, actual, expected) for actual in _values(event, path))


def parse_filter(expression: str) -> Predicate:
    """Compile an Okta System Log ``filter`` (SCIM operators, ``and``/``or``/``not``, parentheses)."""
    if not expression.strip():
        raise FilterError("Empty filter expression")
    return _Parser(expression).parse()


# Store and queries ----------------------------------------------------------------------------
@dataclass
class LogQuery:
    """The parsed parameters of one ``GET /api/v1/logs`` request."""

    since: datetime | None = None
    until: datetime | None = None
    after: str | None = None
    filter: str | None = None
    q: str | None = None
    limit: int = DEFAULT_LIMIT
    descending: bool = False

    @property
    def polling(self) -> bool:
        """Okta's polling request: no ``until`` and ascending order."""
        return self.until is None and not self.descending


@dataclass
class LogPage:
    """One page of events and the cursor of the ``next`` link (``None``: no next link)."""

    events: list[dict[str, Any]]
    next_after: str | None


@dataclass
class SystemLog:
    """Append-only event store of the Okta sandbox (callers hold the app lock)."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _events: list[dict[str, Any]] = field(default_factory=list)
    _published_ms: list[int] = field(default_factory=list)
    _search_text: list[str] = field(default_factory=list)
    #: Called with every recorded event (the Event Hooks queue them for delivery; must not block).
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._events)

    def all(self) -> list[dict[str, Any]]:
        return list(self._events)

    def record(
        self,
        event_type: str,
        *,
        display_message: str,
        legacy_event_type: str,
        actor: dict[str, Any],
        targets: list[dict[str, Any]],
        debug_data: dict[str, Any] | None = None,
        transaction_id: str,
    ) -> dict[str, Any]:
        """Append one SUCCESS event with the LogEvent shape Okta publishes."""
        now = self.clock()
        # ``published`` never goes backwards, so the store stays sorted for bisect.
        now_ms = int(now.timestamp() * 1000)
        if self._published_ms and now_ms < self._published_ms[-1]:
            now_ms = self._published_ms[-1]
            now = datetime.fromtimestamp(now_ms / 1000, UTC)
        event: dict[str, Any] = {
            "uuid": str(uuid.uuid1()),
            "published": format_time(now),
            "eventType": event_type,
            "version": "0",
            "severity": "INFO",
            "legacyEventType": legacy_event_type,
            "displayMessage": display_message,
            "actor": actor,
            "client": {
                "userAgent": {"rawUserAgent": "UNKNOWN", "os": "Unknown", "browser": "UNKNOWN"},
                "zone": "null",
                "device": "Unknown",
                "id": None,
                "ipAddress": None,
                "geographicalContext": None,
            },
            "device": None,
            "authenticationContext": {
                "authenticationProvider": None,
                "credentialProvider": None,
                "credentialType": None,
                "issuer": None,
                "interface": None,
                "authenticationStep": 0,
                "externalSessionId": "trs" + uuid.uuid4().hex[:22],
            },
            "outcome": {"result": "SUCCESS", "reason": None},
            "securityContext": {
                "asNumber": None,
                "asOrg": None,
                "isp": None,
                "domain": None,
                "isProxy": None,
            },
            "debugContext": {"debugData": debug_data or {}},
            "transaction": {"type": "JOB", "id": transaction_id, "detail": {}},
            "request": {"ipChain": []},
            "target": targets,
        }
        # Okta's JSON shows many of these as null, but its OpenAPI description declares them
        # non-nullable: leave them out, which is what a client must cope with either way.
        event = _without_nulls(event)
        self._events.append(event)
        self._published_ms.append(now_ms)
        self._search_text.append(_search_text(event))
        for listener in self.listeners:
            listener(event)
        return event

    def query(self, query: LogQuery) -> LogPage:
        """Run one page of ``query``; ``O(log N + scanned events)``."""
        predicate = parse_filter(query.filter) if query.filter else None
        keywords = [k.lower() for k in (query.q or "").split()]
        if len(keywords) > 10 or any(len(k) > 40 for k in keywords):
            raise LogQueryError("q", "q supports at most 10 keywords of at most 40 characters")
        now = self.clock()
        until = query.until or now
        since = query.since or (until - DEFAULT_WINDOW)
        if since > until:
            raise LogQueryError("since", "since must not be after until")
        since_ms, until_ms = _ms(since), _ms(until)
        total = len(self._events)

        def matches(index: int) -> bool:
            if predicate and not predicate(self._events[index]):
                return False
            return all(k in self._search_text[index] for k in keywords)

        found: list[dict[str, Any]] = []
        if not query.descending:
            start = _cursor(query.after) if query.after else bisect.bisect_left(self._published_ms, since_ms)
            # Polling requests see everything persisted so far; bounded ones stop at ``until``.
            end = total if query.polling else bisect.bisect_right(self._published_ms, until_ms)
            index = max(start, 0)
            while index < end and len(found) < query.limit:
                if matches(index):
                    found.append(self._events[index])
                index += 1
            if query.polling:
                return LogPage(found, self._encode(index))
            more = index < end and len(found) >= query.limit
            return LogPage(found, self._encode(index) if more else None)
        start = _cursor(query.after) if query.after else bisect.bisect_right(self._published_ms, until_ms) - 1
        floor = bisect.bisect_left(self._published_ms, since_ms)
        index = min(start, total - 1)
        while index >= floor and len(found) < query.limit:
            if matches(index):
                found.append(self._events[index])
            index -= 1
        more = index >= floor and len(found) >= query.limit
        return LogPage(found, self._encode(index) if more else None)

    def _encode(self, index: int) -> str:
        """An opaque cursor in Okta's ``<published ms>_<n>`` style: the next event to scan."""
        anchor = self._published_ms[min(max(index - 1, 0), len(self) - 1)] if self._events else 0
        return f"{anchor}_{index}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _cursor(after: str) -> int:
    try:
        return int(after.rsplit("_", 1)[-1])
    except ValueError:
        raise LogQueryError("after", "The after cursor is invalid") from None


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _search_text(event: Mapping[str, Any]) -> str:
    """Lower-cased text that ``q`` keywords are matched against."""
    parts: list[str] = [event["eventType"], event["displayMessage"]]
    for entity in [event["actor"], *event["target"]]:
        parts.extend(str(entity.get(k) or "") for k in ("id", "alternateId", "displayName"))
    return " ".join(parts).lower()
