"""Benchmarks of reliability: attacks on a running server, and how wide the bands get on hard series."""
