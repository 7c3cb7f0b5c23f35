"""A NumPy forecaster written from the textbook gate equations, to check what the ONNX graph computes.

Nothing here calls PyTorch: it reads the trained weights as plain arrays and runs the
whole forecaster — preprocessing, stacked cells, head, inverse transform — in float64.
The only PyTorch knowledge used is where each matrix sits in the state dict.

LSTM (one step, [h, x] concatenated):
    f = σ(W_f·[h, x] + b_f)        forget gate
    i = σ(W_i·[h, x] + b_i)        input gate
    C̃ = tanh(W_C·[h, x] + b_C)     candidate
    C = f ∗ C_prev + i ∗ C̃         the cell state, carried forward like a conveyor belt
    o = σ(W_o·[h, x] + b_o)        output gate
    h = o ∗ tanh(C)
Peephole LSTM (Gers & Schmidhuber, 2000): f and i also add p_f ∗ C_prev and p_i ∗ C_prev;
o adds p_o ∗ C (the new cell state).
GRU (as PyTorch defines it):
    r = σ(W_r·[h, x] + b_r),  z = σ(W_z·[h, x] + b_z)
    n = tanh(W_nx·x + b_nx + r ∗ (W_nh·h + b_nh))
    h = (1 − z) ∗ n + z ∗ h_prev
"""

from __future__ import annotations

import numpy as np

from paxcast.service.core.hyperparameters import EPS


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def lstm_step(x, h, c, W, b, peep=None):
    """One (peephole) LSTM step. W: dict gate -> (H, H + F) acting on [h, x]; b: gate -> (H,)."""
    hx = np.concatenate([h, x], axis=-1)
    p_i, p_f, p_o = peep if peep is not None else (0.0, 0.0, 0.0)
    f = sigmoid(hx @ W["f"].T + b["f"] + p_f * c)
    i = sigmoid(hx @ W["i"].T + b["i"] + p_i * c)
    candidate = np.tanh(hx @ W["C"].T + b["C"])
    c = f * c + i * candidate
    o = sigmoid(hx @ W["o"].T + b["o"] + p_o * c)
    return o * np.tanh(c), c


def gru_step(x, h, W, b):
    """One GRU step. W["r"], W["z"]: (H, H + F) on [h, x]; W["nx"]: (H, F); W["nh"]: (H, H)."""
    hx = np.concatenate([h, x], axis=-1)
    r = sigmoid(hx @ W["r"].T + b["r"])
    z = sigmoid(hx @ W["z"].T + b["z"])
    n = np.tanh(x @ W["nx"].T + b["nx"] + r * (h @ W["nh"].T + b["nh"]))
    return (1.0 - z) * n + z * h


def split4(m: np.ndarray) -> list[np.ndarray]:
    return np.split(m, 4, axis=0)


def lstm_layer_weights(state: dict, prefix: str, k: int, peephole: bool):
    """Gate matrices on [h, x] from a layer's stored weights (PyTorch keeps input and hidden parts apart)."""
    if peephole:
        wx, bx = state[f"{prefix}cells.{k}.input_weights.weight"], state[f"{prefix}cells.{k}.input_weights.bias"]
        wh, bh = state[f"{prefix}cells.{k}.hidden_weights.weight"], 0.0
        peep = tuple(state[f"{prefix}cells.{k}.peep_{g}"] for g in ("i", "f", "o"))
    else:
        wx, wh = state[f"{prefix}weight_ih_l{k}"], state[f"{prefix}weight_hh_l{k}"]
        bx, bh = state[f"{prefix}bias_ih_l{k}"], state[f"{prefix}bias_hh_l{k}"]
        peep = None
    bias = bx + bh
    W, b = {}, {}
    for gate, wxg, whg, bg in zip(("i", "f", "C", "o"), split4(wx), split4(wh), split4(bias), strict=True):
        W[gate], b[gate] = np.concatenate([whg, wxg], axis=1), bg
    return W, b, peep


def gru_layer_weights(state: dict, prefix: str, k: int):
    wx, wh = np.split(state[f"{prefix}weight_ih_l{k}"], 3), np.split(state[f"{prefix}weight_hh_l{k}"], 3)
    bx, bh = np.split(state[f"{prefix}bias_ih_l{k}"], 3), np.split(state[f"{prefix}bias_hh_l{k}"], 3)
    W = {
        "r": np.concatenate([wh[0], wx[0]], axis=1),
        "z": np.concatenate([wh[1], wx[1]], axis=1),
        "nx": wx[2],
        "nh": wh[2],
    }
    b = {"r": bx[0] + bh[0], "z": bx[1] + bh[1], "nx": bx[2], "nh": bh[2]}
    return W, b


def encode(seq: np.ndarray, state: dict, cell: str, layers: int, prefix: str = "encoder.") -> np.ndarray:
    """Run stacked cells over seq (B, T, F); return the top layer's last hidden state (B, H)."""
    for k in range(layers):
        batch, steps = seq.shape[:2]
        if cell == "gru":
            W, b = gru_layer_weights(state, prefix, k)
        else:
            W, b, peep = lstm_layer_weights(state, prefix, k, cell == "peephole")
        hidden = next(iter(b.values())).shape[0]
        h, c = np.zeros((batch, hidden)), np.zeros((batch, hidden))
        outputs = []
        for t in range(steps):
            if cell == "gru":
                h = gru_step(seq[:, t], h, W, b)
            else:
                h, c = lstm_step(seq[:, t], h, c, W, b, peep)
            outputs.append(h)
        seq = np.stack(outputs, axis=1)
    return seq[:, -1]


def forecast(history: np.ndarray, state: dict, config: dict) -> np.ndarray:
    """The whole forecaster in float64: history (B, >= window) -> forecast (B, horizon).

    `state` maps the PyTorch state-dict names to NumPy arrays; `config` is the
    ForecasterConfig as a dict (window, horizon, season, cell, layers, transform).
    """
    window, horizon, season = config["window"], config["horizon"], config["season"]
    x = np.asarray(history, dtype=np.float64)[:, -window:]
    if config["transform"] == "log":
        xn, level = np.log(x), None
    else:
        level = np.maximum(np.abs(x).mean(axis=1, keepdims=True), EPS)
        xn = x / level
    change = xn[:, season:] - xn[:, :-season]  # change over one season, (B, window - season)
    position = xn[:, season:] - xn.mean(axis=1, keepdims=True)
    change_mean, change_std, position_std = (float(state[k]) for k in ("change_mean", "change_std", "position_std"))
    seq = np.stack([(change - change_mean) / change_std, position / position_std], axis=-1)
    encoded = encode(seq, state, config["cell"], config["layers"])
    correction = encoded @ state["head.weight"].T + state["head.bias"]
    steps = np.arange(horizon)
    baseline = xn[:, window - season + steps % season] + (steps // season + 1) * change.mean(axis=1, keepdims=True)
    out = baseline + correction * change_std
    return np.exp(out) if level is None else out * level


def ensemble_forecast(history: np.ndarray, member_states: list[dict], config: dict) -> np.ndarray:
    """Mean of the members' forecasts, as the exported graph averages them."""
    return np.mean([forecast(history, state, config) for state in member_states], axis=0)
