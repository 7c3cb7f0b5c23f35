"""Benchmarks: side-by-side tables against named baselines (not part of the test suite)."""
