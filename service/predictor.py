"""The only module that imports onnxruntime: load a checked model version and run forecasts.

No preprocessing happens here — the graph holds it. This module checks input
against the model contract, stacks the series into one batch, runs the session
and slices the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from paxcast.service.registry import ModelError, read_contract

# Rows per session.run; see Predictor.predict and bench/model.py.
RUN_ROWS = 64
# Interval quantiles cached per level; clients choose levels freely, so the cache is bounded.
CACHED_LEVELS = 64


class InvalidInput(ValueError):
    """A request asks for something the model cannot answer; the message names the series and the rule."""


def make_session(onnx_path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # ORT's default counts host cores, not the container's CPU limit
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Batch sizes vary per request; the arena would keep growing with each new shape (onnxruntime#11627).
    options.enable_cpu_mem_arena = False
    # With threads > 1, idle pool threads would spin for work; on a busy host that doubled the
    # time of a 10,000-series batch (docs/performance.md). They sleep instead.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Predictor:
    """A loaded, checked model version."""

    meta: dict
    session: ort.InferenceSession
    path: Path
    # level -> per-step relative half-width (model horizon,): computing one costs more than a forecast.
    quantile_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, version_dir: str | Path, threads: int = 1) -> Predictor:
        """Load `version_dir`, verify its hash and contract, and run a probe forecast."""
        version_dir = Path(version_dir)
        meta = read_contract(version_dir)
        try:
            session = make_session(version_dir / "model.onnx", threads)
        except Exception as exc:  # onnxruntime raises its own types for corrupt graphs
            raise ModelError(f"{version_dir / 'model.onnx'}: onnxruntime cannot load it ({exc})") from None
        predictor = cls(meta=meta, session=session, path=version_dir)
        predictor.probe()
        predictor.check_calibration()
        return predictor

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def version(self) -> str:
        return self.meta["version"]

    @property
    def window(self) -> int:
        return int(self.meta["window"])

    @property
    def horizon(self) -> int:
        return int(self.meta["horizon"])

    def probe(self) -> None:
        """Refuse a model whose graph does not map (2, window) to finite (2, horizon)."""
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != ["history"] or outputs != ["forecast"]:
            raise ModelError(f"{self.path}: graph has inputs {inputs} and outputs {outputs}; expected ['history'] -> ['forecast']")
        season = int(self.meta["season"])
        pattern = 100.0 + 10.0 * np.sin(2 * np.pi * np.arange(self.window) / max(season, 1))
        try:
            (out,) = self.session.run(["forecast"], {"history": np.tile(pattern, (2, 1)).astype(np.float32)})
        except Exception as exc:
            raise ModelError(f"{self.path}: probe forecast failed ({exc})") from None
        if out.shape != (2, self.horizon) or not np.isfinite(out).all():
            raise ModelError(f"{self.path}: probe forecast gave shape {out.shape}, finite={np.isfinite(out).all()}")

    def check_calibration(self) -> None:
        """Refuse a model.json whose interval calibration could not serve every horizon step."""
        calibration = self.meta.get("intervals")
        if not calibration:
            return
        errors = calibration.get("relative_errors") if isinstance(calibration, dict) else None
        valid = isinstance(errors, list) and len(errors) >= self.horizon and all(
            isinstance(step, list) and step and all(isinstance(e, (int, float)) and 0 <= e < float("inf") for e in step) for step in errors
        )
        if not valid:
            raise ModelError(f"{self.path / 'model.json'}: intervals.relative_errors must hold {self.horizon} " f"non-empty lists of finite scores >= 0")

    def batch(self, ids: list[str], histories: list[list[float]], horizon: int) -> np.ndarray:
        """Check each series against the contract; return their last `window` values, (batch, window) float32."""
        if horizon > self.horizon:
            raise InvalidInput(f"horizon {horizon} exceeds the model's horizon {self.horizon}")
        seen: set[str] = set()
        for series_id in ids:
            if series_id in seen:
                raise InvalidInput(f"series '{series_id}': duplicate id; ids must be unique within a request")
            seen.add(series_id)
        x = np.empty((len(ids), self.window), dtype=np.float32)
        with np.errstate(over="ignore"):  # values beyond float32 become inf and are refused below
            for row, (series_id, history) in enumerate(zip(ids, histories, strict=True)):
                if len(history) < self.window:
                    raise InvalidInput(f"series '{series_id}': history has {len(history)} values, " f"the model needs at least {self.window}")
                x[row] = history[-self.window :]
        self.check_values(ids, x)
        return x

    def check_values(self, ids: list[str], x: np.ndarray) -> None:
        bad_rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if len(bad_rows):
            row = bad_rows[0]
            col = int(np.flatnonzero(~np.isfinite(x[row]))[0])
            raise InvalidInput(f"series '{ids[row]}': history value {x[row, col]} " f"(position {col} of the last {self.window}) is not a finite float32")
        if self.meta.get("positive_only"):
            bad_rows = np.flatnonzero((x <= 0).any(axis=1))
            if len(bad_rows):
                row = bad_rows[0]
                raise InvalidInput(f"series '{ids[row]}': history must be positive for this log-transformed model")

    def predict(self, x: np.ndarray, horizon: int) -> np.ndarray:
        """Forecast a checked batch: (batch, window) float32 -> (batch, horizon) float32, C-contiguous.

        Large batches run in slices of RUN_ROWS: the LSTM kernel's per-step state then stays
        in cache, which halves the time of a 10,000-series batch (docs/performance.md).
        """
        if len(x) <= RUN_ROWS:
            (forecast,) = self.session.run(["forecast"], {"history": x})
            return np.ascontiguousarray(forecast[:, :horizon])
        out = np.empty((len(x), horizon), dtype=np.float32)
        for start in range(0, len(x), RUN_ROWS):
            (forecast,) = self.session.run(["forecast"], {"history": x[start : start + RUN_ROWS]})
            out[start : start + RUN_ROWS] = forecast[:, :horizon]
        return out

    def check_levels(self, levels: list[float]) -> list[float]:
        """Interval levels in percent, each in (0, 100), for a model that carries a calibration."""
        if not self.meta.get("intervals"):
            raise InvalidInput("level: prediction intervals are not available for this model (it carries no calibration)")
        for level in levels:
            if not 0.0 < level < 100.0:
                raise InvalidInput(f"level {level:g} is outside (0, 100)")
        return sorted(set(levels))

    def intervals(self, mean: np.ndarray, levels: list[float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Symmetric intervals around `mean` (batch, horizon) from the calibrated relative errors, by level label."""
        return {f"{level:g}": bounds(mean, self.quantiles(level)) for level in levels}

    def quantiles(self, level: float) -> np.ndarray:
        """The calibrated relative half-width per step at `level` percent, computed once per level."""
        q = self.quantile_cache.get(level)
        if q is None:
            calibration = self.meta["intervals"]
            q = interval_quantiles(calibration["relative_errors"][: self.horizon], level, calibration.get("tail"))
            if len(self.quantile_cache) < CACHED_LEVELS:
                self.quantile_cache[level] = q
        return q


