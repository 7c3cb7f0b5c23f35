"""The general_pseudo study: experiments/general_pseudo/README.md."""
