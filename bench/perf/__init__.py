"""Benchmarks of speed, memory and cost: the commands behind the performance and scale figures in docs/."""
