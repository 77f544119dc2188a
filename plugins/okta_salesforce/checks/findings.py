"""One result of ``okta-salesforce check``: what was checked, whether it is right, what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One checked item.

    :param ok: the item is as the sync needs it.
    :param subject: what was checked, e.g. ``Salesforce field Department``.
    :param message: what was found and, when wrong, what to change, in plain words.
    """

    ok: bool
    subject: str
    message: str

    def line(self) -> str:
        """The finding as one printed line."""
        return f"{'ok  ' if self.ok else 'FIX '} {self.subject}: {self.message}"


def passed(subject: str, message: str) -> Finding:
    return Finding(True, subject, message)


def failed(subject: str, message: str) -> Finding:
    return Finding(False, subject, message)
