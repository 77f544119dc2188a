"""The sync configuration: ``include/okta_salesforce.yaml`` loaded into frozen dataclasses.

:func:`load_config` reads the file named by its argument, else by ``OKTA_SALESFORCE_CONFIG``,
else the file shipped in ``include/``. Every problem is reported with the path of the key at
fault, e.g. ``mapping.Department.source: unknown source 'foo'``, and all problems of a file
are reported at once. ``docs/configuration.md`` documents each key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError

from okta_salesforce.sync.config_runtime import (
    FailuresConfig,
    NotificationsConfig,
    TasksConfig,
    WriterConfig,
    read_failures,
    read_notifications,
    read_tasks,
    read_writer,
)
from okta_salesforce.sync.entitlements_config import (
    EntitlementsConfig,
    entitlement_problems,
    parse_entitlements,
)
from okta_salesforce.sync.fields import RESERVED_FIELDS, USER_FIELDS, FieldType, is_custom
from okta_salesforce.sync.guard_config import GuardsConfig, parse_guards

ENV_VAR = "OKTA_SALESFORCE_CONFIG"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        where = f" in {source}" if source else ""
        super().__init__(f"invalid okta-salesforce config{where}:\n  " + "\n  ".join(problems))


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


class DeprovisioningMode(StrEnum):
    DEACTIVATE = "deactivate"
    FREEZE = "freeze"


class FilterOperator(StrEnum):
    IN = "in"
    NOT_IN = "not_in"
    PRESENT = "present"
    ABSENT = "absent"
    MATCHES = "matches"


@dataclass(frozen=True)
class AttributeFilter:
    """A condition on one Okta attribute.

    :param attribute: the Okta profile attribute (or ``login``, ``app_username``, ``okta_user_id``).
    :param operator: how to compare.
    :param values: for ``in``/``not_in``, the values (compared case-insensitively); for
        ``matches``, one regular expression.
    """

    attribute: str
    operator: FilterOperator
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScopeConfig:
    """Which Okta assignments are in scope.

    :param user_statuses: Okta user statuses in scope (others are deprovisioned).
    :param assignment_statuses: app-user statuses in scope.
    :param filters: every filter must hold.
    """

    user_statuses: tuple[str, ...] = ("ACTIVE",)
    assignment_statuses: tuple[str, ...] = ("ACTIVE", "PROVISIONED")
    filters: tuple[AttributeFilter, ...] = ()


@dataclass(frozen=True)
class ManagedConfig:
    """Which Salesforce users the sync may touch.

    :param require_federation_identifier: only users with a FederationIdentifier are managed.
    :param exclude_profiles: users with these profiles are never touched.
    :param exclude_usernames: these usernames (case-insensitive) are never touched.
    :param user_types: ``UserType`` values that can be managed (Standard: Salesforce and Salesforce
        Platform licenses; CsnOnly: Chatter Free). Every profile the mapping gives must be of one.
    :param adopt_unlinked: an in-scope Okta user that matches a user who is unmanaged only for
        lacking a FederationIdentifier adopts it (the mapping writes the identifier).
    :param filters: conditions on the Salesforce user's fields that must all hold (targets sharing
        one org partition its users with them, see :mod:`okta_salesforce.sync.targets`).
    """

    require_federation_identifier: bool = True
    adopt_unlinked: bool = True
    exclude_profiles: tuple[str, ...] = (
        "System Administrator",
        "API Only",
        "Salesforce API Only System Integrations",
    )
    exclude_usernames: tuple[str, ...] = ()
    user_types: tuple[str, ...] = ("Standard", "CsnOnly")
    filters: tuple[AttributeFilter, ...] = ()


@dataclass(frozen=True)
class MatchRule:
    """One matching attribute: a Salesforce field compared with an Okta attribute.

    :param salesforce: the User field.
    :param okta: the Okta attribute.
    :param case_sensitive: Salesforce compares Username and Email case-insensitively and
        FederationIdentifier case-sensitively; this is the default per field.
    """

    salesforce: str
    okta: str
    case_sensitive: bool


@dataclass(frozen=True)
class FieldMapping:
    """How one Salesforce User field gets its value.

    :param target: the Salesforce field API name.
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

    target: str
    source: Source
    attribute: str | None = None
    value: Any = None
    table: Mapping[str, Any] = field(default_factory=dict)
    template: str | None = None
    default: Any = None
    apply: Apply = Apply.ALWAYS
    on_invalid: OnInvalid = OnInvalid.ERROR
    truncate: bool = False
    allowed_values: tuple[str, ...] | None = None
    max_length: int | None = None

    @property
    def references(self) -> str | None:
        """For a reference field, the sObject whose name the mapping gives (``Profile``)."""
        spec = USER_FIELDS.get(self.target)
        return spec.references if spec else None


