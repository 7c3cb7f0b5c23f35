"""The forecaster: preprocessing, a recurrent encoder and its inverse transform in one module.

The module *is* the exported graph: `history` (batch, window) in original units in,
`forecast` (batch, horizon) in original units out. The network predicts only a
correction to a seasonal-naive-with-drift forecast ("same season last cycle plus
k times the mean per-cycle change over the window"); its head starts at zero, so an
untrained forecaster *is* that baseline and training has to earn every change.
"""

from __future__ import annotations

import torch
from torch import nn

from paxcast.service.core.hyperparameters import CELLS, ForecasterConfig

N_FEATURES = 2  # seasonal change, position within the window

__all__ = ["CELLS", "Ensemble", "Forecaster", "ForecasterConfig", "count_parameters"]


class PeepholeCell(nn.Module):
    """One step of the peephole LSTM (Gers & Schmidhuber, 2000): gates also see the cell state."""

    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.input_weights = nn.Linear(input_size, 4 * hidden)  # gate order: i, f, g, o
        self.hidden_weights = nn.Linear(hidden, 4 * hidden, bias=False)
        bound = hidden**-0.5
        self.peep_i = nn.Parameter(torch.empty(hidden).uniform_(-bound, bound))
        self.peep_f = nn.Parameter(torch.empty(hidden).uniform_(-bound, bound))
        self.peep_o = nn.Parameter(torch.empty(hidden).uniform_(-bound, bound))

    def forward(self, x, h, c):
        z = self.input_weights(x) + self.hidden_weights(h)
        zi, zf, zg, zo = z.chunk(4, dim=-1)
        i = torch.sigmoid(zi + self.peep_i * c)
        f = torch.sigmoid(zf + self.peep_f * c)
        c = f * c + i * torch.tanh(zg)
        o = torch.sigmoid(zo + self.peep_o * c)  # the output gate peeks at the *new* cell state
        return o * torch.tanh(c), c


class PeepholeLSTM(nn.Module):
    """Stacked peephole LSTM, batch first; the loop over the fixed window unrolls at export."""

    def __init__(self, input_size: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.cells = nn.ModuleList(PeepholeCell(input_size if k == 0 else hidden, hidden) for k in range(layers))
        self.between = nn.Dropout(dropout)

    def forward(self, seq):  # (B, T, F) -> (B, T, H)
        for k, cell in enumerate(self.cells):
            if k:
                seq = self.between(seq)
            h = seq.new_zeros(seq.shape[0], cell.hidden)
            c = seq.new_zeros(seq.shape[0], cell.hidden)
            steps = []
            for t in range(seq.shape[1]):
                h, c = cell(seq[:, t], h, c)
                steps.append(h)
            seq = torch.stack(steps, dim=1)
        return seq


def make_encoder(config: ForecasterConfig) -> nn.Module:
    between = config.dropout if config.layers > 1 else 0.0
    if config.cell == "lstm":
        return nn.LSTM(N_FEATURES, config.hidden, config.layers, batch_first=True, dropout=between)
    if config.cell == "gru":
        return nn.GRU(N_FEATURES, config.hidden, config.layers, batch_first=True, dropout=between)
    return PeepholeLSTM(N_FEATURES, config.hidden, config.layers, between)


class Forecaster(nn.Module):
    """history (batch, window) -> forecast (batch, horizon), both in original units."""

    def __init__(self, config: ForecasterConfig):
        super().__init__()
        self.config = config
        self.encoder = make_encoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.horizon)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # Feature scaling fitted on the training windows (fit_scaling); part of the graph.
        self.register_buffer("change_mean", torch.zeros(()))
        self.register_buffer("change_std", torch.ones(()))
        self.register_buffer("position_std", torch.ones(()))
        h = torch.arange(config.horizon)
        self.register_buffer("same_season", config.window - config.season + h % config.season)
        self.register_buffer("cycles_ahead", (h // config.season + 1).to(torch.float32))

    def normalize(self, history):
        """Scale-free view of the last `window` values: (xn, level), xn of shape (B, window)."""
        x = history[:, -self.config.window :]
        if self.config.transform == "log":
            return torch.log(x), None
        level = x.abs().mean(dim=1, keepdim=True).clamp_min(self.config.eps)
        return x / level, level

    def features(self, xn):
        """(B, window) -> seasonal changes (B, window - season) and encoder input (B, T, 2)."""
        s = self.config.season
        change = xn[:, s:] - xn[:, :-s]
        position = xn[:, s:] - xn.mean(dim=1, keepdim=True)
        seq = torch.stack([(change - self.change_mean) / self.change_std, position / self.position_std], dim=-1)
        return change, seq

    def baseline(self, xn, change):
        """Seasonal naive with drift in normalized units, (B, horizon)."""
        drift = change.mean(dim=1, keepdim=True)
        return xn[:, self.same_season] + self.cycles_ahead * drift

    def forward(self, history):  # (B, window) -> (B, horizon)
        xn, level = self.normalize(history)
        change, seq = self.features(xn)
        encoded = self.encoder(seq)
        if isinstance(encoded, tuple):  # nn.LSTM / nn.GRU return (output, state)
            encoded = encoded[0]
        correction = self.head(self.dropout(encoded[:, -1]))  # (B, horizon), in units of change_std
        out = self.baseline(xn, change) + correction * self.change_std
        return torch.exp(out) if level is None else out * level

    def baseline_forecast(self, history):  # (B, window) -> (B, horizon): the zero-correction output
        xn, level = self.normalize(history)
        change, _ = self.features(xn)
        out = self.baseline(xn, change)
        return torch.exp(out) if level is None else out * level

    @torch.no_grad()
    def fit_scaling(self, histories: torch.Tensor) -> None:
        """Set the feature scaling from training histories (N, window)."""
        xn, _ = self.normalize(histories)
        change, _ = self.features(xn)
        position = xn[:, self.config.season :] - xn.mean(dim=1, keepdim=True)
        self.change_mean.fill_(change.mean())
        self.change_std.fill_(change.std().clamp_min(1e-3))
        self.position_std.fill_(position.std().clamp_min(1e-3))


class Ensemble(nn.Module):
    """The mean of K forecasters' outputs, averaged inside the exported graph."""

    def __init__(self, members: list[Forecaster]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, history):  # (B, window) -> (B, horizon)
        return torch.stack([m(history) for m in self.members]).mean(dim=0)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
