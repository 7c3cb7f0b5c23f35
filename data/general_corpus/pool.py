"""The general models' training pool for one frequency: tourism's training part and this corpus, as one file.

    python data/general_corpus/pool.py --freq monthly --out data/general_corpus/tourism_and_corpus_monthly.csv.gz
    python data/general_corpus/pool.py --freq quarterly --without m1 --out /tmp/pool.csv.gz   # a validation fold

`make train` builds the pool this way before it trains `general_monthly` and `general_quarterly`, so the
pool is never committed twice beside its parts. The output is byte-identical on every run (rows in file
order, gzip mtime 0): a model card's data_sha256 names it.

A series' source comes from its id: the extra files prefix theirs with the data set (`fredmd_`, `m1_`, ...);
M4's ids are M<n> (monthly) and Q<n> (quarterly); tourism's are m<n> and q<n>. `--without` leaves whole
sources out: the protocol of docs/accuracy.md ("Sources they never saw"). Standard library only.

Series dated before UNDATED_BEFORE are left out: 15 M1 and 11 tsdl monthly series and 4 quarterly ones start
in year 1, R's `tsp` start for a series without a calendar. Their months are not months, and the general
models read the month of the year; tsdl's sunspots from 1749 are dated and stay.

Copies of the series the repo scores zero-shot (`bench.accuracy.general_unseen`: data/unseen/ and
data/air_passengers.csv) are left out, so that bench stays zero-shot: a pool series is a copy when it holds at
least half of such a series' 8-value shapes (each window divided by its first value, to 3 decimals; a copy in
other units matches too). On 2026-12-06 that left out tsdl_161 and m1_MNI166 (air passengers), tsdl_125
(austres), tsdl_158 (woolyrnq) and ausproduction_Beer (ausbeer); the next closest pool series shares 8 of
austres' 82 shapes (FRED-MD price indices, smooth growth alike).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOURISM = HERE.parent / "tourism"
PARTS = {
    "monthly": [
        TOURISM / "monthly/train.csv.gz",
        HERE / "m4_other_monthly_train.csv.gz",
        HERE / "extra_monthly_full.csv.gz",
    ],
    "quarterly": [
        TOURISM / "quarterly/train.csv.gz",
        HERE / "m4_other_quarterly_train.csv.gz",
        HERE / "extra_quarterly_full.csv.gz",
    ],
}
SOURCES = {
    "monthly": ("tourism", "m4_other", "m1", "hospital", "pbs", "ausretail", "auslivestock", "tsdl", "fredmd"),
    "quarterly": ("tourism", "m4_other", "m1", "tsdl", "ausproduction"),
}
M4_ID, TOURISM_ID = re.compile(r"[MQ]\d+"), re.compile(r"[mq]\d+")
UNDATED_BEFORE = "1700"
ZERO_SHOT = (HERE.parent / "unseen/monthly.csv.gz", HERE.parent / "unseen/quarterly.csv.gz")
ZERO_SHOT += (HERE.parent / "air_passengers.csv",)
SHAPE_LENGTH = 8


def source_of(series_id: str) -> str:
    if "_" in series_id:
        return series_id.split("_", 1)[0]
    if M4_ID.fullmatch(series_id):
        return "m4_other"
    if TOURISM_ID.fullmatch(series_id):
        return "tourism"
    raise ValueError(f"series '{series_id}': no known source")


def series_of(path: Path):
    """(unique_id, rows) of a unique_id,ds,y file (gzipped or not) whose series' rows lie together."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        if next(reader) != ["unique_id", "ds", "y"]:
            raise ValueError(f"{path}: header is not unique_id,ds,y")
        current, rows = None, []
        for row in reader:
            if row[0] != current and rows:
                yield current, rows
                rows = []
            current = row[0]
            rows.append(row)
        if rows:
            yield current, rows


def shapes(rows: list[list[str]]) -> set[tuple[float, ...]]:
    """The series' SHAPE_LENGTH-value windows of positive values, each divided by its first value."""
    values = [float(row[2]) if row[2] else 0.0 for row in rows]
    found = set()
    for i in range(len(values) - SHAPE_LENGTH + 1):
        window = values[i : i + SHAPE_LENGTH]
        if min(window) > 0:
            found.add(tuple(round(v / window[0], 3) for v in window))
    return found


def zero_shot_shapes() -> dict[str, set[tuple[float, ...]]]:
    return {name: shapes(rows) for path in ZERO_SHOT for name, rows in series_of(path)}


def copy_of(rows: list[list[str]], targets: dict[str, set[tuple[float, ...]]]) -> str | None:
    """The zero-shot series `rows` copies, if any (at least half of its shapes)."""
    own = shapes(rows)
    return next((name for name, shape in targets.items() if shape and 2 * len(shape & own) >= len(shape)), None)


def pool_rows(freq: str, without: set[str], undated: list[str], copies: list[str] | None = None):
    """(unique_id, ds, y) rows of every part, in file order, leaving out the sources in `without` and the series
    that start before UNDATED_BEFORE (ids appended to `undated`). Given a `copies` list, copies of the zero-shot
    series are left out too and named there (a training pool); without one they stay (a fold's scored series)."""
    targets = zero_shot_shapes() if copies is not None else {}
    for part in PARTS[freq]:
        for series_id, rows in series_of(part):
            if source_of(series_id) in without:
                continue
            if rows[0][1] < UNDATED_BEFORE:
                undated.append(series_id)
            elif copied := copy_of(rows, targets):
                copies.append(f"{series_id} ({copied})")
            else:
                yield from rows


def write_pool(freq: str, out: Path, without: set[str]) -> int:
    """Write the pool; returns the number of rows, of undated series left out, and the copies left out."""
    unknown = without - set(SOURCES[freq])
    if unknown:
        raise ValueError(f"--without: unknown {freq} source(s) {sorted(unknown)}; choose from {SOURCES[freq]}")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["unique_id", "ds", "y"])
    rows, undated, copies = 0, [], []
    for row in pool_rows(freq, without, undated, copies):
        writer.writerow(row)
        rows += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    partial.replace(out)  # atomic: a training run never reads half a pool
    return rows, len(undated), copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freq", choices=sorted(PARTS), required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--without", default="", help="comma-separated sources to leave out, e.g. fredmd,tsdl")
    args = parser.parse_args(argv)
    without = {s.strip() for s in args.without.split(",") if s.strip()}
    try:
        rows, undated, copies = write_pool(args.freq, args.out, without)
    except (OSError, ValueError) as exc:
        print(f"pool.py: {exc}", file=sys.stderr)
        return 2
    left_out = f", without {', '.join(sorted(without))}" if without else ""
    copied = f"; copies of zero-shot series left out: {', '.join(copies)}" if copies else ""
    print(f"wrote {args.out}: {rows} rows ({args.freq}{left_out}; {undated} undated series left out{copied})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
