"""Okta to Salesforce: incremental sync every 15 minutes.

An Airflow DAG defined in the provider package, written by `okta-salesforce init`.
Upgrade the provider to change the DAG; keep this file.
"""

from okta_salesforce.dags.sync import dag  # noqa: F401 - Airflow finds the DAG here
