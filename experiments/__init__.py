"""Finished studies that chose a design, one folder each (experiments/README.md); not part of the product."""
