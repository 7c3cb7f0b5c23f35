"""Per-series designs: the defaults a data file gets, the candidates inner validation compares, and the
checks a file must pass before any of them trains (`prepare`, shared by `paxcast train` and `backtest`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import DEFAULT_SEASON
from paxcast.service.core.exceptions import DataError
from paxcast.service.core.hyperparameters import TrainConfig, make_config
from paxcast.training.data import Series, require_complete, require_length

# Candidate designs, compared by inner rolling-origin validation inside the training data.
# Values are TrainConfig fields; "window_seasons" sets the window in seasons. A flag given
# on the command line fixes that field for every candidate. Why these: docs/accuracy.md.
DESIGNS: list[dict] = [
    {"window_seasons": 3, "transform": "log", "augment": 0.03},
    {"window_seasons": 3, "transform": "log", "augment": 0.05},
]


# Used when no design fits the data (values <= 0 rule out the log transform).
FALLBACK: dict = {"window_seasons": 3, "transform": "none", "augment": 0.03}


def default_window(season: int, seasons: int = 3) -> int:
    return max(seasons * season, 8)


def check_series(path: str | Path, series: list[Series], config: TrainConfig) -> None:
    """Refuse data the model cannot train on, before any training starts."""
    # The per-series forecaster has no mask for missing history values (the global model of the
    # station data will); a gap is refused here rather than trained on as NaN.
    require_complete(path, series, "the per-series model")
    needed = config.window + config.horizon + 1
    shortest = min(len(s.y) for s in series)
    fits = shortest - 1 - (config.season + 1) >= 1  # the window must exceed the season
    hint = (
        f"; give a shorter --window (above the season, {config.season}) and --horizon that add up to at most "
        f"{shortest - 1}"
        if fits
        else ""
    )
    require_length(
        path, series, needed, f"window {config.window} + horizon {config.horizon} + 1 validation window", hint
    )
    if config.transform == "log":
        for s in series:
            bad = np.flatnonzero(s.y <= 0)
            if len(bad):
                raise DataError(
                    f"{path}: series '{s.id}' value #{bad[0] + 1} is {s.y[bad[0]]:g}; the log transform needs y > 0"
                )


def candidate_designs(series: list[Series], config: TrainConfig, explicit: set[str]) -> list[TrainConfig]:
    """The DESIGNS as configs, minus fields the user fixed, minus those the data cannot take
    (too short for the window, or values <= 0 for the log transform); FALLBACK if none is left."""
    shortest = min(len(s.y) for s in series)
    positive = all((s.y > 0).all() for s in series)
    out: list[TrainConfig] = []
    for design in DESIGNS + [FALLBACK]:
        if design is FALLBACK and out:
            break
        values = dict(design)
        if "window_seasons" in values:
            values["window"] = values.pop("window_seasons") * config.season
        values = {k: v for k, v in values.items() if k not in explicit}
        candidate = config.updated(**values)
        fits = candidate.window + candidate.horizon + 1 <= shortest and (positive or candidate.transform != "log")
        if fits and candidate not in out:
            out.append(candidate)
    return out or [config]


def prepare(data_path: str | Path, series: list[Series], **overrides) -> tuple[TrainConfig, list[TrainConfig]]:
    """The config and candidate designs for `series`, checked against the data before any training."""
    explicit = {k for k, v in overrides.items() if v is not None}
    config = resolve_config(series, **overrides)
    check_series(data_path, series, config)
    designs = candidate_designs(series, config, explicit)
    for design in designs:
        check_series(data_path, series, design)
    return config, designs


def resolve_config(series: list[Series], **overrides) -> TrainConfig:
    """TrainConfig with season, window and horizon filled from the data where not given.

    Window and horizon default to three seasons each, or two if the shortest series cannot train on
    three (72 months train a 24-month window and horizon rather than being refused); a flag given
    wins (0 is refused by the config, not taken for "not given").
    """
    season = overrides.pop("season", None)
    season = DEFAULT_SEASON[series[0].freq] if season is None else season
    window, horizon = overrides.pop("window", None), overrides.pop("horizon", None)
    if window is None:
        shortest = min(len(s.y) for s in series)
        fits = [default_window(season, k) for k in (3, 2)]
        window = next((w for w in fits if w + (w if horizon is None else horizon) + 1 <= shortest), fits[0])
    horizon = window if horizon is None else horizon
    values = {k: v for k, v in overrides.items() if v is not None}
    return make_config(TrainConfig, window=window, horizon=horizon, season=season, **values)
