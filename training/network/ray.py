"""`paxcast train --engine ray`: the global model's own training loop, data-parallel on a Ray cluster.

Ray Train's `TorchTrainer` starts `workers` processes and joins them in one torch process group (DDP over
gloo, CPU). Each runs `network.train.train_global`, the local loop unchanged, with a `Shard`: it trains on
every `workers`-th series by sorted unique_id, draws `batch_size / workers` windows a step, and steps the
model through `DistributedDataParallel`, which averages the gradients, so one step moves the weights as
one batch of `batch_size` windows would. Every rank checks the *whole* validation set (DDP keeps the
weights identical, so every rank computes the same scores), so the checkpoint kept means what it means in
a local run. Rank 0 returns its `GlobalResult`; the driver exports, checks parity, writes the card and
registers it through `fit_global` and `registry.register`, the local run's code: one export and registry
path, not two.

The series reach the workers through Ray's object store (one copy per node), not a re-read of the file:
the same trainer then serves `paxcast train`, whose series are the file's, and cut series alike.
This module imports Ray; nothing imports it unless `--engine ray` is given.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import ray
import torch

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import ModelError, UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.data import Series
from paxcast.training.network.fit import Shard
from paxcast.training.network.train import GlobalResult, train_global


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide: `address` None starts a local Ray on this machine ("auto": the running cluster;
    "ray://host:10001": Ray Client). Each worker gets `cpus_per_worker` CPUs and as many torch threads."""

    address: str | None = None
    workers: int = 2
    cpus_per_worker: int = 1

    def check(self) -> None:
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if self.cpus_per_worker < 1:
            raise UsageError(f"--cpus-per-worker must be at least 1, got {self.cpus_per_worker}")
        divides(GlobalTrainConfig.model_fields["batch_size"].default, self.workers)


def divides(batch_size: int, workers: int) -> None:
    if batch_size % workers:
        raise UsageError(
            f"--workers {workers} must divide the batch of {batch_size} windows (each worker draws an equal "
            "share of every step's batch)"
        )


def connect(address: str | None) -> bool:
    """Join (or start) a Ray cluster unless this process already has one; True if this call started the session."""
    if ray.is_initialized():
        return False
    options = {"include_dashboard": False} if address is None else {}
    ray.init(address=address, logging_level="WARNING", **options)
    return True


@contextlib.contextmanager
def session(address: str | None):
    """One Ray session around a whole command (a retrain fits twice): started or joined once, closed after."""
    started_here = connect(address)
    try:
        yield
    finally:
        if started_here:
            ray.shutdown()


def worker_loop(settings: dict) -> GlobalResult | None:
    """One Ray Train worker: its shard of the series through `train_global`; rank 0 returns the result."""
    from ray import train
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(settings["threads"])  # the CPUs Ray gave this worker, no more: workers share the host
    context = train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    series = ray.get(settings["series"])
    shard = Shard(rank, world, wrap=DistributedDataParallel)
    result = train_global(
        series,
        settings["config"],
        settings["calendar"],
        show_progress=settings["show_progress"] if rank == 0 else False,
        shard=shard,
    )
    return result if rank == 0 else None


class RayTrainer:
    """`train_global`'s signature, run by Ray Train's TorchTrainer on `settings.workers` workers.

    Passed as `train=` to `fit_global` (through `train_and_register(trainer=...)`): everything before
    and after training is the local code."""

    def __init__(self, settings: RaySettings):
        settings.check()  # also when built from Python, not only through the CLI's engine_settings
        self.settings = settings
        self.last_run: dict = {}  # facts of the last run: workers, wall time of trainer.fit()

    def __call__(
        self, series: list[Series], config: GlobalTrainConfig, calendar: Calendar, show_progress: bool | None = None
    ) -> GlobalResult:
        from ray import train
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        s = self.settings
        divides(config.batch_size, s.workers)
        with session(s.address), tempfile.TemporaryDirectory(prefix="paxcast-ray-") as scratch:
            # Ray Train's run directory; on a cluster of several nodes PAXCAST_RAY_STORAGE names shared storage.
            storage = os.environ.get("PAXCAST_RAY_STORAGE") or scratch
            trainer = TorchTrainer(
                worker_loop,
                train_loop_config={
                    "series": ray.put(series),
                    "config": config,
                    "calendar": calendar,
                    "threads": s.cpus_per_worker,
                    "show_progress": sys.stderr.isatty() if show_progress is None else show_progress,
                },
                torch_config=TorchConfig(backend="gloo"),
                scaling_config=ScalingConfig(
                    num_workers=s.workers, use_gpu=False, resources_per_worker={"CPU": s.cpus_per_worker}
                ),
                run_config=RunConfig(name="paxcast-train", storage_path=storage),
            )
            began = time.perf_counter()
            try:
                outcome = trainer.fit()
            except train.TrainingFailedError as exc:  # a worker raised: its error, one line, no Ray traceback
                raise ModelError(f"Ray training failed: {str(exc).strip().splitlines()[-1]}") from None
            self.last_run = {"workers": s.workers, "fit_seconds": time.perf_counter() - began}
        if outcome.error is not None or outcome.return_value is None:
            raise ModelError(f"Ray training failed: {outcome.error}")
        return outcome.return_value
