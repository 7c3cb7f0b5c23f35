"""Shared fixtures: a tiny model trained once per session into a temporary registry."""

from __future__ import annotations

import shutil
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
