"""The served graph computes the textbook equations: ONNX (onnxruntime) vs a NumPy reference."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from paxcast.service.core.hyperparameters import TrainConfig
from paxcast.training.data import read_series
from paxcast.training.export import export_onnx, sample_histories
from paxcast.training.series import reference
from paxcast.training.series.model import PeepholeCell
from paxcast.training.series.train import train


def numpy_states(ensemble) -> list[dict]:
    return [{k: v.detach().double().numpy() for k, v in m.state_dict().items()} for m in ensemble.members]


@pytest.fixture(scope="module")
def air(air_csv):
    return read_series(air_csv)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize(
    "cell", ["lstm", "gru", pytest.param("peephole", marks=pytest.mark.slow)]
)  # its export is the slow one
def test_onnx_graph_equals_the_numpy_reference(air, cell, layers, tmp_path):
    config = TrainConfig(
        window=24,
        horizon=6,
        season=12,
        cell=cell,
        layers=layers,
        hidden=6,
        dropout=0.1 if layers > 1 else 0.0,
        epochs=6,
        patience=6,
        ensemble=2,
        seed=1,
    )
    result = train(air, config, show_progress=False)
    states = numpy_states(result.model)
    assert any(np.abs(s["head.weight"]).max() > 0 for s in states), "training moved the head off zero"
    path = export_onnx(result.model, tmp_path / "model.onnx", config)
    histories = sample_histories(air[0].y, config.window, 64, seed=7)
    (served,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        ["forecast"], {"history": histories}
    )
    expected = reference.ensemble_forecast(histories, states, config.model_dump())
    relative = np.abs(served - expected) / np.abs(expected).max(axis=1, keepdims=True)
    assert relative.max() < 1e-4


def test_lstm_step_by_hand():
    # Every pre-activation is 0.5·h + 0.5·x = 0.5 with h = 0, x = 1, all weights 0.5, biases 0.
    # i = f = o = σ(0.5) = 0.622459; C̃ = tanh(0.5) = 0.462117
    # C = f·0 + i·C̃ = 0.287649; h = o·tanh(C) = 0.622459·0.279966 = 0.174270
    W = {g: np.full((1, 2), 0.5) for g in "ifCo"}
    b = {g: np.zeros(1) for g in "ifCo"}
    h, c = reference.lstm_step(np.ones((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), W, b)
    assert c[0, 0] == pytest.approx(0.287649, abs=1e-6) and h[0, 0] == pytest.approx(0.174270, abs=1e-6)
    lstm = torch.nn.LSTMCell(1, 1)
    torch.nn.init.constant_(lstm.weight_ih, 0.5), torch.nn.init.constant_(lstm.weight_hh, 0.5)
    torch.nn.init.zeros_(lstm.bias_ih), torch.nn.init.zeros_(lstm.bias_hh)
    with torch.no_grad():
        th, tc = lstm(torch.ones(1, 1), (torch.zeros(1, 1), torch.zeros(1, 1)))
    assert (float(th), float(tc)) == pytest.approx((h[0, 0], c[0, 0]), abs=1e-6)


def test_peephole_step_by_hand():
    # C_prev = 0.5, h = 0, x = 1, weights 0.5, peepholes p = 1, biases 0.
    # i = f = σ(0.5 + 1·0.5) = σ(1) = 0.731059; C̃ = tanh(0.5) = 0.462117
    # C = 0.731059·0.5 + 0.731059·0.462117 = 0.703364
    # o = σ(0.5 + 1·C) = σ(1.203364) = 0.769097; h = o·tanh(C) = 0.769097·0.606517 = 0.466472
    W = {g: np.full((1, 2), 0.5) for g in "ifCo"}
    b = {g: np.zeros(1) for g in "ifCo"}
    peep = (np.ones(1), np.ones(1), np.ones(1))
    h, c = reference.lstm_step(np.ones((1, 1)), np.zeros((1, 1)), np.full((1, 1), 0.5), W, b, peep)
    assert c[0, 0] == pytest.approx(0.703364, abs=1e-6) and h[0, 0] == pytest.approx(0.466472, abs=1e-6)
    cell = PeepholeCell(1, 1)
    with torch.no_grad():
        for p in cell.parameters():
            p.fill_(0.5)
        cell.input_weights.bias.zero_()
        cell.peep_i.fill_(1), cell.peep_f.fill_(1), cell.peep_o.fill_(1)
        th, tc = cell(torch.ones(1, 1), torch.zeros(1, 1), torch.full((1, 1), 0.5))
    assert (float(th), float(tc)) == pytest.approx((h[0, 0], c[0, 0]), abs=1e-6)


def test_gru_step_by_hand():
    # h = 0.5, x = 1, weights 0.5, biases 0.
    # r = z = σ(0.5·0.5 + 0.5·1) = σ(0.75) = 0.679179
    # n = tanh(0.5·1 + r·(0.5·0.5)) = tanh(0.669795) = 0.584905
    # h' = (1 − z)·n + z·h = 0.320821·0.584905 + 0.679179·0.5 = 0.527220
    W = {"r": np.full((1, 2), 0.5), "z": np.full((1, 2), 0.5), "nx": np.full((1, 1), 0.5), "nh": np.full((1, 1), 0.5)}
    b = {k: np.zeros(1) for k in W}
    h = reference.gru_step(np.ones((1, 1)), np.full((1, 1), 0.5), W, b)
    assert h[0, 0] == pytest.approx(0.527220, abs=1e-6)
    gru = torch.nn.GRUCell(1, 1)
    torch.nn.init.constant_(gru.weight_ih, 0.5), torch.nn.init.constant_(gru.weight_hh, 0.5)
    torch.nn.init.zeros_(gru.bias_ih), torch.nn.init.zeros_(gru.bias_hh)
    with torch.no_grad():
        assert float(gru(torch.ones(1, 1), torch.full((1, 1), 0.5))) == pytest.approx(h[0, 0], abs=1e-6)
