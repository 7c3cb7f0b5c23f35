import numpy as np
import pytest
import torch

from paxcast.service.core.hyperparameters import ForecasterConfig, TrainConfig
from paxcast.training.data import read_series
from paxcast.training.series.model import Ensemble, Forecaster, PeepholeCell
from paxcast.training.series.train import train


def seasonal_naive_with_drift(history: np.ndarray, window: int, season: int, horizon: int) -> np.ndarray:
    """Same season last cycle plus k times the mean per-cycle change over the last `window` values."""
    x = history[:, -window:]
    drift = (x[:, season:] - x[:, :-season]).mean(axis=1, keepdims=True)
    steps = np.arange(horizon)
    return x[:, window - season + steps % season] + (steps // season + 1) * drift


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
@pytest.mark.parametrize("layers", [1, 2])
def test_forecaster_reads_the_last_window_and_is_scale_free(cell, layers):
    config = ForecasterConfig(window=24, horizon=7, season=12, cell=cell, hidden=5, layers=layers)
    torch.manual_seed(0)
    history = torch.rand(3, 30) * 100 + 50
    untrained = Forecaster(config).eval()
    with torch.no_grad():
        expected = seasonal_naive_with_drift(history.double().numpy(), 24, 12, 7)
        np.testing.assert_allclose(untrained(history).double().numpy(), expected, rtol=1e-5)
        model = Forecaster(config).eval()
        torch.nn.init.normal_(model.head.weight)
        torch.nn.init.normal_(model.head.bias)
        out = model(history)
        assert out.shape == (3, 7)
        assert not torch.allclose(out, model.baseline_forecast(history))  # the encoder's correction is in it
        older = history.clone()
        older[:, :6] = 0  # before the window
        torch.testing.assert_close(model(older), out, rtol=0, atol=0)
        for c in (1e-3, 7.0, 1e4):  # each window is divided by its level inside the graph
            torch.testing.assert_close(model(c * history), c * out, rtol=1e-4, atol=1e-4 * c)


def test_peephole_cell_is_torchs_lstm_cell_plus_its_peepholes():
    """Without peepholes the cell is torch's LSTMCell; with them, Gers & Schmidhuber's gates: i and f read the
    old cell state, o the new one."""
    torch.manual_seed(0)
    reference, cell = torch.nn.LSTMCell(2, 5), PeepholeCell(2, 5)
    with torch.no_grad():
        cell.input_weights.weight.copy_(reference.weight_ih)
        cell.input_weights.bias.copy_(reference.bias_ih + reference.bias_hh)
        cell.hidden_weights.weight.copy_(reference.weight_hh)
        peeps = [cell.peep_i.clone(), cell.peep_f.clone(), cell.peep_o.clone()]
        for peep in (cell.peep_i, cell.peep_f, cell.peep_o):
            peep.zero_()
        x, h, c = torch.randn(4, 2), torch.randn(4, 5), torch.randn(4, 5)
        want_h, want_c = reference(x, (h, c))
        got_h, got_c = cell(x, h, c)
        torch.testing.assert_close(got_h, want_h)
        torch.testing.assert_close(got_c, want_c)

        for peep, value in zip((cell.peep_i, cell.peep_f, cell.peep_o), peeps, strict=True):
            peep.copy_(value)
        zi, zf, zg, zo = (
            x @ reference.weight_ih.T + reference.bias_ih + h @ reference.weight_hh.T + reference.bias_hh
        ).chunk(4, -1)
        new_c = torch.sigmoid(zf + peeps[1] * c) * c + torch.sigmoid(zi + peeps[0] * c) * torch.tanh(zg)
        new_h = torch.sigmoid(zo + peeps[2] * new_c) * torch.tanh(new_c)
        got_h, got_c = cell(x, h, c)
        torch.testing.assert_close(got_c, new_c)
        torch.testing.assert_close(got_h, new_h)


def test_untrained_forecaster_is_seasonal_naive_with_drift():
    history = torch.tensor([[10.0, 20, 30, 40, 12, 22, 32, 42]])  # two cycles of 4, each +2 on the last
    model = Forecaster(ForecasterConfig(window=8, horizon=6, season=4, hidden=3)).eval()
    expected = [12 + 2, 22 + 2, 32 + 2, 42 + 2, 12 + 4, 22 + 4]
    assert model(history)[0].tolist() == pytest.approx(expected, rel=1e-5)


def test_log_transform_forecasts_growth_multiplicatively():
    history = torch.tensor([[10.0, 20, 30, 40, 20, 40, 60, 80]])  # the second cycle doubles the first
    model = Forecaster(ForecasterConfig(window=8, horizon=5, season=4, hidden=3, transform="log")).eval()
    assert model(history)[0].tolist() == pytest.approx([40, 80, 120, 160, 80], rel=1e-5)


def test_ensemble_is_the_mean_of_its_members():
    config = ForecasterConfig(window=24, horizon=4, season=12, hidden=4)
    torch.manual_seed(0)
    members = [Forecaster(config).eval() for _ in range(3)]
    for m in members:
        torch.nn.init.normal_(m.head.weight)
    x = torch.rand(2, 24) * 100 + 50
    expected = torch.stack([m(x) for m in members]).mean(0)
    assert torch.allclose(Ensemble(members)(x), expected)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(cell="rnn"), r"--cell: Input should be 'lstm', 'gru' or 'peephole'$"),
        (dict(transform="sqrt"), r"--transform: Input should be 'none' or 'log'$"),
        (dict(window=12), r"^window \(12\) must exceed the season \(12\)$"),
        (dict(dropout=1.0), r"--dropout: Input should be less than 1$"),
        (dict(window=10**12), r"--window: Input should be less than or equal to 10000$"),
    ],
    ids=["cell", "transform", "window-within-season", "dropout", "huge-window"],
)
def test_config_rejects_impossible_settings_naming_the_flag(bad, message):
    from paxcast.service.core.exceptions import UsageError
    from paxcast.service.core.hyperparameters import make_config

    settings = dict(window=24, horizon=4, season=12) | bad
    with pytest.raises(UsageError, match=message):
        make_config(ForecasterConfig, **settings)


def test_training_is_deterministic(air_csv):
    series = read_series(air_csv)
    config = TrainConfig(window=24, horizon=6, season=12, hidden=8, epochs=8, patience=8, ensemble=2, seed=3)
    first, second = train(series, config, show_progress=False), train(series, config, show_progress=False)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = train(series, config.updated(seed=4), show_progress=False)
    x = torch.tensor(series[0].y[-24:], dtype=torch.float32)[None]
    assert not torch.equal(first.model(x), other.model(x))


def test_training_beats_its_zero_correction_baseline_on_the_validation_tail(air_csv):
    series = read_series(air_csv)
    result = train(
        series, TrainConfig(window=36, horizon=12, season=12, hidden=16, epochs=60, ensemble=1), show_progress=False
    )
    assert result.member_epochs[0] >= 1
    assert np.isfinite(result.val_mape)
    assert result.val_mape < result.baseline_val_mape
