"""`paxcast`: every command and its parser; the libraries below take plain values. The flags several
commands share are in `cli_options`, `paxcast models` in `cli_models`.

train, backtest, retrain, serve, models list|show|rollback. A known error (the
`PaxcastError` tree in paxcast.service.exceptions) becomes one line on stderr and its
exit code; anything else is a bug and keeps its traceback. Imports stay inside the
commands: `paxcast serve` and `paxcast models` run in the serving-only install, which
has no torch.
"""

from __future__ import annotations

import argparse
import signal
import sys

from paxcast.service.exceptions import PaxcastError, UsageError
from paxcast.service.hyperparameters import GlobalTrainConfig, TrainConfig
from paxcast.training.cli_models import (
    add_registry_arguments,
    cmd_models_list,
    cmd_models_rollback,
    cmd_models_show,
)
from paxcast.training.cli_options import (
    add_engine_flags,
    add_global_flags,
    add_training_flags,
    check_model_name,
    engine_session,
    engine_settings,
    model_name_from,
    overrides_from,
    ray_trainer,
    require,
)

EXIT_INTERRUPTED = 130


def cmd_train(args: argparse.Namespace) -> int:
    args.name = model_name_from(args.data) if args.name is None else args.name
    check_model_name(args.name)
    require("train", "train", "torch", "onnx")
    settings = engine_settings(args)
    from paxcast.training.pipeline import train_and_register
    from paxcast.training.selection import inner_summary

    trainer = ray_trainer(settings)
    with engine_session(settings):
        version, fitted = train_and_register(
            args.data, args.out, args.name, kind=args.kind, trainer=trainer, **overrides_from(args)
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


def cmd_backtest(args: argparse.Namespace) -> int:
    require("backtest", "train", "torch", "onnx")
    require("backtest", "bench", "statsforecast", "matplotlib")
    settings = engine_settings(args)
    from paxcast.training.data import read_series
    from paxcast.training.pipeline import check_flags, choose_kind

    series = read_series(args.data)
    kind = choose_kind(args.data, series, args.kind)
    check_flags(kind, overrides_from(args))
    if kind == "global":
        if args.general is not None:
            raise UsageError(f"{args.data}: --general compares with a one-series backtest; this file has many series")
        return backtest_global(args, series, settings)
    if settings is not None:
        raise UsageError(f"{args.data}: --engine ray backtests multi-series files (the global model and its peers)")
    for name, given in (("--peers", args.peers), ("--peer-series", args.peer_series), ("--test", args.test)):
        if given is not None:
            raise UsageError(f"{name} applies to multi-series files; a one-series backtest runs its own baselines")
    from paxcast.training.backtest import backtest, make_splits, parse_levels
    from paxcast.training.cells import compare_cells, parse_cells

    json_path = args.json or "bench/results/backtest.json"
    plot_path = args.plot or "bench/results/backtest.png"
    splits = make_splits(series, args.holdout, args.origins, args.horizon)
    levels = parse_levels(args.level)
    overrides = {k: v for k, v in overrides_from(args).items() if k in TrainConfig.model_fields and k != "horizon"}
    log = lambda line: print(line, flush=True)  # noqa: E731
    if args.cells:
        if args.general is not None:
            raise UsageError("--general and --cells are two different comparisons; give one")
        out = compare_cells(args.data, parse_cells(args.cells), splits, levels, overrides, json_path, log=log)
        print(f"wrote {out}")
    else:
        backtest(args.data, splits, levels, overrides, json_path, plot_path, log=log, general=args.general)
        print(f"wrote {json_path} and {plot_path}")
    return 0


def backtest_global(args: argparse.Namespace, series: list, settings=None) -> int:
    """`paxcast backtest` on a multi-series file: the global model through the service's path, and its peers."""
    from pathlib import Path

    from paxcast.training.backtest import parse_levels
    from paxcast.training.global_backtest import plan_backtest, run_global_backtest
    from paxcast.training.global_peers import parse_peers
    from paxcast.training.global_plot import plot
    from paxcast.training.global_report import scored, table, write_json

    for name, given in (("--holdout", args.holdout), ("--cells", args.cells)):
        if given is not None:
            raise UsageError(f"{name} applies to one-series files; a multi-series backtest takes --origins timestamps")
    stem = Path(args.data).name.split(".")[0]
    json_path = args.json or f"bench/results/backtest_{stem}.json"
    plot_path = args.plot or f"bench/results/backtest_{stem}.png"
    given = overrides_from(args)
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
    )
    log = lambda line: print(line, flush=True)  # noqa: E731
    if settings is None:
        runs = run_global_backtest(plan, log=log)
    else:
        from paxcast.training.ray_backtest import run_global_backtest_ray

        runs = run_global_backtest_ray(plan, settings, log=log)
    scores = scored(runs, plan.levels)
    log(table(plan, runs, scores))
    write_json(json_path, plan, runs, scores)
    plot(plot_path, plan, runs, scores)
    print(f"wrote {json_path} and {plot_path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from paxcast.service.main import run

    run(host=args.host, port=args.port)
    return 0


def raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # run the cleanups (staging, temp files, lock) on SIGTERM too


def cmd_retrain(args: argparse.Namespace) -> int:
    check_model_name(args.name)
    require("retrain", "train", "torch", "onnx")
    settings = engine_settings(args)
    from paxcast.training.retrain import retrain

    trainer = ray_trainer(settings)  # one Ray session for both fits of the run (engine_session below)

    signal.signal(signal.SIGTERM, raise_interrupt)
    overrides = {k: v for k, v in overrides_from(args, retrainable=True).items() if v is not None}
    with engine_session(settings):
        outcome = retrain(
            args.data,
            args.registry,
            args.name,
            max_regression=args.max_regression,
            force=args.force,
            keep=args.keep,
            trainer=trainer,
            **overrides,
        )
    record = outcome.record
    pruned = f"; pruned {', '.join(record['pruned'])}" if record["pruned"] else ""
    print(
        f"{'promoted' if outcome.promoted else 'kept'} {args.name}/{outcome.current}: "
        f"{record['reason']}{pruned} ({record['duration_s']:.1f}s)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paxcast", description="Passenger-flow forecasting: train, export, serve.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and register it as the current version")
    train.add_argument("--data", default="data/air_passengers.csv", help="long-format CSV (unique_id,ds,y)")
    add_training_flags(train, include_global=True)
    add_global_flags(train)
    add_engine_flags(train, "training")
    train.add_argument("--out", default="models", help="model registry directory (default: models)")
    train.add_argument(
        "--name", help="model name in the registry (default: the data file's name, e.g. seoul_subway_daily)"
    )
    train.set_defaults(func=cmd_train)

    backtest = commands.add_parser(
        "backtest",
        help="train on the past of each origin and compare with statistical baselines",
        description="A file of one series: the per-series model against statsforecast baselines on --holdout or "
        "--origins (value counts). A file of many series: one global model per origin, trained as `paxcast train` "
        "trains it and forecast through the service's predictor, against --peers, at --origins timestamps.",
    )
    backtest.add_argument("--data", default="data/air_passengers.csv", help="long-format CSV (unique_id,ds,y)")
    add_training_flags(backtest, include_global=True)
    add_global_flags(backtest)
    add_engine_flags(backtest, "the origins and the peers (as Ray tasks)", workers=False)
    backtest.add_argument("--holdout", type=int, help="one series: one split, forecast the last N values (default: 36)")
    backtest.add_argument(
        "--origins",
        help="one series: rolling origins a,b,c (train on the first a values, forecast --horizon). Many series: "
        "timestamps, e.g. 2019-11-30,2020-09-02 or 2015-01-30T23:00, each the last history point (inclusive) "
        "(default: the two whose horizons are the data's last two, end - 2 x horizon and end - horizon)",
    )
    backtest.add_argument("--level", default="80,95", help="interval levels in percent (default: 80,95)")
    backtest.add_argument(
        "--peers",
        help="many series: statsforecast peers, a subset of SeasonalNaive,AutoETS,AutoTheta,MSTL,AutoARIMA "
        "(default: all, without AutoARIMA on hourly and daily data, where it takes minutes per series)",
    )
    backtest.add_argument(
        "--test",
        metavar="FILE",
        help="many series: score on this file's values instead of --origins: each series' actuals right after its "
        "history in --data (a competition's official split, e.g. data/tourism/monthly/test.csv.gz); the horizon "
        "defaults to their length",
    )
    backtest.add_argument(
        "--peer-series",
        type=int,
        metavar="N",
        help="many series: run the peers other than SeasonalNaive on N series drawn at random (seed 0), and score "
        "every method on them too, labelled '(random N)' (default: every series)",
    )
    backtest.add_argument(
        "--json",
        help="metrics (and forecasts) as JSON (default: bench/results/backtest.json; many series: "
        "bench/results/backtest_<data stem>.json)",
    )
    backtest.add_argument(
        "--plot",
        help="PNG plot of the forecasts (default: bench/results/backtest.png; many series: "
        "bench/results/backtest_<data stem>.png)",
    )
    backtest.add_argument(
        "--general",
        metavar="DIR",
        help="one series: also score a registered general model, zero-shot, on the same splits, e.g. "
        "models/general_monthly (its CURRENT version) or a version's directory",
    )
    backtest.add_argument(
        "--cells", help="compare recurrent cells, e.g. lstm,gru,peephole: accuracy, parameters, training time, latency"
    )
    backtest.set_defaults(func=cmd_backtest)

    serve = commands.add_parser("serve", help="serve every registered model over HTTP (settings: PAXCAST_* variables)")
    serve.add_argument("--host", help="bind address (default: PAXCAST_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PAXCAST_PORT or 8000)")
    serve.set_defaults(func=cmd_serve)

    retrain = commands.add_parser(
        "retrain",
        help="train a challenger on new data and promote it only if it is not worse than the served champion",
        description="Window, horizon and season stay the champion's (the served contract); "
        "the other training flags override its settings.",
    )
    retrain.add_argument("--data", default="data/air_passengers.csv", help="long-format CSV (unique_id,ds,y)")
    add_training_flags(retrain, retrainable=True, include_global=True)
    add_registry_arguments(retrain)
    add_engine_flags(retrain, "every fit of the run (global champions)")
    retrain.add_argument(
        "--max-regression",
        type=float,
        default=0.0,
        metavar="PCT",
        help="promote a challenger whose hold-out error is at most PCT %% (relative) above the champion's (default: 0)",
    )
    retrain.add_argument("--force", action="store_true", help="promote the challenger whatever the comparison says")
    retrain.add_argument(
        "--keep",
        type=int,
        default=10,
        metavar="N",
        help="versions kept after pruning; the current one always stays (default: 10)",
    )
    retrain.set_defaults(func=cmd_retrain)

    models = commands.add_parser("models", help="list, show or roll back the versions of a model")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every version, newest first, with its errors; * marks the current one")
    add_registry_arguments(listing)
    listing.set_defaults(func=cmd_models_list)
    show = actions.add_parser("show", help="print a version's model.json (default: the current version)")
    add_registry_arguments(show)
    show.add_argument("version", nargs="?", help="version id (default: the current one)")
    show.set_defaults(func=cmd_models_show)
    rollback = actions.add_parser(
        "rollback", help="make an existing version current again (checked like a load; logged in history.jsonl)"
    )
    add_registry_arguments(rollback)
    rollback.add_argument("version", help="version id to serve")
    rollback.set_defaults(func=cmd_models_rollback)
    # No abbreviated flags: `--season` must not quietly mean `--seasonal_lags` (or a flag added later).
    for each in (parser, *commands.choices.values(), *actions.choices.values()):
        each.allow_abbrev = False
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PaxcastError as exc:
        print(f"paxcast {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the machine, not the code: a full disk, a missing or unwritable path
        print(f"paxcast {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"paxcast {args.command}: interrupted; the registry is unchanged", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
