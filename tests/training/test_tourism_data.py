"""The tourism competition data as shipped (issue 14's corpus): our reader reproduces the published check."""

from __future__ import annotations

import numpy as np
import pytest

from paxcast.training.data import read_series
from tests.conftest import ROOT

TOURISM = ROOT / "data" / "tourism"


@pytest.mark.parametrize(
    ("folder", "season", "horizon", "count", "published"),
    [("monthly", 12, 24, 366, 22.56), ("quarterly", 4, 8, 427, 16.46)],
)
def test_seasonal_naive_mape_matches_the_published_value(folder, season, horizon, count, published):
    """Athanasopoulos et al. (2011), Tables 4-5: SNaive MAPE over horizons 1-24 (monthly) and 1-8 (quarterly)."""
    train = {s.id: s for s in read_series(TOURISM / folder / "train.csv.gz")}
    test = {s.id: s for s in read_series(TOURISM / folder / "test.csv.gz")}
    assert len(train) == len(test) == count
    errors = []
    for series_id, past in train.items():
        future = test[series_id].y
        assert len(future) == horizon and not past.missing and not test[series_id].missing
        forecast = np.resize(past.y[-season:], horizon)  # the last season, repeated
        errors.append(np.abs(future - forecast) / np.abs(future))
    assert round(float(np.mean(errors)) * 100, 2) == published
