"""Train a global model's `ensemble` members from consecutive seeds and score their mean on validation.

Each member is `train_global` (or the Ray trainer) run with seed `config.seed + k`, keeping its own best
checkpoint; the mean of their forecasts is scored on the same validation windows and calibrates the intervals,
so the card describes the graph that is served.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import torch

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.data import Series
from paxcast.training.metrics import mean_mase, wape
from paxcast.training.network.fit import loss_scale, scaled_l1
from paxcast.training.network.model import GlobalEnsemble
from paxcast.training.network.train import GlobalResult, calibration_errors, calibration_scores, train_global


def train_members(
    series: list[Series],
    config: GlobalTrainConfig,
    calendar: Calendar,
    show_progress: bool | None = None,
    train=train_global,
) -> GlobalResult:
    """One GlobalResult for `config.ensemble` members (the member's own result when there is one)."""
    members = [
        train(series, config.updated(seed=config.seed + k), calendar, show_progress=show_progress)
        for k in range(config.ensemble)
    ]
    return members[0] if len(members) == 1 else combine(members, config)


def combine(members: list[GlobalResult], config: GlobalTrainConfig) -> GlobalResult:
    """The members' mean as one result: validation scores, loss and calibration errors of the mean forecast."""
    first, val = members[0], members[0].validation
    model = GlobalEnsemble([m.model for m in members]).eval()
    # The mean of the members' kept validation forecasts: the ensemble graph's forecast, without a second pass.
    f = np.mean([m.validation_forecast for m in members], axis=0, dtype=np.float32)
    history = torch.from_numpy(val.history)
    loss = scaled_l1(torch.from_numpy(f), torch.from_numpy(val.target), loss_scale(history, config), config.eps).item()
    return replace(
        first,
        model=model,
        config=config,
        best_step=max(m.best_step for m in members),  # the network is on if any member's is
        member_steps=[m.best_step for m in members],
        val_wape=wape(val.target, f),
        val_mase=mean_mase(val.target, f, val.history, config.season),
        val_loss=loss,
        relative_errors=calibration_scores(calibration_errors(val.target, f, val.history, config)),
        windows_drawn=sum(m.windows_drawn for m in members),
        seconds=sum(m.seconds for m in members),
        peak_rss_mb=max(m.peak_rss_mb for m in members),
        load_average=os.getloadavg()[0],
        log=[{"member": k, **row} for k, m in enumerate(members) for row in m.log],
        validation_forecast=f,
    )
