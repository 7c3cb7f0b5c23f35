"""Synthetic training windows: smooth series with a steady trend and a fixed season, the kind a local
ETS or Theta fit forecasts almost exactly and a corpus of noisy tourism series rarely shows.

Pretrained forecasters mix such series into their corpora for the same reason (Chronos' KernelSynth,
ForecastPFN): a network learns to continue a trend only from windows where the trend does continue.
"""

from __future__ import annotations

import math

import torch


def smooth_windows(
    n: int, window: int, horizon: int, season: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(history (n, window), target (n, horizon)) around level 1, each row one draw of

    (1 + slope * t / season) * (1 + amplitude * profile[t mod season]) * (1 + noise_t),

    with slope in +-0.1 a season, amplitude up to 0.3 of a random seasonal profile (mean 0, max |profile| 1,
    a random phase) and independent noise of sd between 0.1 % and 3 % (log-uniform): smooth next to
    tourism's series, whose seasonal-naive error is several percent of their level. The trend factor is
    clamped at 0.05, so a falling series stays positive (it bends only windows over ~9.5 seasons long).
    """
    t = torch.arange(window + horizon, dtype=torch.float32) - window  # 0 = the first forecast step
    slope = (torch.rand(n, 1, generator=generator) * 2 - 1) * 0.1
    profile = torch.randn(n, season, generator=generator)
    profile = profile - profile.mean(dim=1, keepdim=True)
    profile = profile / profile.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    amplitude = torch.rand(n, 1, generator=generator) * 0.3
    phase = torch.randint(season, (n, 1), generator=generator)
    seasonal = profile.gather(1, (t.long()[None] + phase) % season)
    noise_sd = torch.exp(torch.empty(n, 1).uniform_(math.log(1e-3), math.log(3e-2), generator=generator))
    noise = torch.randn(n, window + horizon, generator=generator) * noise_sd
    y = (1 + slope * t / season).clamp_min(0.05) * (1 + amplitude * seasonal) * (1 + noise)
    return y[:, :window], y[:, window:]


def mix_smooth(
    history: torch.Tensor, target: torch.Tensor, share: float, season: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace about `share` of the batch's rows with `smooth_windows`, keeping each row's NaN (padding and
    missing targets), so synthetic rows are padded as often as real ones. They keep the real row's calendar
    covariates, which say nothing about a synthetic season's random phase: the network must read the
    season from the window, as it must for a posted series whose calendar effect differs from tourism's."""
    if share <= 0:
        return history, target
    chosen = torch.rand(len(history), generator=generator) < share
    k = int(chosen.sum())
    if not k:
        return history, target
    x, y = smooth_windows(k, history.shape[1], target.shape[1], season, generator)
    history, target = history.clone(), target.clone()
    history[chosen] = torch.where(torch.isnan(history[chosen]), history[chosen], x)
    target[chosen] = torch.where(torch.isnan(target[chosen]), target[chosen], y)
    return history, target
