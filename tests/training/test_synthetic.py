"""Synthetic smooth training windows: what they look like, and that mixing them keeps the batch's padding."""

from __future__ import annotations

import torch

from paxcast.training.network.synthetic import mix_smooth, smooth_windows


def test_smooth_windows_continue_their_trend_and_season_into_the_target():
    history, target = smooth_windows(2000, 24, 8, 4, torch.Generator().manual_seed(0))
    assert history.shape == (2000, 24) and target.shape == (2000, 8) and (history > 0).all()
    # Seasonal naive plus the window's own mean seasonal change forecasts them far better than seasonal
    # naive: the trend does continue, as in few tourism windows.
    steps_back = torch.tensor([1, 1, 1, 1, 2, 2, 2, 2.0])
    naive = history[:, -4:].repeat(1, 2)
    drift = (history[:, 4:] - history[:, :-4]).mean(dim=1, keepdim=True)
    naive_error = (target - naive).abs().mean()
    assert (target - naive - drift * steps_back).abs().mean() < 0.5 * naive_error
    changes = history[:, 4:] - history[:, :-4]
    steadiness = changes.mean(dim=1).abs() / changes.abs().mean(dim=1)
    assert steadiness.median() > 0.8  # a season's change is mostly the trend's, not noise


def test_mixing_replaces_about_the_share_asked_keeps_the_nans_and_share_zero_draws_nothing():
    history, target = torch.full((4000, 24), 7.0), torch.full((4000, 8), 7.0)
    history[:, :10], target[:, -1] = float("nan"), float("nan")  # padding, a missing actual
    generator = torch.Generator().manual_seed(1)
    mixed, mixed_target = mix_smooth(history, target, 0.25, 4, generator)
    replaced = (mixed[:, 10:] != 7.0).any(dim=1)
    assert 0.22 < replaced.float().mean() < 0.28
    assert torch.isnan(mixed[:, :10]).all() and torch.isnan(mixed_target[:, -1]).all()
    assert (mixed_target[replaced, :-1] != 7.0).all() and (mixed[~replaced, 10:] == 7.0).all()
    assert (history[:, 10:] == 7.0).all()  # the batch itself is left as it was
    state = generator.get_state()
    same, same_target = mix_smooth(history, target, 0.0, 4, generator)
    assert same is history and same_target is target and torch.equal(generator.get_state(), state)
