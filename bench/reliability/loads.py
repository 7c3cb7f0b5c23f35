"""Forecast requests built from the shipped data sets, and the clients that send them: keep-alive load, one big read.

The data sets are long-format `unique_id,ds,y` (data/NAME/NAME.csv.gz). A series' window is its last
`length` steps on a dense grid ending at its last row; a step with no row repeats the value before it
(the pedestrian counts have gaps, and JSON has no NaN).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import http.client
import json
import threading
import time
from functools import cache
from pathlib import Path

from bench.reliability.harness import ms, percentile

DATASETS = {
    "melbourne": ("melbourne_pedestrian_hourly", dt.timedelta(hours=1)),
    "seoul": ("seoul_subway_daily", dt.timedelta(days=1)),
}
LEVELS_20 = [*range(5, 100, 5), 99]  # 5, 10, ..., 95, 99: the schema's most levels (20)


def parse_ds(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@cache
def load_series(data_dir: Path, dataset: str) -> dict[str, dict[dt.datetime, float]]:
    name, _ = DATASETS[dataset]
    series: dict[str, dict[dt.datetime, float]] = {}
    with gzip.open(data_dir / name / f"{name}.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["unique_id"], {})[parse_ds(row["ds"])] = float(row["y"])
    return series


def window(values: dict[dt.datetime, float], end: dt.datetime, length: int, step: dt.timedelta, scale: float = 1):
    """(start, the `length` values ending at `end` divided by `scale`), gaps filled with the previous value."""
    start = end - (length - 1) * step
    known = [t for t in values if t <= start]
    last = values[max(known)] if known else next(iter(values.values()))
    out = []
    for k in range(length):
        last = values.get(start + k * step, last)
        out.append(round(last / scale))  # counts stay integers: the body stays small
    return start, out


def series_items(data_dir: Path, dataset: str, count: int, length: int, scale: float = 1) -> list[dict]:
    """`count` series items; past the data set's n series, item k is series k % n ending k // n weeks earlier.

    `scale` divides the values (rounded): 10,000 x 336 Melbourne counts fit the default 8 MiB body limit only
    in hundreds (8.09 MB; the issue's request was 7.2 MB). The graph scales each window by its own level."""
    data = load_series(data_dir, dataset)
    _, step = DATASETS[dataset]
    names = sorted(data)
    back = step * (168 if dataset == "melbourne" else 7)  # one week earlier per round: same weekday/hour
    items = []
    for k in range(count):
        name = names[k % len(names)]
        values = data[name]
        start, history = window(values, max(values) - (k // len(names)) * back, length, step, scale)
        fmt = start.isoformat() if dataset == "melbourne" else start.date().isoformat()
        items.append({"id": name if k < len(names) else f"{name}-{k // len(names)}", "history": history, "start": fmt})
    return items


def forecast_body(items: list[dict], horizon: int | None = None, level: list[float] | None = None) -> bytes:
    body: dict = {"series": items}
    if horizon:
        body["horizon"] = horizon
    if level:
        body["level"] = level
    return json.dumps(body, separators=(",", ":")).encode()


def read_big(port: int, path: str, body: bytes, timeout: float = 300) -> dict:
    """POST `body` and read the answer in 1 MiB chunks without keeping it: status, size, seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        first = time.monotonic() - started
        size, head = 0, b""
        while chunk := response.read(1 << 20):
            size += len(chunk)
            head = head or chunk[:200]
        return {
            "status": {str(response.status): 1},
            "content_type": response.headers.get("content-type"),
            "request_id": response.headers.get("x-request-id") is not None,
            "request_mb": round(len(body) / 1e6, 2),
            "response_mb": round(size / 1e6, 1),
            "headers_after_s": round(first, 2),
            "answered_after_s": round(time.monotonic() - started, 2),
            "detail": head.decode(errors="replace")[:200] if response.status != 200 else "",
        }
    except (OSError, http.client.HTTPException) as exc:
        return {"status": {type(exc).__name__: 1}, "answered_after_s": round(time.monotonic() - started, 2)}
    finally:
        conn.close()


def keep_alive_load(port: int, path: str, bodies: list[bytes], clients: int, seconds: float) -> dict:
    """`clients` threads, each on one keep-alive connection, post `bodies` in turn for `seconds`."""
    latencies: list[float] = []
    codes: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = k
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                conn.request("POST", path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                code = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                code = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                latencies.append(time.monotonic() - started)
                codes.append(code)
            i += clients
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.monotonic() - started
    return {
        "status": {c: codes.count(c) for c in sorted(set(codes))},
        "requests": len(codes),
        "requests_per_s": round(len(codes) / wall, 1),
        "forecast_p50_ms": ms(percentile(latencies, 50)),
        "forecast_p99_ms": ms(percentile(latencies, 99)),
        "forecast_max_ms": ms(max(latencies, default=0)),
    }
