"""Okta to Salesforce: near-real-time runs from Okta assignment events.

An Airflow DAG defined in the provider package, written by `okta-salesforce init`.
Upgrade the provider to change the DAG; keep this file.
"""

from okta_salesforce.dags.events import dags

globals().update(dags)  # one DAG per target of the config: Airflow finds them here
