"""NeuralForecast's NHITS as a peer of a multi-series backtest: one network over every series' history.

NeuralForecast 3.3.0's documented defaults (1,000 steps, batch 32 series, no scaler) with `input_size` one
week of hours (168) or four seasons otherwise, and its multi-quantile loss for the 80/95 % bands: the median
is the point forecast. The histories are those the statistical peers read (imputed, the last
`--peer-history` steps), so NHITS is "trained on the same history". Its quantiles are sorted per point.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

# NHITS reads a week of hours, four seasons of anything else.
INPUT_SIZE = {"h": 168}


def nhits_forecast(
    frame,
    ids: list[str],
    freq: str,
    season: int,
    horizon: int,
    levels: list[int],
    max_steps: int = 1000,
    predict_on=None,
    window: int | None = None,
) -> dict:
    """Fit NHITS on `frame` (statsforecast's unique_id, ds (integer steps), y) and forecast `horizon` steps
    after each series of `predict_on` (a frame of the same shape; None: `frame` itself).

    `window` (a general model's peer, trained on a pool of many sources): NHITS reads that many values, as
    ours does, pads shorter histories (`start_padding_enabled`) and scales each window (`scaler_type="robust"`):
    unscaled, a pool whose series run from tens to millions trains a loss the largest series dominate. These
    are bench.accuracy.general_tourism's settings, the general models' NHITS peer on tourism.

    Returns:
        {"mean": (n, horizon) the median, "intervals": {level: (lower, upper)}, "seconds": fit + forecast}
    """
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import NHITS

    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    input_size = window or INPUT_SIZE.get(freq, 4 * season)
    pooled = {"scaler_type": "robust", "start_padding_enabled": True} if window else {}
    model = NHITS(
        h=horizon,
        input_size=input_size,
        **pooled,
        loss=MQLoss(level=list(levels)),
        max_steps=max_steps,
        random_seed=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        accelerator="cpu",
        devices=1,
    )
    started = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df=frame)
        out = nf.predict(df=predict_on)
    seconds = time.perf_counter() - started
    out = out.set_index("unique_id").loc[ids]

    def grid(column: str) -> np.ndarray:
        return out[column].to_numpy(dtype=np.float64).reshape(len(ids), horizon)

    # The quantile heads are trained apart and may cross; sorted per point they are the same set of quantiles,
    # and every band holds the narrower ones and the median.
    names = [f"NHITS-lo-{level}" for level in sorted(levels, reverse=True)] + ["NHITS-median"]
    names += [f"NHITS-hi-{level}" for level in sorted(levels)]
    quantiles = dict(zip(names, np.sort(np.stack([grid(n) for n in names]), axis=0), strict=True))
    return {
        "mean": quantiles["NHITS-median"],
        "intervals": {level: (quantiles[f"NHITS-lo-{level}"], quantiles[f"NHITS-hi-{level}"]) for level in levels},
        "seconds": seconds,
    }
