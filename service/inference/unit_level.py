"""Posted rows enter a graph near unit level, and its forecasts go back to the posted units.

Every graph but a log one scales by its window's level (f(c * x) = c * f(x)) except where a floor on that
level (`eps`, 1e-6) bites, and its float32 arithmetic overflows long before the posted values do: a
history of 1e-12 came back at the floor's scale, one of 1e35 as infinity. Dividing each row by the power
of two nearest its mean |value| before the graph, and multiplying the forecast by it after, keeps both
exact; a power of two changes no digit of an ordinary row (the shipped global graphs agree bit for bit).
"""

from __future__ import annotations

import numpy as np


def unit_exponents(x: np.ndarray) -> np.ndarray:
    """(batch,) int32: per row of posted values (batch, window), NaN padding allowed, the exponent of the
    power of two nearest their mean |value|; 0 for a row of zeros or padding only."""
    magnitude = np.abs(x.astype(np.float64))
    seen = np.isfinite(magnitude)
    level = np.where(seen, magnitude, 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    return np.rint(np.log2(np.where(level > 0, level, 1.0))).astype(np.int32)


def to_unit_level(x: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Each row divided by 2**exponent (exact: only the binary exponent changes)."""
    return np.ldexp(x, -exponents[:, None])


def from_unit_level(values: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Each row multiplied by 2**exponent; beyond float32 it is inf, which `predictor.check_finite` refuses."""
    with np.errstate(over="ignore"):
        return np.ldexp(values, exponents[:, None])
