"""The global forecaster, one network for many series (a station network, or any series of a frequency):
the network, its window sampler and optimiser step, the training loop, the ensemble, the fit, Ray training."""
