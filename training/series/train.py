"""Train a forecaster ensemble: config, data, model, loop with early stopping, result.

Each member is trained with its own seed on the same windows. Windows whose horizon
runs past the end of the data keep the targets that exist (the rest are masked), so
the most recent values teach the short steps instead of being wasted. The most
recent `val_fraction` of each series is a temporal validation tail that stops
training. A backtest only hands us the data before its origin, so none of
this ever sees the months a backtest evaluates on.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from paxcast.service.core.hyperparameters import EPS, TrainConfig
from paxcast.training import metrics
from paxcast.training.data import Series
from paxcast.training.series.model import Ensemble, Forecaster


@dataclass
class TrainResult:
    model: Ensemble
    config: TrainConfig
    n_train: int
    n_val: int
    val_loss: float
    val_mape: float
    baseline_val_mape: float
    member_epochs: list[int] = field(default_factory=list)
    seconds: float = 0.0


def masked_windows(y: np.ndarray, window: int, horizon: int, origins: range, first: int, end: int):
    """Histories y[t - window : t] for t in `origins`; targets y[t : t + horizon], NaN outside [first, end).

    Returns:
        x of shape (n, window) and target of shape (n, horizon); rows with no target are dropped.
    """
    t = np.asarray(origins, dtype=int)
    if len(t) == 0:
        return np.empty((0, window)), np.empty((0, horizon))
    x = y[t[:, None] - window + np.arange(window)]
    position = t[:, None] + np.arange(horizon)
    keep = (position >= first) & (position < end)
    target = np.where(keep, y[np.clip(position, 0, len(y) - 1)], np.nan)
    rows = keep.any(axis=1)
    return x[rows], target[rows]


def split_windows(series: list[Series], window: int, horizon: int, val_fraction: float):
    """Training and validation windows of every series, split in time.

    The last `val_fraction` of each series' forecast origins form the validation tail
    [cut, n): training targets stop before `cut`, validation targets are the values
    from `cut` on, forecast from every origin that can reach them.
    """
    parts = {"train_x": [], "train_y": [], "val_x": [], "val_y": []}
    for s in series:
        n = len(s.y)
        origins = n - window
        n_val = max(1, int(round(origins * val_fraction))) if origins > 1 and val_fraction > 0 else 0
        cut = n - n_val
        x, y = masked_windows(s.y, window, horizon, range(window, cut), 0, cut)
        parts["train_x"].append(x), parts["train_y"].append(y)
        if n_val:
            x, y = masked_windows(s.y, window, horizon, range(max(window, cut - horizon + 1), n), cut, n)
            parts["val_x"].append(x), parts["val_y"].append(y)
    cat = lambda key, width: torch.tensor(
        np.concatenate(parts[key]) if parts[key] else np.empty((0, width)), dtype=torch.float32
    )
    return cat("train_x", window), cat("train_y", horizon), cat("val_x", window), cat("val_y", horizon)


def relative_loss(forecast, target, history):
    """Mean absolute error relative to each window's level over the observed (non-NaN) targets: scale-free."""
    level = history.abs().mean(dim=1, keepdim=True).clamp_min(EPS)
    observed = ~torch.isnan(target)
    error = torch.where(observed, (forecast - torch.nan_to_num(target)).abs() / level, torch.zeros_like(forecast))
    return error.sum() / observed.sum().clamp_min(1)


def augment_growth(x, y, season: int, amount: float, generator):
    """Tilt each (history, target) pair by its own random linear growth of +-`amount` per season.

    The network then sees many growth regimes instead of the one the series happened to
    have, so it cannot just learn "add the training period's extra growth".
    """
    if amount <= 0:
        return x, y
    slope = (torch.rand(len(x), 1, generator=generator) * 2 - 1) * amount / season
    t = torch.arange(x.shape[1] + y.shape[1], dtype=x.dtype) - x.shape[1]
    factor = (1 + slope * t).clamp_min(0.05)
    return x * factor[:, : x.shape[1]], y * factor[:, x.shape[1] :]


def train_member(config: TrainConfig, seed: int, data, progress=None) -> tuple[Forecaster, int, float]:
    """Train one forecaster; returns it at its best validation epoch, that epoch and its loss."""
    train_x, train_y, val_x, val_y = data
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = Forecaster(config)
    model.fit_scaling(train_x)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    has_val = len(val_x) > 0
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        train_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            x, target = train_x[batch], train_y[batch]
            if config.augment > 0:
                x, target = augment_growth(x, target, config.season, config.augment, generator)
            loss = relative_loss(model(x), target, x)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            train_loss += loss.item() * len(batch)
        train_loss /= len(train_x)
        model.eval()
        with torch.no_grad():
            val_loss = float(relative_loss(model(val_x), val_y, val_x)) if has_val else train_loss
        if not has_val or val_loss < best_loss - 1e-7:
            best_loss, best_epoch, best_state = val_loss, epoch, model.state_dict()
            best_state = copy.deepcopy(best_state) if has_val else best_state
        if progress is not None:
            progress(epoch, train_loss, val_loss, best_loss)
        if has_val and epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, best_epoch, best_loss


def train(series: list[Series], config: TrainConfig, show_progress: bool | None = None) -> TrainResult:
    """Train `config.ensemble` members on the windows of `series` and average them."""
    started = time.perf_counter()
    torch.set_num_threads(1)  # tiny model: threads cost more than they give, and 1 thread is reproducible
    torch.use_deterministic_algorithms(True)
    data = split_windows(series, config.window, config.horizon, config.val_fraction)
    train_x, _, val_x, val_y = data
    if len(train_x) == 0:
        raise ValueError(
            f"no training windows: each series needs more than window + horizon "
            f"= {config.window + config.horizon} values"
        )
    show_progress = sys.stdout.isatty() if show_progress is None else show_progress
    members, epochs = [], []
    for k in range(config.ensemble):
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=config.epochs, desc=f"member {k + 1}/{config.ensemble}", leave=False, unit="epoch")

        def progress(epoch, train_loss, val_loss, best, bar=bar):
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}", best=f"{best:.4f}")

        model, best_epoch, _ = train_member(config, config.seed + k, data, progress if bar else None)
        if bar is not None:
            bar.close()
        members.append(model)
        epochs.append(best_epoch)
    ensemble = Ensemble(members).eval()
    with torch.no_grad():
        has_val = len(val_x) > 0
        val_loss = float(relative_loss(ensemble(val_x), val_y, val_x)) if has_val else float("nan")
        val_mape = metrics.mape(val_y.numpy(), ensemble(val_x).numpy()) if has_val else float("nan")
        baseline = Forecaster(config).eval()  # zero head: the no-network baseline
        base_mape = metrics.mape(val_y.numpy(), baseline(val_x).numpy()) if has_val else float("nan")
    return TrainResult(
        model=ensemble,
        config=config,
        n_train=len(train_x),
        n_val=len(val_x),
        val_loss=val_loss,
        val_mape=val_mape,
        baseline_val_mape=base_mape,
        member_epochs=epochs,
        seconds=time.perf_counter() - started,
    )
