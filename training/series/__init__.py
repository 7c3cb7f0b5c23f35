"""The per-series forecaster: the network, its training loop, design selection by inner validation, the
NumPy reference of its gates, and the fit that exports it."""
