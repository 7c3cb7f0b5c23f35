"""The design_search study: experiments/design_search/README.md."""
