#!/usr/bin/env bash
# The backtests recorded in docs/accuracy.md: both split schemes, three seed groups, default design.
set -u
cd "$(dirname "$0")/../.."
for seed in ${SEEDS:-0 100 200}; do
  .venv/bin/paxcast backtest --data data/air_passengers.csv --holdout 36 --seed "$seed" \
    --json "bench/results/holdout36-seed$seed.json" --plot "bench/results/holdout36-seed$seed.png"
  .venv/bin/paxcast backtest --data data/air_passengers.csv --origins 96,108,120 --horizon 12 --seed "$seed" \
    --json "bench/results/rolling-seed$seed.json" --plot "bench/results/rolling-seed$seed.png"
done
