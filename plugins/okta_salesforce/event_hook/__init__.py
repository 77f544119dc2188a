"""Okta Event Hooks received by Airflow's API server: push instead of polling the System Log.

* :mod:`~okta_salesforce.event_hook.delivery`: what an Okta delivery holds and which of its
  events matter (no Airflow, no I/O);
* :mod:`~okta_salesforce.event_hook.ledger`: the record of event uuids seen by push and by the
  System Log poller, shared through the watched Asset's state store;
* :mod:`~okta_salesforce.event_hook.receiver`: the FastAPI app (verification, deliveries);
* :mod:`okta_salesforce.plugin`: the Airflow plugin that mounts it on the API server.

See ``docs/event-driven.md``.
"""
