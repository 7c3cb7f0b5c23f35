"""The general_mix study: experiments/general_mix/README.md."""
