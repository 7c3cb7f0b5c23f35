"""Issue 33's leave-source-out protocol: the general models on whole sources they never saw.

    python -m bench.accuracy.general_sources --freq monthly --fold A [--peers SeasonalNaive,AutoETS,...]
    python -m bench.accuracy.general_sources --freq monthly --fold A --design drift --peers ""   # another design
    python -m bench.accuracy.general_sources --freq monthly --fold A --peers AutoARIMA,NHITS --peers-only
    python -m bench.accuracy.general_sources --freq monthly --score DIR --split tourism|m4_other   # no training
    python -m bench.accuracy.general_sources --report            # the tables, from the folds' JSON files

The protocol (written before the first run) is docs/accuracy.md, "Sources they never saw". For a fold this:
1. writes the training pool without the fold's sources (`data/general_corpus/pool.py --without`);
2. writes the fold's series as a history file and a test file: M4 Other's official split, or each other
   series' last 18 months / 8 quarters;
3. runs `paxcast backtest --data HISTORY --test TEST --train-on POOL --general models/general_<freq>`:
   the network trained on the pool as `paxcast train` trains it, the shipped model, and the peers, all
   forecasting the fold's series zero-shot through the service's `Predictor`;
4. keeps the backtest's JSON as `<out>/<freq>_<fold>.json`.
`--design NAME` trains the network with DESIGNS[NAME]'s flags on top of the shipped defaults, into
`<freq>_<fold>_<name>.json`. `--peers-only` runs the fold's peers alone (the network for one step, not reported)
into `<freq>_<fold>_peers.json`; the report adds the peer rows of every `<freq>_<fold>_peers*.json` to the
fold's: a slow peer in its own run (rename a second such run, e.g. `_peers_arima.json`).
`--score DIR` scores a registered general model (e.g. one `make train` made) on an
official split, tourism's or M4 Other's, through the service's `Predictor`, into `<freq>_<split>_score.json`.
`--report` reads every fold's JSON and prints mean MASE per source and method, the mean over sources,
and the pooled sMAPE and coverage.
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "general_corpus"
FOLDS = {
    "monthly": {
        "A": ("fredmd", "tsdl"),
        "B": ("m1", "hospital"),
        "C": ("pbs", "ausretail", "auslivestock"),
        "D": ("m4_other",),
    },
    "quarterly": {"A": ("tsdl", "ausproduction"), "B": ("m1",), "D": ("m4_other",)},
}
HORIZON = {"monthly": 18, "quarterly": 8}  # M4's
PEERS = "SeasonalNaive,AutoETS,AutoTheta,AutoARIMA,NHITS"
# Candidate designs beyond the shipped defaults (docs/accuracy.md, "Sources they never saw": the choice rule).
DESIGNS = {"drift": ["--trend", "drift"], "peers": ["--steps", "1"]}  # "peers": --peers-only's run
PAXCAST_ROWS = ("paxcast", "general_")  # the labels of our rows, which a peers-only run does not report
SPLITS = {
    "tourism": lambda freq: (
        ROOT / "data" / "tourism" / freq / "train.csv.gz",
        ROOT / "data" / "tourism" / freq / "test.csv.gz",
    ),
    "m4_other": lambda freq: (CORPUS / f"m4_other_{freq}_train.csv.gz", CORPUS / f"m4_other_{freq}_test.csv.gz"),
}
OUT = ROOT / "bench" / "results" / "general_sources"


@functools.cache
def pool_module():
    """data/general_corpus/pool.py, a script (`make train` will run it), loaded once."""
    spec = importlib.util.spec_from_file_location("general_pool", CORPUS / "pool.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["unique_id", "ds", "y"])
        writer.writerows(rows)


def fold_split(freq: str, sources: tuple[str, ...], folder: Path) -> tuple[Path, Path]:
    """The fold's series as (history file, test file)."""
    if sources == ("m4_other",):
        return CORPUS / f"m4_other_{freq}_train.csv.gz", CORPUS / f"m4_other_{freq}_test.csv.gz"
    pool = pool_module()
    everything = set(pool.SOURCES[freq])
    rows = list(pool.pool_rows(freq, everything - set(sources), []))  # the fold's dated series only
    by_id: dict[str, list[list[str]]] = {}
    for row in rows:
        by_id.setdefault(row[0], []).append(row)
    h = HORIZON[freq]
    history, test = folder / "history.csv.gz", folder / "test.csv.gz"
    write_rows(history, [r for series in by_id.values() for r in series[:-h]])
    write_rows(test, [r for series in by_id.values() for r in series[-h:]])
    return history, test


