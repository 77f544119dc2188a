"""Benchmarks: API calls, time and memory of a reconciliation (see docs/benchmarks.md)."""
