"""Offline training for paxcast: data, model, training loop, ONNX export and the registry."""
