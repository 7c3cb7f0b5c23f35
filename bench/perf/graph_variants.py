"""What onnxruntime's graph variants do to the shipped graphs' speed (issue 34, "a cheaper graph").

    python -m bench.perf.graph_variants [--seconds 2] [--rows 10000] [--json FILE]
    python -m bench.perf.variant_accuracy          # the same variants' accuracy on the station backtests

Variants of each shipped `model.onnx` (air_passengers, seoul_subway_daily, melbourne_pedestrian_hourly),
each a session with the service's options (`make_session`: one intra-op thread, sequential, no arena, no
spinning) except what the variant changes:
- DISABLE / BASIC / EXTENDED / ALL: `graph_optimization_level` (ALL is what the service ships);
- ALL, saved: ALL once with `optimized_model_filepath`, then the saved graph loaded with DISABLE (what a
  service would load if the export shipped the optimised graph);
- int8 dynamic: `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantised per run;
  LSTM -> DynamicQuantizeLSTM, MatMul -> MatMulInteger; Gemm is not in its integer-ops registry), run at ALL.

For each: session load time; µs of one thread's CPU per airline request through the service's `Predictor`
(`forecast`, one series, horizon 12) and per graph run alone; the time of a 10,000-series batch of Seoul- and
Melbourne-shaped rows through `Predictor.run_rows` (the service's slices of 64); and GFLOP/s: the project's
FLOP count (`flops_per_series`) over those times.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from bench.common import ROOT, histories, package_versions, served_card, table
from paxcast.service.core.contract import CALENDAR, HISTORY
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor, make_session
from paxcast.training.backtest.series_report import machine

MODELS = ("air_passengers", "seoul_subway_daily", "melbourne_pedestrian_hourly")
LEVELS = {
    "DISABLE": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "BASIC": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "EXTENDED": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "ALL": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
SHIPPED = "ALL"
VARIANTS = (*LEVELS, "ALL, saved", "int8 dynamic")


def options(level: str) -> ort.SessionOptions:
    """make_session's options (the check below pins them equal) at optimisation level `level`."""
    out = ort.SessionOptions()
    out.intra_op_num_threads = 1
    out.inter_op_num_threads = 1
    out.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    out.graph_optimization_level = LEVELS[level]
    out.enable_cpu_mem_arena = False
    out.add_session_config_entry("session.intra_op.allow_spinning", "0")
    out.log_severity_level = 3
    return out


def session(graph: Path, level: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(graph), sess_options=options(level), providers=["CPUExecutionProvider"])


def prepare(variant: str, graph: Path, scratch: Path) -> tuple[Path, str, dict]:
    """The graph file a variant loads and at which level, made once in `scratch`; with what making it took."""
    if variant in LEVELS:
        return graph, variant, {}
    if variant == "ALL, saved":
        saved = scratch / "optimized.onnx"
        made = options("ALL")
        made.optimized_model_filepath = str(saved)
        began = time.perf_counter()
        ort.InferenceSession(str(graph), sess_options=made, providers=["CPUExecutionProvider"])
        return saved, "DISABLE", {"save_s": time.perf_counter() - began}
    if variant == "int8 dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = scratch / "int8.onnx"
        began = time.perf_counter()
        quantize_dynamic(graph, quantized, weight_type=QuantType.QInt8)
        ops = collections.Counter(node.op_type for node in onnx.load(quantized).graph.node)
        before = collections.Counter(node.op_type for node in onnx.load(graph).graph.node)
        changed = {op: n for op, n in ops.items() if before.get(op) != n}
        return quantized, "ALL", {"quantize_s": time.perf_counter() - began, "ops_changed": changed}
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def flops_per_series(graph: Path, feeds: dict[str, np.ndarray]) -> int:
    """The project's FLOP count (bench/perf/model.py, docs/performance.md section 1) read off an ONNX graph:
    2 per multiply-add of every LSTM weight matrix (W and R) at every step it runs, and of every MatMul/Gemm
    weight on every row it is applied to. Steps and rows come from running the graph on `feeds` (one series)
    with those nodes' inputs exposed as outputs; elementwise work is left out (~1-2 %)."""
    model = onnx.load(graph)
    weights = {w.name: w for w in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in ("LSTM", "MatMul", "Gemm")]
    exposed = sorted({n.input[0] for n in nodes} - {o.name for o in model.graph.output})
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(name) for name in exposed)
    runner = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    shapes = dict(zip(exposed, (v.shape for v in runner.run(exposed, feeds)), strict=True))
    total = 0
    for n in nodes:
        if n.op_type == "LSTM":  # input (steps, batch, features); W (dirs, 4H, I), R (dirs, 4H, H)
            matrices = int(np.prod(weights[n.input[1]].dims)) + int(np.prod(weights[n.input[2]].dims))
            total += 2 * shapes[n.input[0]][0] * matrices
        elif n.input[1] in weights:  # activations (..., K) x weight (K, N): one product per leading row
            total += 2 * int(np.prod(shapes[n.input[0]][:-1])) * int(np.prod(weights[n.input[1]].dims))
    return total


def cpu_times(call, seconds: float, min_reps: int = 5) -> list[float]:
    """This thread's CPU seconds per call, after two warm-up calls, for about `seconds` of wall time."""
    call(), call()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_reps or time.perf_counter() < deadline:
        began = time.thread_time()
        call()
        times.append(time.thread_time() - began)
    return times


def loaded(name: str) -> Predictor:
    models = ROOT / "models"
    return Predictor.load(models / name / current_version(models, name), threads=1)


