"""Rebuild data/unseen/ (monthly.csv.gz, quarterly.csv.gz): public series the general models never saw.

    python data/unseen/build_unseen.py --pmdarima /tmp/pmd/pmdarima-2.0.4-cp311-...whl

Sources (README.md next to this file has provenance, licences and the exact ranges):
- statsmodels' `elec_equip.csv`, read from the installed statsmodels package;
- pmdarima 2.0.4's `datasets/{wineind,austres,woolyrnq,ausbeer}.py` (a wheel or an unpacked tree): the
  `rslt = np.array([...])` literal of each is read with `ast`, nothing is imported or executed; the four
  files' SHA-256 are checked, so a different pmdarima release fails loudly instead of changing the data;
- the Seoul subway and Melbourne pedestrian files already in data/, aggregated to monthly totals.

Dates are the first day of each period (quarterly: YYYY-01/04/07/10-01), as in data/tourism/. The gzip
streams carry no name or time stamp, so a rebuild is byte-identical. NumPy and pandas only.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent

# pmdarima 2.0.4, pmdarima/datasets/<name>.py
PMDARIMA_SHA256 = {
    "wineind": "741a4a468b5880e5f89889510ec05e7227b8d62062187206fb4aa3c6875f6e24",
    "austres": "49bd92df461c6a1f47cab90251f90c1f8f10ab5438eead72e2372cc0056ad279",
    "woolyrnq": "a32eef52686da3780c1f9cea235f7e2a177a5f369da5079aeaf197ae9a2d5879",
    "ausbeer": "2cba66da3f4fa42a09411fd2a5dd582f8e2befc57e11d707b0bd1919e9ce8a69",
}
# name -> (freq, first period, length). austres: R's own ts object starts in 1971 Q2 and ends in 1993 Q2
# (tsp 1971.25..1993.25); the docstring's "March 1971 to March 1994" would be 93 quarters, not 89.
PMDARIMA_SERIES = {
    "wineind": ("MS", "1980-01-01", 176),  # Jan 1980 - Aug 1994
    "austres": ("QS", "1971-04-01", 89),  # 1971 Q2 - 1993 Q2
    "woolyrnq": ("QS", "1965-01-01", 119),  # Mar 1965 (Q1) - Sep 1994 (Q3)
    "ausbeer": ("QS", "1956-01-01", 211),  # 1956 Q1 - 2008 Q3; pmdarima appends one NaN (2008 Q4), dropped
}
ELEC_EQUIP = ("1995-01-01", 257)  # Jan 1995 - May 2016
# Seoul: every month before the COVID-19 break (data/seoul_subway_daily/README.txt: Feb 2020 onward).
SEOUL_SPAN = ("2016-01-01", "2020-01-31")
# Melbourne: the complete months of the file (it ends on 2015-02-13).
MELBOURNE_SPAN = ("2012-01-01", "2015-01-31")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pmdarima_source(root: Path, name: str) -> bytes:
    """The bytes of pmdarima/datasets/<name>.py from a wheel or an unpacked tree, checked against PMDARIMA_SHA256."""
    member = f"pmdarima/datasets/{name}.py"
    if root.is_file():
        with zipfile.ZipFile(root) as wheel:
            data = wheel.read(member)
    else:
        candidates = [root / member, root / "datasets" / f"{name}.py", root / f"{name}.py"]
        data = next(p for p in candidates if p.is_file()).read_bytes()
    if sha256(data) != PMDARIMA_SHA256[name]:
        raise SystemExit(f"{root}: {member} has SHA-256 {sha256(data)}; expected pmdarima 2.0.4's")
    return data


def array_literal(source: bytes, name: str) -> list[float]:
    """The values of `rslt = np.array([...])` in a pmdarima dataset module; None (NaN) kept as NaN."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["rslt"]:
            # np.array([...]).astype(dtype): the list is the first argument of the inner call
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.List):
                    return [float("nan") if v is None else float(v) for v in ast.literal_eval(call.args[0])]
    raise SystemExit(f"{name}.py: no `rslt = np.array([...])` literal found")


