"""Airflow hooks: the Salesforce OAuth connection and the Okta connection."""
