"""Offline training for paxcast (the `train` extra: torch): per-series and global models exported to one ONNX
graph each, their backtests against peers, and champion/challenger retraining. Imports the service's torch-free
core and its `Predictor`, never its HTTP app."""
