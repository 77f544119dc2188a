"""Airflow operators: poll Okta, plan, write to Salesforce, report."""
