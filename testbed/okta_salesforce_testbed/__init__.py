"""The test bed of okta-salesforce: sandboxes, the demo and the Airflow test environment.

It lives in the repository only (``testbed/``, a uv workspace member installed with the dev group)
and is never part of the provider wheel. ``okta-salesforce sandbox`` and ``okta-salesforce demo``
are its commands (:mod:`okta_salesforce_testbed.cli`), also runnable as ``okta-salesforce-testbed``.
"""
