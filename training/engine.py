"""Where a training command's work runs: this process with a set number of torch threads, or a Ray cluster
(the `ray` extra), from the engine flags of `paxcast train|backtest|retrain` (`service.cli.options`)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util

from paxcast.service.core.exceptions import MissingExtra, UsageError

# Torch threads of local training unless `--threads` says otherwise: measured, see `use_threads`.
LOCAL_THREADS = 1


def engine_settings(args: argparse.Namespace):
    """Where the command's work runs: the Ray settings of `--engine ray`, or None for a local run, which
    refuses the Ray-only flags and sets this process's torch threads to `--threads` (`use_threads`)."""
    given = {
        "address": args.address,
        "workers": getattr(args, "workers", None),
        "cpus_per_worker": args.cpus_per_worker,
    }
    threads = getattr(args, "threads", None)
    if args.engine != "ray":
        for name, value in given.items():
            if value is not None:
                raise UsageError(f"--{name.replace('_', '-')} applies to --engine ray")
        use_threads(LOCAL_THREADS if threads is None else threads)
        return None
    if threads is not None:
        raise UsageError("--threads applies to --engine local; a Ray worker takes --cpus-per-worker threads")
    if importlib.util.find_spec("ray") is None:
        raise MissingExtra(args.command, "ray", "ray")
    from paxcast.training.network.ray import RaySettings

    settings = RaySettings(**{k: v for k, v in given.items() if v is not None})
    settings.check()
    return settings


def use_threads(threads: int) -> None:
    """Torch's intra-op threads for this process. Torch's default, a thread per core the host has (not the
    cores a container may use), made a global model's training 3x (quarterly) to 14x (monthly) slower beside
    one other busy process on 2 cores; one thread costs 1.4-1.7x on an idle machine (docs/performance.md, 11)."""
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


def ray_trainer(settings):
    """`train_global`'s stand-in for `--engine ray` (`network.ray.RayTrainer`), or None: train in this process."""
    if settings is None:
        return None
    from paxcast.training.network.ray import RayTrainer

    return RayTrainer(settings)


def engine_session(settings):
    """A Ray session around the whole command under `--engine ray` (started or joined once); nothing locally."""
    if settings is None:
        return contextlib.nullcontext()
    from paxcast.training.network.ray import session

    return session(settings.address)
