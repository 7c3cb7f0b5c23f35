"""Champion/challenger retraining: score both through the service's `Predictor` on the hold-out, promote
only what is not worse."""
