"""The global, calendar-aware forecaster: one network for every station of a network, or for any series.

`GlobalForecaster` maps `history (B, W)` and `calendar (B, W+H, F)` (the future-known covariates
of `paxcast.service.core.covariates` for the history and the horizon) to `forecast (B, H)`. It scales
each window by its mean |value| (zeros allowed; `scaling="level"`, the station models) or centres it
and divides it by its seasonal-naive MAE (`scaling="mase"`, the general models), encodes the history
and its covariates with an LSTM, and a per-step MLP head that sees the encoding, the horizon's
covariates and a naive baseline (lag `base_lag`, by default the season, or the mean or median of the last
`base_seasons` seasons' same step; and, with `trend="drift"`, the window's
mean seasonal change times the seasons ahead) adds a correction to that baseline. The head's last layer starts at
zero, so the untrained network *is* that naive (seasonal naive unless validation chose another lag).
`WindowSampler` draws training windows uniformly per series (no station dominates) without materialising them all.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.intervals import SPREAD_FLOOR


class GlobalForecaster(nn.Module):
    def __init__(self, config: GlobalTrainConfig):
        super().__init__()
        c = self.config = config
        masks = int(c.pads)  # a padded graph reads, beside each value, whether it was observed
        # The encoder steps through the history one segment of `patch` values at a time (SegRNN, Lin et al.
        # 2023): two weeks of hours are 14 recurrent steps of 24 values instead of 336 steps of one.
        # Scaled by seasonal-naive MAE, the encoder reads the window scaled by its level too: two views of a window.
        channels = 1 + masks + (c.scaling == "mase")
        self.encoder = nn.LSTM(c.patch * channels + c.features, c.hidden, num_layers=c.layers, batch_first=True)
        # Scaled by seasonal-naive MAE, the head also reads that MAE over the level: how noisy the series is,
        # and so how close to zero a non-negative series sits, which centring and scaling hide.
        head_in = c.hidden + c.features + 1 + c.seasonal_lags * (1 + masks) + (c.scaling == "mase")
        head_in += c.trend == "drift"
        # One output per step: the correction to seasonal naive.
        self.head = nn.Sequential(nn.Linear(head_in, c.hidden), nn.ReLU(), nn.Linear(c.hidden, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        reps = -(-c.horizon // c.season)
        # Which history position each horizon step copies: the same weekday (month) of the last season.
        lag_index = torch.arange(c.window - c.season, c.window).repeat(reps)[: c.horizon]
        self.register_buffer("lag_index", lag_index, persistent=False)
        # The naive the head corrects: the same hour (day, month) `base` steps back, the season unless validation
        # chose another lag (issue 32: yesterday's hour, after a month of hourly data).
        base_reps = -(-c.horizon // c.base)
        base_index = torch.arange(c.window - c.base, c.window).repeat(base_reps)[: c.horizon]
        self.register_buffer("base_index", base_index, persistent=False)
        # Or the same step in each of the last `base_seasons` seasons, (H, seasons), newest first: averaged.
        seasons_back = c.season * torch.arange(c.base_seasons or 1)
        self.register_buffer("base_seasons_index", lag_index[:, None] - seasons_back, persistent=False)
        # How many seasons back each horizon step's copy lies: the drift's multiplier.
        self.register_buffer("seasons_ahead", torch.arange(c.horizon) // c.season + 1.0, persistent=False)
        # And the same position in each of the last `seasonal_lags` seasons: (H, lags). The head weighs
        # them, so it can average out one noisy year, which seasonal naive copies.
        self.register_buffer(
            "lags_index", lag_index[:, None] - c.season * torch.arange(c.seasonal_lags), persistent=False
        )

    def forward(self, history: torch.Tensor, calendar: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.pads:  # NaN marks the padding before a short history's first value
            observed = ~torch.isnan(history)  # (B, W)
            history = torch.where(observed, history, torch.zeros_like(history))
            count = observed.sum(dim=1, keepdim=True).to(history.dtype)
        else:
            observed, count = None, torch.full_like(history[:, :1], history.shape[1])
        level = (history.abs().sum(dim=1, keepdim=True) / count).clamp_min(c.eps)  # (B, 1) mean |value|
        if c.scaling == "mase":
            centre, scale = history.sum(dim=1, keepdim=True) / count, self.seasonal_spread(history, observed, level)
            x = (history - centre) / scale
            if observed is not None:  # the padding stays 0, whatever the centre
                x = torch.where(observed, x, torch.zeros_like(x))
        else:
            centre, scale = torch.zeros_like(level), level
            x = history / level  # (B, W)
        base = self.naive(x, observed, calendar)  # (B, H) the naive the head corrects, scaled
        past, future = calendar[:, : c.window], calendar[:, c.window :]  # (B, W, F), (B, H, F)
        segments = c.window // c.patch
        values = [x.reshape(-1, segments, c.patch)]  # (B, S, patch)
        if c.pads:
            values.append(observed.to(x.dtype).reshape(-1, segments, c.patch))
        if c.scaling == "mase":
            values.append((history / level).reshape(-1, segments, c.patch))
        # Each segment's covariates are those of its last step (a segment's weekday, hour and holiday flags).
        marks = past[:, c.patch - 1 :: c.patch]  # (B, S, F)
        _, (h, _) = self.encoder(torch.cat([*values, marks], dim=-1))
        summary = h[-1]  # (B, hidden)
        if c.dropout:  # the identity in eval mode, so the exported graph never sees it
            summary = nn.functional.dropout(summary, c.dropout, self.training)
        context = summary.unsqueeze(1).expand(-1, c.horizon, -1)  # (B, H, hidden)
        head_in = [context, future, base.unsqueeze(-1)]
        if c.seasonal_lags:
            head_in.append(x[:, self.lags_index])  # (B, H, lags)
            if c.pads:
                head_in.append(observed[:, self.lags_index].to(x.dtype))
        if c.scaling == "mase":
            head_in.append((scale / level).unsqueeze(1).expand(-1, c.horizon, -1))  # (B, H, 1)
        if c.trend == "drift":
            head_in.append((self.seasonal_drift(x, observed) * self.seasons_ahead).unsqueeze(-1))  # (B, H, 1)
        correction = self.head(torch.cat(head_in, dim=-1)).squeeze(-1)  # (B, H)
        return (base + correction) * scale + centre

    def naive(self, x: torch.Tensor, observed: torch.Tensor | None, calendar: torch.Tensor) -> torch.Tensor:
        """(B, H): the value `base` steps before each horizon step, or with `base_seasons` the mean (median) of the
        same step in the last seasons that the window observed (and, with `base_day_type`, whose day type is the
        horizon step's, unless none is). The newest season is always observed (a history holds at least one
        season), so a step always has a value."""
        c = self.config
        if c.base_seasons is None:
            return x[:, self.base_index]
        values = x[:, self.base_seasons_index]  # (B, H, seasons), padding at 0
        seen = torch.ones_like(values) if observed is None else observed[:, self.base_seasons_index].to(x.dtype)
        if c.base_day_type is not None:
            day_type = calendar[:, :, c.base_day_type]  # (B, W+H)
            same = (day_type[:, self.base_seasons_index] == day_type[:, c.window :].unsqueeze(-1)).to(x.dtype)
            alike = seen * same  # (B, H, seasons)
            seen = torch.where(alike.sum(dim=-1, keepdim=True) > 0, alike, seen)
        mean = (values * seen).sum(dim=-1) / seen.sum(dim=-1).clamp_min(1.0)  # (B, H)
        if c.base_statistic == "mean":
            return mean
        # The median of three as min/max (exportable, unlike torch.median over a masked axis): a missing season
        # is set to the mean of the observed ones, which leaves the median of the rest (two: their mean; one: it).
        filled = torch.where(seen > 0, values, mean.unsqueeze(-1))
        a, b, d = filled.unbind(dim=-1)
        return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), d))

    def seasonal_drift(self, x: torch.Tensor, observed: torch.Tensor | None) -> torch.Tensor:
        """(B, 1) mean x[t] - x[t - season] over observed pairs of the scaled window: a season's trend."""
        return self.seasonal_mean(x, observed, signed=True)

    def seasonal_spread(self, history: torch.Tensor, observed: torch.Tensor | None, level: torch.Tensor):
        """(B, 1) mean |x[t] - x[t - season]| over observed pairs, as `intervals.window_scale("mase")` computes
        it, floored at SPREAD_FLOOR x the level: a perfectly periodic window has no seasonal-naive error, and
        dividing by the `eps` floor alone would blow its values up towards float32's limit."""
        return torch.maximum(self.seasonal_mean(history, observed, signed=False), SPREAD_FLOOR * level)

    def seasonal_mean(self, x: torch.Tensor, observed: torch.Tensor | None, signed: bool) -> torch.Tensor:
        """(B, 1) mean of x[t] - x[t - season] (or its |value|) over the pairs whose both values were observed;
        0 for a window with no such pair."""
        s = self.config.season
        diffs = x[:, s:] - x[:, :-s]
        diffs = diffs if signed else diffs.abs()
        if observed is None:
            return diffs.mean(dim=1, keepdim=True)
        pairs = (observed[:, s:] & observed[:, :-s]).to(x.dtype)
        return (diffs * pairs).sum(dim=1, keepdim=True) / pairs.sum(dim=1, keepdim=True).clamp_min(1.0)


