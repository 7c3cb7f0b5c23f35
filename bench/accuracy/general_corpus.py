"""Monthly and quarterly series from the repo's other sources, for choosing a general model's design.

    python -m bench.accuracy.general_corpus --out DIR      # writes DIR/other_monthly.csv.gz, DIR/other_quarterly.csv.gz

Tourism's training part cannot show a general model's bias: every one of its series grew, in every year,
and its validation years grew too. These series come from other sources already in data/, so a design can
be judged on series unlike the corpus without touching the unseen bench's six other series:
- every Seoul station-line observed on each day of 2016-01 .. 2020-01 (the span before the COVID-19
  break that data/unseen/ uses), summed by month: `seoul/<id>`, 49 months;
- every Melbourne sensor observed at each hour of 2012-01 .. 2015-01, summed by month: `melbourne/<id>`,
  37 months;
- the airline passengers up to 1957-12 (its 1958-1960 is the unseen bench's hold-out): 108 months.
The quarterly file sums the same series' complete quarters (16, 12 and 36 quarters).

The unseen bench's `seoul_subway_total` and `melbourne_pedestrian_total` are sums of the first two groups:
a design chosen on these has seen them in aggregated form, so they leave the zero-shot claim.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from bench.accuracy.general_unseen import ROOT

SEOUL_SPAN = ("2016-01-01", "2020-01-31")
MELBOURNE_SPAN = ("2012-01-01", "2015-01-31")
AIR_END = "1957-12-01"


def monthly(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Long (unique_id, ds, y) monthly sums of a frame of complete series."""
    out = frame.groupby(["unique_id", frame["ds"].dt.to_period("M")])["y"].sum().reset_index()
    out["ds"] = out["ds"].dt.to_timestamp().dt.strftime("%Y-%m-%d")
    out["unique_id"] = prefix + out["unique_id"]
    return out


def seoul() -> pd.DataFrame:
    daily = pd.read_csv(ROOT / "data/seoul_subway_daily/seoul_subway_daily.csv.gz", parse_dates=["ds"])
    days = pd.date_range(*SEOUL_SPAN, freq="D")
    daily = daily[daily["ds"].between(days[0], days[-1])]
    complete = daily.groupby("unique_id")["ds"].nunique() == len(days)
    return monthly(daily[daily["unique_id"].isin(complete[complete].index)], "seoul/")


def melbourne() -> pd.DataFrame:
    """Sensors with a count at every local hour that exists (as data/unseen/build_unseen.py requires)."""
    hourly = pd.read_csv(ROOT / "data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz")
    hourly["ds"] = pd.to_datetime(hourly["ds"], format="%Y-%m-%dT%H:%M:%S")
    hours = pd.date_range(MELBOURNE_SPAN[0], f"{MELBOURNE_SPAN[1]} 23:00", freq="h")
    hourly = hourly[hourly["ds"].between(hours[0], hours[-1])]
    local = hours.tz_localize("Australia/Melbourne", nonexistent="NaT", ambiguous=np.ones(len(hours), dtype=bool))
    required = hours[~local.isna()]
    complete = hourly[hourly["ds"].isin(required)].groupby("unique_id")["ds"].nunique() == len(required)
    return monthly(hourly[hourly["unique_id"].isin(complete[complete].index)], "melbourne/")


def air() -> pd.DataFrame:
    frame = pd.read_csv(ROOT / "data/air_passengers.csv")
    frame = frame[frame["ds"] <= AIR_END].copy()
    frame["unique_id"] = "air_passengers_to_1957"
    return frame[["unique_id", "ds", "y"]]


def quarterly(frame: pd.DataFrame) -> pd.DataFrame:
    """Quarterly sums of a monthly long frame, complete quarters only."""
    frame = frame.assign(quarter=pd.to_datetime(frame["ds"]).dt.to_period("Q"))
    grouped = frame.groupby(["unique_id", "quarter"])["y"]
    out = grouped.sum()[grouped.count() == 3].reset_index()
    out["ds"] = out["quarter"].dt.to_timestamp().dt.strftime("%Y-%m-%d")
    return out[["unique_id", "ds", "y"]]


def write(path: Path, frame: pd.DataFrame) -> None:
    """Gzip without a name or time stamp: a rebuild is byte-identical."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(frame.to_csv(index=False, lineterminator="\n").encode())
    groups = frame.drop_duplicates("unique_id")["unique_id"].str.split("/").str[0].value_counts().to_dict()
    print(f"{path}: {frame['unique_id'].nunique()} series ({groups}), {len(frame)} rows")


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.accuracy.general_corpus", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    frame = pd.concat([seoul(), melbourne(), air()], ignore_index=True)
    frame["y"] = frame["y"].astype(np.int64)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [args.out / "other_monthly.csv.gz", args.out / "other_quarterly.csv.gz"]
    write(paths[0], frame)
    write(paths[1], quarterly(frame))
    return paths


if __name__ == "__main__":
    main()