def run_fold(freq: str, fold: str, peers: str, out: Path, design: str | None = None) -> Path:
    from paxcast.service.cli.main import main

    sources = FOLDS[freq][fold]
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{freq}_{fold}" + (f"_{design}" if design else "")
    report = out / f"{stem}.json"
    with tempfile.TemporaryDirectory(prefix="paxcast-sources-") as tmp:
        folder = Path(tmp)
        pool = folder / f"pool_{freq}_without_{'_'.join(sources)}.csv.gz"
        rows, undated, copies = pool_module().write_pool(freq, pool, set(sources))
        print(
            f"fold {freq} {fold}: left out {', '.join(sources)}; pool {rows} rows ({undated} undated and "
            f"{len(copies)} copies of zero-shot series left out)"
        )
        history, test = fold_split(freq, sources, folder)
        argv = ["backtest", "--data", str(history), "--test", str(test), "--train-on", str(pool)]
        argv += ["--general", str(ROOT / "models" / f"general_{freq}"), "--peers", peers]
        argv += ["--json", str(report), "--plot", str(out / f"{stem}.png"), *DESIGNS.get(design, [])]
        code = main(argv)
    if code != 0:
        raise SystemExit(code)
    return report


def score_registered(freq: str, split: str, model: Path, out: Path) -> Path:
    """A registered general model on an official split, as the service answers (no training)."""
    from paxcast.training.backtest.cuts import split_cut
    from paxcast.training.backtest.general import load_general
    from paxcast.training.backtest.network import posted_series
    from paxcast.training.data import read_series
    from paxcast.training.metrics import mase_scale, score
    from paxcast.training.served import served_forecast

    history, test = SPLITS[split](freq)
    train, future = read_series(history), read_series(test)
    cut = split_cut(train, future, str(test), shortest=1, season={"monthly": 12, "quarterly": 4}[freq])
    _, predictor = load_general(model, train[0].freq, cut.horizon, min(len(h) for h in cut.histories))
    label = f"{predictor.card.name}/{predictor.card.version}"  # zero-shot or not depends on the split
    posted, _ = posted_series(cut, predictor.window, predictor.card.season)
    served = served_forecast(predictor, posted, cut.horizon, [80, 95], label)
    scales = np.array([mase_scale(h, predictor.card.season) for h in cut.histories])
    metrics = score(cut.actuals, served["mean"], scales, served["intervals"])
    card = predictor.card
    document = {
        "split": split,
        "model": f"{card.name}/{card.version}",
        "data_file": card.data_file,
        "data_sha256": card.data_sha256,
        "series": len(cut.ids),
        "summary": {label: metrics},
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{freq}_{split}_score.json"
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(
        f"{label} on {split} {freq}: MASE {metrics['mase']:.3f}, sMAPE {metrics['smape']:.2f}, "
        f"MAPE {metrics['mape']:.2f}, coverage {metrics['coverage80']:.1f}/{metrics['coverage95']:.1f}"
    )
    return path


def source_of(series_id: str) -> str:
    return pool_module().source_of(series_id)


def is_peer(method: str) -> bool:
    return not method.startswith(PAXCAST_ROWS)


def fold_documents(out: Path, freq: str, fold: str) -> list[dict]:
    """The fold's run, then its peers-only runs if any (`<freq>_<fold>_peers*.json`, their peer rows only)."""
    documents = []
    peers = sorted(out.glob(f"{freq}_{fold}_peers*.json"))
    for path, ours in ((out / f"{freq}_{fold}.json", True), *((p, False) for p in peers)):
        if path.is_file():
            document = json.loads(path.read_text())
            if not ours:
                (origin,) = document["origins"]
                origin["mase_by_series"] = {m: e for m, e in origin["mase_by_series"].items() if is_peer(m)}
                document["summary"] = {m: row for m, row in document["summary"].items() if is_peer(m)}
            documents.append(document)
    return documents


def fold_table(document: dict) -> dict[str, dict[str, float]]:
    """method -> source -> mean MASE over that source's scored series (those with a defined MASE)."""
    (origin,) = document["origins"]
    sources = np.array([source_of(i) for i in origin["ids"]])
    table = {}
    for method, entry in origin["mase_by_series"].items():
        if entry["rows"] is not None:
            continue  # a random-subset row
        mase = np.array([np.nan if v is None else v for v in entry["mase"]], dtype=float)
        table[method] = {
            src: float(np.nanmean(mase[sources == src]))
            for src in dict.fromkeys(sources)
            if np.isfinite(mase[sources == src]).any()
        }
    return table


def row_label(method: str, freq: str) -> str:
    """The report's name for a backtest label: which data the network saw."""
    if method.startswith("paxcast global LSTM"):
        return "paxcast, tourism + corpus without the fold" + method[len("paxcast global LSTM") :]
    if method.startswith(f"general_{freq} (general, zero-shot)"):
        return f"general_{freq} as shipped at the run (tourism only until 2026-12-06)"
    return method


def report(out: Path) -> str:
    lines = []
    for freq, folds in FOLDS.items():
        per_method: dict[str, dict[str, float]] = {}
        pooled: dict[str, list[dict]] = {}
        counts: dict[str, int] = {}
        for document in (d for fold in folds for d in fold_documents(out, freq, fold)):
            for method, by_source in fold_table(document).items():
                per_method.setdefault(method, {}).update(by_source)
            (origin,) = document["origins"]
            for src in dict.fromkeys(source_of(i) for i in origin["ids"]):
                counts[src] = sum(source_of(i) == src for i in origin["ids"])
            for method, row in document["summary"].items():
                pooled.setdefault(method, []).append(row)
        if not per_method:
            continue
        sources = list(counts)
        head = (
            "| method | "
            + " | ".join(f"{s} ({counts[s]})" for s in sources)
            + " | **mean over sources** | sMAPE | cov80 | cov95 |"
        )
        lines += [
            f"{freq.capitalize()}, mean MASE by left-out source (series scored):",
            "",
            head,
            "|---" * (len(sources) + 5) + "|",
        ]
        for method, by_source in per_method.items():
            cells = [f"{by_source[s]:.3f}" if s in by_source else "-" for s in sources]
            complete = all(s in by_source for s in sources)
            mean = f"{np.mean([by_source[s] for s in sources]):.3f}" if complete else "-"
            rows = pooled[method]
            points = sum(r["points"] for r in rows)
            smape = sum(r["smape"] * r["points"] for r in rows) / points
            cov = [
                f"{sum(r[f'coverage{lv}'] * r['points'] for r in rows) / points:.1f}"
                if all(f"coverage{lv}" in r for r in rows)
                else "-"
                for lv in (80, 95)
            ]
            lines.append(
                f"| {row_label(method, freq)} | "
                + " | ".join(cells)
                + f" | {mean} | {smape:.2f} | {cov[0]} | {cov[1]} |"
            )
        lines.append("")
    return "\n".join(lines)


def check() -> None:
    """The folds leave out every source but tourism once, and a fold's split holds its sources only."""
    pool = pool_module()
    for freq, folds in FOLDS.items():
        left_out = [src for sources in folds.values() for src in sources]
        assert sorted(left_out) == sorted(set(pool.SOURCES[freq]) - {"tourism"}), freq
    with tempfile.TemporaryDirectory() as tmp:
        history, test = fold_split("quarterly", FOLDS["quarterly"]["A"], Path(tmp))
        with gzip.open(history, "rt") as f:
            ids = {line.split(",", 1)[0] for line in list(f)[1:]}
        assert {source_of(i) for i in ids} == {"tsdl", "ausproduction"} and len(ids) == 64, len(ids)
        with gzip.open(test, "rt") as f:
            assert len(f.read().splitlines()) == 1 + 64 * HORIZON["quarterly"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freq", choices=sorted(FOLDS))
    parser.add_argument("--fold", help="a fold of the protocol: monthly A-D, quarterly A, B, D")
    parser.add_argument("--peers", default=PEERS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--design", choices=sorted(set(DESIGNS) - {"peers"}), help="train with this design's flags")
    parser.add_argument("--peers-only", action="store_true", help="run --peers alone, into <freq>_<fold>_peers.json")
    parser.add_argument("--score", type=Path, metavar="DIR", help="score this registered general model on --split")
    parser.add_argument("--split", choices=sorted(SPLITS), default="tourism")
    parser.add_argument("--report", action="store_true", help="print the tables from the folds' JSON files")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.out))
        return 0
    if args.score is not None:
        if args.freq is None:
            parser.error("--score needs --freq")
        print(f"wrote {score_registered(args.freq, args.split, args.score, args.out)}")
        return 0
    if args.freq is None or args.fold not in FOLDS[args.freq]:
        parser.error(f"--freq and --fold: one of {', '.join(f'{f} {k}' for f, ks in FOLDS.items() for k in ks)}")
    design = "peers" if args.peers_only else args.design
    print(f"wrote {run_fold(args.freq, args.fold, args.peers, args.out, design)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
