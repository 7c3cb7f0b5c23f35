"""What several `paxcast` commands share: flags made from the configs of `paxcast.service.core.hyperparameters`,
where work runs (this process or Ray), and the extras a command needs. Plain argparse helpers; `service.cli.main`
wires them up.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import types
import typing
from pathlib import Path

from paxcast.service.core.contract import MODEL_NAME
from paxcast.service.core.exceptions import MissingExtra, UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig, TrainConfig, flag_fields


def training_fields(retrainable: bool = False, include_global: bool = False) -> dict:
    """name -> (FieldInfo, help text) of the flag fields of TrainConfig [and GlobalTrainConfig]."""

    def text(info, retrainable: bool) -> str:
        description = info.description or ""
        if retrainable:
            return description.split(" (default")[0] + " (default: the champion's)"
        return description if "(default" in description else f"{description} (default: {info.default})"

    fields = {name: (info, text(info, retrainable)) for name, info in flag_fields(TrainConfig, retrainable).items()}
    if include_global:
        for name, info in flag_fields(GlobalTrainConfig, retrainable).items():
            if name not in fields:
                fields[name] = (info, f"global models: {text(info, retrainable)}")
            elif (shared := fields[name][1]) != text(info, retrainable):
                fields[name] = (fields[name][0], f"{shared}; global models: {text(info, retrainable)}")
    return fields


def add_training_flags(
    parser: argparse.ArgumentParser, retrainable: bool = False, include_global: bool = False
) -> None:
    """One `--<field>` per flag field of the training configs (retrain: those outside the served shape)."""
    for name, (info, description) in training_fields(retrainable, include_global).items():
        kind, choices = info.annotation, None
        optional = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(optional) == 1:
            kind = optional[0]  # `int | None`: the flag takes an int; not given, the default applies
        if kind is bool:  # --name / --no-name; not given, the default applies
            parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=description)
            continue
        if typing.get_origin(kind) is typing.Literal:
            kind, choices = str, typing.get_args(kind)
        parser.add_argument(f"--{name}", type=kind, choices=choices, help=description)


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """How the model kind is chosen, and the holiday calendar of a global model's covariates."""
    parser.add_argument(
        "--kind",
        choices=("auto", "per-series", "global"),
        default="auto",
        help="per-series ensemble or one global network across all series (default auto: global for a file "
        "of more than one series)",
    )
    parser.add_argument("--country", help="global models: public holidays of this ISO country (holidays package)")
    parser.add_argument("--subdiv", help="global models: holidays of this subdivision of --country, e.g. VIC")
    parser.add_argument(
        "--holidays",
        metavar="CSV",
        help="global models: holiday dates from a CSV with a ds column (and optionally a type column, holiday or "
        "workday: a weekend day worked)",
    )


def add_engine_flags(parser: argparse.ArgumentParser, what: str, workers: bool = True) -> None:
    """Where the work runs: this process (default) or a Ray cluster (the `ray` extra)."""
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help=f"run {what} in this process (default) or on a Ray cluster (pip install 'paxcast[ray]')",
    )
    parser.add_argument(
        "--address",
        help="--engine ray: the cluster, 'auto' (the one this host belongs to) or ray://host:10001 "
        "(default: start a local Ray on this machine)",
    )
    if workers:  # a backtest runs each origin and each chunk of a peer's series as a task instead
        parser.add_argument("--workers", type=int, help="--engine ray: training workers, DDP (default: 2)")
    parser.add_argument(
        "--cpus-per-worker", type=int, help="--engine ray: CPUs (and torch threads) per worker or task (default: 1)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="--engine local: torch threads of a global model's training (default: 1; on 2 cores, 2 threads "
        "trained 1.4-1.7x faster alone and 3-14x slower beside one other busy process); the per-series "
        "model always trains on one",
    )


def overrides_from(args: argparse.Namespace, retrainable: bool = False) -> dict:
    """The training flags given on the command line (None for those left to their defaults)."""
    names = list(training_fields(retrainable, include_global=True)) + ["country", "subdiv", "holidays"]
    return {name: getattr(args, name, None) for name in names}


def check_model_name(name: str) -> None:
    """UsageError before any work unless `name` is a registry model name (one directory inside --out)."""
    if not re.fullmatch(MODEL_NAME, name):
        raise UsageError(
            f"--name {name!r}: a model name is 1-100 letters, digits, '_', '.' or '-', starting with a letter "
            "or digit (it names one directory of the registry)"
        )


def model_name_from(data: str) -> str:
    """`paxcast train`'s default --name: the data file's name without .csv/.csv.gz (a file of weekly
    counts used to become a new version of `air_passengers`, the serving default)."""
    name = Path(data).name.removesuffix(".gz").removesuffix(".csv")
    if not re.fullmatch(MODEL_NAME, name):
        raise UsageError(f"--data {data}: the file's name {name!r} is not a model name; give --name")
    return name


def require(command: str, extra: str, *modules: str) -> None:
    """MissingExtra unless every module is importable (torch is not in the serving install)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(command, extra, module)
