"""`paxcast`: every command and its parser; the libraries below take plain values. The flags several
commands share are in `cli.options`, `paxcast models` in `cli.models`.

train, backtest, retrain, serve, models list|show|rollback, actuals load. A known error (the `PaxcastError` tree in
`core.exceptions`) becomes one line on stderr and its exit code; anything else is a bug and keeps its
traceback. This front is torch-free: `serve` and `models` run in the serving-only install, and
`train|backtest|retrain` reach `paxcast.training` (the `train` extra) only through `cmd_training`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from paxcast.service.cli.actuals import add_actuals_parser
from paxcast.service.cli.models import (
    add_registry_arguments,
    cmd_models_list,
    cmd_models_rollback,
    cmd_models_show,
)
from paxcast.service.cli.options import (
    add_engine_flags,
    add_global_flags,
    add_training_flags,
    check_model_name,
    model_name_from,
    overrides_from,
    require,
)
from paxcast.service.core.exceptions import PaxcastError, UsageError

EXIT_INTERRUPTED = 130


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here, not above: the HTTP app (FastAPI, uvicorn, the metrics registry) loads for `serve` only.
    from paxcast.service.api.main import run

    run(host=args.host, port=args.port)
    return 0


def check_utf8_path(flag: str, path: str | None) -> None:
    """UsageError for a path whose name is not UTF-8 (its bytes arrive as surrogates): a card, a log line and
    every message name the file, and none of them can carry it."""
    if path is not None:
        try:
            os.fsencode(path).decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"--{flag} {path}: the file name is not UTF-8; rename the file") from None


def cmd_training(args: argparse.Namespace) -> int:
    """`train`, `backtest`, `retrain`: the flags are checked here, then handed to `paxcast.training.commands`, the
    one place this torch-free front reaches into training (the `train` extra)."""
    for flag in ("data", "holidays", "out", "registry"):
        check_utf8_path(flag, getattr(args, flag, None))
    if args.command == "train" and args.name is None:
        args.name = model_name_from(args.data)
    if args.command != "backtest":
        check_model_name(args.name)
    require(args.command, "train", "torch", "onnx")
    if args.command == "backtest":
        require("backtest", "bench", "statsforecast", "matplotlib")
    args.overrides = overrides_from(args, retrainable=args.command == "retrain")
    from paxcast.training import commands

    return getattr(commands, args.command)(args)


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
    train.set_defaults(func=cmd_training)

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
        help="many series: peers, a subset of SeasonalNaive,AutoETS,AutoTheta,MSTL,AutoARIMA (statsforecast) and "
        "NHITS (NeuralForecast); a statsforecast name may end in its season, e.g. SeasonalNaive24 (default: the "
        "statsforecast ones, without AutoARIMA on hourly and daily data, where it takes minutes per series)",
    )
    backtest.add_argument(
        "--test",
        metavar="FILE",
        help="many series: score on this file's values instead of --origins: each series' actuals right after its "
        "history in --data (a competition's official split, e.g. data/tourism/monthly/test.csv.gz); the horizon "
        "defaults to their length",
    )
    backtest.add_argument(
        "--train-on",
        metavar="FILE",
        help="many series, with --test: train the network (and NHITS) on FILE's series, with the defaults "
        "`paxcast train` gives FILE, and score it zero-shot on --data's series: a general model on a source it "
        "never saw",
    )
    backtest.add_argument(
        "--peer-series",
        type=int,
        metavar="N",
        help="many series: run the peers other than SeasonalNaive on N series drawn at random (seed 0), and score "
        "every method on them too, labelled '(random N)' (default: every series)",
    )
    backtest.add_argument(
        "--peer-history",
        type=int,
        metavar="STEPS",
        help="many series: the peers fit on each history's last STEPS values (default: 1344, 8 weeks, hourly; "
        "all of it otherwise)",
    )
    backtest.add_argument(
        "--last-days",
        type=int,
        metavar="N",
        help="many series: first cut the file to its last N days (a short-history network from a long one)",
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
        help="also score a registered general model, zero-shot, on the same splits (one series), or on --test's "
        "split (many series), e.g. models/general_monthly (its CURRENT version) or a version's directory",
    )
    backtest.add_argument(
        "--cells", help="compare recurrent cells, e.g. lstm,gru,peephole: accuracy, parameters, training time, latency"
    )
    backtest.set_defaults(func=cmd_training)

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
    source = retrain.add_mutually_exclusive_group()
    source.add_argument("--data", default="data/air_passengers.csv", help="long-format CSV (unique_id,ds,y)")
    source.add_argument(
        "--store",
        metavar="URL",
        help="train on the model's series in this store (e.g. sqlite:///models/.store/paxcast.sqlite): the ids it "
        "served forecasts for and those it was trained on, with their stored actuals, read as a data file is",
    )
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
        "--if-degraded",
        action="store_true",
        help="with --store: retrain only when the champion's live WAPE over --live-days is worse than its validation "
        "error (WAPE; MAPE on per-series cards) by more than --degraded-margin, or worse than live seasonal naive; "
        "otherwise record why in history.jsonl and exit 0 (4: too few live points to judge, nothing trained)",
    )
    retrain.add_argument(
        "--live-days",
        type=int,
        metavar="N",
        help="--if-degraded: days of the live window, back from the newest stored actual (default: 28)",
    )
    retrain.add_argument(
        "--degraded-margin",
        type=float,
        metavar="PCT",
        help="--if-degraded: how much worse than its validation error (relative, percent) live WAPE may be "
        "(default: 50; validation error picked the checkpoint, so it is optimistic)",
    )
    retrain.add_argument(
        "--keep",
        type=int,
        default=10,
        metavar="N",
        help="versions kept after pruning; the current one always stays (default: 10)",
    )
    retrain.set_defaults(func=cmd_training)

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
    add_actuals_parser(commands)
    # No abbreviated flags: `--season` must not quietly mean `--seasonal_lags` (or a flag added later).
    for each in (parser, *commands.choices.values(), *actions.choices.values()):
        each.allow_abbrev = False
    return parser


def one_line(text: str) -> str:
    """`text` as one printable line: control characters (a newline or an ANSI escape inside a series id or a file
    name) and the surrogates of a file name that is not UTF-8 are written as escapes, never emitted."""
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], escaped)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    say = lambda message: print(f"paxcast {args.command}: {one_line(str(message))}", file=sys.stderr)  # noqa: E731
    try:
        return args.func(args)
    except PaxcastError as exc:
        say(exc)
        return exc.exit_code
    except OSError as exc:  # the machine, not the code: a full disk, a missing or unwritable path
        say(exc)
        return 1
    except KeyboardInterrupt:
        say("interrupted; the registry is unchanged")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
