"""An earlier period of tourism's training part as a test split: is a general-model design good in other years too?

    python -m experiments.general_pseudo.run --folder monthly --cut 48 --out DIR   # DIR/train.csv.gz, DIR/test.csv.gz
    paxcast backtest --data DIR/train.csv.gz --test DIR/test.csv.gz --peers SeasonalNaive,AutoETS,AutoTheta

Each series' last `--cut` training values are dropped from training, and the first `horizon` of them (24
months, 8 quarters: the official horizons) become its test. `--cut` = the horizon makes the last horizon
of the training part the test; twice the horizon, the one before it. The official test is never read. Every
series of the official split ends in the same season, so each pseudo test is one period of the same
calendar quarters, as the official one is. Series left with no training value are dropped (and counted).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.common import ROOT

HORIZONS = {"monthly": 24, "quarterly": 8}


def pseudo_split(train: pd.DataFrame, cut: int, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train', test'): each series without its last `cut` values, and the `horizon` values after train'."""
    train = train.sort_values(["unique_id", "ds"], kind="stable")
    length = train.groupby("unique_id")["y"].transform("size")
    position = train.groupby("unique_id").cumcount()
    kept = train[position < length - cut]
    test = train[(position >= length - cut) & (position < length - cut + horizon)]
    return kept, test[test["unique_id"].isin(kept["unique_id"])]


def check() -> None:
    """The test is the horizon before the cut and training holds nothing after it; a series with no training
    value left leaves both (`python -m bench.imports` runs it)."""
    rows = [("a", day, float(day)) for day in range(10)] + [("b", day, 100.0 + day) for day in range(5)]
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y"]).sample(frac=1, random_state=0)  # any order
    train, test = pseudo_split(frame, cut=4, horizon=2)
    assert train.groupby("unique_id")["y"].max().to_dict() == {"a": 5.0, "b": 100.0}
    assert test.groupby("unique_id")["y"].apply(list).to_dict() == {"a": [6.0, 7.0], "b": [101.0, 102.0]}
    train, test = pseudo_split(frame, cut=5, horizon=2)
    assert set(train["unique_id"]) == set(test["unique_id"]) == {"a"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", choices=sorted(HORIZONS), required=True)
    parser.add_argument("--cut", type=int, required=True, help="values dropped from each series' end (>= horizon)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    horizon = HORIZONS[args.folder]
    if args.cut < horizon:
        parser.error(f"--cut {args.cut} is shorter than the {args.folder} horizon {horizon}")
    whole = pd.read_csv(ROOT / "data/tourism" / args.folder / "train.csv.gz", dtype={"unique_id": str})
    train, test = pseudo_split(whole, args.cut, horizon)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("train", train), ("test", test)):
        frame.to_csv(args.out / f"{name}.csv.gz", index=False)
    dropped = whole["unique_id"].nunique() - train["unique_id"].nunique()
    print(
        f"{args.out}: {train['unique_id'].nunique()} series, {len(train)} training and {len(test)} test values, "
        f"{dropped} series dropped (no training value left)"
    )


if __name__ == "__main__":
    main()
