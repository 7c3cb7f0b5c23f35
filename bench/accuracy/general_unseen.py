"""Zero-shot: the general models on public series they never saw in any form, against statistical models
fit on each series alone.

    python -m bench.accuracy.general_unseen --registry models [--series wineind,austres] [--peers AutoETS] [--out DIR]

Series: data/unseen/ (monthly: elec_equip, wineind, seoul_subway_total, melbourne_pedestrian_total;
quarterly: austres, woolyrnq, ausbeer; provenance in data/unseen/README.md) and data/air_passengers.csv.

Protocol (fixed):
- Origins one year apart, the last one year before the series' end: a series of n values with season s
  (12 monthly, 4 quarterly) is cut at n - 3s, n - 2s and n - s, and each cut forecasts the next s values
  (h = 12 monthly, h = 4 quarterly) from all the history before it. The last three years are scored;
  the origins are year-ends for series that end in December (air passengers: 1957-12, 1958-12, 1959-12),
  otherwise the same month a year apart (wineind, ending 1994-08: 1991-08, 1992-08, 1993-08).
  Only origins that leave at least two seasons of history (24 months, 8 quarters) count: the short
  transit series keep fewer (Seoul, 49 months to 2020-01: origins 2018-01 and 2019-01; Melbourne,
  37 months to 2015-01: origin 2014-01).
- Ours: `Predictor.load(<registry>/general_<monthly|quarterly>/<CURRENT>)` answers
  `Predictor.forecast(ForecastRequest)` for the history's last `window` values (or all of it, if fewer)
  with `start` = the date of the first value posted and `level` [80, 95]: what the service answers.
- Peers (`training.backtest.peers.peer_forecast`): SeasonalNaive, AutoETS, AutoTheta, AutoARIMA, each fit by
  statsforecast on that series' history alone at each origin.
- Metrics per series, pooled over its origins (`training.metrics.score`): MASE (each origin's
  errors over the in-sample seasonal-naive MAE of its own history, then the mean over origins) and MAPE
  (over every scored point); interval coverage at 80 and 95 % for ours and AutoETS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.accuracy.general_sources import pool_module
from bench.accuracy.general_unseen_report import LEVELS, OURS, groups, markdown, wins
from bench.common import ROOT, package_versions, write_report
from paxcast.service.core.calendar import FREQ_NAMES, step
from paxcast.service.core.contract import CALENDAR, HISTORY, sha256_of
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor, level_label
from paxcast.training.backtest.peers import parse_peers, peer_forecast
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import Series, read_series
from paxcast.training.metrics import mase_scale, score

FILES = (ROOT / "data/unseen/monthly.csv.gz", ROOT / "data/unseen/quarterly.csv.gz", ROOT / "data/air_passengers.csv")
MODELS = {"MS": "general_monthly", "QS": "general_quarterly"}
# What the general models may be trained on and still be zero-shot here: tourism's training part, or the pool
# `make train` builds from it and data/general_corpus/ (pool.py leaves copies of these series out). A card naming
# another file is not zero-shot until checked.
CORPUS = {"MS": ROOT / "data/tourism/monthly/train.csv.gz", "QS": ROOT / "data/tourism/quarterly/train.csv.gz"}
PEERS = "SeasonalNaive,AutoETS,AutoTheta,AutoARIMA"
YEARS, MIN_SEASONS = 3, 2


def protocol(n: int, season: int) -> list[int]:
    """The origins of a series of `n` values: history lengths n - 3s, n - 2s, n - s (s = `season`), those
    leaving at least MIN_SEASONS seasons; each forecasts the next `season` values."""
    return [n - k * season for k in range(YEARS, 0, -1) if n - k * season >= MIN_SEASONS * season]


@dataclass(frozen=True)
class Case:
    """One series cut at its origins: histories y[:o] and actuals (origins, horizon)."""

    series: Series
    origins: list[int]

    @property
    def horizon(self) -> int:
        return self.series.season

    def date(self, k: int) -> str:
        """ISO date of value k."""
        return step(dt.datetime.fromisoformat(self.series.start), self.series.freq, k).date().isoformat()

    @property
    def labels(self) -> list[str]:
        """Each origin as the date of its last history value (air passengers: 1957-12-01 ...)."""
        return [self.date(o - 1) for o in self.origins]

    @property
    def histories(self) -> list[np.ndarray]:
        return [self.series.y[:o] for o in self.origins]

    @property
    def actuals(self) -> np.ndarray:
        return np.stack([self.series.y[o : o + self.horizon] for o in self.origins])


def load_cases(only: list[str] | None = None, files: tuple[Path, ...] = FILES) -> list[Case]:
    """Every series of `files` (or those named in `only`, in their order) with its protocol origins."""
    cases = [Case(s, protocol(len(s.y), s.season)) for path in files for s in read_series(path)]
    if only:
        unknown = set(only) - {c.series.id for c in cases}
        if unknown:
            raise SystemExit(f"--series: unknown {sorted(unknown)}; choose from {[c.series.id for c in cases]}")
        cases = [c for c in cases if c.series.id in only]
    return cases


def forecast_ours(predictor: Predictor, case: Case) -> dict:
    """One service request per origin: the last `window` values (or all) from the date of the first posted."""
    means, lowers, uppers = [], {lv: [] for lv in LEVELS}, {lv: [] for lv in LEVELS}
    for o, history in zip(case.origins, case.histories, strict=True):
        posted = history[-predictor.window :]
        request = ForecastRequest.model_validate(
            {
                "series": [{"id": case.series.id, "history": posted.tolist(), "start": case.date(o - len(posted))}],
                "horizon": case.horizon,
                "level": LEVELS,
            }
        )
        result = predictor.forecast(request)
        if result.timestamps[0][0] != case.date(o):  # the service's calendar and ours must agree
            raise RuntimeError(f"{case.series.id}: forecast starts {result.timestamps[0][0]}, expected {case.date(o)}")
        means.append(result.mean[0])
        for lv in LEVELS:
            lower, upper = result.intervals[level_label(lv)]
            lowers[lv].append(lower[0])
            uppers[lv].append(upper[0])
    return {
        "mean": np.stack(means).astype(np.float64),
        "intervals": {lv: (np.stack(lowers[lv]), np.stack(uppers[lv])) for lv in LEVELS},
    }


def evaluate(case: Case, predictor: Predictor, peers: list[str]) -> dict:
    """Scores of ours and every peer on one series, pooled over its origins, with each method's forecasts."""
    ids = [f"{case.series.id}@{label}" for label in case.labels]
    scales = np.array([mase_scale(h, case.series.season) for h in case.histories])
    methods = {OURS: forecast_ours(predictor, case)}
    for name in peers:
        methods[name] = peer_forecast(
            name, ids, case.histories, case.series.freq, case.series.season, case.horizon, LEVELS
        )
    out = {}
    for name, f in methods.items():
        out[name] = score(case.actuals, f["mean"], scales, f["intervals"])
        out[name]["mean"] = f["mean"].round(4).tolist()
    return out


