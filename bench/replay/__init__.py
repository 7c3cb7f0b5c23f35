"""`python -m bench.replay`: a model trained up to a cut date serves the days after it as an operator would run it,
through a real `paxcast serve` with the store, and the live accuracy it reports is checked against an offline
scoring of the same served forecasts.

    flock /tmp/paxcast-cpu.lock python -m bench.replay --store both            # Seoul, 60 days after 2020-08-01

Modules: `series` (the data, its cut, the training), `operator` (the day loop against one server),
`offline` (the scores recomputed from the kept responses), `compare` (live against offline, the tables),
`__main__` (the command). Results: docs/results/replay-*.json; the section in docs/accuracy.md.
"""
