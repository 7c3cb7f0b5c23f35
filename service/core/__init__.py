"""The torch-free core both sides share: the model card, the configs, the error tree, calendar and covariates,
intervals, the forecast request, and the registry (read and written). Imports nothing else of paxcast."""