def interval_bounds(mean: np.ndarray, relative_errors: list[list[float]], level: float, tail: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper), each shaped like `mean` (batch, horizon), at `level` percent."""
    return bounds(mean, interval_quantiles(relative_errors[: mean.shape[-1]], level, tail))


def bounds(mean: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mean -+ |mean| * q per step; `quantiles` may cover more steps than `mean` has."""
    half = np.abs(mean) * quantiles[: mean.shape[-1]].astype(mean.dtype)
    return mean - half, mean + half


def interval_quantiles(relative_errors: list[list[float]], level: float, tail: str | None = None) -> np.ndarray:
    """Relative half-width per step (steps,) at `level` percent.

    `relative_errors[h]` are out-of-sample |actual - forecast| / |forecast| at step h,
    measured inside the training data; their quantile at `level` scales with each
    forecast, so one calibration serves any series' size. The quantile is the
    split-conformal one; with `tail="exponential"` it is at least the exponential
    distribution's quantile for the scores' mean, -ln(1 - level) * mean: a handful of
    overlapping inner forecasts says little about a 95 % tail on its own. Across steps
    the quantile never shrinks: a later step is at least as uncertain as an earlier one,
    even where its few scores happen to be smaller.
    """
    coverage = level / 100.0
    q = np.array([conformal_quantile(step, coverage) for step in relative_errors])
    if tail == "exponential":
        q = np.maximum(q, -np.log1p(-coverage) * np.array([np.mean(step) for step in relative_errors]))
    return np.maximum.accumulate(q)


def conformal_quantile(scores: list[float], coverage: float) -> float:
    """The ceil((n + 1) * coverage)-th smallest score (split conformal); the largest if that overshoots."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    rank = int(np.ceil((len(ordered) + 1) * coverage))
    return float(ordered[min(max(rank, 1), len(ordered)) - 1])
