"""A smaller hidden size for the station models, chosen by validation, then held to the ship rule (issue 34).

    python -m bench.perf.hidden_size cards DIR [DIR ...]
    python -m bench.perf.hidden_size backtests FILE [FILE ...] [--base 64]

`cards`: the station models of each registry DIR, made by the Makefile's `paxcast train` commands with
`--hidden H --out DIR`; per model, each size's validation scores from its card (the inner validation
inside the training data that also picked the checkpoint) and the size the card's own metric prefers.
The choice is by validation only: nothing after the training data's end is read.

`backtests`: JSON files of `paxcast backtest ... --hidden H --json FILE` (docs/accuracy.md's station
commands); per data set, every size against the `--base` size (the shipped design) by the ship rule of
bench/perf/variant_accuracy.py (WAPE within 1 % relative, 80/95 % coverage within 1 point), at each origin
and pooled over the origins.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import served_card, table
from bench.perf.variant_accuracy import rule_breaks
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.backtest.network import OURS

SHIPPED_HIDDEN = 64
STATION_MODELS = ("seoul_subway_daily", "melbourne_pedestrian_hourly")


def card_rows(registries: list[Path], names: list[str]) -> list[dict]:
    """One row per registry and model of `names` it holds: its hidden size and the card's validation scores."""
    rows = []
    for registry in registries:
        for name in [n for n in names if (registry / n / "CURRENT").is_file()]:
            card = served_card(registry, name)
            if not isinstance(card.hyperparameters, GlobalTrainConfig):
                raise SystemExit(f"{registry / name}: a per-series model; --hidden is compared for global models")
            v, t = card.validation, card.training
            rows.append(
                {"model": name, "hidden": card.hyperparameters.hidden, "metric": card.hyperparameters.metric}
                | {"wape": v.wape, "baseline_wape": v.baseline_wape, "mase": v.mase, "baseline_mase": v.baseline_mase}
                | {"best_step": t.best_step, "seconds": t.seconds, "load": t.load_average, "registry": str(registry)}
            )
    return rows


def preferred(rows: list[dict]) -> dict[str, int]:
    """Per model, the hidden size with the lowest validation score by the card's own metric (WAPE for stations)."""
    out = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        out[name] = min(mine, key=lambda r: (r[r["metric"]], r["hidden"]))["hidden"]
    return out


def ours(path: Path) -> dict:
    """A backtest JSON's data file, hidden size, origins and our scores at each origin and pooled."""
    document = json.loads(path.read_text())
    return {
        "data": Path(document["data"]).name,
        "hidden": document["settings"]["hyperparameters"]["hidden"],
        "origins": [o["origin"] for o in document["origins"]],
        "per_origin": [o["methods"][OURS] for o in document["origins"]],
        "pooled": document["summary"][OURS],
        "file": str(path),
    }


def verdicts(runs: list[dict], base: int) -> dict[int, list[str]]:
    """Per hidden size other than `base`, every place it breaks the ship rule against `base` (empty: it ships)."""
    out: dict[int, list[str]] = {r["hidden"]: [] for r in runs if r["hidden"] != base}
    for data in dict.fromkeys(r["data"] for r in runs):
        mine = {r["hidden"]: r for r in runs if r["data"] == data}
        if base not in mine:
            raise SystemExit(f"{data}: no backtest with hidden {base} among the files to compare against")
        reference = mine[base]
        for hidden, run in mine.items():
            if hidden == base:
                continue
            if run["origins"] != reference["origins"]:
                raise SystemExit(f"{data}: hidden {hidden} ran origins {run['origins']}, {base} {reference['origins']}")
            scopes = zip([*run["origins"], "pooled"], [*run["per_origin"], run["pooled"]], strict=True)
            for (where, m), b in zip(scopes, [*reference["per_origin"], reference["pooled"]], strict=True):
                out[hidden] += rule_breaks(m, b, f"{data} {where}")
    for hidden in out:
        missing = {r["data"] for r in runs} - {r["data"] for r in runs if r["hidden"] == hidden}
        out[hidden] += [f"{data}: not run" for data in sorted(missing)]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.hidden_size", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cards = sub.add_parser("cards", help="validation scores per hidden size")
    cards.add_argument("registries", type=Path, nargs="+")
    cards.add_argument("--models", default=",".join(STATION_MODELS), help="model names (default: %(default)s)")
    compare = sub.add_parser("backtests", help="the ship rule per hidden size")
    compare.add_argument("files", type=Path, nargs="+")
    compare.add_argument("--base", type=int, default=SHIPPED_HIDDEN, help="the shipped design's hidden size")
    args = parser.parse_args(argv)
    if args.command == "cards":
        rows = card_rows(args.registries, args.models.split(","))
        keys = ["model", "hidden", "wape", "baseline_wape", "mase", "baseline_mase", "best_step", "seconds", "load"]
        keys.append("registry")
        print(table(keys, [[r[k] for k in keys] for r in sorted(rows, key=lambda r: (r["model"], -r["hidden"]))]))
        for name, hidden in preferred(rows).items():
            print(f"{name}: validation prefers hidden {hidden}")
        return
    runs = [ours(path) for path in args.files]
    cells = []
    for r in sorted(runs, key=lambda r: (r["data"], -r["hidden"])):
        for where, m in zip([*r["origins"], "pooled"], [*r["per_origin"], r["pooled"]], strict=True):
            cells.append([r["data"], where, r["hidden"], f"{m['wape']:.3f}", f"{m['mase']:.3f}"])
            cells[-1] += [f"{m['coverage80']:.1f}", f"{m['coverage95']:.1f}"]
    print(table(["data", "origin", "hidden", "WAPE %", "MASE mean", "cov80 %", "cov95 %"], cells))
    for hidden, broken in verdicts(runs, args.base).items():
        print(f"hidden {hidden}: " + ("SHIPS by the rule" if not broken else "does not ship: " + "; ".join(broken)))


def check() -> None:
    """The smaller size with the lower validation score is preferred; 2 % worse WAPE at one origin breaks the rule."""
    cards = [{"model": "m", "metric": "wape", "hidden": h, "wape": w} for h, w in ((64, 9.1), (32, 8.2), (16, 10.3))]
    if preferred(cards) != {"m": 32}:
        raise AssertionError(f"validation preferred {preferred(cards)}")
    same = {"wape": 10.0, "coverage80": 80.0, "coverage95": 95.0}
    run = {"data": "d", "origins": ["a", "b"], "pooled": same}
    runs = [run | {"hidden": 64, "per_origin": [same, same]}, run | {"hidden": 32, "per_origin": [same, same]}]
    runs.append(run | {"hidden": 16, "per_origin": [same, same | {"wape": 10.2}]})
    out = verdicts(runs, 64)
    if out[32] or out[16] != ["d b: WAPE 10.200 vs 10.000"]:
        raise AssertionError(f"the ship rule came out as {out}")


if __name__ == "__main__":
    main()