def batch_rows(predictor: Predictor, rows: int):
    """`rows` checked rows of real series of the model's data file (cycled), as the service prepares them."""
    from bench.perf.station_batch import request_body

    body = json.loads(request_body(ROOT / "models", predictor.name, predictor.window)[0])
    real = body["series"]
    body["series"] = [real[k % len(real)] | {"id": f"s{k}"} for k in range(rows)]
    return predictor.prepare(ForecastRequest.model_validate(body))


def timed(predictor: Predictor, prepared, air_request: ForecastRequest | None, args) -> dict:
    """CPU per airline request and per graph run (`air_request` given), or per batch of the prepared rows."""
    if air_request is not None:
        request = cpu_times(lambda: predictor.forecast(air_request), args.seconds)
        graph_only = cpu_times(lambda: predictor.run_rows(prepared.x), args.seconds)
        run_us = 1e6 * statistics.median(graph_only)
        return {"request_us": 1e6 * statistics.median(request), "run_us": run_us}
    batch = cpu_times(lambda: predictor.run_rows(prepared.x, prepared.calendar), args.seconds, min_reps=3)
    return {"rows": len(prepared.x), "batch_s": statistics.median(batch)}


def measure(args) -> list[dict]:
    """Every variant of every model: load, single airline request, batch; one row each."""
    air_card = served_card(ROOT / "models", "air_passengers")
    air_body = {"series": [{"id": "air", "history": histories(air_card, 1, seed=1)[0].tolist()}], "horizon": 12}
    air_request = ForecastRequest.model_validate(air_body)
    out = []
    for name in MODELS:
        predictor = loaded(name)
        graph = predictor.path / "model.onnx"
        prepared = predictor.prepare(air_request) if name == "air_passengers" else batch_rows(predictor, args.rows)
        one = {HISTORY: prepared.x[:1]} | ({CALENDAR: prepared.calendar[:1]} if prepared.calendar is not None else {})
        flops = flops_per_series(graph, one)
        reference = None
        with tempfile.TemporaryDirectory(prefix="paxcast-variants-") as scratch:
            for variant in VARIANTS:
                path, level, made = prepare(variant, graph, Path(scratch))
                loads = []
                for _ in range(5):
                    began = time.perf_counter()
                    s = session(path, level)
                    loads.append(time.perf_counter() - began)
                variant_predictor = dataclasses.replace(predictor, session=s)
                variant_predictor.probe()  # the service's load check holds for the variant too
                row = {"model": name, "variant": variant, "load_ms": 1e3 * statistics.median(loads), **made}
                row["flops_per_series"] = flops
                load = os.getloadavg()[0]
                row |= timed(variant_predictor, prepared, air_request if name == "air_passengers" else None, args)
                answer = variant_predictor.run_rows(
                    prepared.x[:256], prepared.calendar[:256] if prepared.calendar is not None else None
                )
                seconds, rows = (row["run_us"] / 1e6, 1) if "run_us" in row else (row["batch_s"], row["rows"])
                row["gflops"] = flops * rows / (1e9 * seconds)
                reference = answer if reference is None else reference
                # the export's parity measure (training/export.py): |difference| over each row's largest |output|
                scale = np.abs(reference).max(axis=1, keepdims=True).clip(min=1e-6)
                row["parity"] = float((np.abs(answer - reference) / scale).max())
                row["load_avg"] = [load, os.getloadavg()[0]]
                print(row, flush=True)
                out.append(row)
    return out


def report(rows: list[dict]) -> str:
    """One table: per model and variant, load, the airline request or the batch, GFLOP/s, difference to DISABLE."""
    cells = []
    for r in rows:
        speed = f"{r['request_us']:.0f} / {r['run_us']:.0f} µs" if "request_us" in r else f"{r['batch_s']:.3f} s"
        made = f"save {1e3 * r['save_s']:.0f} ms" if "save_s" in r else ""
        made = f"quantise {r['quantize_s']:.2f} s; {r['ops_changed']}" if "quantize_s" in r else made
        cells.append(
            [r["model"], r["variant"], f"{r['load_ms']:.1f}", speed, f"{r['flops_per_series']:,}"]
            + [f"{r['gflops']:.1f}", f"{r['parity']:.1e}", "-".join(f"{x:.1f}" for x in r["load_avg"]), made]
        )
    return table(
        ["model", "variant", "load ms", "air request / graph CPU, or 10,000-row batch CPU", "FLOPs/series"]
        + ["GFLOP/s", "parity vs DISABLE (the export check's measure)", "load avg", "making it"],
        cells,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.graph_variants", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per variant and measurement")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the Seoul- and Melbourne-shaped batches")
    parser.add_argument("--json", type=Path, help="also write every row here")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {package_versions('onnxruntime', 'numpy')}", flush=True)
    rows = measure(args)
    print(f"\nmachine at the end: {machine()}\n")
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1) + "\n")


def check() -> None:
    """The variants' options are make_session's, and the FLOP count of the airline graph is section 1's."""
    graph = loaded("air_passengers").path / "model.onnx"
    ours, service = session(graph, SHIPPED).get_session_options(), make_session(graph).get_session_options()
    for key in ("intra_op_num_threads", "inter_op_num_threads", "execution_mode", "graph_optimization_level"):
        if getattr(ours, key) != getattr(service, key):
            raise AssertionError(f"{key}: the variants use {getattr(ours, key)}, make_session {getattr(service, key)}")
    if ours.enable_cpu_mem_arena != service.enable_cpu_mem_arena:
        raise AssertionError("enable_cpu_mem_arena differs from make_session's")
    flops = flops_per_series(graph, {HISTORY: np.ones((1, 36), dtype=np.float32)})
    if flops != 4_078_080:  # docs/performance.md section 1, from the torch module's weights
        raise AssertionError(f"the airline graph's FLOPs per series came out {flops:,}, not 4,078,080")


if __name__ == "__main__":
    main()
