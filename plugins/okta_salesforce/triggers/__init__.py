"""Triggers for event-driven runs (installed with the package, never in a Dag bundle)."""