class GlobalEnsemble(nn.Module):
    """Members of one config trained from different seeds; the graph forecasts their mean."""

    def __init__(self, members: list[GlobalForecaster]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, history: torch.Tensor, calendar: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(history, calendar) for member in self.members]).mean(dim=0)  # (B, H)


class WindowSampler:
    """Training windows drawn uniformly per series, then uniformly in time within it.

    Args:
        values: one (t_i,) float array per series (NaN = missing).
        offsets: each series' first timestamp as an index into `calendar`, which starts at least
            `window - min_history` steps before the earliest series (the padding's calendar).
        calendar: (T, F) float32 covariates of the whole timeline the series share.
        min_history: below the window, windows may start before a series' first value (NaN-padded),
            and a `truncate` share of the others is cut to a random length of at least `min_history`,
            so the graph learns the short histories the service will pad.
    A window whose history has a gap after its padding is padded up to the gap when at least `min_history` values
    follow it (what a service user posting the part after a gap sends), else redrawn; NaN targets stay NaN (masked
    in the loss).
    """

    def __init__(
        self,
        values: list[np.ndarray],
        offsets: list[int],
        calendar: np.ndarray,
        window: int,
        horizon: int,
        seed: int = 0,
        min_history: int | None = None,
        truncate: float = 0.25,
    ):
        self.values, self.offsets, self.calendar = values, np.asarray(offsets), calendar
        self.window, self.horizon = window, horizon
        self.pad = window - (min_history or window)  # how far before a series' start a window may begin
        self.truncate = truncate if self.pad else 0.0
        self.last_start = np.array([len(v) - window - horizon for v in values])
        self.usable = np.flatnonzero(self.last_start >= -self.pad)
        if not len(self.usable):
            raise ValueError(f"no series has {window - self.pad + horizon} values for one window")
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """history (batch, W), calendar (batch, W+H, F), target (batch, H)."""
        W, H = self.window, self.horizon
        history, calendar, target = (
            np.empty((batch, W), np.float32),
            np.empty((batch, W + H, self.calendar.shape[1]), np.float32),
            np.empty((batch, H), np.float32),
        )
        filled = 0
        while filled < batch:
            k = self.rng.choice(self.usable)
            t = int(self.rng.integers(-self.pad, self.last_start[k] + 1))
            piece = np.full(W + H, np.nan, np.float32)
            piece[max(0, -t) :] = self.values[k][max(t, 0) : t + W + H]
            padding = max(0, -t)
            rows = self.calendar[self.offsets[k] + t : self.offsets[k] + t + W + H]
            if self.truncate and self.rng.random() < self.truncate:
                padding = max(padding, int(self.rng.integers(1, self.pad + 1)))
                piece[:padding] = np.nan
            gaps = np.flatnonzero(np.isnan(piece[padding:W]))
            if len(gaps):
                # A padded graph takes what follows the gap as a short history; an unpadded one redraws.
                padding += int(gaps[-1]) + 1
                if padding > self.pad:
                    continue
                piece[:padding] = np.nan
            history[filled], target[filled], calendar[filled] = piece[:W], piece[W:], rows
            filled += 1
        return history, calendar, target
