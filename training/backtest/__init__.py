"""Backtests: a model as `paxcast train` ships it and the service serves it, against statistical peers on the
same cuts: one series (splits, baselines, cells, a general model zero-shot) or many (cuts, peers, Ray)."""
