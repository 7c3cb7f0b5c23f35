"""Fixture data for the web page's tests: a small gzipped station data set and a registry around it."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIONS = [("ST01", "Line 2", "Gangnam"), ("ST02", "Line 2", "Jamsil"), ("ST03", "Line 9", "Yeouido")]
MONTHS = 60  # 2015-01 .. 2019-12
HISTORY_LINES = [
    {
        "time": "2026-10-02T03:00:05+00:00",
        "event": "retrain",
        "decision": "kept",
        "reason": "challenger hold-out mape 9.1% vs champion 7.2%, worse than the allowed regression of 0%",
        "forced": False,
        "current": "V1",
        "data": {"file": "incoming/metro.csv", "rows": 180, "series": 3, "through": {"ST01": "2019-12-01T00:00:00"}},
        "holdout": {"points": 108, "horizon": 36, "metric": "mape"},
        "challenger": {"version": None, "mape": 9.1, "smape": 8.8},
        "champion": {"version": "V1", "mape": 7.2, "smape": 7.0, "basis": "the served ONNX"},
        "duration_s": 12.5,
    },
    {
        "time": "2026-11-02T03:00:04+00:00",
        "event": "retrain",
        "decision": "promoted",
        "reason": "challenger hold-out mape 6.0% vs champion 7.2%",
        "forced": False,
        "current": "V2",
        "holdout": {"points": 108, "horizon": 36, "metric": "mape"},
        "challenger": {"version": "V2", "mape": 6.0, "smape": 5.9},
        "champion": {"version": "V1", "mape": 7.2, "smape": 7.0},
    },
]


def month(k: int) -> str:
    return f"{2015 + k // 12}-{k % 12 + 1:02d}-01"


def station_rows(skip: tuple[str, int] | None = None) -> list[str]:
    """Monthly boardings of three stations (positive, seasonal); `skip` leaves out one (station, month)."""
    rows = ["unique_id,ds,y"]
    for n, (sid, _, _) in enumerate(STATIONS):
        for k in range(MONTHS):
            if skip != (sid, k):
                rows.append(f"{sid},{month(k)},{1000 * (n + 1) + 200 * math.sin(2 * math.pi * k / 12) + 5 * k:.1f}")
    return rows


def write_stations(
    data_dir: Path, name: str = "metro_monthly", folder: bool = True, skip: tuple[str, int] | None = None
) -> Path:
    """`<data_dir>/<name>/<name>.csv.gz` + `stations.csv` (or both flat in data_dir); returns the data file."""
    where = data_dir / name if folder else data_dir
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(station_rows(skip)) + "\n").encode()))
    (where / "stations.csv").write_text(
        "unique_id,line,station\n" + "".join(f"{s},{line},{st}\n" for s, line, st in STATIONS), encoding="utf-8"
    )
    return path


def add_model_copy(registry: Path, source: str, name: str, data_file: str) -> None:
    """Serve `source`'s versions again as model `name`, its card naming `data_file`: a station model, no training."""
    shutil.copytree(registry / source, registry / name)
    for card_path in (registry / name).glob("*/model.json"):
        card = json.loads(card_path.read_text())
        card.update(name=name, data_file=data_file)
        card_path.write_text(json.dumps(card, indent=2) + "\n")


def write_history(registry: Path, name: str, torn: bool = True) -> None:
    """history.jsonl with two retrains (oldest first), two lines that are no record, and a torn last line."""
    not_records = [
        '{"note": "not a history record"}',
        '{"time": "t", "event": "retrain", "decision": "kept", "challenger": {"mape": NaN}}',
    ]
    lines = [json.dumps(record) for record in HISTORY_LINES] + not_records
    text = "\n".join(lines) + "\n" + ('{"time": "2026-11-0' if torn else "")
    (registry / name / "history.jsonl").write_text(text, encoding="utf-8")
