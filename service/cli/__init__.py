"""`paxcast`: the command line. Torch-free: `serve` and `models` run in the serving install; `train`,
`backtest` and `retrain` hand their parsed flags to `paxcast.training.commands`."""
