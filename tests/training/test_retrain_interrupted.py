"""A retrain killed at any point leaves a valid registry: CURRENT names a complete, loadable version."""

import json
import os
import signal
import subprocess
import sys

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.contract import read_card
from paxcast.service.core.history import read_history
from paxcast.service.core.publish import locked
from paxcast.service.core.registry import current_version, list_versions
from paxcast.service.inference.predictor import Predictor
from tests.serving import wait_until

NAME = "air_passengers"

# `paxcast retrain` whose first call of `module.attribute` (with a first argument under `within`, when
# given) touches `marker` and then blocks, so a signal lands at exactly that point (test-only fault
# injection: nothing in the package reads it).
PAUSING_RETRAIN = """
import importlib, pathlib, sys, time
module_name, attribute, marker, within = sys.argv[1:5]
module = importlib.import_module(module_name)
real = getattr(module, attribute)

def pause(*args, **kwargs):
    if within and not str(args[0] if args else "").startswith(within):
        return real(*args, **kwargs)
    setattr(module, attribute, real)
    pathlib.Path(marker).touch()
    time.sleep(600)
    return real(*args, **kwargs)

setattr(module, attribute, pause)
from paxcast.service.cli.main import main
sys.exit(main(sys.argv[5:]))
"""

# Where each moment pauses, in the order a forced retrain reaches them.
MOMENTS = {
    "training": "paxcast.training.retrain.run.fit",  # the challenger starts training; the lock is held
    "staged": "paxcast.training.pipeline.check_servable",  # register's load check of the complete staging directory
    "registered": "paxcast.training.retrain.run.set_current",  # the new version is in place; CURRENT not switched yet
    "switched": "paxcast.training.retrain.run.prune",  # CURRENT names the new version; no history line yet
}


def forced_retrain(registry, air_csv) -> list[str]:
    """`paxcast retrain` arguments for a quick forced promotion of the tiny model."""
    return ["retrain", "--data", str(air_csv), "--registry", str(registry), "--force", "--epochs", "2"]


def start_retrain(registry, air_csv, tmp_path, moment):
    """`paxcast retrain --force` in its own process, paused at `moment`; returns (process, pause marker)."""
    module, attribute = MOMENTS[moment].rsplit(".", 1)
    marker = tmp_path / f"paused-at-{moment}"
    workdir = tmp_path / "tmp"
    workdir.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-c",
        PAUSING_RETRAIN,
        module,
        attribute,
        str(marker),
        # retrain also registers its fits in a scratch registry to score them as served: stage the real one
        str(registry) if moment == "staged" else "",
        *forced_retrain(registry, air_csv),
        "--patience",
        "2",
    ]
    process = subprocess.Popen(
        command, env={**os.environ, "TMPDIR": str(workdir)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, marker


def wait_paused(process, marker):
    try:
        wait_until(marker.exists, 120, f"paused ({marker.name})", alive=process)
    except RuntimeError:
        raise AssertionError(f"the retrain ended before its pause: {process.communicate()}") from None


def history_bytes(registry):
    path = registry / NAME / "history.jsonl"
    return path.read_bytes() if path.exists() else None


def registry_files(root):
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"
    }


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


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_at_any_moment_leaves_the_registry_valid(registry, air_csv, tmp_path, moment):
    champion = current_version(registry, NAME)
    versions = set(list_versions(registry, NAME))
    history = history_bytes(registry)
    process, marker = start_retrain(registry, air_csv, tmp_path, moment)
    try:
        wait_paused(process, marker)
    finally:
        process.kill()
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    assert_registry_valid(registry)
    now = set(list_versions(registry, NAME))
    staging = list((registry / NAME).glob(".staging-*"))
    if moment in ("training", "staged"):
        assert current_version(registry, NAME) == champion and now == versions
        assert len(staging) == (1 if moment == "staged" else 0)  # hidden from the listing; a later run removes it
    else:
        (new,) = now - versions
        assert staging == [] and now == versions | {new}
        assert current_version(registry, NAME) == (champion if moment == "registered" else new)
    if moment in ("training", "staged"):
        assert history_bytes(registry) == history  # nothing to record before a version exists
    else:  # a promotion writes its line as "promoting" before it switches CURRENT (issue 15, item 14)
        (line,) = [r for r in read_history(registry, NAME) if r.get("decision") == "promoting"]
        assert line["current"] == new
    assert (
        main(["retrain", "--data", str(air_csv), "--registry", str(registry), "--lr", "10", "--epochs", "1"]) == 0
    )  # the next run works, and completes a killed run's line by what CURRENT says happened
    decisions = [r["decision"] for r in read_history(registry, NAME)]
    assert "promoting" not in decisions
    if moment == "registered":
        assert "abandoned" in decisions
    if moment == "switched":
        assert decisions.count("promoted") >= 1


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigterm_stops_cleanly_with_the_registry_unchanged(registry, air_csv, tmp_path):
    before = registry_files(registry)
    process, marker = start_retrain(registry, air_csv, tmp_path, "training")
    try:
        wait_paused(process, marker)
        process.terminate()
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "paxcast retrain: interrupted; the registry is unchanged\n" and out == ""
    assert registry_files(registry) == before
    assert list((tmp_path / "tmp").glob("paxcast-*")) == []  # its temporary work directory was removed
    assert_registry_valid(registry)


SWITCH_THEN_DIE = """
import os, signal, sys
import paxcast.training.retrain.run as retrain
real = retrain.set_current
def switch_then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the moment between CURRENT's switch and the history line
retrain.set_current = switch_then_die
from paxcast.service.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.timeout(180)
def test_sigkill_right_after_the_switch_leaves_the_promotion_in_the_history(registry, air_csv, tmp_path):
    champion = current_version(registry, NAME)
    command = [
        sys.executable,
        "-c",
        SWITCH_THEN_DIE,
        *forced_retrain(registry, air_csv),
    ]
    process = subprocess.run(
        command, env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=150
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    promoted = current_version(registry, NAME)
    assert promoted != champion
    (line,) = [r for r in read_history(registry, NAME) if r.get("current") == promoted]
    assert (
        line["decision"] == "promoting"
        and line["challenger"]["version"] == promoted
        and line["champion"]["version"] == champion
    )
    assert_registry_valid(registry)

    assert (
        main(["retrain", "--data", str(air_csv), "--registry", str(registry), "--lr", "10", "--epochs", "1"]) == 0
    )  # reconciles first
    first, second = read_history(registry, NAME)
    assert (
        first["decision"] == "promoted"
        and first["current"] == promoted
        and first["run"] == line["run"]
        and "reconciled" in first
    )
    assert second["event"] == "retrain" and second["decision"] in ("kept", "promoted")  # the weak champion may lose
