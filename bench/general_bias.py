"""A general monthly model posted clean synthetic series: how far above seasonal naive it forecasts
(docs/accuracy.md, "Why: a learnt upward bias").

    python -m bench.general_bias --registry DIR     # DIR/general_monthly/CURRENT

Three 72-month series through `Predictor.forecast`, as the service answers them: a flat seasonal one
(100 + 10 sin), the same rising 0.5 % a month, and falling 0.5 % a month. Printed: the forecast over
seasonal naive (the last 12 values repeated) minus 1, in percent, at horizon steps 1-12: its range and
its mean. An unbiased model stays near 0 on the flat series.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from paxcast.service.predictor import Predictor
from paxcast.service.registry import current_version
from paxcast.service.schemas import ForecastRequest

MONTHS, SEASON = 72, 12


def series() -> dict[str, np.ndarray]:
    t = np.arange(MONTHS)
    flat = 100 + 10 * np.sin(2 * np.pi * t / SEASON)
    return {"flat": flat, "rising": flat * (1 + 0.005 * t), "falling": flat * (1 - 0.005 * t)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.general_bias", description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=Path("models"))
    parser.add_argument("--name", default="general_monthly")
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.registry / args.name / current_version(args.registry, args.name))
    for name, y in series().items():
        posted = y[-predictor.window :]
        request = ForecastRequest.model_validate(
            {"series": [{"id": name, "history": posted.tolist(), "start": "2000-01-01"}], "horizon": SEASON}
        )
        above = (predictor.forecast(request).mean[0] / y[-SEASON:] - 1) * 100
        print(f"{name}: {above.min():+.1f} to {above.max():+.1f} % above seasonal naive, mean {above.mean():+.1f} %")


if __name__ == "__main__":
    main()
