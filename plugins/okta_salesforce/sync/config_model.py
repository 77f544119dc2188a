"""The whole sync configuration as one validated object, and its JSON Schema.

:class:`SyncConfig` mirrors ``include/okta_salesforce.yaml`` section by section;
:func:`parse_single` validates a parsed file (every problem at once, each with its key path) and
then the settings that contradict each other across sections. The JSON Schema editors use is
put together by :mod:`okta_salesforce.sync.config_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cache
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from pydantic.json_schema import SkipJsonSchema

from okta_salesforce.sync.config_mapping import FieldMapping, FieldMappings, Matching
from okta_salesforce.sync.config_reader import (
    SECTION,
    ConfigError,
    Section,
    Strings,
    Text,
    error_lines,
    kind_of,
)
from okta_salesforce.sync.config_runtime import FailuresConfig, NotificationsConfig, TasksConfig, WriterConfig
from okta_salesforce.sync.config_scope import (
    DeprovisioningConfig,
    ManagedConfig,
    PermissionSetRule,
    ScopeConfig,
)
from okta_salesforce.sync.entitlements_config import EntitlementsConfig, entitlement_problems
from okta_salesforce.sync.guard_config import GuardsConfig
from okta_salesforce.sync.managed_profiles import config_problems


@dataclass(frozen=True, config=SECTION)
class OktaConfig(Section):
    """The Okta side.

    :param app_id: the Salesforce app in Okta whose assignments drive the sync.
    :param groups: Okta groups read for the ``groups`` attribute (besides those filters name).
    :param conn_id: the ``okta`` connection of the Okta org.
    """

    app_id: Text
    groups: Strings = ()
    conn_id: Text = "okta_default"


@dataclass(frozen=True, config=SECTION)
class SalesforceConfig(Section):
    """The Salesforce side.

    :param conn_id: the ``salesforce_oauth`` connection of the org.
    :param pool: the Airflow pool of the Salesforce tasks (default ``salesforce_api``, per target
        ``salesforce_api__<name>``).
    """

    conn_id: Text = "salesforce_oauth_default"
    pool: str | None = None


@dataclass(frozen=True, config=SECTION)
class SyncConfig(Section):
    """The okta-salesforce sync configuration (``include/okta_salesforce.yaml``).

    :param okta: the Okta app whose assignments drive the sync, and its connection.
    :param matching: Salesforce field ↔ Okta attribute pairs, in order of precedence.
    :param mapping: how each Salesforce User field gets its value, by field API name; a string
        is the Okta attribute of the same value.
    :param version: the file format version.
    :param scope: which Okta assignments are in scope.
    :param managed: which Salesforce users the sync may touch.
    :param permission_sets: permission sets assigned on create and activation.
    :param deprovisioning: how access is taken away.
    :param guards: limits on deactivation, plan age, approval, API budget.
    :param writer: how the writer talks to Salesforce.
    :param failures: what a failed write leads to.
    :param tasks: Airflow retries of the DAGs' tasks.
    :param notifications: who hears about a failed run.
    :param entitlements: permission sets, permission set groups and licenses the sync manages.
    :param salesforce: the Salesforce org's connection and pool.
    :param source: the file this config was read from (not a key of the file).
    :param target: the name of the ``targets:`` entry this config is (None without targets).
    """

    okta: OktaConfig
    matching: Matching
    mapping: FieldMappings
    version: Literal[1] = 1
    scope: ScopeConfig = field(default_factory=ScopeConfig)
    managed: ManagedConfig = field(default_factory=ManagedConfig)
    permission_sets: tuple[PermissionSetRule, ...] = ()
    deprovisioning: DeprovisioningConfig = field(default_factory=DeprovisioningConfig)
    guards: GuardsConfig = field(default_factory=GuardsConfig)
    writer: WriterConfig = field(default_factory=WriterConfig)
    failures: FailuresConfig = field(default_factory=FailuresConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    entitlements: EntitlementsConfig = field(default_factory=EntitlementsConfig)
    salesforce: SalesforceConfig = field(default_factory=SalesforceConfig)
    source: SkipJsonSchema[str | None] = None
    target: SkipJsonSchema[str | None] = None

    @property
    def okta_app_id(self) -> str:
        """``okta.app_id``."""
        return self.okta.app_id

    @property
    def okta_groups(self) -> tuple[str, ...]:
        """``okta.groups``."""
        return self.okta.groups

    @property
    def okta_conn_id(self) -> str:
        """``okta.conn_id``."""
        return self.okta.conn_id

    @property
    def salesforce_conn_id(self) -> str:
        """``salesforce.conn_id``."""
        return self.salesforce.conn_id

    @property
    def salesforce_pool(self) -> str | None:
        """``salesforce.pool`` (None: the default of :class:`~okta_salesforce.sync.targets.TargetNames`)."""
        return self.salesforce.pool

    def field(self, target: str) -> FieldMapping | None:
        """The mapping of ``target``, if any."""
        return next((m for m in self.mapping if m.target == target), None)


@cache
def _adapter() -> TypeAdapter[SyncConfig]:
    """Built on first use: the validator of every section (kept off the import, for DAG parsing)."""
    return TypeAdapter(SyncConfig)


def parse_single(data: Any, *, source: str | None = None) -> SyncConfig:
    """Validate one parsed configuration mapping.

    Settings that contradict each other across sections (users the sync creates must stay
    managed) are checked once every section is valid on its own.

    :raises ConfigError: listing every invalid key with its path.
    """
    if data is None:
        raise ConfigError(["<file>: empty configuration"], source)
    if not isinstance(data, Mapping):
        raise ConfigError([f"<file>: expected a mapping, got {kind_of(data)}"], source)
    try:
        config = _adapter().validate_python({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(error_lines(exc, _validation_schema()), source) from None
    problems = config_problems(config) + entitlement_problems(config)
    if problems:
        raise ConfigError(problems, source)
    return config


@cache
def _validation_schema() -> dict[str, Any]:
    return _adapter().json_schema()


def single_schema() -> dict[str, Any]:
    """The JSON Schema of one target's config (see :mod:`okta_salesforce.sync.config_schema`)."""
    return _adapter().json_schema()
