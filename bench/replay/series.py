"""The replay's data: the long file as one daily grid, its cut at a date, and the model trained on that cut.

The cut is the file's own lines up to and including the cut date, written to `{stem}-to-{cut}.csv` in a temp
dir: `paxcast train` records that name as the card's `data_file`, so a registry given with `--registry` can be
checked to hold a model that saw nothing after the cut (`require_cut`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.contract import ModelCard
from paxcast.training.data import read_series

TRAIN = [sys.executable, "-m", "paxcast.service.cli.main", "train"]  # `paxcast train` of this interpreter


@dataclass(frozen=True)
class Grid:
    """Every series on one daily grid: `y` (series, days), NaN where a series has no row."""

    ids: list[str]
    first: dt.date  # the date of y[:, 0]
    y: np.ndarray

    def index(self, day: dt.date) -> int:
        return (day - self.first).days

    def day(self, index: int) -> dt.date:
        return self.first + dt.timedelta(days=index)

    @property
    def last(self) -> dt.date:
        return self.day(self.y.shape[1] - 1)


def read_grid(path: Path) -> Grid:
    """The daily series of `path` (the product's reader and its rules) on one grid."""
    series = read_series(path)
    others = sorted({s.freq for s in series} - {"D"})
    if others:
        raise SystemExit(f"{path}: the replay steps one day at a time; this file's frequency is {others[0]}")
    starts = [dt.date.fromisoformat(s.start[:10]) for s in series]
    first = min(starts)
    days = max((start - first).days + len(s.y) for start, s in zip(starts, series, strict=True))
    y = np.full((len(series), days), np.nan)
    for row, (start, s) in enumerate(zip(starts, series, strict=True)):
        offset = (start - first).days
        y[row, offset : offset + len(s.y)] = s.y
    return Grid([s.id for s in series], first, y)


def stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name


def cut_name(data: Path, cut: dt.date) -> str:
    """The cut file's name, which the trained card carries as its `data_file`."""
    return f"{stem(data)}-to-{cut.isoformat()}.csv"


def write_cut(data: Path, cut: dt.date, folder: Path) -> Path:
    """The lines of `data` whose `ds` is on or before `cut` (the header kept), as `folder/cut_name`."""
    opener = gzip.open if data.suffix == ".gz" else open
    with opener(data, "rt", encoding="utf-8") as source:
        header = source.readline()
        at = [name.strip() for name in header.split(",")].index("ds")
        last = cut.isoformat()
        kept = [line for line in source if line.split(",")[at][:10] <= last]
    path = folder / cut_name(data, cut)
    path.write_text(header + "".join(kept), encoding="utf-8")
    return path


def train(cut_file: Path, registry: Path, name: str, flags: str) -> float:
    """`paxcast train` on the cut into `registry` as `name`, with `flags` (shell words); its seconds."""
    command = [*TRAIN, "--data", str(cut_file), "--out", str(registry), "--name", name, *shlex.split(flags)]
    started = dt.datetime.now()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return (dt.datetime.now() - started).total_seconds()


def require_cut(card: ModelCard, data: Path, cut: dt.date) -> None:
    """Refuse a model whose card does not name the cut of `data` at `cut` as its training data."""
    expected = cut_name(data, cut)
    if card.data_file != expected:
        raise SystemExit(
            f"model {card.name!r} version {card.version} was trained on {card.data_file!r}, not on {expected!r}: "
            f"the replay needs a model that saw nothing after {cut} (leave out --registry to train one)"
        )
