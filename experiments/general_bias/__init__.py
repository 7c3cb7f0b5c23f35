"""The general_bias study: experiments/general_bias/README.md."""
