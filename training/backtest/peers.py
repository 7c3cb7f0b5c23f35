"""The peers of a multi-series backtest: statsforecast models with their own intervals, and NeuralForecast's NHITS.

The `bench` extra holds statsforecast; `paxcast backtest` checks it is installed before it
starts. The seasons and the hourly history cap are those of the first station bench
(docs/station_baselines.md), so its numbers and these compare. A statistical peer's name may end in its
own season (`SeasonalNaive24`: same hour yesterday; `SeasonalNaive168`: same hour last week).
"""

from __future__ import annotations

import re
import time
import warnings

import numpy as np

from paxcast.service.core.exceptions import UsageError
from paxcast.training.backtest.cuts import impute

PEERS = ("SeasonalNaive", "AutoETS", "AutoTheta", "MSTL", "AutoARIMA", "NHITS")
# The peers that may carry their own season in their name (MSTL takes several, NHITS none).
SEASONED = re.compile(r"(SeasonalNaive|AutoETS|AutoTheta|AutoARIMA)([1-9]\d*)")
# Run when asked only: NHITS trains a network (minutes), AutoARIMA is slow on daily and hourly data.
ON_REQUEST = ("NHITS",)
# AutoARIMA's seasonal search takes minutes per station on daily and hourly data: there it runs when asked.
SLOW_ON = {"AutoARIMA": ("h", "D")}
# Hourly series give the statistical models their last 8 weeks (many 168 h seasons) instead of up to
# 27,000 hours, which AutoETS and MSTL would take minutes per series over; other frequencies all of theirs.
PEER_HISTORY = {"h": 8 * 168}
# statsforecast worker processes: a pool costs more than it saves on a few series.
N_JOBS, POOL_FROM = 2, 64


def seasons(freq: str, season: int) -> dict:
    """Season length(s) per peer. Daily: 7, MSTL [7, 365]. Hourly: 168 (a week holds the daily cycle and
    the weekend), MSTL [24, 168]; AutoETS 24 (statsforecast's ETS refuses seasons above 24). Otherwise
    the model's season, capped at 24 for AutoETS."""
    if freq == "D":
        return {"SeasonalNaive": 7, "AutoETS": 7, "AutoTheta": 7, "MSTL": [7, 365], "AutoARIMA": 7}
    if freq == "h":
        return {"SeasonalNaive": 168, "AutoETS": 24, "AutoTheta": 168, "MSTL": [24, 168], "AutoARIMA": 24}
    short = min(season, 24)
    return {"SeasonalNaive": season, "AutoETS": short, "AutoTheta": season, "MSTL": [season], "AutoARIMA": short}


def parse_peers(text: str | None, freq: str | None = None) -> list[str]:
    """`--peers AutoETS,MSTL` -> those names in the order given; None -> PEERS but those slow at `freq`; "" -> none."""
    if text is None:
        return [name for name in PEERS if freq not in SLOW_ON.get(name, ()) and name not in ON_REQUEST]
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in PEERS and not SEASONED.fullmatch(name):
            raise UsageError(f"--peers {text!r}: unknown peer {name!r}; choose from {', '.join(PEERS)}")
    if len(set(names)) != len(names):
        raise UsageError(f"--peers {text!r}: a peer is repeated")
    return names


def peer_history(freq: str, given: int | None, season: int = 1) -> int | None:
    """How many of each history's last values the peers read: `--peer-history`, else PEER_HISTORY (None: all)."""
    if given is None:
        return PEER_HISTORY.get(freq)
    if given < 2 * season:
        raise UsageError(
            f"--peer-history {given} must be at least 2 seasons of the data's {season} steps: "
            "seasonal models need two to fit"
        )
    return given


def peer_model(method: str, freq: str, season: int):
    """The statsforecast model a peer name stands for, with its season."""
    from statsforecast import models

    seasoned = SEASONED.fullmatch(method)
    if seasoned:
        return getattr(models, seasoned.group(1))(season_length=int(seasoned.group(2)))
    return getattr(models, method)(season_length=seasons(freq, season)[method])


def long_frame(ids: list[str], histories: list[np.ndarray], season: int, last: int | None):
    """Imputed histories (the `last` values of each, or all) as statsforecast's (unique_id, ds, y) frame.

    `ds` counts steps (integers): the models only need the order, and every frequency works alike."""
    import pandas as pd

    frames = []
    for uid, history in zip(ids, histories, strict=True):
        y = impute(history, season)[-last:] if last else impute(history, season)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(len(y)), "y": y}))
    return pd.concat(frames, ignore_index=True)


def peer_forecast(
    method: str,
    ids: list[str],
    histories: list[np.ndarray],
    freq: str,
    season: int,
    horizon: int,
    levels: list[int],
    history: int | None = None,
    trained_on: list | None = None,
    window: int | None = None,
) -> dict:
    """Fit `method` on every history (its last `history` values; None: PEER_HISTORY) and forecast `horizon` steps.

    `trained_on` (NHITS only): the series (training.data.Series) NHITS trains on instead of the histories it
    forecasts, as the general models do with `--train-on`, reading `window` values as ours does (`nhits_forecast`).

    Returns:
        {"mean": (n, horizon), "intervals": {level: (lower, upper)}, "seconds": fit + forecast wall time}
    """
    from statsforecast import StatsForecast

    df = long_frame(ids, histories, season, peer_history(freq, history))
    if method == "NHITS":
        from paxcast.training.backtest.neural import nhits_forecast

        if trained_on is None:
            return nhits_forecast(df, ids, freq, season, horizon, levels)
        train_ids = [f"train:{s.id}" for s in trained_on]  # never the same id as a forecast series
        train_df = long_frame(train_ids, [s.y for s in trained_on], season, peer_history(freq, history))
        return nhits_forecast(train_df, ids, freq, season, horizon, levels, predict_on=df, window=window)
    model = peer_model(method, freq, season)
    started = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        jobs = N_JOBS if len(ids) >= POOL_FROM else 1
        out = StatsForecast(models=[model], freq=1, n_jobs=jobs).forecast(df=df, h=horizon, level=list(levels))
    seconds = time.perf_counter() - started
    out = out.set_index("unique_id").loc[ids]
    name = type(model).__name__  # statsforecast's column: the class name, without a season suffix

    def grid(column: str) -> np.ndarray:
        return out[column].to_numpy(dtype=np.float64).reshape(len(ids), horizon)

    return {
        "mean": grid(name),
        "intervals": {level: (grid(f"{name}-lo-{level}"), grid(f"{name}-hi-{level}")) for level in levels},
        "seconds": seconds,
    }
