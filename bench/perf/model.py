"""In-process latency of one forecast call: onnxruntime vs the same trained model in PyTorch eager.

    python -m bench.perf.model [--threads 1] [--batches 1,64,1024,10000] [--seconds 2]

Trains the served model's design with the real pipeline (so the PyTorch module and the
ONNX graph are the same model), then times, on `--threads` intra-op threads each:
- one `session.run` on the whole batch, with the service's session options;
- `Predictor.predict`, the service's path (it runs large batches in slices of RUN_ROWS);
- `module(x)` under torch.no_grad(): PyTorch eager.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, histories, median, package_versions, percentile, same_model, table
from paxcast.training.backtest.series_report import machine


def time_calls(call, seconds: float, min_reps: int = 5, max_reps: int = 5000) -> list[float]:
    """Wall time of each call (s), after two warm-up calls, for about `seconds` in total."""
    call(), call()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_reps or (time.perf_counter() < deadline and len(times) < max_reps):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def flops_per_series(module, window: int, season: int) -> tuple[int, str]:
    """Multiply-add FLOPs (2 per multiply-add) for one series, read off the module's weights.

    Every recurrent weight matrix (input-to-hidden and hidden-to-hidden, per layer) is
    applied once per step of the encoder, which runs over `window - season` steps (the
    seasonal-change sequence); the head's matrix is applied once; members add up.
    Biases, activations and the preprocessing are elementwise (O(hidden) per step) and
    left out: they are ~1-2 % of the total.
    """
    steps = window - season
    recurrent = head = 0
    for member in module.members:
        for param in member.encoder.parameters():
            if param.dim() == 2:
                recurrent += param.numel()
        head += member.head.weight.numel()
    total = 2 * (steps * recurrent + head)
    how = (
        f"2 x ({steps} steps x {recurrent:,} recurrent weights + {head:,} head weights) "
        f"over {len(module.members)} ensemble members = {total:,} FLOPs per series"
    )
    return total, how


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads for both engines (the service default is 1)"
    )
    parser.add_argument("--batches", default="1,64,1024,10000", help="comma-separated batch sizes (series per call)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per engine and batch size")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "air_passengers.csv")
    args = parser.parse_args(argv)

    import torch

    from paxcast.service.inference.predictor import RUN_ROWS, Predictor, run_session

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp:
        print(f"training the served design with the pipeline into {tmp} ...", flush=True)
        model = same_model(Path(tmp), args.data)
        predictor = Predictor.load(model.onnx_path.parent, threads=args.threads)
        session = predictor.session
        module = model.module
        window, season = model.card.window, model.card.season
        flops, how = flops_per_series(module, window, season)

        rows = []
        for batch in [int(b) for b in args.batches.split(",")]:
            x = histories(model.card, batch, seed=batch)
            tensor = torch.from_numpy(x)

            def run_onnx(x=x):
                return run_session(session, x)

            def run_service(x=x):
                return predictor.predict(x, predictor.horizon)

            def run_torch(tensor=tensor):
                with torch.no_grad():
                    return module(tensor).numpy()

            reference = run_torch()
            gap = float(np.max(np.abs(run_service() - reference) / np.abs(reference).max(axis=1, keepdims=True)))
            onnx_times = time_calls(run_onnx, args.seconds)
            service_times = time_calls(run_service, args.seconds) if batch > RUN_ROWS else onnx_times
            torch_times = time_calls(run_torch, args.seconds)
            onnx_med, service_med, torch_med = median(onnx_times), median(service_times), median(torch_times)

            def ms(times: list[float]) -> str:
                return f"{median(times) * 1e3:.3f} / {percentile(times, 99) * 1e3:.3f}"

            rows.append(
                [
                    f"{batch:,}",
                    ms(onnx_times),
                    ms(service_times),
                    ms(torch_times),
                    f"{service_med / torch_med:.2f}",
                    f"{batch / service_med:,.0f}",
                    f"{batch / torch_med:,.0f}",
                    f"{batch * flops / service_med / 1e9:.1f}",
                    f"{len(service_times)}/{len(torch_times)}",
                    f"{gap:.1e}",
                ]
            )
            print(
                f"  batch {batch}: onnx one run {onnx_med * 1e3:.3f} ms, service {service_med * 1e3:.3f} ms, "
                f"torch {torch_med * 1e3:.3f} ms",
                flush=True,
            )

    print()
    print(f"machine: {machine()}")
    print(
        f"versions: {package_versions('onnxruntime', 'torch', 'numpy')}; "
        f"intra-op threads: {args.threads} (both engines)"
    )
    card = model.card
    print(
        f"model: {card.cell} x{card.ensemble}, hidden {card.hyperparameters.hidden}, "
        f"window {window}, horizon {card.horizon}, season {season}"
    )
    print(f"FLOPs: {how}")
    print()
    print(f"ms columns: median / p99 of per-call wall time; the service slices batches above {RUN_ROWS} rows")
    print(
        table(
            [
                "batch",
                "ORT one run ms",
                "ORT service ms",
                "PyTorch eager ms",
                "service/PyTorch time",
                "service series/s",
                "PyTorch series/s",
                "service GFLOP/s",
                "calls svc/PT",
                "max rel. diff",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    main()
