import math

import numpy as np
import pytest
import torch

from paxcast.training.data import read_series
from paxcast.training.series.train import augment_growth, relative_loss, split_windows


def test_loss_ignores_masked_targets():
    history = torch.full((1, 4), 100.0)
    forecast = torch.tensor([[110.0, 120.0, 500.0]])
    target = torch.tensor([[100.0, 100.0, math.nan]])
    assert relative_loss(forecast, target, history).item() == pytest.approx((0.1 + 0.2) / 2)


def test_growth_augmentation_tilts_history_and_target_alike():
    x, y = torch.full((3, 24), 100.0), torch.full((3, 12), 100.0)
    ax, ay = augment_growth(x, y, season=12, amount=0.05, generator=torch.Generator().manual_seed(0))
    whole = torch.cat([ax, ay], dim=1)
    steps = whole[:, 1:] - whole[:, :-1]
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-4)  # one straight line per window
    assert (steps.abs() * 12 <= 0.05 * 100 + 1e-4).all()  # at most 5 % of the level per season
    assert torch.allclose(ay[:, 0], torch.full((3,), 100.0))  # the origin keeps its value
    assert augment_growth(x, y, 12, 0.0, None) == (x, y)


def test_validation_targets_are_never_training_targets(air_csv):
    series = read_series(air_csv)
    train_x, train_y, val_x, val_y = split_windows(series, window=36, horizon=12, val_fraction=0.2)
    cut = 144 - round(0.2 * (144 - 36))
    # the last observed training target sits just before the cut, the first validation one at it
    last_train = max(int(np.flatnonzero(~torch.isnan(row))[-1]) + 36 + i for i, row in enumerate(train_y))
    assert last_train == cut - 1
    assert len(train_x) == cut - 36 and not torch.isnan(val_y).all(dim=1).any()
    assert float(val_x[0, -1]) == series[0].y[cut - 12]  # origins from cut - horizon + 1 reach the tail
