"""Seed data shared by both sandboxes: one made-up company, seen from Okta and from Salesforce.

A :class:`Seed` holds the people of the company, what each one's situation is
(assigned in Okta or not, present in Salesforce and in which state) and the
credentials the sandboxes accept. Both sandboxes build their state from the same
seed so that the demo, the tests and the benchmarks start from a consistent,
realistic picture: non-ASCII names, group-scoped assignments, inactive and frozen
Salesforce users, stale attributes, and unmanaged admin and integration users.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from enum import StrEnum

_FIRST = [
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Sofia",
    "Ethan",
    "Chloé",
    "Mateo",
    "Zoë",
    "Lucas",
    "Amélie",
    "Jürgen",
    "Søren",
    "Inés",
    "José",
    "Anaïs",
    "Björn",
    "Łukasz",
    "Priya",
    "Arjun",
    "Fatima",
    "Omar",
    "Wei",
    "Mei",
    "Hyun-woo",
    "Ji-woo",
    "Olga",
    "Dmitri",
    "Aoife",
    "Siobhán",
    "Kwame",
    "Ngozi",
]
_LAST = [
    "Smith",
    "Johnson",
    "García",
    "Martínez",
    "Müller",
    "Schäfer",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Kowalski",
    "Nowak",
    "Novák",
    "Øvergård",
    "O'Brien",
    "O'Neill",
    "Patel",
    "Sharma",
    "Khan",
    "Nguyen",
    "Chen",
    "Wang",
    "Kim",
    "Park",
    "Ivanova",
    "Petrov",
    "Okafor",
    "Mensah",
    "Silva",
    "Da Costa",
    "van der Berg",
    "McAllister",
    "Smith-Jones",
]
# (first, last) pairs written in Japanese, as Okta profiles for Japanese staff often are.
_JAPANESE = [
    ("太郎", "山田"),
    ("花子", "佐藤"),
    ("健", "鈴木"),
    ("由美", "高橋"),
    ("翔", "田中"),
    ("さくら", "伊藤"),
    ("大輔", "渡辺"),
    ("愛", "中村"),
    ("蓮", "小林"),
    ("結衣", "加藤"),
]
_JAPANESE_ROMAJI = {
    "太郎": "taro",
    "花子": "hanako",
    "健": "ken",
    "由美": "yumi",
    "翔": "sho",
    "さくら": "sakura",
    "大輔": "daisuke",
    "愛": "ai",
    "蓮": "ren",
    "結衣": "yui",
    "山田": "yamada",
    "佐藤": "sato",
    "鈴木": "suzuki",
    "高橋": "takahashi",
    "田中": "tanaka",
    "伊藤": "ito",
    "渡辺": "watanabe",
    "中村": "nakamura",
    "小林": "kobayashi",
    "加藤": "kato",
}
DEPARTMENTS = ["Sales", "Marketing", "Support", "Engineering", "Finance", "Operations"]
_TITLES = {
    "Sales": ["Account Executive", "Sales Development Rep", "Sales Manager"],
    "Marketing": ["Marketing Manager", "Content Strategist", "Demand Gen Lead"],
    "Support": ["Support Engineer", "Customer Success Manager"],
    "Engineering": ["Software Engineer", "Staff Engineer", "Engineering Manager"],
    "Finance": ["Financial Analyst", "Controller"],
    "Operations": ["Operations Analyst", "Business Operations Lead"],
}
# Department -> Salesforce profile name, as the Okta Workflows template's lookup table does.
# include/okta_salesforce.yaml carries the same table; existing Salesforce users are seeded with it.
DEPARTMENT_PROFILES = {
    "Sales": "Standard User",
    "Marketing": "Marketing User",
    "Support": "Standard User",
    "Engineering": "Chatter Free User",
    "Finance": "Standard User",
    "Operations": "Standard User",
}
DEFAULT_PROFILE = "Standard User"
_LOCALES = [
    ("en_US", "America/Los_Angeles"),
    ("en_US", "America/New_York"),
    ("en_GB", "Europe/London"),
    ("de_DE", "Europe/Berlin"),
    ("fr_FR", "Europe/Paris"),
    ("ja_JP", "Asia/Tokyo"),
]
EMAIL_DOMAIN = "acme.example.com"
_B62 = string.digits + string.ascii_letters


def okta_id(prefix: str, rnd: random.Random) -> str:
    """An Okta-style id: a 3-character prefix (``00u`` user, ``0oa`` app, ``00g`` group) + 17 characters."""
    return prefix + "".join(rnd.choice(_B62) for _ in range(17))


class SalesforceState(StrEnum):
    """How a person stands in Salesforce at the start."""

    ABSENT = "absent"
    ACTIVE = "active"
    INACTIVE = "inactive"
    FROZEN = "frozen"
    STALE = "stale"  # active, but department/title differ from Okta


@dataclass(frozen=True)
class Person:
    """One employee of the seeded company."""

    index: int
    okta_id: str
    first_name: str
    last_name: str
    login: str
    email: str
    department: str
    title: str
    locale: str
    time_zone: str
    employee_number: str
    assigned: bool
    via_group: bool
    salesforce: SalesforceState

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Scenario:
    """Shares of the company in each situation (each between 0 and 1).

    :param assigned: share of people assigned to the Salesforce app in Okta.
    :param via_group: share of assignments that come through a group (scope GROUP).
    :param in_sync: share of assigned people already active and up to date in Salesforce.
    :param inactive: share of assigned people present but inactive in Salesforce (to activate).
    :param frozen: share of assigned people active but frozen in Salesforce.
    :param stale: share of assigned people with a changed department/title (to update).
    :param leavers_in_salesforce: share of unassigned people still active in Salesforce (to deactivate).
    """

    assigned: float = 0.85
    via_group: float = 0.2
    in_sync: float = 0.5
    inactive: float = 0.1
    frozen: float = 0.03
    stale: float = 0.07
    leavers_in_salesforce: float = 0.6

    @classmethod
    def with_change_rate(cls, rate: float) -> Scenario:
        """A scenario where about ``rate`` of the company needs a change, mixed across actions."""
        assigned = 0.9
        leavers = 1 - assigned
        # Changes: creates (absent), activations, updates among assigned; deactivations among leavers.
        wanted = rate
        leaver_changes = min(leavers, wanted * 0.25)
        per_assigned = (wanted - leaver_changes) / assigned
        return cls(
            assigned=assigned,
            via_group=0.2,
            in_sync=1 - per_assigned,
            inactive=per_assigned / 3,
            frozen=0.0,
            stale=per_assigned / 3,
            leavers_in_salesforce=leaver_changes / leavers,
        )


@dataclass(frozen=True)
class Credentials:
    """Secrets the sandboxes accept. Tests use them; nothing here is real."""

    okta_api_token: str = "00sandbox-okta-api-token-not-a-secret-0000000"
    okta_client_id: str = "0oasandboxservice0001"
    okta_key_id: str = "sandbox-key-1"
    salesforce_client_id: str = "3MVG9sandbox.consumer.key.okta.salesforce"
    salesforce_client_secret: str = "sandbox-consumer-secret-0000000000000000"
    salesforce_refresh_token: str = "5Aep861sandbox-refresh-token-0000000000000000"
    salesforce_username: str = "integration@acme.example.com"
    salesforce_callback_url: str = "http://127.0.0.1:8765/callback"
    salesforce_admin_username: str = "admin@acme.example.com"
    salesforce_admin_password: str = "sandbox-admin-password"


@dataclass
class Seed:
    """A company of ``users`` people in a :class:`Scenario`, generated deterministically from ``seed``."""

    users: int = 200
    seed: int = 7
    scenario: Scenario = field(default_factory=Scenario)
    credentials: Credentials = field(default_factory=Credentials)
    okta_app_id: str = "0oasalesforceapp0001"
    okta_group_id: str = "00gsalesforceusers01"
    #: The domain of everyone's login and email (a second Okta org of another company uses another).
    email_domain: str = EMAIL_DOMAIN
    people: list[Person] = field(init=False)

    def __post_init__(self) -> None:
        rnd = random.Random(self.seed)
        self.people = [self._person(i, rnd) for i in range(self.users)]

    def _person(self, index: int, rnd: random.Random) -> Person:
        if rnd.random() < 0.05:
            first, last = rnd.choice(_JAPANESE)
            local = f"{_JAPANESE_ROMAJI[first]}.{_JAPANESE_ROMAJI[last]}"
        else:
            first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
            local = f"{_ascii(first)}.{_ascii(last)}"
        login = f"{local}.{index}@{self.email_domain}"
        department = rnd.choice(DEPARTMENTS)
        locale, time_zone = rnd.choice(_LOCALES)
        s = self.scenario
        assigned = rnd.random() < s.assigned
        roll = rnd.random()
        if assigned:
            if roll < s.in_sync:
                state = SalesforceState.ACTIVE
            elif roll < s.in_sync + s.inactive:
                state = SalesforceState.INACTIVE
            elif roll < s.in_sync + s.inactive + s.frozen:
                state = SalesforceState.FROZEN
            elif roll < s.in_sync + s.inactive + s.frozen + s.stale:
                state = SalesforceState.STALE
            else:
                state = SalesforceState.ABSENT
        else:
            state = SalesforceState.ACTIVE if roll < s.leavers_in_salesforce else SalesforceState.ABSENT
        return Person(
            index=index,
            okta_id=okta_id("00u", rnd),
            first_name=first,
            last_name=last,
            login=login,
            email=login,
            department=department,
            title=rnd.choice(_TITLES[department]),
            locale=locale,
            time_zone=time_zone,
            employee_number=f"E{100000 + index}",
            assigned=assigned,
            via_group=assigned and rnd.random() < s.via_group,
            salesforce=state,
        )


def _ascii(name: str) -> str:
    """Fold a display name into the ASCII local part of an email address."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    table = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L"})
    folded = folded or name.translate(table)
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-") or "user"