def provenance(freq: str, predictor: Predictor) -> dict:
    """The model answering `freq` and what it was trained on: zero-shot only if that is tourism or the pool."""
    card = predictor.card
    on_corpus = card.data_sha256 in zero_shot_training_files(freq)
    return {
        "model": card.name,
        "version": card.version,
        "path": str(predictor.path),
        "window": card.window,
        "horizon": card.horizon,
        "min_history": card.min_history,
        "steps": getattr(card.hyperparameters, "steps", None),
        "trained_on": card.data_file,
        "data_sha256": card.data_sha256,
        "zero_shot_training_file": on_corpus,
    }


def zero_shot_training_files(freq: str) -> set[str]:
    """The sha256 of tourism's training part and of the pool pool.py builds now (a few seconds)."""
    found = {sha256_of(CORPUS[freq])}
    with tempfile.TemporaryDirectory(prefix="paxcast-pool-") as tmp:
        pool = Path(tmp) / "pool.csv.gz"
        pool_module().write_pool(FREQ_NAMES[freq], pool, set())
        found.add(sha256_of(pool))
    return found


# A replacement for one graph call: (session, history (batch, W), calendar or None) -> forecast (batch, H).
GraphCall = Callable[[Any, np.ndarray, np.ndarray | None], np.ndarray]


@dataclass(frozen=True)
class RoutedSession:
    """A loaded session whose forecasts come from `call(session, history, calendar)`: how
    `experiments.general_mix.run` scores an ensemble built outside a graph through the service's own
    `Predictor` (its checks, padding, scaling and intervals), touching no module."""

    session: Any
    call: GraphCall

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.call(self.session, feeds[HISTORY], feeds.get(CALENDAR))]


