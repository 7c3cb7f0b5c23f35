"""`paxcast retrain` and `paxcast models list|show|rollback`: the scheduler's and the operator's commands.

Exit status for a scheduler: 0 promoted or kept; 3 bad data; 75 another run holds the
registry lock (EX_TEMPFAIL: try again later); 1 any other failure; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from paxcast.training.cli import add_train_arguments, overrides_from

EXIT_BUSY = 75


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", default="models", help="model registry directory (default: models)")
    parser.add_argument("--name", default="air_passengers", help="model name in the registry (default: air_passengers)")


def add_retrain_commands(commands) -> None:
    """Register `retrain` and `models` on the `paxcast` subcommand parser."""
    retrain = commands.add_parser(
        "retrain",
        help="train a challenger on new data and promote it only if it is not worse than the served champion",
        description="Window, horizon and season stay the champion's (the served contract); " "the other training flags override its settings.",
    )
    add_train_arguments(retrain)
    add_registry_arguments(retrain)
    retrain.add_argument("--max-regression", type=float, default=0.0, metavar="PCT",
                         help="promote a challenger whose hold-out error is at most PCT %% (relative) above the champion's (default: 0)")
    retrain.add_argument("--force", action="store_true", help="promote the challenger whatever the comparison says")
    retrain.add_argument("--keep", type=int, default=10, metavar="N", help="versions kept after pruning; the current one always stays (default: 10)")
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
    rollback = actions.add_parser("rollback", help="make an existing version current again (logged in history.jsonl)")
    add_registry_arguments(rollback)
    rollback.add_argument("version", help="version id to serve")
    rollback.set_defaults(func=cmd_models_rollback)


def raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # run the cleanups (staging, temp files, lock) on SIGTERM too


def cmd_retrain(args: argparse.Namespace) -> int:
    from paxcast.training.registry import RegistryBusy
    from paxcast.training.retrain import retrain

    signal.signal(signal.SIGTERM, raise_interrupt)
    overrides = {k: v for k, v in overrides_from(args).items() if v is not None}
    try:
        outcome = retrain(args.data, args.registry, args.name, max_regression=args.max_regression,
                          force=args.force, keep=args.keep, **overrides)
    except RegistryBusy as exc:
        print(f"paxcast retrain: {exc}", file=sys.stderr)
        return EXIT_BUSY
    record = outcome.record
    decision = "promoted" if outcome.promoted else "kept"
    pruned = f"; pruned {', '.join(record['pruned'])}" if record["pruned"] else ""
    print(f"{decision} {args.name}/{outcome.current}: {record['reason']}{pruned} ({record['duration_s']:.1f}s)")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from paxcast.service.registry import ModelError, current_version, list_versions, read_contract
    from paxcast.training.registry import version_order

    versions = sorted(list_versions(args.registry, args.name), key=version_order, reverse=True)
    if not versions:
        raise ModelError(f"{args.registry}/{args.name}: no versions")
    try:
        current = current_version(args.registry, args.name)
    except ModelError:
        current = None
    print(f"{'':2}{'version':22}{'created_at':27}{'val MAPE':>10}  data")
    for version in versions:
        try:
            meta = read_contract(f"{args.registry}/{args.name}/{version}", verify_hash=False)
        except ModelError as exc:
            print(f"{'* ' if version == current else '  '}{version:22}unreadable: {exc}")
            continue
        val = (meta.get("validation") or {}).get("mape")
        val_text = f"{val:.2f}%" if isinstance(val, (int, float)) else "-"
        rows = (meta.get("training") or {}).get("rows", "?")
        print(f"{'* ' if version == current else '  '}{version:22}{meta.get('created_at', '?'):27}" f"{val_text:>10}  {meta.get('data_file', '?')} ({rows} rows)")
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    from paxcast.service.registry import current_version, read_contract

    version = args.version or current_version(args.registry, args.name)
    print(json.dumps(read_contract(f"{args.registry}/{args.name}/{version}", verify_hash=False), indent=2))
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    from paxcast.training.registry import RegistryBusy, rollback

    try:
        record = rollback(args.registry, args.name, args.version)
    except RegistryBusy as exc:
        print(f"paxcast models: {exc}", file=sys.stderr)
        return EXIT_BUSY
    if record is None:
        print(f"{args.name}/{args.version} is already current; nothing changed")
    else:
        print(f"rolled back {args.name}: CURRENT {record['previous']} -> {record['current']}")
    return 0
