"""The weekly_files study: experiments/weekly_files/README.md."""
