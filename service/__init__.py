"""The paxcast forecasting service: FastAPI in front of onnxruntime, one session per served model version.

Layers, each importing only those above it in this list: `core` (torch-free, shared with training),
`inference` (onnxruntime), `api` (the HTTP app), `cli` (the `paxcast` command)."""
