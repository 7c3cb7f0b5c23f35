"""Does the `offday` column harm a network without make-up workdays? Bengaluru with it forced (issue 32).

The holidays package knows no swapped weekend day for IN, so `--country IN` builds no `offday` column. Forced, it
is `holiday` or Saturday/Sunday, a copy of columns the network already reads, plus base candidates "of the same
day type (offday)" for validation to choose from. `write` makes the holiday file that forces it through the
product's own flags: IN's 2025 holidays from the package and one workday, Saturday 2025-01-04, seven months before
the data, whose only effect is that the calendar gets `offday`. `probe` scores every base candidate on the
validation windows of the protocol's first origin, with and without the column (no training, as `base_probe`):

    python -m experiments.short_history.forced_offday write /tmp/in_2025_forced_offday.csv
    OMP_NUM_THREADS=1 python -m experiments.short_history.forced_offday probe
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.short_history.run import FILES
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.day_sources import country_days
from paxcast.training.backtest.cuts import cut, parse_origins
from paxcast.training.data import read_series
from paxcast.training.network.base import base_scores, choose_base
from paxcast.training.network.pipeline import resolve_global_config

WORKDAY = "2025-01-04"  # a Saturday before the data (2025-08-01 on): it only switches the column on


def write(path: Path) -> None:
    holidays = country_days("IN", None, 2025, 2025).holidays
    rows = [f"{day},holiday" for day in holidays] + [f"{WORKDAY},workday"]
    path.write_text("ds,type\n" + "\n".join(sorted(rows)) + "\n", encoding="utf-8")


def probe() -> None:
    for name in ("bengaluru entries", "bengaluru exits"):
        path, country, subdiv, _ = FILES[name]
        series = read_series(path)
        past = cut(series, parse_origins("last7@23:00", series, 24)[0], 24, 24, 168).past
        for offday in (False, True):
            calendar = Calendar("h", country=country, subdiv=subdiv, offday=offday)
            config = resolve_global_config(past, len(calendar.names), horizon=24)
            scores = base_scores(past, config, calendar)
            chosen = choose_base(past, config, calendar).base_words(calendar.names)
            shown = ", ".join(f"{words} {score:.2f} %" for words, score in scores.items())
            print(f"{name}, offday {'forced' if offday else 'absent'}: {shown}; chosen: {chosen}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write(Path(sys.argv[2]))
    else:
        probe()
