"""Train the first-cut global forecaster on one station window and score it like the baselines.

    python -m bench.station_global [--window seoul_a_2019-12] [--max-series N] [--steps 3000]

Reads top to bottom: config, data (the window's histories; the last `horizon` of each is the
validation target), calendar, model, loop with checkpoint selection on validation WAPE, export,
forecast through onnxruntime, score. Writes bench/results/station_global_<window>.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.station_baselines import machine
from bench.station_windows import ROOT, impute, score, subset_rows, take_subset, windows
from paxcast.service.contract import GlobalTrainConfig
from paxcast.service.covariates import Calendar, timestamps
from paxcast.training.global_model import GlobalForecaster, WindowSampler, export_onnx, parity

HOLIDAYS = {"D": {"country": "KR"}, "h": {"country": "AU", "subdiv": "VIC"}}
WINDOW = {"D": 28, "h": 336}  # the input size the NeuralForecast peers get


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.station_global")
    parser.add_argument("--window", default="seoul_a_2019-12")
    parser.add_argument("--max-series", type=int, default=None)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--input", type=int, default=None, help="history length W (default 28 daily, 336 hourly)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    # Data: the window's histories up to the origin; the test actuals stay untouched until scoring.
    which = "seoul" if args.window.startswith("seoul") else "melbourne"
    (window,) = [w for w in windows(which, args.max_series) if w.name == args.window]
    H, season = window.horizon, {"D": 7, "h": 168}[window.freq]
    W = args.input or WINDOW[window.freq]
    calendar = Calendar(window.freq, **HOLIDAYS[window.freq])
    first = min(window.starts)
    step = np.timedelta64(1, "D" if window.freq == "D" else "h")
    offsets = [int((s - first) // step) for s in window.starts]
    total = max(o + len(h) for o, h in zip(offsets, window.histories, strict=True)) + H
    covariates = calendar.features(timestamps(first.astype(object), window.freq, total))
    config = GlobalTrainConfig(window=W, horizon=H, season=season, features=len(calendar.names), hidden=args.hidden)

    # Validation: the last H values of every history, forecast from the W before them.
    train_values = [h[:-H] for h in window.histories]
    sampler = WindowSampler(train_values, offsets, covariates, W, H, seed=args.seed)

    def cut(end_of: list[int]):
        # A gap inside an input history gets the value one season earlier (bench.station_windows.impute),
        # as the baselines' inputs do; the training sampler only draws complete histories.
        hist = np.stack(
            [impute(h[:e], season)[e - W : e] for h, e in zip(window.histories, end_of, strict=True)]
        ).astype(np.float32)
        cal = np.stack([covariates[o + e - W : o + e + H] for o, e in zip(offsets, end_of, strict=True)])
        return hist, cal

    val_hist, val_cal = cut([len(h) - H for h in window.histories])
    val_target = np.stack([h[-H:] for h in window.histories])
    model = GlobalForecaster(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    def val_wape() -> float:
        model.eval()
        with torch.no_grad():
            f = model(torch.from_numpy(val_hist), torch.from_numpy(val_cal)).numpy()
        model.train()
        seen = np.isfinite(val_target)
        return float(np.abs(f - val_target)[seen].sum() / np.abs(val_target[seen]).sum() * 100)

    untrained = best = val_wape()
    # Step 0 is a candidate: if training never beats the untrained net (= seasonal naive) on
    # validation, that is what gets exported.
    best_state, best_step, history_log = {k: v.clone() for k, v in model.state_dict().items()}, 0, []
    print(
        f"{window.name}: {len(window.ids)} series, W={W} H={H}, {len(calendar.names)} covariates; untrained "
        f"(seasonal naive) val WAPE {best:.2f}%",
        flush=True,
    )
    for i in range(1, args.steps + 1):
        hist, cal, target = (torch.from_numpy(a) for a in sampler.sample(args.batch))
        forecast = model(hist, cal)
        level = hist.abs().mean(dim=1, keepdim=True).clamp_min(config.eps)
        seen = torch.isfinite(target)
        loss = ((forecast - torch.nan_to_num(target)).abs() / level)[seen].mean()  # scale-free L1
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if i % 100 == 0:
            score_now = val_wape()
            history_log.append({"step": i, "loss": loss.item(), "val_wape_pct": score_now})
            if score_now < best:
                best, best_step, best_state = score_now, i, {k: v.clone() for k, v in model.state_dict().items()}
            print(
                f"step {i:5d}  loss {loss.item():.4f}  val WAPE {score_now:.2f}%  best {best:.2f}% @ "
                f"{best_step}  {time.perf_counter() - started:.0f}s",
                flush=True,
            )
    model.load_state_dict(best_state)
    train_s = time.perf_counter() - started

    # Export, prove parity, forecast the test horizon through onnxruntime.
    from paxcast.service.predictor import make_session, run_session

    test_hist, test_cal = cut([len(h) for h in window.histories])
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model.eval(), Path(tmp) / "global.onnx")
        gap = parity(model, path, test_hist, test_cal)
        session = make_session(path)
        t0 = time.perf_counter()
        forecast = run_session(session, test_hist, test_cal)
        infer_ms = (time.perf_counter() - t0) * 1000
    result = {
        "window": window.name,
        "machine": machine(),
        "config": config.to_dict(),
        "args": vars(args),
        "series": len(window.ids),
        "val_wape_pct_untrained": untrained,
        "best_val_wape_pct": best,
        "best_step": best_step,
        "train_s": train_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "onnx_parity": gap,
        "onnx_batch_ms": infer_ms,
        "imputed_inputs": int(sum(np.isnan(h[-W:]).any() for h in window.histories)),
        "scores": score(window, forecast.astype(np.float64)),
        "log": history_log,
        # The same random series as the baselines' `_subset100` rows (bench.station_windows.take_subset).
        "scores_subset100": score(
            take_subset(window, 100), forecast.astype(np.float64)[subset_rows(len(window.ids), 100)]
        ),
    }
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "best_val_wape_pct",
                    "best_step",
                    "train_s",
                    "peak_rss_mb",
                    "onnx_parity",
                    "onnx_batch_ms",
                    "imputed_inputs",
                    "scores",
                    "scores_subset100",
                )
            },
            indent=1,
        )
    )
    out = ROOT / "bench" / "results" / f"station_global_{window.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