def main(argv: list[str] | None = None, call: GraphCall | None = None) -> dict:
    """The bench; with `call`, every graph call the loaded predictors make goes through it (`RoutedSession`)."""
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy.general_unseen", description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, default=ROOT / "models")
    parser.add_argument("--series", help="comma-separated series ids (default: all)")
    parser.add_argument("--peers", default=PEERS, help=f"statsforecast peers (default: {PEERS})")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results", help="writes general_unseen.{md,json}")
    # Another file scored by the same protocol, e.g. bench.accuracy.general_corpus's series from other sources, on
    # which designs are chosen: the default files are the check, never the tuning set.
    parser.add_argument("--data", type=Path, nargs="+", default=list(FILES), help="series files (default: the unseen)")
    args = parser.parse_args(argv)
    peers = parse_peers(args.peers)
    cases = load_cases(args.series.split(",") if args.series else None, tuple(args.data))
    started, load_before = time.perf_counter(), os.getloadavg()
    predictors, models = {}, {}
    for freq in sorted({c.series.freq for c in cases}):
        root = args.registry / MODELS[freq]
        predictors[freq] = Predictor.load(root / current_version(args.registry, MODELS[freq]))
        if call is not None:  # after load: the load checks probe the real graph
            predictors[freq] = replace(predictors[freq], session=RoutedSession(predictors[freq].session, call))
        models[FREQ_NAMES[freq]] = provenance(freq, predictors[freq])
        if not models[FREQ_NAMES[freq]]["zero_shot_training_file"]:
            print(
                f"warning: {MODELS[freq]} was trained on {predictors[freq].card.data_file}, neither {CORPUS[freq]} "
                "nor the pool data/general_corpus/pool.py builds: "
                "check it holds none of these series before calling the scores zero-shot",
                flush=True,
            )
    results = []
    for case in cases:
        s = case.series
        t0 = time.perf_counter()
        scores = evaluate(case, predictors[s.freq], peers)
        results.append(
            {
                "series": s.id,
                "freq": s.freq,
                "n": len(s.y),
                "range": [s.start, case.date(len(s.y) - 1)],
                "origins": case.labels,
                "horizon": case.horizon,
                "actuals": case.actuals.tolist(),
                "scores": scores,
            }
        )
        results[-1]["wins"] = {key: wins(results[-1], peers, key) for key in ("mase", "mape")}
        print(f"{s.id}: {len(case.origins)} origins, {time.perf_counter() - t0:.1f} s", flush=True)
    report = {
        "protocol": __doc__.split("Protocol (fixed):\n", 1)[1].strip(),
        "models": models,
        # A routed run's "ours" is the registered graph as `call` changed it (experiments.general_mix.run).
        "routed": None if call is None else getattr(call, "__qualname__", repr(call)),
        "peers": peers,
        "levels": LEVELS,
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "seconds": round(time.perf_counter() - started, 1),
        "packages": package_versions("onnxruntime", "statsforecast", "numpy"),
        "tally": {
            key: {k: sum(bool(r["wins"][key][k]) for r in results) for k in ("beats_sn", "beats_best_stat")}
            | {"series": len(results)}
            for key in ("mase", "mape")
        },
        "results": results,
        "groups": groups(results, peers),
    }
    write_report(args.out, "general_unseen", markdown(report), report)
    return report


def check() -> None:
    """The protocol's cuts, on the origins the docstring states; then the bench end to end with the shipped
    monthly model: seasonal naive's MASE by hand, another file by `--data`, and a routed call that changes
    the forecasts and leaves nothing patched (`python -m bench.imports` runs it: a few seconds, no training)."""
    import contextlib
    import io
    import tempfile

    from bench.accuracy.general_corpus import air, write
    from paxcast.service.inference.predictor import run_session

    cases = {"air": (144, 12, [108, 120, 132]), "seoul": (49, 12, [25, 37]), "melbourne": (37, 12, [25])}
    cases |= {"austres": (89, 4, [77, 81, 85]), "too short": (35, 12, [])}
    for name, (n, season, origins) in cases.items():
        assert protocol(n, season) == origins, f"{name}: origins {protocol(n, season)}, expected {origins}"
    (case,) = load_cases(["air_passengers"])  # cut at the 1958-1960 hold-out
    assert case.origins == [108, 120, 132] and case.horizon == 12, (case.origins, case.horizon)
    assert case.labels == ["1957-12-01", "1958-12-01", "1959-12-01"], case.labels
    assert [len(h) for h in case.histories] == case.origins and case.date(case.origins[0]) == "1958-01-01"
    assert np.array_equal(case.actuals, case.series.y[-36:].reshape(3, 12))

    def doubled(session, history, calendar):
        return 2 * run_session(session, history, calendar)

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        args = ["--registry", str(ROOT / "models"), "--peers", "SeasonalNaive", "--out", out]
        plain = main([*args, "--series", "wineind"])["results"][0]
        routed = main([*args, "--series", "wineind"], call=doubled)
        again = main([*args, "--series", "wineind"])["results"][0]
        write(Path(out) / "air.csv.gz", air())
        other = main([*args, "--data", str(Path(out) / "air.csv.gz")])["results"][0]
    assert plain["origins"] == ["1991-08-01", "1992-08-01", "1993-08-01"], plain["origins"]
    (case,) = load_cases(["wineind"])
    pairs = zip(case.histories, case.actuals, strict=True)
    by_hand = np.mean([np.mean(np.abs(h[-12:] - a)) / np.mean(np.abs(h[12:] - h[:-12])) for h, a in pairs])
    assert np.isclose(plain["scores"]["SeasonalNaive"]["mase"], by_hand, rtol=1e-6, atol=0), by_hand
    ours = np.asarray(plain["scores"][OURS]["mean"])
    assert routed["routed"].endswith("doubled"), routed["routed"]
    assert np.allclose(routed["results"][0]["scores"][OURS]["mean"], 2 * ours, rtol=1e-4)
    assert again["scores"][OURS]["mean"] == plain["scores"][OURS]["mean"]  # the routed run patched nothing
    assert other["origins"] == ["1954-12-01", "1955-12-01", "1956-12-01"], other["origins"]  # nothing after 1957


if __name__ == "__main__":
    main()
