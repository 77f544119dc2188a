"""Generated ``Alias`` and ``CommunityNickname`` values, unique in the org (:class:`IdentityAllocator`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from okta_salesforce.sync.expressions import fold_ascii
from okta_salesforce.sync.fields import truncate_utf16


class IdentityAllocator:
    """Generates ``Alias`` (≤ 8) and ``CommunityNickname`` (≤ 40) values unique in the org.

    Generation is deterministic: the same login and the same set of values already taken give
    the same result, so a rerun after a failed create proposes the same values. Collisions get
    a suffix derived from a hash of the login, then a counter.

    :param taken_aliases: aliases already used in Salesforce.
    :param taken_nicknames: community nicknames already used in Salesforce.
    """

    def __init__(self, taken_aliases: Iterable[str] = (), taken_nicknames: Iterable[str] = ()) -> None:
        self._aliases = {a.casefold() for a in taken_aliases if a}
        self._nicknames = {n.casefold() for n in taken_nicknames if n}
        # Past the hash suffixes a name is a prefix of the base plus a counter in hex; per prefix and
        # suffix length, the lowest counter that may still be free. Names are only ever added, so
        # the counters below it stay taken and need no second look (else every user whose base
        # shares a prefix walks again over the others' names: a million-user plan did not finish).
        self._alias_counters: dict[tuple[str, int], int] = {}
        self._nickname_counters: dict[tuple[str, int], int] = {}

    def alias(self, login: str, values: dict[str, Any]) -> str:
        """An unused alias: first initial + last name, folded to ASCII, at most 8 characters."""
        first = fold_ascii(str(values.get("FirstName") or "")).lower()
        last = fold_ascii(str(values.get("LastName") or "")).lower()
        base = (first[:1] + last)[:8] or fold_ascii(login.split("@", 1)[0]).lower()[:8] or "user"
        return self._claim(base, login, 8, self._aliases, self._alias_counters)

    def nickname(self, login: str, values: dict[str, Any]) -> str:
        """An unused community nickname: the local part of the login, at most 40 characters."""
        local = login.split("@", 1)[0].strip()
        local = re.sub(r"\s+", " ", local)
        base = truncate_utf16(local, 40) or fold_ascii(str(values.get("LastName") or "")) or "user"
        return self._claim(base, login, 40, self._nicknames, self._nickname_counters)

    @staticmethod
    def _claim(
        base: str, login: str, limit: int, taken: set[str], counters: dict[tuple[str, int], int]
    ) -> str:
        for candidate in _candidates(base, login, limit):
            if candidate.casefold() not in taken:
                taken.add(candidate.casefold())
                return candidate
        counter = 0  # the lowest free counter, as a plain count from 0 would find it
        while True:
            suffix = f"{counter:x}"
            space = (truncate_utf16(base, limit - len(suffix)), len(suffix))
            resume = counters.get(space, 0)
            if counter < resume:  # taken, every one of them
                counter = resume
                continue
            counters[space] = counter + 1
            candidate = space[0] + suffix
            if candidate.casefold() not in taken:
                taken.add(candidate.casefold())
                return candidate
            counter += 1


def _candidates(base: str, login: str, limit: int) -> Iterator[str]:
    """``base``, then ``base`` with hash suffixes of ``login`` (made only when the earlier ones are taken)."""
    yield base
    digest = hashlib.sha256(login.encode()).hexdigest()
    stem = truncate_utf16(base, limit - 4)
    yield stem + digest[:4]
    for i in range(0, 24, 4):
        yield stem + digest[4 + i : 8 + i]
