"""The config's one error type, in a module of its own: DAG parsing raises it without pydantic."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        where = f" in {source}" if source else ""
        super().__init__(f"invalid okta-salesforce config{where}:\n  " + "\n  ".join(problems))
