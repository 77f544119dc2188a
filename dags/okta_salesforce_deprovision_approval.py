"""Okta to Salesforce: approval of deprovisioning over the deactivation guard.

An Airflow DAG defined in the provider package, written by `okta-salesforce init`.
Upgrade the provider to change the DAG; keep this file.
"""

from okta_salesforce.dags.deprovision_approval import dag  # noqa: F401 - Airflow finds the DAG here
