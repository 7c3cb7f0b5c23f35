"""The general_halves study: experiments/general_halves/README.md."""
