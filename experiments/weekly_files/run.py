"""Weekly files built from the shipped daily and hourly data, for checking the weekly global-model defaults.

    python -m experiments.weekly_files.run --out DIR    # writes DIR/seoul_weekly.csv.gz, DIR/melbourne_weekly.csv.gz

No weekly data set ships; these are the two used in docs/accuracy.md ("Weekly data"). Weeks run Monday to
Sunday and only complete weeks are kept:
- every fourth Seoul station-line (by sorted id), 2016-01 .. 2019-12 (before the COVID-19 break): the sum
  of its seven daily boardings;
- every Melbourne sensor: the sum of seven days, each day counted only with at least 23 hourly rows (one
  hour is missing on the day daylight saving starts).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.accuracy.general_corpus import write
from bench.accuracy.general_unseen import ROOT

SEOUL_END = "2020-01-01"


def weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Long (unique_id, ds, y) sums of complete Monday-to-Sunday weeks of a daily frame."""
    week = daily["ds"] - pd.to_timedelta(daily["ds"].dt.dayofweek, unit="D")
    grouped = daily.assign(week=week).groupby(["unique_id", "week"])["y"]
    out = grouped.sum()[grouped.count() == 7].reset_index()
    return out.rename(columns={"week": "ds"})[["unique_id", "ds", "y"]]


def seoul() -> pd.DataFrame:
    daily = pd.read_csv(ROOT / "data/seoul_subway_daily/seoul_subway_daily.csv.gz", parse_dates=["ds"])
    daily = daily[daily["ds"] < SEOUL_END]
    kept = sorted(daily["unique_id"].unique())[::4]
    return weekly(daily[daily["unique_id"].isin(kept)])


def melbourne() -> pd.DataFrame:
    hourly = pd.read_csv(ROOT / "data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz")
    hourly["ds"] = pd.to_datetime(hourly["ds"], format="%Y-%m-%dT%H:%M:%S").dt.normalize()
    grouped = hourly.groupby(["unique_id", "ds"])["y"]
    days = grouped.sum()[grouped.count() >= 23].reset_index()
    return weekly(days)


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(prog="python -m experiments.weekly_files.run", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [args.out / "seoul_weekly.csv.gz", args.out / "melbourne_weekly.csv.gz"]
    for path, frame in zip(paths, [seoul(), melbourne()], strict=True):
        frame = frame.assign(ds=frame["ds"].dt.strftime("%Y-%m-%d"))
        write(path, frame)
    return paths


if __name__ == "__main__":
    main()
