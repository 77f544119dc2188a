"""The sync core: models, config, mapping, matching, plan and guards. No Airflow imports."""
