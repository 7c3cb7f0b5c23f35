"""A general model posted clean synthetic series: how far above seasonal naive it forecasts
(docs/accuracy.md, "General models").

    python -m experiments.general_bias.run --registry DIR [--name general_quarterly]   # DIR/<name>/CURRENT

Series of one window (72 months, 24 quarters) through `Predictor.forecast`, as the service answers them:
a flat seasonal one (100 + 10 sin), the same rising 6 % a year (0.5 % a month, linear), and falling 6 % a
year. Printed: the forecast over seasonal naive (the last season repeated) minus 1, in percent, over one
season ahead: its range and its mean. An unbiased model stays near 0 on the flat series. Then the mean for
the flat series posted with shorter histories (padded by the service), and for exponential trends from
-12 % to +12 % a year, beside what the trend itself gives (each
value a season ago times 1 + the yearly rate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor

YEARLY = (-0.12, -0.06, -0.01, 0.0, 0.01, 0.06, 0.12)


def series(window: int, season: int) -> dict[str, np.ndarray]:
    t = np.arange(window)
    flat = 100 + 10 * np.sin(2 * np.pi * t / season)
    step = 0.06 / season
    return {"flat": flat, "rising": flat * (1 + step * t), "falling": flat * (1 - step * t)}


def above(predictor: Predictor, y: np.ndarray, season: int) -> np.ndarray:
    """Forecast / seasonal naive - 1, percent, over one season ahead of the history `y`."""
    request = ForecastRequest.model_validate(
        {"series": [{"id": "probe", "history": y.tolist(), "start": "2000-01-01"}], "horizon": season}
    )
    return (np.asarray(predictor.forecast(request).mean[0]) / y[-season:] - 1) * 100


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.general_bias.run", description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=Path("models"))
    parser.add_argument("--name", default="general_monthly")
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.registry / args.name / current_version(args.registry, args.name))
    window, season = predictor.window, predictor.card.season
    shortest = predictor.card.min_history or window
    for name, y in series(window, season).items():
        a = above(predictor, y, season)
        print(f"{name}: {a.min():+.1f} to {a.max():+.1f} % above seasonal naive, mean {a.mean():+.1f} %")
    flat = series(window, season)["flat"]
    lengths = sorted({window, *range(shortest, window, season)}, reverse=True)
    print(
        "flat, by history length:",
        ", ".join(f"{n}: {above(predictor, flat[-n:], season).mean():+.1f} %" for n in lengths),
    )
    t = np.arange(window)
    for rate in YEARLY:
        y = flat * np.exp(np.log1p(rate) * t / season)
        print(
            f"trend {rate * 100:+.0f} %/year: {above(predictor, y, season).mean():+.1f} % (history {window}), "
            f"{above(predictor, y[-shortest:], season).mean():+.1f} % (history {shortest}); "
            f"the trend gives {rate * 100:+.0f} %"
        )


def check() -> None:
    """The probe runs on the shipped monthly model and prints each series, each history length and each trend
    (`python -m bench.imports` runs it)."""
    import contextlib
    import io

    from bench.common import ROOT

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(["--registry", str(ROOT / "models")])
    lines = printed.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["flat", "rising", "falling"], lines
    assert lines[3].startswith("flat, by history length: 72: ") and "24: " in lines[3], lines[3]
    assert len(lines) == 4 + len(YEARLY), lines


if __name__ == "__main__":
    main()
