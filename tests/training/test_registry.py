import json
import os

import pytest

from paxcast.service.core import publish as writer
from paxcast.service.core.contract import read_card, sha256_of
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.registry import current_version, list_versions
from paxcast.service.inference.predictor import Predictor, check_servable


def test_training_registers_a_complete_version(tiny_registry, air_csv):
    version = current_version(tiny_registry, "air_passengers")
    card = read_card(tiny_registry / "air_passengers" / version)
    assert (card.name, card.version, card.freq, card.season, card.cell) == ("air_passengers", version, "MS", 12, "lstm")
    assert card.data_sha256 == sha256_of(air_csv)
    assert card.validation.mape > 0
    written = json.loads((tiny_registry / "air_passengers" / version / "model.json").read_text())
    for key in (
        "name",
        "version",
        "created_at",
        "window",
        "horizon",
        "season",
        "freq",
        "cell",
        "hyperparameters",
        "data_sha256",
        "onnx_sha256",
        "validation",
    ):
        assert key in written, key


def test_current_switch_is_atomic_and_refuses_incomplete_versions(registry):
    base = registry / "air_passengers"
    (old,) = list_versions(registry, "air_passengers")
    (base / "broken").mkdir()
    (base / "broken" / "model.json").write_text("{}")
    with pytest.raises(ModelError, match=r"broken/model.json: name: Field required \(and \d+ more problems\)$"):
        writer.set_current(registry, "air_passengers", "broken", check=check_servable)
    assert current_version(registry, "air_passengers") == old
    assert not [p for p in base.iterdir() if p.name.startswith(".CURRENT")]


def test_interrupted_registration_leaves_nothing_visible(registry, tmp_path, monkeypatch):
    base = registry / "air_passengers"
    (old,) = list_versions(registry, "air_passengers")
    onnx_file = base / old / "model.onnx"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were interrupted mid-write

    card = read_card(base / old)
    with pytest.raises(KeyboardInterrupt):
        writer.register(
            registry,
            "air_passengers",
            onnx_file,
            lambda version, sha: card.model_copy(update={"version": version}),
            check=crash,
        )
    assert list_versions(registry, "air_passengers") == [old]
    assert current_version(registry, "air_passengers") == old
    assert not list(base.glob(".staging-*"))


def test_killed_run_leftovers_are_invisible_and_cleanable(registry):
    base = registry / "air_passengers"
    (base / ".staging-dead").mkdir()
    (base / ".staging-dead" / "model.onnx").write_bytes(b"half")
    assert len(list_versions(registry, "air_passengers")) == 1
    assert writer.clean_staging(registry, "air_passengers") == 1


def test_registered_version_is_served_and_hash_checked(registry):
    base = registry / "air_passengers"
    version = current_version(registry, "air_passengers")
    predictor = Predictor.load(base / version)
    assert predictor.version == version
    with open(base / version / "model.onnx", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelError, match="does not match model.json"):
        Predictor.load(base / version)


def test_current_written_with_rename(registry, monkeypatch):
    calls = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append((str(a), str(b))), real(a, b)))
    version = current_version(registry, "air_passengers")
    writer.set_current(registry, "air_passengers", version, check=check_servable)
    assert calls and calls[-1][1].endswith("CURRENT") and "/.CURRENT." in calls[-1][0]
    assert json.loads((registry / "air_passengers" / version / "model.json").read_text())["version"] == version


def test_a_first_version_that_fails_leaves_no_model_folder(registry, tmp_path):
    old = registry / "air_passengers" / current_version(registry, "air_passengers")
    card = read_card(old)

    def refuse(*args, **kwargs):
        raise ModelError("refused")

    with pytest.raises(ModelError):
        writer.register(
            tmp_path / "new",
            "fresh",
            old / "model.onnx",
            lambda v, sha: card.model_copy(update={"version": v}),
            check=refuse,
        )
    assert not (tmp_path / "new" / "fresh").exists()
