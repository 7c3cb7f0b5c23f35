"""`paxcast models list|show|rollback`: read and move a registry's CURRENT. Runs in the serving-only
install (no torch); a rollback passes the service's own load check before CURRENT moves.
"""

from __future__ import annotations

import argparse

from paxcast.service.core.contract import read_card
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.publish import rollback
from paxcast.service.core.registry import current_version, list_versions
from paxcast.service.inference.predictor import check_servable


def cmd_models_list(args: argparse.Namespace) -> int:
    versions = list_versions(args.registry, args.name)[::-1]  # newest first
    if not versions:
        raise ModelError(f"{args.registry}/{args.name}: no versions")
    try:
        current = current_version(args.registry, args.name)
    except ModelError:
        current = None
    print(f"{'':2}{'version':22}{'created_at':27}{'validation':>16}  data")
    for version in versions:
        mark = "* " if version == current else "  "
        try:
            card = read_card(f"{args.registry}/{args.name}/{version}", verify_hash=False)
        except ModelError as exc:
            print(f"{mark}{version:22}unreadable: {exc}")
            continue
        data = f"{card.data_file} ({card.training.rows} rows)"
        print(f"{mark}{version:22}{card.created_at:27}{validation_score(card):>16}  {data}")
    return 0


def validation_score(card) -> str:
    """The score that chose the version: MAPE (per-series), pooled WAPE or mean MASE (global, by its metric)."""
    v = card.validation
    if card.is_global and card.hyperparameters.metric == "mase" and v.mase is not None:
        return f"MASE {v.mase:.3f}"
    if card.is_global and v.wape is not None:
        return f"WAPE {v.wape:.2f}%"
    return f"MAPE {v.mape:.2f}%" if v.mape is not None else "-"


def cmd_models_show(args: argparse.Namespace) -> int:
    version = args.version or current_version(args.registry, args.name)
    print(read_card(f"{args.registry}/{args.name}/{version}", verify_hash=False).to_json(), end="")
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    record = rollback(args.registry, args.name, args.version, check=check_servable)
    if record is None:
        print(f"{args.name}/{args.version} is already current; nothing changed")
    else:
        print(f"rolled back {args.name}: CURRENT {record['previous']} -> {record['current']}")
    return 0


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", default="models", help="model registry directory (default: models)")
    parser.add_argument("--name", default="air_passengers", help="model name in the registry (default: air_passengers)")