@dataclass(frozen=True)
class PermissionSetRule:
    """Assign the permission set ``name`` to users matching every filter in ``when``."""

    name: str
    when: tuple[AttributeFilter, ...] = ()


@dataclass(frozen=True)
class DeprovisioningConfig:
    """How access is taken away.

    :param mode: ``deactivate`` (IsActive=false) or ``freeze`` (UserLogin.IsFrozen).
    :param unfreeze_assigned: unfreeze a frozen user who is assigned again.
    """

    mode: DeprovisioningMode = DeprovisioningMode.DEACTIVATE
    unfreeze_assigned: bool = True


@dataclass(frozen=True)
class SyncConfig:
    """The whole configuration."""

    okta_app_id: str
    matching: tuple[MatchRule, ...]
    mapping: tuple[FieldMapping, ...]
    scope: ScopeConfig = field(default_factory=ScopeConfig)
    managed: ManagedConfig = field(default_factory=ManagedConfig)
    permission_sets: tuple[PermissionSetRule, ...] = ()
    deprovisioning: DeprovisioningConfig = field(default_factory=DeprovisioningConfig)
    guards: GuardsConfig = field(default_factory=GuardsConfig)
    writer: WriterConfig = field(default_factory=WriterConfig)
    failures: FailuresConfig = field(default_factory=FailuresConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    source: str | None = None
    okta_groups: tuple[str, ...] = ()
    entitlements: EntitlementsConfig = field(default_factory=EntitlementsConfig)
    okta_conn_id: str = "okta_default"
    salesforce_conn_id: str = "salesforce_oauth_default"
    #: The pool of the Salesforce tasks; None: the default (see okta_salesforce.sync.targets).
    salesforce_pool: str | None = None
    #: The name of the ``targets:`` entry this config is; None for a config without targets.
    target: str | None = None

    def field(self, target: str) -> FieldMapping | None:
        """The mapping of ``target``, if any."""
        return next((m for m in self.mapping if m.target == target), None)


def default_config_path() -> Path:
    """The config path: ``$OKTA_SALESFORCE_CONFIG``, else ``include/okta_salesforce.yaml``.

    The shipped file is looked for next to the repository (``<repo>/include``) and, for an
    installed package, in the current directory's ``include/``.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    for base in (_PACKAGE_DIR.parent.parent, Path.cwd()):
        candidate = base / "include" / "okta_salesforce.yaml"
        if candidate.is_file():
            return candidate
    return _PACKAGE_DIR.parent.parent / "include" / "okta_salesforce.yaml"


def load_config(path: str | os.PathLike[str] | None = None, *, target: str | None = None) -> SyncConfig:
    """Load and validate the configuration file.

    :param path: the YAML file; defaults to :func:`default_config_path`.
    :param target: the ``targets:`` entry to return (a config with targets names one; see
        :mod:`okta_salesforce.sync.targets`).
    :raises ConfigError: listing every invalid key with its path.
    :raises FileNotFoundError: when the file does not exist.
    """
    config_path = Path(path) if path is not None else default_config_path()
    text = config_path.read_text(encoding="utf-8")
    try:
        # libyaml's loader when PyYAML has it: 8x faster, and every DAG file reads this file at parse time.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError([f"<file>: not valid YAML: {exc}"], str(config_path)) from None
    return parse_config(data, source=str(config_path), target=target)


def parse_config(data: Any, *, source: str | None = None, target: str | None = None) -> SyncConfig:
    """Validate an already-parsed configuration mapping.

    :param target: the ``targets:`` entry to return (every target is validated).
    :raises ConfigError: listing every invalid key with its path.
    """
    if isinstance(data, dict) and "targets" in data:
        from okta_salesforce.sync.targets import parse_target

        return parse_target(data, target, source=source)
    if target is not None:
        raise ConfigError([f"targets: no target {target!r}: the config has no targets list"], source)
    return parse_single(data, source=source)


def parse_single(data: Any, *, source: str | None = None) -> SyncConfig:
    """Validate the mapping of one target (a config without ``targets:``)."""
    parser = _Parser()
    config = parser.config(data, source)
    if parser.problems or config is None:
        raise ConfigError(parser.problems or ["<file>: empty configuration"], source)
    return config


_TOP_KEYS = {
    "version",
    "okta",
    "scope",
    "managed",
    "matching",
    "mapping",
    "permission_sets",
    "deprovisioning",
    "guards",
    "writer",
    "failures",
    "tasks",
    "notifications",
    "entitlements",
    "salesforce",
}
_CASE_INSENSITIVE_FIELDS = {"Username", "Email"}
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Parser:
    """Collects problems while turning plain data into config objects."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # Generic readers -----------------------------------------------------------
    def mapping(self, value: Any, path: str, keys: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"keys must be strings, got {key!r}")
            elif keys is not None and key not in keys:
                self.fail(f"{path}.{key}" if path else key, f"unknown key (expected one of {_list(keys)})")
        return value

    def string(self, value: Any, path: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(path, f"expected a non-empty string, got {_kind(value)}")
            return None
        return value

    def strings(self, value: Any, path: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(path, f"expected a list of strings, got {_kind(value)}")
            return default
        out = []
        for i, item in enumerate(value):
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                out.append(str(item))
            else:
                self.fail(f"{path}[{i}]", f"expected a string, got {_kind(item)}")
        return tuple(out)

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
            return default
        return value

    def enum(self, enum: type[StrEnum], value: Any, path: str, default: Any, what: str = "value") -> Any:
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            self.fail(path, f"unknown {what} {value!r} (expected one of {_list(e.value for e in enum)})")
            return default

    def number(
        self, value: Any, path: str, default: Any, *, integer: bool, low: float, high: float | None = None
    ) -> Any:
        if value is None:
            return default
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            self.fail(path, f"expected {'an integer' if integer else 'a number'}, got {_kind(value)}")
            return default
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.fail(path, f"must be {bounds}, got {value}")
            return default
        return value

    # Sections ------------------------------------------------------------------
    def config(self, data: Any, source: str | None) -> SyncConfig | None:
        if data is None:
            self.fail("<file>", "empty configuration")
            return None
        top = self.mapping(data, "", _TOP_KEYS)
        if not isinstance(data, dict):
            return None
        version = top.get("version", 1)
        if version != 1:
            self.fail("version", f"unsupported version {version!r} (expected 1)")
        okta = self.mapping(top.get("okta"), "okta", {"app_id", "groups", "conn_id"})
        salesforce = self.mapping(top.get("salesforce"), "salesforce", {"conn_id", "pool"})
        app_id = self.string(okta.get("app_id"), "okta.app_id", required=True) or ""
        matching = self.matching(top.get("matching"))
        mapping = self.field_mappings(top.get("mapping"))
        config = SyncConfig(
            okta_app_id=app_id,
            matching=matching,
            mapping=mapping,
            scope=self.scope(top.get("scope")),
            managed=self.managed(top.get("managed")),
            permission_sets=self.permission_sets(top.get("permission_sets")),
            deprovisioning=self.deprovisioning(top.get("deprovisioning")),
            guards=self.guards(top.get("guards")),
            writer=read_writer(self, top.get("writer")),
            failures=read_failures(self, top.get("failures")),
            tasks=read_tasks(self, top.get("tasks")),
            notifications=read_notifications(self, top.get("notifications")),
            source=source,
            okta_groups=self.strings(okta.get("groups"), "okta.groups", ()),
            entitlements=parse_entitlements(self, top.get("entitlements")),
            okta_conn_id=self.string(okta.get("conn_id"), "okta.conn_id") or "okta_default",
            salesforce_conn_id=self.string(salesforce.get("conn_id"), "salesforce.conn_id")
            or "salesforce_oauth_default",
            salesforce_pool=self.string(salesforce.get("pool"), "salesforce.pool"),
        )
        self.cross_check(config)
        return config

    def cross_check(self, config: SyncConfig) -> None:
        """Settings that contradict each other (users the sync creates must stay managed); only
        checked once every section is valid on its own."""
        from okta_salesforce.sync.managed_profiles import config_problems

        if not self.problems:
            self.problems.extend(config_problems(config) + entitlement_problems(config))

    def filters(self, value: Any, path: str) -> tuple[AttributeFilter, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, f"expected a list of filters, got {_kind(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            p = f"{path}[{i}]"
            raw = self.mapping(item, p, {"attribute", "operator", "values"})
            attribute = self.string(raw.get("attribute"), f"{p}.attribute", required=True)
            operator = self.enum(FilterOperator, raw.get("operator", "in"), f"{p}.operator", None, "operator")
            values = self.strings(raw.get("values"), f"{p}.values", ())
            if operator in (FilterOperator.IN, FilterOperator.NOT_IN) and not values:
                self.fail(f"{p}.values", f"operator {operator.value!r} needs at least one value")
            if operator is FilterOperator.MATCHES:
                if len(values) != 1:
                    self.fail(f"{p}.values", "operator 'matches' needs exactly one regular expression")
                else:
                    try:
                        re.compile(values[0])
                    except re.error as exc:
                        self.fail(f"{p}.values[0]", f"invalid regular expression: {exc}")
            if attribute and operator:
                out.append(AttributeFilter(attribute, operator, values))
        return tuple(out)

    def scope(self, value: Any) -> ScopeConfig:
        raw = self.mapping(value, "scope", {"user_statuses", "assignment_statuses", "filters"})
        base = ScopeConfig()
        return ScopeConfig(
            user_statuses=tuple(
                s.upper()
                for s in self.strings(raw.get("user_statuses"), "scope.user_statuses", base.user_statuses)
            ),
            assignment_statuses=tuple(
                s.upper()
                for s in self.strings(
                    raw.get("assignment_statuses"), "scope.assignment_statuses", base.assignment_statuses
                )
            ),
            filters=self.filters(raw.get("filters"), "scope.filters"),
        )

    def managed(self, value: Any) -> ManagedConfig:
        keys = {
            "require_federation_identifier",
            "adopt_unlinked",
            "exclude_profiles",
            "exclude_usernames",
            "user_types",
            "filters",
        }
        raw = self.mapping(value, "managed", keys)
        base = ManagedConfig()
        return ManagedConfig(
            require_federation_identifier=self.boolean(
                raw.get("require_federation_identifier"),
                "managed.require_federation_identifier",
                base.require_federation_identifier,
            ),
            exclude_profiles=self.strings(
                raw.get("exclude_profiles"), "managed.exclude_profiles", base.exclude_profiles
            ),
            exclude_usernames=self.strings(
                raw.get("exclude_usernames"), "managed.exclude_usernames", base.exclude_usernames
            ),
            user_types=self.strings(raw.get("user_types"), "managed.user_types", base.user_types),
            adopt_unlinked=self.boolean(
                raw.get("adopt_unlinked"), "managed.adopt_unlinked", base.adopt_unlinked
            ),
            filters=self.managed_filters(raw.get("filters")),
        )

    def managed_filters(self, value: Any) -> tuple[AttributeFilter, ...]:
        filters = self.filters(value, "managed.filters")
        for i, flt in enumerate(filters):
            if flt.attribute not in USER_FIELDS and not is_custom(flt.attribute):
                self.fail(f"managed.filters[{i}].attribute", f"unknown User field {flt.attribute!r}")
        return filters

    def matching(self, value: Any) -> tuple[MatchRule, ...]:
        if value is None:
            self.fail("matching", "is required (a list of {salesforce, okta} rules in order of precedence)")
            return ()
        if not isinstance(value, list) or not value:
            self.fail("matching", f"expected a non-empty list of rules, got {_kind(value)}")
            return ()
        rules, seen = [], set()
        for i, item in enumerate(value):
            p = f"matching[{i}]"
            raw = self.mapping(item, p, {"salesforce", "okta", "case_sensitive"})
            sf_field = self.string(raw.get("salesforce"), f"{p}.salesforce", required=True)
            okta = self.string(raw.get("okta"), f"{p}.okta", required=True)
            if sf_field and sf_field not in USER_FIELDS and not is_custom(sf_field):
                self.fail(f"{p}.salesforce", f"unknown User field {sf_field!r}")
                continue
            if sf_field in seen:
                self.fail(f"{p}.salesforce", f"{sf_field!r} is already a matching rule")
            if (
                sf_field
                and USER_FIELDS.get(sf_field, None)
                and USER_FIELDS[sf_field].type is FieldType.REFERENCE
            ):
                self.fail(f"{p}.salesforce", f"cannot match on reference field {sf_field!r}")
            seen.add(sf_field)
            default_cs = sf_field not in _CASE_INSENSITIVE_FIELDS
            case_sensitive = self.boolean(raw.get("case_sensitive"), f"{p}.case_sensitive", default_cs)
            if sf_field and okta:
                rules.append(MatchRule(sf_field, okta, case_sensitive))
        return tuple(rules)

    def field_mappings(self, value: Any) -> tuple[FieldMapping, ...]:
        if value is None:
            self.fail("mapping", "is required")
            return ()
        raw = self.mapping(value, "mapping")
        out = [m for target, spec in raw.items() if (m := self.field_mapping(str(target), spec))]
        for name, spec in USER_FIELDS.items():
            if spec.required and name not in raw:
                self.fail(f"mapping.{name}", "is required: Salesforce needs it to create a user")
        return tuple(out)

    def field_mapping(self, target: str, value: Any) -> FieldMapping | None:
        path = f"mapping.{target}"
        keys = {
            "source",
            "attribute",
            "value",
            "table",
            "template",
            "default",
            "apply",
            "on_invalid",
            "truncate",
            "allowed_values",
            "max_length",
        }
        if not _FIELD_NAME.match(target):
            self.fail(path, "not a valid Salesforce field API name")
            return None
        if target in RESERVED_FIELDS:
            self.fail(path, f"{target} is managed by the sync itself and cannot be mapped")
            return None
        if target not in USER_FIELDS and not is_custom(target):
            self.fail(path, "unknown User field (custom fields end in __c)")
            return None
        if isinstance(value, str):
            value = {"source": "attribute", "attribute": value}
        raw = self.mapping(value, path, keys)
        if not isinstance(value, dict):
            return None
        source = self.enum(Source, raw.get("source"), f"{path}.source", None, "source")
        if "source" not in raw:
            self.fail(f"{path}.source", f"is required (one of {_list(s.value for s in Source)})")
        if source is None:
            return None
        attribute = self.string(
            raw.get("attribute"), f"{path}.attribute", required=source in (Source.ATTRIBUTE, Source.LOOKUP)
        )
        template = self.string(raw.get("template"), f"{path}.template", required=source is Source.EXPRESSION)
        if template:
            self.check_template(template, f"{path}.template")
        if source is Source.CONSTANT and "value" not in raw:
            self.fail(f"{path}.value", "is required for a constant")
        table: dict[str, Any] = {}
        if source is Source.LOOKUP:
            tbl = raw.get("table")
            if not isinstance(tbl, dict) or not tbl:
                self.fail(f"{path}.table", f"expected a non-empty mapping, got {_kind(tbl)}")
            else:
                for k, v in tbl.items():
                    if not isinstance(v, (str, int, float, bool)):
                        self.fail(f"{path}.table.{k}", f"expected a scalar value, got {_kind(v)}")
                    table[str(k).casefold()] = v
        if source is Source.GENERATED and target not in ("Alias", "CommunityNickname"):
            self.fail(f"{path}.source", "'generated' is only available for Alias and CommunityNickname")
        for key, sources in (
            ("attribute", {Source.ATTRIBUTE, Source.LOOKUP}),
            ("value", {Source.CONSTANT}),
            ("table", {Source.LOOKUP}),
            ("template", {Source.EXPRESSION}),
        ):
            if key in raw and source not in sources:
                self.fail(f"{path}.{key}", f"not used by source {source.value!r}")
        spec = USER_FIELDS.get(target)
        apply = self.enum(Apply, raw.get("apply"), f"{path}.apply", Apply.ALWAYS, "apply mode")
        if spec and not spec.updateable and apply is Apply.ALWAYS:
            apply = Apply.ON_CREATE
        on_invalid = self.enum(
            OnInvalid, raw.get("on_invalid"), f"{path}.on_invalid", OnInvalid.ERROR, "on_invalid"
        )
        if on_invalid is OnInvalid.DEFAULT and raw.get("default") is None:
            self.fail(f"{path}.on_invalid", "'default' needs a default value")
        allowed = raw.get("allowed_values")
        max_length = self.number(raw.get("max_length"), f"{path}.max_length", None, integer=True, low=1)
        return FieldMapping(
            target=target,
            source=source,
            attribute=attribute,
            value=raw.get("value"),
            table=table,
            template=template,
            default=raw.get("default"),
            apply=apply,
            on_invalid=on_invalid,
            truncate=self.boolean(raw.get("truncate"), f"{path}.truncate", False),
            allowed_values=self.strings(allowed, f"{path}.allowed_values", ())
            if allowed is not None
            else None,
            max_length=max_length,
        )

    def check_template(self, template: str, path: str) -> None:
        from okta_salesforce.sync.mapping import jinja_environment

        try:
            jinja_environment().parse(template)
        except TemplateSyntaxError as exc:
            self.fail(path, f"template syntax error: {exc.message}")

    def permission_sets(self, value: Any) -> tuple[PermissionSetRule, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail("permission_sets", f"expected a list, got {_kind(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            p = f"permission_sets[{i}]"
            raw = self.mapping(item, p, {"name", "when"})
            name = self.string(raw.get("name"), f"{p}.name", required=True)
            when = self.filters(raw.get("when"), f"{p}.when")
            if name:
                out.append(PermissionSetRule(name, when))
        return tuple(out)

    def deprovisioning(self, value: Any) -> DeprovisioningConfig:
        raw = self.mapping(value, "deprovisioning", {"mode", "unfreeze_assigned"})
        base = DeprovisioningConfig()
        return DeprovisioningConfig(
            mode=self.enum(DeprovisioningMode, raw.get("mode"), "deprovisioning.mode", base.mode, "mode"),
            unfreeze_assigned=self.boolean(
                raw.get("unfreeze_assigned"), "deprovisioning.unfreeze_assigned", base.unfreeze_assigned
            ),
        )

    def guards(self, value: Any) -> GuardsConfig:
        return parse_guards(self, value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _list(values: Any) -> str:
    return ", ".join(sorted(str(v) for v in values))
