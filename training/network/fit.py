"""One optimiser's worth of global training: the loss, the training windows, a fresh network and its step.

`train_global` (network/train.py) runs a `Fit` while validation watches it. `Shard` is this process's part of a
data-parallel run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.intervals import window_scale
from paxcast.training.data import Series
from paxcast.training.network.model import GlobalForecaster, WindowSampler
from paxcast.training.network.windows import Timeline
from paxcast.training.series.train import augment_growth


@dataclass(frozen=True)
class Shard:
    """This process's part of a data-parallel run (training/network/ray.py): rank `rank` of `world` trains on
    every `world`-th series by sorted unique_id, draws `batch_size // world` windows a step, and steps the
    model through `wrap` (DDP, which averages the gradients). The default is the whole, local run."""

    rank: int = 0
    world: int = 1
    wrap: Callable[[torch.nn.Module], torch.nn.Module] = lambda model: model

    def mine(self, series: list[Series]) -> list[int]:
        ranked = sorted(range(len(series)), key=lambda i: series[i].id)
        return sorted(ranked[self.rank :: self.world])

    def agree(self, stop: bool) -> bool:
        """True on every worker if any worker wants to stop. DDP averages gradients, not scores: on
        different CPUs two workers' validation scores may differ in the last bits, and a worker that
        left the loop alone would leave the others waiting in their next all-reduce."""
        if self.world == 1:
            return stop
        import torch.distributed as dist

        flag = torch.tensor([1.0 if stop else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)


LOCAL = Shard()


def interval_kind(config: GlobalTrainConfig) -> str:
    """The card's `intervals.scale`: seasonal naive's in-window error for a MASE-trained model, else the level."""
    return "mase" if config.metric == "mase" else "level"


def scaled_l1(forecast: torch.Tensor, target: torch.Tensor, level: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean |error| / window level over observed targets: every station weighs the same, whatever its size.

    A window whose history is all zeros (level at the floor) has no scale to judge its errors by;
    it is left out rather than allowed to dominate the batch with errors divided by the floor.
    """
    seen = torch.isfinite(target) & (level > eps)
    return ((forecast - torch.nan_to_num(target)).abs() / level)[seen].sum() / seen.sum().clamp_min(1)


def loss_scale(history: torch.Tensor, config: GlobalTrainConfig) -> torch.Tensor:
    """Per window (B, 1), what the loss divides its errors by (NaN padding allowed): the scale the intervals use.

    `metric="wape"` (stations): the window's mean |value|. `metric="mase"` (general models): the window's
    seasonal-naive MAE, MASE's own scale, so a noisy series weighs no more than a smooth one; training on
    the level instead left the network no better than seasonal naive by MASE on tourism validation.
    A window at the `eps` floor has no scale: scaled_l1 leaves it out.
    """
    return torch.from_numpy(window_scale(history.numpy(), interval_kind(config), config.season, config.eps))


def window_sampler(
    series: list[Series], line: Timeline, config: GlobalTrainConfig, shard: Shard, held_out: int
) -> WindowSampler:
    """Training windows of this shard's series, each without its last `held_out` values."""
    mine = shard.mine(series)
    return WindowSampler(
        [series[i].y[: len(series[i].y) - held_out] for i in mine],
        [line.offsets[i] for i in mine],
        line.covariates,
        config.window,
        config.horizon,
        seed=config.seed + shard.rank,
        min_history=config.shortest,
    )


class Fit:
    """A fresh network from `config.seed` and its optimiser; `step` takes one optimiser step."""

    def __init__(self, config: GlobalTrainConfig, shard: Shard):
        self.config, self.shard = config, shard
        self.model = GlobalForecaster(config)
        self.net = shard.wrap(self.model)  # the model itself locally; under DDP the same parameters, gradients averaged
        if config.weight_decay:
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        else:  # Adam itself, so training without decay is bit for bit what it was
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        # Drawn from only when config.augment > 0, so training without it is as it was.
        self.tilts = torch.Generator().manual_seed(config.seed + shard.rank)

    def step(self, sampler: WindowSampler) -> torch.Tensor:
        config = self.config
        history, covariates, target = (
            torch.from_numpy(a) for a in sampler.sample(config.batch_size // self.shard.world)
        )
        history, target = augment_growth(history, target, config.season, config.augment, self.tilts)
        loss = scaled_l1(self.net(history, covariates), target, loss_scale(history, config), config.eps)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_norm)
        self.optimizer.step()
        return loss
