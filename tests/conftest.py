"""Shared fixtures: a tiny model trained once per session into a temporary registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AIR = ROOT / "data" / "air_passengers.csv"
TINY = dict(window=24, horizon=12, hidden=8, epochs=15, patience=5, ensemble=2, seed=0)


@pytest.fixture(scope="session")
def air_csv() -> Path:
    return AIR


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory) -> Path:
    """A registry holding one tiny air_passengers model, trained through the real pipeline."""
    from paxcast.training.pipeline import train_and_register

    root = tmp_path_factory.mktemp("registry")
    train_and_register(AIR, root, "air_passengers", show_progress=False, **TINY)
    return root


def write_stations(path: Path, days: int = 150, start: str = "2019-09-01", gap: bool = True) -> Path:
    """A small daily multi-series file: a weekday/weekend profile, Korean holidays falling off, different
    sizes (one series all zeros on Sundays), and a missing week in one series when `gap`."""
    import numpy as np

    from paxcast.service.core.covariates import Calendar, timestamps

    ds = timestamps(start, "D", days)
    calendar = Calendar("D", country="KR")
    features = calendar.features(ds)
    weekday = features[:, :5].sum(axis=1)
    holiday = features[:, calendar.names.index("holiday")]
    rng = np.random.default_rng(0)
    lines = ["unique_id,ds,y"]
    for k, size in enumerate([50.0, 400.0, 3000.0, 12000.0, 800.0, 90.0]):
        y = size * (0.5 + 0.5 * weekday) * (1 - 0.6 * holiday) * rng.lognormal(0, 0.05, days)
        if k == 5:
            y[features[:, 6] == 1] = 0.0  # closed on Sundays: zeros are data, not gaps
        for t, (when, value) in enumerate(zip(ds, y, strict=True)):
            if gap and k == 4 and 60 <= t < 67:
                continue  # a missing week: the loader keeps it as NaN
            lines.append(f"S{k},{str(when)[:10]},{value:.1f}")
    path.write_text("\n".join(lines) + "\n")
    return path


# A tiny global model: enough steps to run every code path, not to be accurate.
TINY_GLOBAL = dict(window=14, horizon=7, hidden=8, steps=40, seed=0, country="KR")


def write_monthly(folder: Path, horizon: int = 12) -> tuple[Path, Path]:
    """A small monthly corpus split like the tourism data: train.csv and test.csv (each series' next
    `horizon` months). Series of different lengths, sizes, seasonal shapes and trends; one as short as
    two years (the general models pad it), one with zeros."""
    import numpy as np

    from paxcast.service.core.covariates import timestamps

    rng = np.random.default_rng(1)
    train, test = ["unique_id,ds,y"], ["unique_id,ds,y"]
    for k, (months, size) in enumerate([(96, 500.0), (60, 40.0), (120, 9000.0), (30, 7.0), (84, 1200.0), (72, 3.0)]):
        t = np.arange(months + horizon)
        y = size * (1 + 0.004 * k * t) * (1 + (0.2 + 0.05 * k) * np.sin(2 * np.pi * (t + k) / 12))
        y = np.maximum(y * rng.lognormal(0, 0.04, len(t)), 0)
        if k == 5:
            y[np.arange(len(t)) % 12 == 0] = 0.0
        for when, value, out in zip(timestamps(f"{2000 + k}-0{1 + k % 9}-01", "MS", len(t)), y, t, strict=True):
            (train if out < months else test).append(f"M{k},{str(when)[:10]},{value:.2f}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.csv").write_text("\n".join(train) + "\n")
    (folder / "test.csv").write_text("\n".join(test) + "\n")
    return folder / "train.csv", folder / "test.csv"


# A tiny general monthly model: every code path (padding, seasonal lags, MASE checkpoint), not accuracy.
TINY_GENERAL = dict(window=36, horizon=12, hidden=8, steps=40, seed=0)


@pytest.fixture(scope="session")
def monthly_split(tmp_path_factory) -> tuple[Path, Path]:
    return write_monthly(tmp_path_factory.mktemp("monthly"))


@pytest.fixture(scope="session")
def general_registry(tmp_path_factory, monthly_split) -> Path:
    """A registry holding a tiny general monthly model (`general_monthly`), trained through the real pipeline."""
    from paxcast.training.pipeline import train_and_register

    root = tmp_path_factory.mktemp("general-registry")
    train_and_register(monthly_split[0], root, "general_monthly", show_progress=False, **TINY_GENERAL)
    return root


@pytest.fixture(scope="session")
def stations_csv(tmp_path_factory) -> Path:
    return write_stations(tmp_path_factory.mktemp("stations") / "stations.csv")


@pytest.fixture(scope="session")
def global_registry(tmp_path_factory, stations_csv) -> Path:
    """A registry holding one tiny global daily model, trained through the real pipeline."""
    from paxcast.training.pipeline import train_and_register

    root = tmp_path_factory.mktemp("global-registry")
    train_and_register(stations_csv, root, "stations", show_progress=False, **TINY_GLOBAL)
    return root


@pytest.fixture
def registry(tiny_registry, tmp_path) -> Path:
    """A private copy of the tiny registry that a test may change."""
    root = tmp_path / "models"
    shutil.copytree(tiny_registry, root)
    return root


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """The project's wheel, built once per session (no build isolation: the dev extra has setuptools)."""
    import subprocess
    import sys

    dist = tmp_path_factory.mktemp("dist")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(dist),
        str(ROOT),
    ]
    subprocess.run(command, check=True, timeout=300, capture_output=True)
    (wheel,) = dist.glob("paxcast-*.whl")
    return wheel


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """One throw-away PostgreSQL cluster per session (tests/postgres.py); its URL."""
    from tests.postgres import cluster

    with cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """An empty store on each backend: a new SQLite file, or the session cluster with its tables dropped."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url = request.getfixturevalue("postgres_cluster")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:  # faster than a database per test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url
