"""Okta to Salesforce: example: load each run's report into a SQL table.

An Airflow DAG defined in the provider package, written by `okta-salesforce init`.
Upgrade the provider to change the DAG; keep this file.
"""

from okta_salesforce.dags.report_to_warehouse import dags

globals().update(dags)  # one DAG per target of the config: Airflow finds them here
