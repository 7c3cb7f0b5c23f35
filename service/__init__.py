"""The paxcast forecasting service: FastAPI in front of one onnxruntime session."""
