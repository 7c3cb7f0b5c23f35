"""A version the service would refuse is refused by rollback and at start-up too, with one line naming the check.

One load check (paxcast.service.inference.predictor.Predictor.load) guards every way a version
can become current: registration, retrain, rollback, start-up and hot reload.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from paxcast.service.cli.main import main
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.registry import current_version
from tests.serving import free_port, serve_until_it_exits

NAME = "air_passengers"
BAD = "29990101T000000Z"


def graph(
    input_name: str = "history", fill: float | None = None, window: int = 24, horizon: int = 12
) -> onnx.ModelProto:
    """history (batch, window) -> forecast (batch, horizon): the first `horizon` values, times `fill` if given."""
    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [horizon])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node(
            "Slice", [input_name, "starts", "ends", "axes"], ["sliced" if fill is not None else "forecast"]
        )
    ]
    inits = [starts, ends, axes]
    if fill is not None:
        inits.append(helper.make_tensor("fill", TensorProto.FLOAT, [], [fill]))
        nodes.append(helper.make_node("Mul", ["sliced", "fill"], ["forecast"]))
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "damaged",
            [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", window])],
            [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", horizon])],
            inits,
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    return model


def nan_output(target, card):
    onnx.save(graph(fill=float("nan")), target / "model.onnx")
    card["onnx_sha256"] = sha256_of(target / "model.onnx")


def wrong_input_name(target, card):
    onnx.save(graph(input_name="x"), target / "model.onnx")
    card["onnx_sha256"] = sha256_of(target / "model.onnx")


def window_not_a_number(target, card):
    card["window"] = card["hyperparameters"]["window"] = "abc"


def huge_window(target, card):
    card["window"] = card["hyperparameters"]["window"] = 10**12


def other_version(target, card):
    card["version"] = "20000101T000000Z"  # the folder says BAD


def add_damaged_version(registry, damage):
    base = registry / NAME
    target = base / BAD
    shutil.copytree(base / current_version(registry, NAME), target)
    card = json.loads((target / "model.json").read_text())
    card["version"] = BAD
    damage(target, card)
    (target / "model.json").write_text(json.dumps(card))
    return target


DAMAGES = [
    (nan_output, "probe forecast gave shape (2, 12), finite=False"),
    (wrong_input_name, "graph has inputs ['x'] and outputs ['forecast']; expected ['history'] -> ['forecast']"),
    (
        window_not_a_number,
        "model.json: hyperparameters.window: Input should be a valid integer, unable to parse string as an integer",
    ),
    (huge_window, "model.json: hyperparameters.window: Input should be less than or equal to 10000"),
    (other_version, f"model.json: names version '20000101T000000Z' but lives in '{BAD}'"),
]
IDS = ["nan-output", "wrong-input-name", "window-abc", "window-1e12", "version-mismatch"]


@pytest.mark.parametrize("damage, rule", DAMAGES, ids=IDS)
def test_rollback_refuses_what_the_service_would_refuse(registry, capsys, damage, rule):
    before = current_version(registry, NAME)
    add_damaged_version(registry, damage)
    assert main(["models", "rollback", BAD, "--registry", str(registry)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("paxcast models: ") and rule in err
    assert current_version(registry, NAME) == before


def test_rollback_refuses_a_version_folder_that_links_out_of_the_registry(registry, tmp_path, capsys):
    before = current_version(registry, NAME)
    outside = tmp_path / "elsewhere"
    shutil.copytree(registry / NAME / before, outside)
    card = json.loads((outside / "model.json").read_text())
    (outside / "model.json").write_text(json.dumps({**card, "version": BAD}))
    os.symlink(outside, registry / NAME / BAD)
    assert main(["models", "rollback", BAD, "--registry", str(registry)]) == 1
    assert (
        capsys.readouterr().err == f"paxcast models: {registry / NAME / BAD}: is a symbolic link; "
        "a version must be a directory inside the registry\n"
    )
    assert current_version(registry, NAME) == before


def serve_once(registry) -> subprocess.CompletedProcess:
    return serve_until_it_exits(registry, PAXCAST_PORT=str(free_port()))  # a free port: the card check must fail


@pytest.mark.e2e  # a real `paxcast serve` process (that refuses to start)
@pytest.mark.parametrize("damage, rule", [DAMAGES[3]], ids=["window-1e12"])
def test_start_up_with_a_broken_card_is_one_line(registry, damage, rule):
    target = add_damaged_version(registry, damage)
    (registry / NAME / "CURRENT").write_text(f"{BAD}\n")
    result = serve_once(registry)
    assert result.returncode == 1
    assert (
        result.stderr == f"paxcast serve: no model in {registry} loads: version {BAD} refused: "
        f"{target.relative_to(registry) / 'model.json'}: "
        "hyperparameters.window: Input should be less than or equal to 10000\n"
    )


@pytest.mark.e2e
def test_start_up_with_a_current_that_is_not_utf8_names_the_file(registry):
    (registry / NAME / "CURRENT").write_bytes(b"\xff\xfe\x00bad\n")
    result = serve_once(registry)
    assert result.returncode == 1
    assert (
        result.stderr == f"paxcast serve: no model in {registry} loads: {NAME}/CURRENT: is not UTF-8 text; "
        "it must hold one version id\n"
    )


def test_the_graph_builder_makes_a_servable_graph(registry):
    """The damaged graphs above differ from a good one only in the damage."""
    from paxcast.service.inference.predictor import Predictor

    target = add_damaged_version(
        registry,
        lambda target, card: (
            onnx.save(graph(), target / "model.onnx"),
            card.update(onnx_sha256=sha256_of(target / "model.onnx")),
        ),
    )
    predictor = Predictor.load(target)
    x = np.arange(48, dtype=np.float32).reshape(2, 24)
    np.testing.assert_array_equal(predictor.predict(x, 12), x[:, :12])
