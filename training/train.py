"""Train a forecaster ensemble: config, data, model, loop with early stopping, result.

Each member is trained with its own seed on the same windows; the validation tail
(the most recent windows of every series) stops training and is never the data a
backtest evaluates on, because a backtest only hands us the data before its origin.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from training.data import Series, make_windows
from training.model import Ensemble, Forecaster, ForecasterConfig


@dataclass
class TrainConfig:
    window: int
    horizon: int
    season: int
    cell: str = "lstm"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    transform: str = "none"
    epochs: int = 300
    patience: int = 40
    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    clip_norm: float = 1.0
    val_fraction: float = 0.2
    ensemble: int = 5
    seed: int = 0

    def forecaster(self) -> ForecasterConfig:
        return ForecasterConfig(
            window=self.window, horizon=self.horizon, season=self.season, cell=self.cell,
            hidden=self.hidden, layers=self.layers, dropout=self.dropout, transform=self.transform,
        )

    def to_dict(self) -> dict:
        return asdict(self)


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


def split_windows(series: list[Series], window: int, horizon: int, val_fraction: float):
    """Windows of every series; the last `val_fraction` of each series' windows are validation."""
    train_x, train_y, val_x, val_y = [], [], [], []
    for s in series:
        x, y = make_windows(s.y, window, horizon)
        n_val = max(1, int(round(len(x) * val_fraction))) if len(x) > 1 else 0
        cut = len(x) - n_val
        train_x.append(x[:cut]), train_y.append(y[:cut]), val_x.append(x[cut:]), val_y.append(y[cut:])
    cat = lambda parts, width: torch.tensor(np.concatenate(parts) if parts else np.empty((0, width)), dtype=torch.float32)
    return cat(train_x, window), cat(train_y, horizon), cat(val_x, window), cat(val_y, horizon)


def relative_loss(forecast, target, history):
    """Mean absolute error relative to each window's level: scale-free across series."""
    level = history.abs().mean(dim=1, keepdim=True).clamp_min(1e-6)
    return ((forecast - target).abs() / level).mean()


def mape(forecast, target) -> float:
    return float(((forecast - target).abs() / target.abs().clamp_min(1e-9)).mean() * 100)


def train_member(config: TrainConfig, seed: int, data, progress=None) -> tuple[Forecaster, int, float]:
    """Train one forecaster; returns it at its best validation epoch, that epoch and its loss."""
    train_x, train_y, val_x, val_y = data
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = Forecaster(config.forecaster())
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
            loss = relative_loss(model(train_x[batch]), train_y[batch], train_x[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            train_loss += loss.item() * len(batch)
        train_loss /= len(train_x)
        model.eval()
        with torch.no_grad():
            val_loss = float(relative_loss(model(val_x), val_y, val_x)) if has_val else train_loss
        if val_loss < best_loss - 1e-7:
            best_loss, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        if progress is not None:
            progress(epoch, train_loss, val_loss, best_loss)
        if epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, best_epoch, best_loss


def train(series: list[Series], config: TrainConfig, show_progress: bool | None = None) -> TrainResult:
    """Train `config.ensemble` members on all windows of `series` and average them."""
    started = time.perf_counter()
    torch.set_num_threads(1)  # tiny model: threads cost more than they give, and 1 thread is reproducible
    torch.use_deterministic_algorithms(True)
    data = split_windows(series, config.window, config.horizon, config.val_fraction)
    train_x, _, val_x, val_y = data
    if len(train_x) == 0:
        raise ValueError(
            f"no training windows: each series needs more than window + horizon = {config.window + config.horizon} values"
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
        val_mape = mape(ensemble(val_x), val_y) if has_val else float("nan")
        baseline = Forecaster(config.forecaster()).eval()  # zero head: the no-network baseline
        base_mape = mape(baseline(val_x), val_y) if has_val else float("nan")
    return TrainResult(
        model=ensemble, config=config, n_train=len(train_x), n_val=len(val_x), val_loss=val_loss,
        val_mape=val_mape, baseline_val_mape=base_mape, member_epochs=epochs,
        seconds=time.perf_counter() - started,
    )
