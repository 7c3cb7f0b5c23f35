"""Benchmarks of accuracy: paxcast side by side with its peers, the commands behind the tables in docs/."""
