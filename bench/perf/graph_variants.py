"""What onnxruntime's graph variants do to the shipped graphs' speed (issue 34, "a cheaper graph").

    python -m bench.perf.graph_variants [--seconds 2] [--rows 10000] [--json FILE]
    python -m bench.perf.graph_variants --registry DIR --models seoul_subway_daily --variants ALL  # other graphs
    python -m bench.perf.variant_accuracy          # the same variants' accuracy on the station backtests

Variants of each shipped `model.onnx` (air_passengers, seoul_subway_daily, melbourne_pedestrian_hourly),
each a session with the service's options (`make_session`: one intra-op thread, sequential, no arena, no
spinning) except what the variant changes:
- DISABLE / BASIC / EXTENDED / ALL: `graph_optimization_level` (ALL is what the service ships);
- ALL, saved: ALL once with `optimized_model_filepath`, then the saved graph loaded with DISABLE (what a
  service would load if the export shipped the optimised graph);
- int8 dynamic: `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantised per run;
  LSTM -> DynamicQuantizeLSTM, MatMul -> MatMulInteger; Gemm is not in its integer-ops registry), run at ALL.

For each: session load time; µs of one thread's CPU per single-series request through the service's `Predictor`
(`forecast`: the airline series, horizon 12; a station model: its data file's first complete station, its whole
horizon) and per graph run alone; for the station models the time of a 10,000-series batch of their rows through
`Predictor.run_rows` (the service's slices of 64); and GFLOP/s: the project's FLOP count (`flops_per_series`)
over those times. `--registry` measures the graphs of another registry (e.g. one trained with a smaller
`--hidden`, issue 34) the same way.
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


def loaded(name: str, registry: Path = ROOT / "models") -> Predictor:
    return Predictor.load(registry / name / current_version(registry, name), threads=1)


def station_requests(predictor: Predictor, registry: Path, rows: int) -> tuple[ForecastRequest, ForecastRequest]:
    """A single-series request (the data file's first complete station) and one of `rows` series (its stations,
    cycled), each with `start` and the model's whole horizon, as a client would post them."""
    from bench.perf.station_batch import request_body

    body = json.loads(request_body(registry, predictor.name, predictor.window)[0])
    real = body["series"]
    batch = body | {"series": [real[k % len(real)] | {"id": f"s{k}"} for k in range(rows)]}
    return ForecastRequest.model_validate(body | {"series": real[:1]}), ForecastRequest.model_validate(batch)


def timed(predictor: Predictor, request: ForecastRequest, batch, args) -> dict:
    """CPU per single-series request and per graph run of its row; and, given the prepared rows of a `batch`,
    per batch."""
    one = predictor.prepare(request)
    single = cpu_times(lambda: predictor.forecast(request), args.seconds)
    graph_only = cpu_times(lambda: predictor.run_rows(one.x, one.calendar), args.seconds)
    out = {"request_us": 1e6 * statistics.median(single), "run_us": 1e6 * statistics.median(graph_only)}
    if batch is not None:
        times = cpu_times(lambda: predictor.run_rows(batch.x, batch.calendar), args.seconds, min_reps=3)
        out |= {"rows": len(batch.x), "batch_s": statistics.median(times)}
    return out


