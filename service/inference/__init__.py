"""Inference: a loaded model version answering forecasts through onnxruntime (`Predictor`), the served
versions by name (`holder`) and dynamic batching. Imports the core only."""
