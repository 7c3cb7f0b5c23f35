"""The Bengaluru metro files (data/bengaluru_metro_hourly/) as their README states them, and the exits file
trained and served exactly as the entries file is: same reader, same gap, same late-starting line."""

from __future__ import annotations

import numpy as np
import pytest

from paxcast.service.core.contract import read_card
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor
from paxcast.training.data import read_series
from paxcast.training.pipeline import train_and_register
from tests.conftest import ROOT

BENGALURU = ROOT / "data" / "bengaluru_metro_hourly"
FILES = ["bmrcl_hourly_entries.csv.gz", "bmrcl_hourly_exits.csv.gz"]
GAP = 312  # 2025-08-19T01:00 .. 2025-09-01T00:00, missing in every series
# Two Purple-line stations from the first day and one Yellow-line station that opened on 2025-08-11.
STATIONS = ("BLR_110", "BLR_13", "BLR_221")


@pytest.fixture(scope="module", params=FILES)
def flows(request) -> tuple[str, list]:
    return request.param, read_series(BENGALURU / request.param)


def test_each_file_holds_the_83_stations_the_readme_states(flows):
    _, series = flows
    assert len(series) == 83 and all(s.freq == "h" for s in series)
    starts = sorted({s.start for s in series})
    assert starts == ["2025-08-01T01:00:00", "2025-08-11T01:00:00"]
    assert sum(s.start == "2025-08-11T01:00:00" for s in series) == 15  # the Yellow line opened mid-way
    assert {s.timestamp(len(s.y) - 1).isoformat() for s in series} == {"2025-10-01T00:00:00"}
    assert all(s.missing == GAP for s in series)  # the gap, kept as NaN, never filled
    assert all(np.nanmin(s.y) >= 0 for s in series)


def small_file(path, series, tmp_path):
    """The three STATIONS of a file, every row: the gap and the late opening included."""
    rows = ["unique_id,ds,y"]
    for s in series:
        if s.id in STATIONS:
            rows += [f"{s.id},{s.timestamp(k).isoformat()[:16]},{v:g}" for k, v in enumerate(s.y) if np.isfinite(v)]
    out = tmp_path / path.replace(".csv.gz", ".csv")
    out.write_text("\n".join(rows) + "\n")
    return out


def test_the_file_trains_and_serves_a_day_ahead_model(flows, tmp_path):
    name, series = flows
    data = small_file(name, series, tmp_path)
    tiny = dict(window=48, horizon=24, season=24, hidden=4, steps=3, country="IN")
    version, _ = train_and_register(data, tmp_path / "reg", "metro", show_progress=False, **tiny)
    card = read_card(tmp_path / "reg" / "metro" / version)
    assert (card.training.series, card.training.missing) == (3, 3 * GAP)
    assert card.covariates.country == "IN" and "holiday" in card.covariates.names
    predictor = Predictor.load(tmp_path / "reg" / "metro" / version)
    posted = [s for s in series if s.id in STATIONS]
    histories = [
        {"id": s.id, "history": s.y[-48:].tolist(), "start": s.timestamp(len(s.y) - 48).isoformat()} for s in posted
    ]
    request = ForecastRequest.model_validate({"series": histories, "horizon": 24, "level": [80]})
    result = predictor.forecast(request)
    assert np.asarray(result.mean).shape == (3, 24) and np.isfinite(result.mean).all()
    assert result.timestamps[0][0] == "2025-10-01T01:00:00"
