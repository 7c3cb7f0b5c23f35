"""The general_drift study: experiments/general_drift/README.md."""
