"""One optimiser's worth of global training: the loss, the training windows, a fresh network and its step.

`train_global` (network/train.py) runs a `Fit` while validation watches it; `refit` runs another, from the same
seed, on every value for the steps validation chose. `Shard` is this process's part of a data-parallel run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch

from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.intervals import window_scale
from paxcast.training.data import Series
from paxcast.training.network.model import GlobalForecaster, WindowSampler
from paxcast.training.network.synthetic import mix_smooth
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

    def first(self, value: int) -> int:
        """Rank 0's `value` on every worker: `refit` trains for the kept step count, and workers whose
        scores differed in the last bits could keep different steps and then wait in each other's all-reduce."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = torch.tensor([value], dtype=torch.int64)
        dist.broadcast(box, src=0)
        return int(box.item())


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
    """A fresh network from `config.seed`, its optimiser, and the weights validation scores (its moving
    average with `config.ema`, else the network itself); `step` takes one optimiser step."""

    def __init__(self, config: GlobalTrainConfig, shard: Shard):
        self.config, self.shard = config, shard
        self.model = GlobalForecaster(config)
        self.net = shard.wrap(self.model)  # the model itself locally; under DDP the same parameters, gradients averaged
        if config.weight_decay:
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        else:  # Adam itself, so training without decay is bit for bit what it was
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        # Drawn from only when config.augment or config.synthetic > 0, so training without them is as it was.
        self.tilts = torch.Generator().manual_seed(config.seed + shard.rank)
        # Off (0): the trained weights themselves, as before the option existed.
        self.averaged = None
        if config.ema > 0:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            self.averaged = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
        self.scored = self.model if self.averaged is None else self.averaged.module

    def step(self, sampler: WindowSampler) -> torch.Tensor:
        config = self.config
        history, covariates, target = (
            torch.from_numpy(a) for a in sampler.sample(config.batch_size // self.shard.world)
        )
        history, target = augment_growth(history, target, config.season, config.augment, self.tilts)
        history, target = mix_smooth(history, target, config.synthetic, config.season, self.tilts)
        loss = scaled_l1(self.net(history, covariates), target, loss_scale(history, config), config.eps)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_norm)
        self.optimizer.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        return loss


def refit(
    series: list[Series], line: Timeline, config: GlobalTrainConfig, shard: Shard, steps: int, show_progress: bool
) -> GlobalForecaster:
    """The same seed trained again for the `steps` validation chose, on every value (the validation horizons
    too): the served network then knows each series' latest `origins x horizon` values, which the chosen
    checkpoint never saw. Nothing is left to judge it by; the card's scores and bands are the checkpoint's."""
    torch.manual_seed(config.seed)
    fit = Fit(config, shard)
    sampler = window_sampler(series, line, config, shard, held_out=0)
    for _ in range(steps):
        fit.step(sampler)
    if show_progress:
        print(f"refitted on every value for {steps} steps", file=sys.stderr, flush=True)
    return fit.scored.eval()
