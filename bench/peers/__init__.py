"""paxcast beside the servers an ML engineer would deploy instead (issue 34): Ray Serve, BentoML, LitServe.

    python -m bench.peers --help    # in the peers virtualenv: `make bench-peers` makes .venv-peers and runs it

One module per peer server, each loading the shipped `model.onnx` through paxcast's `make_session`
(forecasting.py); run.py starts them and paxcast side by side and drives them with wrk.
"""
