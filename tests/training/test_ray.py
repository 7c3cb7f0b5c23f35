"""`--engine ray`: training on a real local Ray cluster registers a model the service serves, a Ray
backtest writes the local run's numbers, and without `--engine ray` nothing imports Ray."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from paxcast.service.cli.main import build_parser, main
from tests.conftest import ROOT, TINY_GLOBAL

SEOUL = ROOT / "data" / "seoul_subway_daily" / "seoul_subway_daily.csv.gz"
TINY = ["--window", "14", "--horizon", "7", "--steps", "10", "--hidden", "4", "--lr", "1e-9", "--country", "KR"]


@pytest.fixture(scope="module")
def ray_cluster():
    """A real Ray cluster on this machine (2 CPUs, loopback only), started once for this module and stopped after."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def seoul_slice(tmp_path_factory) -> Path:
    """Four Seoul stations from 2019-06 on (~480 days each): a small slice of the real file."""
    keep = {"SEL0001", "SEL0002", "SEL0003", "SEL0004"}
    path = tmp_path_factory.mktemp("seoul") / "seoul_slice.csv"
    with gzip.open(SEOUL, "rt") as source:
        lines = [line for k, line in enumerate(source) if k == 0 or (line[:7] in keep and line[8:18] >= "2019-06-01")]
    path.write_text("".join(lines))
    return path


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_ray_workers_train_a_model_the_service_loads_and_serves(ray_cluster, seoul_slice, tmp_path):
    from fastapi.testclient import TestClient

    from paxcast.service.api.app import create_app
    from paxcast.service.core.contract import read_card
    from paxcast.service.core.registry import current_version
    from paxcast.service.core.settings import Settings
    from paxcast.training.network.ray import RaySettings, RayTrainer
    from paxcast.training.pipeline import train_and_register

    trainer = RayTrainer(RaySettings(workers=2))
    version, fitted = train_and_register(
        seoul_slice,
        tmp_path,
        "seoul",
        show_progress=False,
        trainer=trainer,
        steps=20,
        hidden=8,
        country="KR",
    )
    assert trainer.last_run["workers"] == 2
    assert current_version(tmp_path, "seoul") == version
    card = read_card(tmp_path / "seoul" / version)
    assert card.training.series == 4 and card.training.windows == 20 * 256  # 2 workers x 128 windows a step
    assert card.onnx.parity_max_rel_error < 1e-4 and card.intervals is not None
    assert card.training.best_step in (0, 20)  # validation checks once, at the last of 20 steps
    settings = Settings(model_dir=tmp_path, model_name="seoul", reload_interval=0)
    history = [float(v) for v in range(1000, 1000 + 28)]
    with TestClient(create_app(settings)) as client:
        body = {"series": [{"id": "SEL0001", "history": history, "start": "2020-09-03"}], "horizon": 7, "level": [80]}
        response = client.post("/v1/models/seoul/forecast", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["model"]["version"] == version
    (out,) = response.json()["forecasts"]
    assert out["timestamps"][0] == "2020-10-01" and np.isfinite(out["mean"]).all()


def run_backtest(data: Path, report: Path, *engine: str) -> dict:
    """`paxcast backtest` in-process on one torch thread; the JSON it wrote, without the times and loads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(
                ["backtest", "--data", str(data), *TINY, "--peers", "SeasonalNaive,AutoETS", "--json", str(report)]
                + ["--plot", str(report.with_suffix(".png")), *engine]
            )
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    return timeless(json.loads(report.read_text()))


def timeless(node):
    """The document without what differs from run to run: wall times, loads, memory, the machine."""
    varying = {"machine", "seconds", "load", "train_s", "fit_s", "serve_s", "peak_rss_mb"}
    if isinstance(node, dict):
        return {k: timeless(v) for k, v in node.items() if k not in varying and not k.startswith("load")}
    if isinstance(node, list):
        return [timeless(v) for v in node]
    return node


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_ray_backtest_writes_the_local_json_bit_for_bit(ray_cluster, stations_csv, tmp_path, monkeypatch):
    from paxcast.training.backtest import ray as ray_backtest

    monkeypatch.setattr(ray_backtest, "CHUNK_SERIES", 4)  # six series: two chunks per peer, put back in order
    local = run_backtest(stations_csv, tmp_path / "local.json")
    on_ray = run_backtest(stations_csv, tmp_path / "ray.json", "--engine", "ray")
    assert list(on_ray["summary"]) == ["paxcast global LSTM", "SeasonalNaive", "AutoETS"]
    for method in ("SeasonalNaive", "AutoETS"):  # deterministic per series: equal floats, not close ones
        assert on_ray["summary"][method] == local["summary"][method]
        for mine, theirs in zip(on_ray["origins"], local["origins"], strict=True):
            assert mine["methods"][method] == theirs["methods"][method]
            assert mine["mase_by_series"][method] == theirs["mase_by_series"][method]
    assert on_ray == local  # the global model too: same code, seed and thread count in a Ray task


def test_the_shards_split_the_series_by_unique_id_without_overlap():
    from paxcast.training.data import Series
    from paxcast.training.network.fit import Shard

    series = [Series(uid, "2020-01-01", "D", np.zeros(3)) for uid in ["c", "a", "e", "b", "d"]]
    shards = [Shard(rank, 2).mine(series) for rank in range(2)]
    assert [[series[i].id for i in s] for s in shards] == [["c", "a", "e"], ["b", "d"]]  # a c e | b d, file order
    assert Shard().mine(series) == list(range(5))  # the local run: every series, in the file's order


def test_without_engine_ray_nothing_imports_ray(stations_csv, tmp_path):
    flags = [f"--{k}={v}" for k, v in TINY_GLOBAL.items() if k != "steps"] + ["--steps=5"]
    script = (
        "import sys\n"
        "from paxcast.service.cli.main import build_parser, main\n"
        "build_parser().parse_args(['backtest', '--data', 'x.csv'])\n"
        f"assert main(['train', '--data', {str(stations_csv)!r}, '--out', {str(tmp_path)!r}, *{flags!r}]) == 0\n"
        "import paxcast.training.backtest.network, paxcast.training.retrain.run, statsforecast  # noqa\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("argv", "detail"),
    [
        (["--workers", "2"], "paxcast train: --workers applies to --engine ray"),
        (["--address", "auto"], "paxcast train: --address applies to --engine ray"),
        (["--engine", "ray", "--workers", "0"], "paxcast train: --workers must be at least 1, got 0"),
        (
            ["--engine", "ray", "--workers", "3"],
            "paxcast train: --workers 3 must divide the batch of 256 windows (each worker draws an equal share "
            "of every step's batch)",
        ),
        (
            ["--engine", "ray", "--threads", "2"],
            "paxcast train: --threads applies to --engine local; a Ray worker takes --cpus-per-worker threads",
        ),
        (["--threads", "0"], "paxcast train: --threads must be at least 1, got 0"),
    ],
    ids=["workers-without-ray", "address-without-ray", "no-workers", "uneven-batch", "threads-with-ray", "no-threads"],
)
def test_impossible_engine_flags_are_one_line_and_exit_2_before_any_cluster(
    stations_csv, tmp_path, capsys, argv, detail
):
    code = main(["train", "--data", str(stations_csv), "--out", str(tmp_path), "--country", "KR", *argv])
    assert code == 2
    assert capsys.readouterr().err.strip() == detail


@pytest.mark.parametrize(("argv", "threads"), [([], 1), (["--threads", "2"], 2)], ids=["default", "given"])
def test_a_local_run_sets_torch_threads_before_training(argv, threads):
    """Torch's default (a thread per host core) thrashes beside any other busy process: local runs take one."""
    from paxcast.training.engine import engine_settings

    before = torch.get_num_threads()
    torch.set_num_threads(3)  # neither case may pass by leaving the count as it was
    try:
        assert engine_settings(build_parser().parse_args(["train", "--data", "x.csv", *argv])) is None
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_engine_ray_on_one_series_says_it_trains_global_models(air_csv, tmp_path, capsys):
    assert main(["train", "--data", str(air_csv), "--out", str(tmp_path), "--engine", "ray"]) == 2
    assert "--engine ray trains global models" in capsys.readouterr().err


def test_retrain_engine_ray_of_a_per_series_champion_is_refused_before_training(registry, air_csv, capsys):
    argv = ["retrain", "--data", str(air_csv), "--registry", str(registry), "--name", "air_passengers"]
    assert main([*argv, "--engine", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("paxcast retrain: --engine ray retrains global models; champion air_passengers/")
    assert err.endswith(" is per-series")
