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


def test_a_pseudo_split_tests_the_horizon_before_the_cut_and_trains_on_nothing_after_it():
    import pandas as pd

    from bench.general_pseudo import pseudo_split

    rows = [("a", day, float(day)) for day in range(10)] + [("b", day, 100.0 + day) for day in range(5)]
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y"]).sample(frac=1, random_state=0)  # any order
    train, test = pseudo_split(frame, cut=4, horizon=2)
    assert train.groupby("unique_id")["y"].max().to_dict() == {"a": 5.0, "b": 100.0}
    assert test.groupby("unique_id")["y"].apply(list).to_dict() == {"a": [6.0, 7.0], "b": [101.0, 102.0]}
    train, test = pseudo_split(frame, cut=5, horizon=2)  # b has no training value left: it leaves both
    assert set(train["unique_id"]) == set(test["unique_id"]) == {"a"}
