"""General monthly/quarterly models: short histories padded and masked, seasonal lags, the MASE checkpoint,
and `paxcast backtest --test` on an official split."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from paxcast.service.cli.main import main
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import DataError
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.intervals import SPREAD_FLOOR, window_scale
from paxcast.training.backtest.cuts import series_end, split_cut
from paxcast.training.data import Series, read_series
from paxcast.training.export import export_onnx, parity
from paxcast.training.metrics import score
from paxcast.training.network.ensemble import train_members
from paxcast.training.network.model import GlobalForecaster, WindowSampler
from paxcast.training.network.pipeline import resolve_global_config
from paxcast.training.network.train import train_global

PADDED = GlobalTrainConfig(window=36, horizon=12, season=12, min_history=24, seasonal_lags=3, hidden=8, features=2)


def test_monthly_and_quarterly_defaults_pad_two_seasons_read_every_season_and_pick_by_mase(monthly_split):
    monthly = resolve_global_config(read_series(monthly_split[0]), features=2)
    assert (monthly.window, monthly.horizon, monthly.season, monthly.min_history) == (72, 24, 12, 24)
    assert monthly.seasonal_lags == 6 and monthly.metric == "mase" and monthly.pads
    assert (monthly.augment, monthly.ensemble) == (0.1, 3)  # against the corpus' growth (docs/accuracy.md)
    assert monthly.scaling == "mase"  # windows in units of their own seasonal-naive error
    assert monthly.trend == "none"  # the drift input paid on quarterly series only (docs/accuracy.md)
    quarterly = resolve_global_config([Series("q", "2000-01-01", "QS", np.arange(40.0))], features=2)
    assert (quarterly.window, quarterly.horizon, quarterly.min_history, quarterly.seasonal_lags) == (24, 8, 8, 6)
    assert quarterly.scaling == "mase" and quarterly.trend == "drift" and quarterly.ensemble == 3


def trained_like(config: GlobalTrainConfig) -> GlobalForecaster:
    """A network whose head's last layer is no longer zero (untrained, the graph is seasonal naive)."""
    torch.manual_seed(0)
    model = GlobalForecaster(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


VARIANTS = [
    {"scaling": "level"},
    {"scaling": "mase"},
    {"scaling": "mase", "trend": "drift"},
]
IDS = ["level", "mase", "mase-drift"]


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_padding_is_masked_what_it_holds_and_where_the_history_starts_do_not_leak(variant):
    model = trained_like(PADDED.updated(**variant))
    padded = torch.from_numpy(noisy_windows(3, np.random.default_rng(3)))  # row 0: 12 months of padding
    calendar = torch.zeros(3, 48, 2)
    with torch.no_grad():
        out = model(padded, calendar)
        scaled = model(padded * 1000, calendar)
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(scaled.numpy(), out.numpy() * 1000, rtol=1e-4)  # scale-free with padding too


def noisy_windows(rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, 36) monthly windows: seasonal, trending, noisy, at very different levels; NaN padding in some."""
    t = np.arange(36)
    level = 10.0 ** rng.uniform(-2, 6, (rows, 1))
    shape = 1 + 0.2 * np.sin(t * np.pi / 6) + rng.uniform(-0.02, 0.02, (rows, 1)) * t + rng.normal(0, 0.05, (rows, 36))
    history = (level * shape).astype(np.float32)
    history[::3, :12] = np.nan
    return history


def test_mase_scaling_divides_by_the_window_scale_the_loss_and_the_intervals_use():
    model = GlobalForecaster(PADDED.updated(scaling="mase"))
    history = noisy_windows(9, np.random.default_rng(1))
    history[1] = 250.0  # constant: both floor the spread at SPREAD_FLOOR x the level, so its band is not 0 wide
    observed = ~np.isnan(history)
    zeroed = torch.from_numpy(np.nan_to_num(history))
    level = zeroed.abs().sum(dim=1, keepdim=True) / torch.from_numpy(observed.sum(axis=1, keepdims=True))
    spread = model.seasonal_spread(zeroed, torch.from_numpy(observed), level).numpy()
    np.testing.assert_allclose(spread, window_scale(history, "mase", 12, 1e-6), rtol=1e-5)
    assert window_scale(history, "mase", 12, 1e-6)[1, 0] == pytest.approx(SPREAD_FLOOR * 250.0)


def test_mase_scaled_network_untrained_is_seasonal_naive_and_a_periodic_window_stays_finite():
    model = GlobalForecaster(PADDED.updated(scaling="mase")).eval()
    history = noisy_windows(6, np.random.default_rng(2))
    with torch.no_grad():
        out = model(torch.from_numpy(history), torch.zeros(6, 48, 2)).numpy()
    np.testing.assert_allclose(out, history[:, 24:36], rtol=1e-5)
    # No seasonal-naive error at all: the spread is its floor, 1e-3 x the level (not eps, which would scale
    # such a window's values to ~1e35), and the graph stays scale-free there, for small and huge values alike.
    periodic = torch.from_numpy(np.tile(1 + 0.2 * np.sin(np.arange(12) * np.pi / 6), 3)[None].astype(np.float32))
    level = periodic.abs().mean(dim=1, keepdim=True)
    assert model.seasonal_spread(periodic, None, level).item() == pytest.approx(SPREAD_FLOOR * level.item())
    trained = trained_like(PADDED.updated(scaling="mase"))
    with torch.no_grad():
        out = trained(periodic, torch.zeros(1, 48, 2))
        for factor in (1e-3, 1e30):  # above the eps floor (1e-6) of the level
            np.testing.assert_allclose(trained(periodic * factor, torch.zeros(1, 48, 2)), out * factor, rtol=1e-4)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_onnx_graph_takes_padded_rows_like_torch(tmp_path, variant):
    model = trained_like(PADDED.updated(**variant))
    path = export_onnx(model, tmp_path / "model.onnx", model.config)
    history = noisy_windows(3, np.random.default_rng(4))  # row 0: 24 values posted to a 36-value window
    history[1, :1] = np.nan
    assert parity(model, path, history, np.zeros((3, 48, 2), np.float32)) < 1e-4


def test_the_drift_input_is_the_windows_mean_seasonal_change_and_untrained_the_graph_is_still_seasonal_naive():
    model = GlobalForecaster(PADDED.updated(scaling="mase", trend="drift")).eval()
    t = np.arange(36, dtype=np.float32)
    history = np.stack([500 + 50 * np.sin(t * np.pi / 6) + 2 * t, 500 + 50 * np.sin(t * np.pi / 6) - 2 * t])
    history[1, :12] = np.nan  # padded: only the observed pairs count
    x = torch.from_numpy(history.astype(np.float32))
    observed = ~torch.isnan(x)
    # +-24 a season, every season alike: the drift is +-1 seasonal-naive MAE, the spread it is scaled by.
    scaled = torch.nan_to_num(x) / 24.0
    np.testing.assert_allclose(model.seasonal_drift(scaled, observed).squeeze(1).numpy(), [1.0, -1.0], rtol=1e-5)
    np.testing.assert_array_equal(model.seasons_ahead.numpy(), np.ones(12))  # horizon 12: one season ahead
    with torch.no_grad():
        out = model(x, torch.zeros(2, 48, 2)).numpy()
    np.testing.assert_allclose(out, history[:, 24:36], rtol=1e-5)  # the head's last layer starts at zero


def test_seasonal_naive_plus_the_drift_input_continues_a_linear_trend_over_a_horizon_of_two_seasons():
    config = GlobalTrainConfig(window=24, horizon=8, season=4, min_history=8, features=2, trend="drift")
    model = GlobalForecaster(config)
    # Each horizon step copies a value `seasons_ahead` seasons back: 1 for the first season, 2 for the second.
    np.testing.assert_array_equal(model.seasons_ahead.numpy(), [1, 1, 1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(config.window + np.arange(8) - model.lag_index.numpy(), 4 * model.seasons_ahead)
    line = torch.arange(32.0)[None] * 3 + 100  # 12 a season
    history = line[:, :24].clone()
    history[:, :10] = float("nan")  # padded
    observed = ~torch.isnan(history)
    naive = torch.nan_to_num(history)[:, model.lag_index]
    drift = model.seasonal_drift(torch.nan_to_num(history), observed) * model.seasons_ahead
    np.testing.assert_allclose((naive + drift).numpy(), line[:, 24:].numpy())


def test_sampler_pads_short_series_and_truncates_some_windows_never_below_min_history():
    values = [np.arange(1.0, 41.0), np.arange(1.0, 201.0)]  # 40 months: shorter than window + horizon (48)
    sampler = WindowSampler(values, [12, 12], np.zeros((300, 2), np.float32), 36, 12, seed=0, min_history=24)
    assert list(sampler.usable) == [0, 1]
    history, _, target = sampler.sample(512)
    observed = np.isfinite(history).sum(axis=1)
    assert observed.min() >= 24 and (observed < 36).mean() > 0.2  # padded windows are common, not rare
    for row in history:  # padding only before the first value, never a gap inside
        first = np.flatnonzero(np.isfinite(row))[0]
        assert np.isfinite(row[first:]).all()
    assert np.isfinite(target).all()


def test_growth_tilt_reaches_the_training_windows_and_zero_leaves_training_as_it_was(monthly_split):
    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(series, features=2, window=36, horizon=12, hidden=8, steps=20, eval_every=10)
    runs = [train_global(series, config.updated(augment=a), calendar, show_progress=False) for a in (0.0, 0.0, 0.2)]
    losses = [[row["loss"] for row in run.log] for run in runs]
    assert losses[0] == losses[1]  # off: the same draws as before the flag existed, deterministic for a seed
    assert losses[2] != losses[0]


def test_an_ensemble_forecasts_its_members_mean_and_its_card_scores_that_mean(monthly_split, tmp_path):
    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(
        series, features=2, window=36, horizon=12, hidden=8, steps=20, eval_every=10, ensemble=2
    )
    result = train_members(series, config, calendar, show_progress=False)
    members = [train_global(series, config.updated(seed=k), calendar, show_progress=False) for k in (0, 1)]
    history, covariates = (torch.from_numpy(a) for a in (result.validation.history, result.validation.calendar))
    with torch.no_grad():
        mean = (members[0].model(history, covariates) + members[1].model(history, covariates)) / 2
        torch.testing.assert_close(result.model(history, covariates), mean)
    assert result.member_steps == [m.best_step for m in members]
    assert result.val_mase <= max(m.val_mase for m in members)  # the mean's MAE is at most the members' mean MAE
    path = export_onnx(result.model, tmp_path / "model.onnx", result.config)
    assert parity(result.model, path, result.validation.history, result.validation.calendar) < 1e-4


def test_split_cut_takes_each_series_history_end_and_refuses_a_test_that_does_not_follow(monthly_split, tmp_path):
    train, test = read_series(monthly_split[0]), read_series(monthly_split[1])
    c = split_cut(train, test, "test.csv", shortest=24, season=12)
    assert c.label == "test split" and c.actuals.shape == (6, 12)
    ends = [c.end(k) for k in range(len(c.ids))]
    assert ends == [series_end(s) for s in train] and len(set(ends)) == len(ends)  # each series its own end
    shifted = tmp_path / "test.csv"
    lines = monthly_split[1].read_text().splitlines()
    shifted.write_text("\n".join([lines[0]] + [line.replace("M0,2008-", "M0,2009-") for line in lines[1:]]) + "\n")
    with pytest.raises(DataError, match="series 'M0' starts 2009-01-01; its training history ends"):
        split_cut(train, read_series(shifted), "test.csv", shortest=24, season=12)


@pytest.mark.slow
def test_backtest_on_a_test_file_scores_the_served_general_model_and_its_peers(monthly_split, tmp_path, capsys):
    out = tmp_path / "bt.json"
    argv = ["backtest", "--data", str(monthly_split[0]), "--test", str(monthly_split[1]), "--steps", "30"]
    argv += ["--hidden", "8", "--window", "36", "--peers", "SeasonalNaive,AutoETS", "--json", str(out)]
    argv += ["--plot", str(tmp_path / "bt.png")]
    assert main(argv) == 0
    document = json.loads(out.read_text())
    assert document["splits"].startswith("the test file's split")
    (origin,) = document["origins"]
    assert origin["scored"] == 6  # the 30-month series too: posted as 30 values, padded by the service
    for method in ("paxcast global LSTM", "SeasonalNaive", "AutoETS"):
        metrics = document["summary"][method]
        assert metrics["mape"] > 0 and metrics["mase"] > 0 and metrics["points"] == 72
    ours = document["summary"]["paxcast global LSTM"]
    assert len(ours["coverage80_by_step"]) == 12  # six series, one value a step: the pooled figure is their mean
    assert np.mean(ours["coverage80_by_step"]) == pytest.approx(ours["coverage80"], abs=0.01)
    printed = capsys.readouterr().out
    assert "MAPE%" in printed
    low = min(ours["coverage80_by_step"])
    assert f"  paxcast global LSTM  80%: {low:.1f} (step {ours['coverage80_by_step'].index(low) + 1}) to" in printed


def test_coverage_by_step_counts_observed_actuals_only_and_a_step_without_any_is_null():
    actuals = np.array([[1.0, 2.0, np.nan], [1.0, np.nan, np.nan]])
    mean, lower = np.zeros_like(actuals), np.zeros_like(actuals)
    upper = np.array([[2.0, 1.0, 9.0], [0.5, 9.0, 9.0]])
    scores = score(actuals, mean, np.ones(2), {80: (lower, upper)})
    assert scores["coverage80_by_step"] == [50.0, 0.0, None]
    assert scores["coverage80"] == pytest.approx(100 / 3)


@pytest.mark.parametrize(
    ("fixture", "name", "score"),
    [("general_registry", "general_monthly", "MASE "), ("global_registry", "stations", "WAPE ")],
)
def test_models_list_shows_the_score_that_chose_each_global_version(request, capsys, fixture, name, score):
    registry = request.getfixturevalue(fixture)
    assert main(["models", "list", "--registry", str(registry), "--name", name]) == 0
    assert score in capsys.readouterr().out  # global cards have no MAPE: this used to be a TypeError traceback


def test_mase_scaling_without_padding_is_seasonal_naive_untrained_and_exports(tmp_path):
    unpadded = PADDED.updated(scaling="mase", min_history=None)  # `--scaling mase` on a station model
    history = noisy_windows(4, np.random.default_rng(5))
    history[::3, :12] = 1.0  # no padding in an unpadded graph
    with torch.no_grad():
        out = GlobalForecaster(unpadded).eval()(torch.from_numpy(history), torch.zeros(4, 48, 2)).numpy()
    np.testing.assert_allclose(out, history[:, 24:36], rtol=1e-5)
    model = trained_like(unpadded)
    assert (
        parity(
            model, export_onnx(model, tmp_path / "model.onnx", model.config), history, np.zeros((4, 48, 2), np.float32)
        )
        < 1e-4
    )


def test_patience_ends_training_after_steps_without_a_better_score_and_keeps_the_best(monthly_split):
    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(series, features=2, window=36, horizon=12, hidden=8, steps=60, eval_every=10)
    assert config.patience_steps == 1000  # the monthly/quarterly default; stations train every step
    stalled = config.updated(lr=1e-12)  # no step can do better than the untrained network: best stays at step 0
    full = train_global(series, stalled.updated(patience_steps=None), calendar, show_progress=False)
    patient = train_global(series, stalled.updated(patience_steps=20), calendar, show_progress=False)
    assert full.log[-1]["step"] == 60 and patient.best_step == full.best_step == 0
    assert patient.log[-1]["step"] == 20 and patient.windows_drawn == 20 * config.batch_size
    assert patient.log == full.log[:2]  # the same run, cut short: deterministic per seed
    torch.testing.assert_close(patient.model.state_dict(), full.model.state_dict())  # both keep step 0


def test_data_parallel_workers_agree_on_stopping_through_an_all_reduce(tmp_path):
    import torch.distributed as dist

    from paxcast.training.network.fit import Shard

    assert Shard().agree(True) and not Shard().agree(False)  # one process: its own verdict
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:  # the all-reduce path, on a one-process group: MAX of one flag is that flag
        assert Shard(rank=0, world=2).agree(True) and not Shard(rank=0, world=2).agree(False)
    finally:
        dist.destroy_process_group()


def test_dropout_changes_training_only_and_the_exported_graph_is_the_same_as_without(tmp_path):
    plain = trained_like(PADDED)
    dropped = GlobalForecaster(PADDED.updated(dropout=0.5))
    dropped.load_state_dict(plain.state_dict())
    history = np.linspace(50, 150, 4 * 36, dtype=np.float32).reshape(4, 36)
    x, covariates = torch.from_numpy(history), torch.zeros(4, 48, 2)
    with torch.no_grad():
        assert not torch.equal(dropped.train()(x, covariates), dropped(x, covariates))  # a new mask each pass
        torch.testing.assert_close(dropped.eval()(x, covariates), plain.eval()(x, covariates), rtol=0, atol=0)
    import onnx

    graphs = [onnx.load(export_onnx(m, tmp_path / f"{k}.onnx", m.config)) for k, m in enumerate((plain, dropped))]
    assert [n.op_type for n in graphs[0].graph.node] == [n.op_type for n in graphs[1].graph.node]


def test_weight_decay_trains_with_adamw_and_zero_is_plain_adam(monthly_split):
    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(series, features=2, window=36, horizon=12, hidden=8, steps=20, eval_every=10)
    plain = train_global(series, config, calendar, show_progress=False)
    again = train_global(series, config.updated(weight_decay=0.0), calendar, show_progress=False)
    decayed = train_global(series, config.updated(weight_decay=0.5), calendar, show_progress=False)
    assert [row["loss"] for row in again.log] == [row["loss"] for row in plain.log]
    assert [row["loss"] for row in decayed.log] != [row["loss"] for row in plain.log]


def test_the_scored_validation_forecast_is_what_the_kept_network_forecasts(monthly_split):
    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(series, features=2, window=36, horizon=12, hidden=8, steps=30, eval_every=10)
    result = train_global(series, config, calendar, show_progress=False)
    assert result.best_step > 0  # a trained checkpoint, not step 0's seasonal naive
    history, covariates = (torch.from_numpy(a) for a in (result.validation.history, result.validation.calendar))
    with torch.no_grad():
        served = result.model(history, covariates).numpy()
    np.testing.assert_array_equal(served, result.validation_forecast)


def test_the_training_sampler_never_draws_the_held_out_last_values_of_a_series(monthly_split):
    from paxcast.training.network.fit import LOCAL, window_sampler
    from paxcast.training.network.windows import timeline

    series, calendar = read_series(monthly_split[0]), Calendar("MS")
    config = resolve_global_config(series, features=2, window=36, horizon=12, hidden=8)
    line = timeline(series, calendar, config.horizon, lead=config.window - config.shortest)
    newest = np.concatenate([s.y[-config.horizon :] for s in series]).astype(np.float32)
    newest = newest[newest > 0]  # one series has a zero every January, in its training values too
    for held_out, reached in ((config.horizon, False), (0, True)):  # with nothing held out, they are drawn
        _, _, target = window_sampler(series, line, config, LOCAL, held_out).sample(4096)
        assert np.isin(newest, target).any() == reached
