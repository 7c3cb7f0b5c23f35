"""The general_spans study: experiments/general_spans/README.md."""
