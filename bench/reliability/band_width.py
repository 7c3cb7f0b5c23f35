"""How wide a registered model's bands are for the last window of a file, as the service answers it
(docs/reliability.md, robustness row 6: a series crossing zero).

    python -m bench.reliability.band_width --registry DIR --name NAME --data FILE

Posts the file's last `window` values with levels 80 and 95 through `Predictor.forecast`, and prints each
band's mean width over the forecast's mean |value| and over the window's. Row 6 of docs/reliability.md:
    awk -F, 'NR==1 {print; next} {$3 -= 400; print}' OFS=, data/air_passengers.csv > /tmp/crossing.csv
    paxcast train --data /tmp/crossing.csv --out /tmp/crossing --name crossing
    python -m bench.reliability.band_width --registry /tmp/crossing --name crossing --data /tmp/crossing.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor
from paxcast.training.data import read_series


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.band_width", description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.registry / args.name / current_version(args.registry, args.name))
    (series,) = read_series(args.data)
    history = series.y[-predictor.card.window :].tolist()
    body = {"series": [{"id": series.id, "history": history}], "horizon": predictor.card.horizon, "level": [80, 95]}
    result = predictor.forecast(ForecastRequest.model_validate(body))
    mean_abs = float(np.abs(result.mean).mean())
    out = {}
    for label, (lower, upper) in result.intervals.items():
        width = float((upper - lower).mean())
        out[label] = width / mean_abs
        print(
            f"{label} % band: mean width {width:.1f} = {width / mean_abs:.2f} x the forecast's mean |value| "
            f"({mean_abs:.1f}), {width / np.abs(history).mean():.2f} x the window's mean |value|"
        )
    return out


if __name__ == "__main__":
    main()
