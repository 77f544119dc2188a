"""The provider's DAG definitions.

A project's DAG folder holds thin files that import them (``okta-salesforce init DIR`` writes
them), so upgrading the provider upgrades the DAGs. Each module defines one DAG as ``dag``.
"""
