"""`python -m bench.replay` on a tiny cut: a real `paxcast serve` with the store serves 10 days of six stations, and
the accuracy route's scores (by version, step and series) equal the bench's offline scoring of the same
served forecasts against the same actuals. Keeps the live/offline agreement held by CI; the Seoul run is the
bench's own (docs/accuracy.md).

The bench runs as a command (the suite never imports bench/), on a model trained here on the data up to the cut,
saved under the cut file's name, which the bench checks the card for.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, TINY_GLOBAL
from tests.postgres import require_postgresql

pytestmark = pytest.mark.e2e  # real `paxcast serve` processes

# A horizon longer than the season (7), so seasonal naive reaches two seasons back for steps 8-10.
CUT, DAYS, SERIES, HORIZON = "2020-01-14", 10, 6, 10
# Served steps whose ds falls in the window (cut, cut + DAYS]: day i's forecast reaches DAYS - i + 1 of them.
POINTS = SERIES * sum(min(HORIZON, DAYS - i + 1) for i in range(1, DAYS + 1))


@pytest.fixture(scope="module")
def cut_registry(tmp_path_factory, stations_csv):
    """A registry with the tiny global model trained on the stations' lines up to CUT, named as the bench names it."""
    from paxcast.training.pipeline import train_and_register

    folder = tmp_path_factory.mktemp("replay")
    header, *lines = stations_csv.read_text().splitlines(keepends=True)
    cut_file = folder / f"stations-to-{CUT}.csv"
    cut_file.write_text(header + "".join(line for line in lines if line.split(",")[1] <= CUT))
    tiny = {**TINY_GLOBAL, "horizon": HORIZON}
    train_and_register(cut_file, folder / "models", "stations", show_progress=False, **tiny)
    return folder / "models"


def replay(store: str, registry, data, out) -> dict:
    command = [sys.executable, "-m", "bench.replay", "--data", str(data), "--cut", CUT, "--days", str(DAYS)]
    command += ["--registry", str(registry), "--store", store, "--repeats", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    (result,) = json.loads(out.read_text())["stores"]
    return result


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_replay_live_scores_equal_the_offline_scoring(store, cut_registry, stations_csv, tmp_path):
    if store == "postgresql":
        require_postgresql()
    result = replay(store, cut_registry, stations_csv, tmp_path / "replay.json")
    assert [day["series"] for day in result["days"]] == [SERIES] * DAYS
    overall = result["live"]["version"]["overall"]
    assert (overall["points"], overall["series"]) == (POINTS, SERIES)
    assert overall["excluded"] == {"no_actual": 0, "no_naive": 0, "series_without_scale": 0}
    assert set(overall["coverage"]) == {"80", "95"}
    for by, groups in (("version", 1), ("step", HORIZON), ("series", SERIES)):
        agreement = result["agreement"][by]
        assert agreement["mismatches"] == [], by
        assert agreement["groups"] == agreement["offline_groups"] == groups, by
    assert result["size"]["rows"]["forecasts"] == DAYS * SERIES * HORIZON


def test_replay_refuses_a_model_trained_past_the_cut(cut_registry, stations_csv, tmp_path):
    """A model that saw the days it would serve would score what it learnt: the cut must be the model's."""
    earlier = "2020-01-10"
    command = [sys.executable, "-m", "bench.replay", "--data", str(stations_csv), "--cut", earlier, "--days", "4"]
    command += ["--registry", str(cut_registry), "--store", "sqlite", "--out", str(tmp_path / "replay.json")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    version = (cut_registry / "stations" / "CURRENT").read_text().strip()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"model 'stations' version {version} was trained on 'stations-to-{CUT}.csv', not on "
        f"'stations-to-{earlier}.csv': the replay needs a model that saw nothing after {earlier} "
        "(leave out --registry to train one)"
    )
    assert not (tmp_path / "replay.json").exists()
