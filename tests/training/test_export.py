import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from paxcast.service.core.hyperparameters import TrainConfig
from paxcast.training.data import read_series
from paxcast.training.export import export_onnx, parity, sample_histories
from paxcast.training.series.train import train


@pytest.fixture(scope="module")
def air(air_csv):
    return read_series(air_csv)


@pytest.fixture(scope="module", params=["none", "log"])
def exported(request, air, tmp_path_factory):
    config = TrainConfig(window=36, horizon=12, season=12, hidden=12, epochs=10, ensemble=2, transform=request.param)
    result = train(air, config, show_progress=False)
    path = export_onnx(result.model, tmp_path_factory.mktemp("onnx") / "model.onnx", config)
    return result.model, path


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_onnxruntime_matches_pytorch(exported, air, batch):
    model, path = exported
    histories = sample_histories(air[0].y, 36, batch, seed=batch)
    assert parity(model, path, histories) < 1e-4


def test_graph_passes_the_checker_and_has_the_contract_io(exported):
    _, path = exported
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    (inp,), (out,) = graph.graph.input, graph.graph.output
    assert inp.name == "history" and out.name == "forecast"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 36]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 12]


def test_one_graph_holds_preprocessing_and_ensemble(exported, air):
    """Raw passenger counts in, counts out: no scaling happens outside the graph."""
    model, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    history = air[0].y[-36:].astype(np.float32)[None]
    (forecast,) = session.run(["forecast"], {"history": history})
    with torch.no_grad():
        expected = torch.stack([m(torch.from_numpy(history)) for m in model.members]).mean(0).numpy()
    np.testing.assert_allclose(forecast, expected, rtol=1e-4)
    assert 250 < forecast.mean() < 700  # the same order of magnitude as the last three years (mean 428)
