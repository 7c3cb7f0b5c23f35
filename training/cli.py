"""`paxcast` command line: train, serve, retrain, models. Known errors become one line and an exit code.

Imports stay inside the commands: `paxcast serve` must run in the serving-only
install, which has no torch.
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE, EXIT_DATA, EXIT_FAILED = 2, 3, 1


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data/air_passengers.csv", help="long-format CSV (unique_id,ds,y)")
    parser.add_argument("--horizon", type=int, help="steps forecast at once (default: the window)")
    parser.add_argument("--window", type=int, help="history values the model reads (default: 3 seasons)")
    parser.add_argument("--season", type=int, help="seasonal period (default: from the frequency, 12 for monthly)")
    parser.add_argument("--cell", choices=("lstm", "gru", "peephole"), help="recurrent cell (default: lstm)")
    parser.add_argument("--hidden", type=int, help="hidden units per layer (default: 64)")
    parser.add_argument("--layers", type=int, help="stacked recurrent layers (default: 1)")
    parser.add_argument("--dropout", type=float, help="dropout between layers and before the head (default: 0)")
    parser.add_argument("--transform", choices=("none", "log"), help="value transform inside the graph (default: chosen by inner validation)")
    parser.add_argument("--epochs", type=int, help="maximum epochs per member (default: 300)")
    parser.add_argument("--patience", type=int, help="epochs without validation improvement before stopping (default: 40)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: 3e-3)")
    parser.add_argument("--seed", type=int, help="base seed; member k uses seed + k (default: 0)")
    parser.add_argument("--ensemble", type=int, help="members averaged inside the graph (default: 5)")
    parser.add_argument("--augment", type=float, help="random growth tilt per season applied to training windows (default: chosen by inner validation)")


def overrides_from(args: argparse.Namespace) -> dict:
    keys = ("horizon", "window", "season", "cell", "hidden", "layers", "dropout", "transform", "epochs", "patience", "lr", "seed", "ensemble", "augment")
    return {key: getattr(args, key) for key in keys}


def cmd_train(args: argparse.Namespace) -> int:
    from paxcast.training.pipeline import train_and_register

    version, fitted = train_and_register(args.data, args.out, args.name, **overrides_from(args))
    chosen, selection = fitted.meta["selection"]["chosen"] or {}, fitted.meta["selection"]
    inner = f"inner MAPE {chosen['mape']:.2f}% vs its no-network baseline {chosen['baseline_mape']:.2f}%" if chosen else "no inner validation (data too short)"
    print(
        f"registered {args.name}/{version} in {args.out}: {fitted.meta['cell']} x{fitted.meta['ensemble']}, "
        f"window {fitted.meta['window']}, horizon {fitted.meta['horizon']}, transform {fitted.meta['transform']}, "
        f"{inner}, network {selection['network'].split(':')[0]}, " f"intervals {'calibrated' if fitted.meta['intervals'] else 'none'}, "
        f"{fitted.meta['training']['seconds_with_inner_validation']:.1f}s"
    )
    return 0


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--holdout", type=int, help="one split: forecast the last N values (default: 36)")
    parser.add_argument("--origins", help="rolling origins a,b,c: train on the first a values, forecast --horizon")
    parser.add_argument("--level", default="80,95", help="interval levels in percent (default: 80,95)")
    parser.add_argument("--json", default="bench/results/backtest.json", help="metrics and forecasts as JSON")
    parser.add_argument("--plot", default="bench/results/backtest.png", help="PNG plot of the forecasts")
    parser.add_argument("--cells", help="compare recurrent cells, e.g. lstm,gru,peephole: accuracy, parameters, training time, latency")


def cmd_backtest(args: argparse.Namespace) -> int:
    from paxcast.training.backtest import main as backtest

    return backtest(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from paxcast.service.main import run

    run(host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paxcast", description="Passenger-flow forecasting: train, export, serve.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and register it as the current version")
    add_train_arguments(train)
    train.add_argument("--out", default="models", help="model registry directory (default: models)")
    train.add_argument("--name", default="air_passengers", help="model name in the registry")
    train.set_defaults(func=cmd_train)

    backtest = commands.add_parser("backtest", help="train on the past of each split and compare with statistical baselines")
    add_train_arguments(backtest)
    add_backtest_arguments(backtest)
    backtest.set_defaults(func=cmd_backtest)

    serve = commands.add_parser("serve", help="serve the current model over HTTP (settings: PAXCAST_* variables)")
    serve.add_argument("--host", help="bind address (default: PAXCAST_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PAXCAST_PORT or 8000)")
    serve.set_defaults(func=cmd_serve)

    from paxcast.training.retrain_cli import add_retrain_commands  # `retrain` and `models` live in their own module

    add_retrain_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from paxcast.service.registry import ModelError
    from paxcast.training.data import DataError

    try:
        return args.func(args)
    except DataError as exc:
        print(f"paxcast {args.command}: {exc}", file=sys.stderr)
        return EXIT_DATA
    except (ModelError, ValueError, OSError) as exc:
        print(f"paxcast {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"paxcast {args.command}: interrupted; the registry is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
