"""A retrain killed at any point leaves a valid registry: CURRENT names a complete, loadable version."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from paxcast.service.predictor import Predictor
from paxcast.service.contract import read_card
from paxcast.service.registry import current_version, list_versions
from paxcast.training.cli import main
from paxcast.training.registry import locked, read_history

NAME = "air_passengers"


def start_retrain(registry, air_csv, tmpdir):
    """`paxcast retrain --force` in its own process, long enough (a few seconds) to be caught mid-run."""
    command = [sys.executable, "-m", "paxcast.training.cli", "retrain", "--data", str(air_csv), "--registry", str(registry),
               "--force", "--epochs", "30", "--patience", "30"]
    return subprocess.Popen(command, env={**os.environ, "TMPDIR": str(tmpdir)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(process, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the retrain ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "the retrain never reached the point to interrupt"
        time.sleep(0.001)


def training_started(registry, process):
    lock = registry / NAME / ".lock"
    return lambda: lock.exists() and lock.read_text().strip() == str(process.pid)


def publishing_started(registry, versions):
    base = registry / NAME
    return lambda: any(n.startswith(".staging-") or (not n.startswith(".") and (base / n).is_dir() and n not in versions) for n in os.listdir(base))


def registry_files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def assert_registry_valid(registry):
    base = registry / NAME
    version = current_version(registry, NAME)
    assert Predictor.load(base / version).version == version  # hash, contract and probe forecast all pass
    for v in list_versions(registry, NAME):
        read_card(base / v)
    history = base / "history.jsonl"
    for line in history.read_text().splitlines() if history.exists() else []:
        json.loads(line)
    with locked(registry, NAME):  # the killed run's lock died with it
        pass


@pytest.mark.timeout(120)
@pytest.mark.parametrize("moment", ["training", "publishing"])
def test_sigkill_at_any_moment_leaves_the_registry_valid(registry, air_csv, tmp_path, moment):
    champion = current_version(registry, NAME)
    versions = set(list_versions(registry, NAME))
    process = start_retrain(registry, air_csv, tmp_path)
    try:
        wait_until(process, training_started(registry, process))
        if moment == "training":
            time.sleep(0.5)
        else:
            wait_until(process, publishing_started(registry, versions))
        process.kill()
    finally:
        process.wait(30)
    # a loaded machine may let the run finish between seeing its new version and the kill; still valid either way
    assert process.returncode == -signal.SIGKILL or (moment == "publishing" and process.returncode == 0)
    assert_registry_valid(registry)
    if moment == "training":
        assert current_version(registry, NAME) == champion and set(list_versions(registry, NAME)) == versions
    assert main(["retrain", "--data", str(air_csv), "--registry", str(registry), "--lr", "10", "--epochs", "1"]) == 0  # the next run works


@pytest.mark.timeout(120)
def test_sigterm_stops_cleanly_with_the_registry_unchanged(registry, air_csv, tmp_path):
    before = registry_files(registry)
    workdir = tmp_path / "tmp"
    workdir.mkdir()
    process = start_retrain(registry, air_csv, workdir)
    try:
        wait_until(process, training_started(registry, process))
        time.sleep(0.3)
        process.terminate()
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "paxcast retrain: interrupted; the registry is unchanged\n" and out == ""
    assert registry_files(registry) == before
    assert list(workdir.glob("paxcast-*")) == []  # its temporary work directory was removed
    assert_registry_valid(registry)


SWITCH_THEN_DIE = """
import os, signal, sys
import paxcast.training.retrain as retrain
real = retrain.set_current
def switch_then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the moment between CURRENT's switch and the history line
retrain.set_current = switch_then_die
from paxcast.training.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.timeout(180)
def test_sigkill_right_after_the_switch_leaves_the_promotion_in_the_history(registry, air_csv, tmp_path):
    champion = current_version(registry, NAME)
    command = [sys.executable, "-c", SWITCH_THEN_DIE, "retrain", "--data", str(air_csv), "--registry", str(registry), "--force", "--epochs", "2"]
    process = subprocess.run(command, env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=150)
    assert process.returncode == -signal.SIGKILL, process.stderr
    promoted = current_version(registry, NAME)
    assert promoted != champion
    (line,) = [r for r in read_history(registry, NAME) if r.get("current") == promoted]
    assert line["decision"] == "promoting" and line["challenger"]["version"] == promoted and line["champion"]["version"] == champion
    assert_registry_valid(registry)

    assert main(["retrain", "--data", str(air_csv), "--registry", str(registry), "--lr", "10", "--epochs", "1"]) == 0  # reconciles first
    first, second = read_history(registry, NAME)
    assert first["decision"] == "promoted" and first["current"] == promoted and first["run"] == line["run"] and "reconciled" in first
    assert second["event"] == "retrain" and second["decision"] in ("kept", "promoted")  # the weak champion may lose