def number(value: float) -> str:
    """A value as its shortest exact text: 15136, 13067.3."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def frame(uid: str, freq: str, start: str, values) -> pd.DataFrame:
    ds = pd.date_range(start, periods=len(values), freq=freq).strftime("%Y-%m-%d")
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": list(values)})


def elec_equip() -> pd.DataFrame:
    spec = importlib.util.find_spec("statsmodels")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "elec_equip" / "elec_equip.csv"
    raw = pd.read_csv(path, dtype=str)
    dates = pd.to_datetime(raw["DATE"], format="%b-%d-%Y")
    expected = pd.date_range(ELEC_EQUIP[0], periods=ELEC_EQUIP[1], freq="MS")
    if not dates.equals(pd.Series(expected, name="DATE")):
        raise SystemExit(f"{path}: dates are not Jan 1995 .. May 2016 monthly")
    return frame("elec_equip", "MS", ELEC_EQUIP[0], raw.iloc[:, 1].str.strip())  # the source's own tokens


def pmdarima_series(root: Path) -> list[pd.DataFrame]:
    frames = []
    for name, (freq, start, length) in PMDARIMA_SERIES.items():
        values = array_literal(pmdarima_source(root, name), name)
        if name == "ausbeer" and np.isnan(values[-1]):
            values = values[:-1]
        if len(values) != length or not np.isfinite(values).all():
            raise SystemExit(f"{name}: {len(values)} values (finite: {np.isfinite(values).all()}); expected {length}")
        frames.append(frame(name, freq, start, [number(v) for v in values]))
    return frames


def seoul_total() -> tuple[pd.DataFrame, int]:
    """Monthly boardings of the station-lines observed on every day of SEOUL_SPAN, summed; (frame, stations)."""
    daily = pd.read_csv(DATA / "seoul_subway_daily" / "seoul_subway_daily.csv.gz", parse_dates=["ds"])
    days = pd.date_range(*SEOUL_SPAN, freq="D")
    daily = daily[daily["ds"].between(days[0], days[-1])]
    complete = daily.groupby("unique_id")["ds"].nunique() == len(days)
    kept = daily[daily["unique_id"].isin(complete[complete].index)]
    monthly = kept.groupby(kept["ds"].dt.to_period("M"))["y"].sum()
    return frame("seoul_subway_total", "MS", SEOUL_SPAN[0], [str(int(v)) for v in monthly]), int(complete.sum())


def melbourne_total() -> tuple[pd.DataFrame, list[str]]:
    """Monthly counts of the sensors observed at every local hour of MELBOURNE_SPAN, summed; (frame, sensors).

    The local hour that does not exist (02:00 at each daylight-saving start) is not required: the source
    lacks it in 2013 and 2014 but has a row for it in 2012 (kept: it is a count the source made)."""
    hourly = pd.read_csv(DATA / "melbourne_pedestrian_hourly" / "melbourne_pedestrian_hourly.csv.gz")
    hourly["ds"] = pd.to_datetime(hourly["ds"], format="%Y-%m-%dT%H:%M:%S")
    hours = pd.date_range(MELBOURNE_SPAN[0], f"{MELBOURNE_SPAN[1]} 23:00", freq="h")
    hourly = hourly[hourly["ds"].between(hours[0], hours[-1])]
    local = hours.tz_localize("Australia/Melbourne", nonexistent="NaT", ambiguous=np.ones(len(hours), dtype=bool))
    required = hours[~local.isna()]
    complete = hourly[hourly["ds"].isin(required)].groupby("unique_id")["ds"].nunique() == len(required)
    sensors = sorted(complete[complete].index)
    kept = hourly[hourly["unique_id"].isin(sensors)]
    monthly = kept.groupby(kept["ds"].dt.to_period("M"))["y"].sum()
    return frame("melbourne_pedestrian_total", "MS", MELBOURNE_SPAN[0], [str(int(v)) for v in monthly]), sensors


def write(path: Path, frames: list[pd.DataFrame]) -> None:
    text = pd.concat(frames, ignore_index=True).to_csv(index=False, lineterminator="\n")
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(text.encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python data/unseen/build_unseen.py", description=__doc__.split("\n")[0])
    parser.add_argument("--pmdarima", type=Path, required=True, help="pmdarima 2.0.4 wheel, or its unpacked tree")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    wineind, austres, woolyrnq, ausbeer = pmdarima_series(args.pmdarima)
    seoul, stations = seoul_total()
    melbourne, sensors = melbourne_total()
    write(args.out / "monthly.csv.gz", [elec_equip(), wineind, seoul, melbourne])
    write(args.out / "quarterly.csv.gz", [austres, woolyrnq, ausbeer])
    print(f"Seoul: {stations} station-lines complete over {SEOUL_SPAN[0]}..{SEOUL_SPAN[1]}")
    print(f"Melbourne: {len(sensors)} sensors complete over {MELBOURNE_SPAN[0]}..{MELBOURNE_SPAN[1]}: {sensors}")
    for name in ("monthly.csv.gz", "quarterly.csv.gz"):
        print(f"{args.out / name}: sha256 {sha256((args.out / name).read_bytes())}")


if __name__ == "__main__":
    main()
