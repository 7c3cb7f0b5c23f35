"""`paxcast train|backtest|retrain` once the front (`service.cli.main`) has parsed and checked their flags and
gathered the training flags given into `args.overrides`: each makes the library calls below and prints one
summary line. Known errors propagate to the front, which prints them
as one line with their exit code.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from paxcast.service.core.exceptions import UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig, TrainConfig
from paxcast.training.backtest.cells import compare_cells, parse_cells
from paxcast.training.backtest.cuts import keep_last_days
from paxcast.training.backtest.network import plan_backtest, run_global_backtest
from paxcast.training.backtest.network_plot import plot
from paxcast.training.backtest.network_report import scored, table, write_json
from paxcast.training.backtest.peers import parse_peers
from paxcast.training.backtest.series import backtest as backtest_series
from paxcast.training.backtest.series import make_splits, parse_levels
from paxcast.training.data import read_series
from paxcast.training.engine import engine_session, engine_settings, ray_trainer
from paxcast.training.pipeline import check_flags, choose_kind, train_and_register
from paxcast.training.retrain.degraded import DEFAULT_LIVE_DAYS, DEFAULT_MARGIN_PCT, EXIT_NOT_JUDGED
from paxcast.training.retrain.run import Degraded
from paxcast.training.retrain.run import retrain as champion_challenger
from paxcast.training.series.selection import inner_summary


def train(args: argparse.Namespace) -> int:
    settings = engine_settings(args)
    trainer = ray_trainer(settings)
    with engine_session(settings):
        version, fitted = train_and_register(
            args.data, args.out, args.name, kind=args.kind, trainer=trainer, **args.overrides
        )
    if hasattr(fitted, "summary"):
        on = "" if trainer is None else f" (on Ray: {settings.workers} workers x {settings.cpus_per_worker} CPU)"
        print(f"registered {args.name}/{version} in {args.out}: {fitted.summary()}{on}")
        return 0
    config, chosen = fitted.config, fitted.selection.chosen
    inner = inner_summary(chosen.model_dump()) if chosen else "no inner validation (data too short)"
    print(
        f"registered {args.name}/{version} in {args.out}: {config.cell} x{config.ensemble}, window {config.window}, "
        f"horizon {config.horizon}, transform {config.transform}, {inner}, "
        f"network {fitted.selection.network.split(':')[0]}, "
        f"intervals {'calibrated' if fitted.intervals else 'none'}, "
        f"{fitted.training.seconds_with_inner_validation:.1f}s"
    )
    return 0


def backtest(args: argparse.Namespace) -> int:
    settings = engine_settings(args)
    series = read_series(args.data)
    kind = choose_kind(args.data, series, args.kind)
    check_flags(kind, args.overrides)
    if kind == "global":
        return backtest_global(args, series, settings)
    if settings is not None:
        raise UsageError(f"{args.data}: --engine ray backtests multi-series files (the global model and its peers)")
    one_series_refuses = (
        ("--peers", args.peers),
        ("--peer-series", args.peer_series),
        ("--test", args.test),
        ("--peer-history", args.peer_history),
        ("--last-days", args.last_days),
        ("--train-on", args.train_on),
    )
    for name, given in one_series_refuses:
        if given is not None:
            raise UsageError(f"{name} applies to multi-series files; a one-series backtest runs its own baselines")
    json_path = args.json or "bench/results/backtest.json"
    plot_path = args.plot or "bench/results/backtest.png"
    splits = make_splits(series, args.holdout, args.origins, args.horizon)
    levels = parse_levels(args.level)
    overrides = {k: v for k, v in args.overrides.items() if k in TrainConfig.model_fields and k != "horizon"}
    log = lambda line: print(line, flush=True)  # noqa: E731
    if args.cells:
        if args.general is not None:
            raise UsageError("--general and --cells are two different comparisons; give one")
        out = compare_cells(args.data, parse_cells(args.cells), splits, levels, overrides, json_path, log=log)
        print(f"wrote {out}")
    else:
        backtest_series(args.data, splits, levels, overrides, json_path, plot_path, log=log, general=args.general)
        print(f"wrote {json_path} and {plot_path}")
    return 0


def backtest_global(args: argparse.Namespace, series: list, settings=None) -> int:
    """`paxcast backtest` on a multi-series file: the global model through the service's path, and its peers."""

    for name, given in (("--holdout", args.holdout), ("--cells", args.cells)):
        if given is not None:
            raise UsageError(f"{name} applies to one-series files; a multi-series backtest takes --origins timestamps")
    if args.last_days is not None:  # a short-history network made from a long one, before any cut
        series = keep_last_days(series, args.last_days)
    stem = Path(args.data).name.split(".")[0]
    json_path = args.json or f"bench/results/backtest_{stem}.json"
    plot_path = args.plot or f"bench/results/backtest_{stem}.png"
    given = args.overrides
    plan = plan_backtest(
        args.data,
        series,
        args.origins,
        parse_levels(args.level),
        parse_peers(args.peers, series[0].freq),
        args.peer_series,
        calendar_flags={k: given[k] for k in ("country", "subdiv", "holidays")},
        overrides={k: v for k, v in given.items() if k in GlobalTrainConfig.model_fields},
        test=args.test,
        peer_history=args.peer_history,
        train_on=args.train_on,
        general=args.general,
    )
    log = lambda line: print(line, flush=True)  # noqa: E731
    if settings is None:
        runs = run_global_backtest(plan, log=log)
    else:  # the `ray` extra: imported only for --engine ray
        from paxcast.training.backtest.ray import run_global_backtest_ray

        runs = run_global_backtest_ray(plan, settings, log=log)
    scores = scored(runs, plan.levels)
    log(table(plan, runs, scores))
    write_json(json_path, plan, runs, scores)
    plot(plot_path, plan, runs, scores)
    print(f"wrote {json_path} and {plot_path}")
    return 0


def raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # run the cleanups (staging, temp files, lock) on SIGTERM too


def if_degraded(args: argparse.Namespace) -> Degraded | None:
    """`--if-degraded` with its window and margin (their defaults), or None; UsageError for either alone."""
    if not args.if_degraded:
        for flag, given in (("--live-days", args.live_days), ("--degraded-margin", args.degraded_margin)):
            if given is not None:
                raise UsageError(f"{flag} applies with --if-degraded")
        return None
    days = DEFAULT_LIVE_DAYS if args.live_days is None else args.live_days
    return Degraded(days, DEFAULT_MARGIN_PCT if args.degraded_margin is None else args.degraded_margin)


def retrain(args: argparse.Namespace) -> int:
    """Exit 0 when judged (promoted, kept, or skipped by --if-degraded: healthy), EXIT_NOT_JUDGED (4) when
    --if-degraded found too few live points; nothing was trained then."""
    degraded = if_degraded(args)
    settings = engine_settings(args)
    trainer = ray_trainer(settings)  # one Ray session for both fits of the run (engine_session below)

    signal.signal(signal.SIGTERM, raise_interrupt)
    overrides = {k: v for k, v in args.overrides.items() if v is not None}
    with engine_session(settings):
        outcome = champion_challenger(
            None if args.store else args.data,
            args.registry,
            args.name,
            max_regression=args.max_regression,
            force=args.force,
            keep=args.keep,
            trainer=trainer,
            store=args.store,
            if_degraded=degraded,
            **overrides,
        )
    record = outcome.record
    if record["decision"] in ("skipped", "not judged"):
        print(f"{record['decision']} {args.name}/{outcome.current}: {record['reason']}")
        return EXIT_NOT_JUDGED if record["decision"] == "not judged" else 0
    pruned = f"; pruned {', '.join(record['pruned'])}" if record["pruned"] else ""
    print(
        f"{'promoted' if outcome.promoted else 'kept'} {args.name}/{outcome.current}: "
        f"{record['reason']}{pruned} ({record['duration_s']:.1f}s)"
    )
    return 0