def measure(args) -> list[dict]:
    """Every variant of every model: load, single-series request, batch; one row each."""
    out = []
    for name in args.models.split(","):
        predictor = loaded(name, args.registry)
        graph = predictor.path / "model.onnx"
        if name == "air_passengers":
            air_card = served_card(args.registry, name)
            air = {"series": [{"id": "air", "history": histories(air_card, 1, seed=1)[0].tolist()}], "horizon": 12}
            request, batch = ForecastRequest.model_validate(air), None
            prepared = predictor.prepare(request)
        else:
            request, many = station_requests(predictor, args.registry, args.rows)
            prepared = batch = predictor.prepare(many)
        one = {HISTORY: prepared.x[:1]} | ({CALENDAR: prepared.calendar[:1]} if prepared.calendar is not None else {})
        flops = flops_per_series(graph, one)
        reference = None
        with tempfile.TemporaryDirectory(prefix="paxcast-variants-") as scratch:
            for variant in args.variants.split(","):
                path, level, made = prepare(variant, graph, Path(scratch))
                loads = []
                for _ in range(5):
                    began = time.perf_counter()
                    s = session(path, level)
                    loads.append(time.perf_counter() - began)
                variant_predictor = dataclasses.replace(predictor, session=s)
                variant_predictor.probe()  # the service's load check holds for the variant too
                row = {"model": name, "variant": variant, "load_ms": 1e3 * statistics.median(loads), **made}
                row |= {"registry": str(args.registry), "version": predictor.version, "flops_per_series": flops}
                row["hidden"] = served_card(args.registry, name).hyperparameters.hidden
                load = os.getloadavg()[0]
                row |= timed(variant_predictor, request, batch, args)
                answer = variant_predictor.run_rows(
                    prepared.x[:256], prepared.calendar[:256] if prepared.calendar is not None else None
                )
                row["gflops_one"] = flops / (1e3 * row["run_us"])
                row["gflops"] = flops * row["rows"] / (1e9 * row["batch_s"]) if batch is not None else row["gflops_one"]
                reference = answer if reference is None else reference
                # the export's parity measure (training/export.py): |difference| over each row's largest |output|
                scale = np.abs(reference).max(axis=1, keepdims=True).clip(min=1e-6)
                row["parity"] = float((np.abs(answer - reference) / scale).max())
                row["load_avg"] = [load, os.getloadavg()[0]]
                print(row, flush=True)
                out.append(row)
    return out


def report(rows: list[dict]) -> str:
    """One table: per model and variant, load, the single-series request and the batch, GFLOP/s, difference to
    the first variant measured (DISABLE unless --variants says otherwise)."""
    cells = []
    for r in rows:
        speed = f"{r['request_us']:.0f} / {r['run_us']:.0f} µs"
        speed += f"; {r['batch_s']:.3f} s" if "batch_s" in r else ""
        gflops = f"{r['gflops_one']:.1f}" + (f"; {r['gflops']:.1f}" if "batch_s" in r else "")
        made = f"save {1e3 * r['save_s']:.0f} ms" if "save_s" in r else ""
        made = f"quantise {r['quantize_s']:.2f} s; {r['ops_changed']}" if "quantize_s" in r else made
        cells.append(
            [r["model"], r["hidden"], r["variant"], f"{r['load_ms']:.1f}", speed, f"{r['flops_per_series']:,}"]
            + [gflops, f"{r['parity']:.1e}", "-".join(f"{x:.1f}" for x in r["load_avg"]), made]
        )
    return table(
        ["model", "hidden", "variant", "load ms", "one-series request / graph CPU; 10,000-row batch CPU"]
        + ["FLOPs/series", "GFLOP/s one; batch", "parity vs the first variant (the export check's measure)"]
        + ["load avg", "making it"],
        cells,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.graph_variants", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per variant and measurement")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the Seoul- and Melbourne-shaped batches")
    parser.add_argument("--json", type=Path, help="also write every row here")
    parser.add_argument("--registry", type=Path, default=ROOT / "models", help="the registry whose graphs to measure")
    parser.add_argument("--models", default=",".join(MODELS), help="model names in --registry (default: %(default)s)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="some of %(default)s")
    args = parser.parse_args(argv)
    for variant in args.variants.split(","):
        if variant not in VARIANTS:
            parser.error(f"--variants: unknown variant {variant!r}; expected some of {', '.join(VARIANTS)}")
    for name in args.models.split(","):
        if not (args.registry / name / "CURRENT").is_file():
            parser.error(f"--models: {args.registry / name} holds no CURRENT version")
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
