"""A loaded, checked model version answering forecasts: the one place onnxruntime sessions are made and run.

No preprocessing happens here — the graph holds it. `Predictor.load` is the one load
check (card, hash, onnxruntime, tensor names and shapes, probe forecast) that the
service, `paxcast models rollback` and `paxcast retrain` all run before a version may
be served. `Predictor.forecast` checks a request against the card, stacks its series
into one batch, runs the session, slices the horizon and adds intervals and timestamps.

Over 300 lines on purpose: `Predictor` is the one path every request takes from its parsed body to
onnxruntime and back, and each step's check names the series and the rule; split across modules, the
order of those checks (which decides which error a bad request gets) would no longer read top to bottom.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from paxcast.service.core.calendar import FREQ_NAMES, CalendarOverflow, future_timestamps, step
from paxcast.service.core.contract import CALENDAR, FORECAST, HISTORY, ONNX_FILE, ModelCard, read_card, read_onnx
from paxcast.service.core.covariates import HOLIDAY_YEARS, Calendar, CalendarError, CalendarRows
from paxcast.service.core.exceptions import InvalidInput, ModelError
from paxcast.service.core.files import shown
from paxcast.service.core.intervals import bounds, interval_quantiles, window_scale
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.unit_level import from_unit_level, to_unit_level, unit_exponents

# Rows per session.run; see Predictor.predict and bench/perf/model.py.
RUN_ROWS = 64
# Interval quantiles cached per level; clients choose levels freely, so the cache is bounded.
CACHED_LEVELS = 64
# A model with holiday covariates forecasts in the years its holiday table covers.
CALENDAR_YEARS = HOLIDAY_YEARS


def make_session(onnx_path: str | Path | bytes, threads: int = 1, spinning: bool = False) -> ort.InferenceSession:
    """An onnxruntime session with the service's options, from a graph's path or its bytes; training's parity
    check, backtests and benches use it too.

    `spinning=True` only for bench/perf/tuning.py, which measures what the service's choice saves.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # ORT's default counts host cores, not the container's CPU limit
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Batch sizes vary per request; the arena would keep growing with each new shape (onnxruntime#11627).
    options.enable_cpu_mem_arena = False
    # With threads > 1, idle pool threads would spin for work; on a busy host that doubled the
    # time of a 10,000-series batch (docs/performance.md). They sleep instead.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    graph = onnx_path if isinstance(onnx_path, bytes) else str(onnx_path)
    return ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])


def run_session(session: ort.InferenceSession, x: np.ndarray, calendar: np.ndarray | None = None) -> np.ndarray:
    """One session.run: histories (batch, window) float32 [and calendar covariates (batch, window + horizon,
    covariates) for a calendar-aware graph] -> forecasts (batch, model horizon) float32."""
    feeds = {HISTORY: x} if calendar is None else {HISTORY: x, CALENDAR: calendar}
    (forecast,) = session.run([FORECAST], feeds)
    return forecast


@dataclass(frozen=True)
class Prepared:
    """A request checked against the card: its rows (batch, window) float32 and what finishing needs."""

    request: ForecastRequest
    ids: list[str]
    x: np.ndarray
    levels: list[float]
    calendar: CalendarRows | None = None  # (batch, window + horizon, covariates) for a calendar-aware model
    exponents: np.ndarray | None = None  # (batch,) each row was divided by 2**exponent (unit_level.py)


@dataclass(frozen=True)
class ForecastResult:
    """What one request gets back: forecasts (batch, horizon), intervals by level label, timestamps per series."""

    card: ModelCard
    ids: list[str]
    mean: np.ndarray
    intervals: dict[str, tuple[np.ndarray, np.ndarray]]
    timestamps: list[list[str] | None]


@dataclass(frozen=True)
class Predictor:
    """A loaded, checked model version."""

    card: ModelCard
    session: ort.InferenceSession
    path: Path
    calendar: Calendar | None = None  # the covariates a global model reads, rebuilt from its card
    root: Path | None = None  # the registry: messages name the version relative to it (core.files.shown)
    # level -> per-step relative half-width (model horizon,): computing one costs more than a forecast.
    quantile_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(
        cls,
        version_dir: str | Path,
        threads: int = 1,
        version: str | None = None,
        name: str | None = None,
        root: str | Path | None = None,
    ) -> Predictor:
        """Load `version_dir` and run every check a served version must pass; ModelError names what failed.

        `name` is the model it will be served as (default: the folder above `version_dir`): a card naming
        another model is refused, so no other model's version is ever served under this name. With the
        registry `root` (the service), messages name files relative to it; without (the CLI), in full."""
        version_dir = Path(version_dir)
        root = Path(root) if root is not None else None
        card = read_card(version_dir, verify_hash=False, version=version, root=root)
        expected = name if name is not None else version_dir.resolve().parent.name
        if card.name != expected:
            raise ModelError(f"{version_dir.name}: the card names model {card.name!r}, served as {expected!r}")
        graph = read_onnx(version_dir, card, root)  # the session is made from the bytes whose hash was checked
        try:
            session = make_session(graph, threads)
        except Exception as exc:  # onnxruntime raises its own types for corrupt graphs
            raise ModelError(f"{shown(version_dir / ONNX_FILE, root)}: onnxruntime cannot load it ({exc})") from None
        calendar = None
        if card.covariates is not None:
            try:
                calendar = Calendar.of(card.freq, card.covariates)
            except CalendarError as exc:
                raise ModelError(f"{shown(version_dir, root)}: {exc}") from None
        predictor = cls(card=card, session=session, path=version_dir, calendar=calendar, root=root)
        predictor.probe()
        return predictor

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def where(self) -> str:
        """The version's folder as messages name it (relative to the registry when the service loaded it)."""
        return shown(self.path, self.root)

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def window(self) -> int:
        return self.card.window

    @property
    def horizon(self) -> int:
        return self.card.horizon

    def probe(self) -> None:
        """Refuse a graph that is not `history` (batch, window) [+ `calendar`] -> finite `forecast` (batch, horizon)."""
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        expected = [HISTORY, CALENDAR] if self.calendar is not None else [HISTORY]
        if inputs != expected or outputs != [FORECAST]:
            raise ModelError(
                f"{self.where}: graph has inputs {inputs} and outputs {outputs}; expected {expected} -> {[FORECAST]}"
            )
        width = self.session.get_inputs()[0].shape[-1]
        if isinstance(width, int) and width != self.window:
            raise ModelError(
                f"{self.where}: graph reads {width} values per history; the card says window {self.window}"
            )
        pattern = 100.0 + 10.0 * np.sin(2 * np.pi * np.arange(self.window) / self.card.season)
        calendar = None
        if self.calendar is not None:
            # Inside the years a holiday file covers (its dates are in the card), else any recent year.
            fixed = self.card.covariates.holidays or self.card.covariates.workdays
            year = fixed[0].year if fixed else 2020
            firsts = np.array([f"{year}-01-01", f"{year}-07-01"], dtype="datetime64[s]")
            try:
                calendar = self.calendar.windows(firsts, self.window + self.horizon)
            except CalendarError as exc:
                raise ModelError(f"{self.where}: probe forecast from {year}: {exc}") from None
        try:
            out = run_session(self.session, np.tile(pattern, (2, 1)).astype(np.float32), calendar)
        except Exception as exc:
            raise ModelError(f"{self.where}: probe forecast failed ({exc})") from None
        if out.shape != (2, self.horizon) or not np.isfinite(out).all():
            raise ModelError(
                f"{self.where}: probe forecast gave shape {out.shape}, finite={bool(np.isfinite(out).all())}"
            )

    def forecast(self, request: ForecastRequest) -> ForecastResult:
        """Check `request` against the card, forecast every series in one batch, add intervals and timestamps."""
        prepared = self.prepare(request)
        return self.finish(prepared, self.run_rows(prepared.x, prepared.calendar))

    def prepare(self, request: ForecastRequest) -> Prepared:
        """Every check a request must pass before its rows may join a batch (one bad request fails alone)."""
        if request.freq is not None and request.freq != self.card.freq:
            raise InvalidInput(
                f"freq: the series are {FREQ_NAMES[request.freq]}; model '{self.card.name}' forecasts "
                f"{FREQ_NAMES[self.card.freq]} series"
            )
        ids = [s.id for s in request.series]
        x, exponents = self.to_unit_level(self.batch(ids, [s.history for s in request.series], request.horizon))
        levels = self.check_levels(request.level) if request.level is not None else []
        calendar = self.calendar_rows(request) if self.calendar is not None else None
        return Prepared(request=request, ids=ids, x=x, levels=levels, calendar=calendar, exponents=exponents)

    def to_unit_level(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Checked rows near unit level and their exponents (unit_level.py); a log graph's rows as posted:
        it has no level floor (a factor is an offset in log space) and exp/log would change its last digits."""
        if self.card.transform == "log":
            return x, None
        exponents = unit_exponents(x)
        return to_unit_level(x, exponents), exponents

    def calendar_rows(self, request: ForecastRequest) -> CalendarRows:
        """The covariates of each series' last `window` steps and the model's horizon, from its `start`.

        A network's series share their `start` and history length: each distinct pair is checked and placed
        on the grid once (a Python loop per series cost 0.3 s of a 10,000-series request)."""
        firsts_of: dict[tuple, dt.datetime] = {}
        firsts = np.empty(len(request.series), dtype="datetime64[s]")
        for row, s in enumerate(request.series):
            key = (s.start, len(s.history))
            first = firsts_of.get(key)
            if first is None:
                first = firsts_of[key] = self.first_window_step(s.id, s.start, len(s.history))
            firsts[row] = first
        try:
            return self.calendar.rows(firsts, self.window + self.horizon)
        except CalendarError as exc:  # a holiday list embedded from a file covers only its own years
            raise InvalidInput(f"start: {exc}") from None

    def first_window_step(self, series_id: str, start: dt.date | None, n_history: int) -> dt.datetime:
        """The timestamp of the first of the `window` values the graph reads, checked: `start` is given, on the
        model's grid, and the history and horizon fall in the years the calendar covers."""
        freq, where = self.card.freq, f"series '{series_id}': start"
        if start is None:
            what = "an ISO date-time" if freq == "h" else "an ISO date"
            raise InvalidInput(
                f"{where} is required: model '{self.name}' reads the calendar (weekdays, holidays) of the "
                f"history and the horizon; give the timestamp of the first history value as {what}"
            )
        when = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
        if when.tzinfo is not None:
            raise InvalidInput(f"{where} {start.isoformat()} has a UTC offset; give local wall-clock time")
        if freq != "h" and when.time() != dt.time():
            raise InvalidInput(f"{where} {when.isoformat()} is not on the {FREQ_NAMES[freq]} grid (midnight)")
        if freq == "h" and when.time().replace(hour=0) != dt.time():
            raise InvalidInput(f"{where} {when.isoformat()} is not on the hourly grid (whole hours)")
        try:
            first = step(when, freq, n_history - self.window)
            last = step(first, freq, self.window + self.horizon - 1)
        except (ValueError, OverflowError):
            raise InvalidInput(f"{where}: the history and horizon pass the years 1-9999 that dates can name") from None
        # Only a holiday table has a year range; weekdays and the position in the year hold in any year.
        if self.calendar.has_holidays and not (CALENDAR_YEARS[0] <= when.year and last.year <= CALENDAR_YEARS[1]):
            raise InvalidInput(
                f"{where}: the history and horizon must fall in {CALENDAR_YEARS[0]}-{CALENDAR_YEARS[1]}, "
                "the years this model's holiday calendar covers"
            )
        return first

    def finish(self, prepared: Prepared, forecast: np.ndarray) -> ForecastResult:
        """The result from the graph's rows (batch, model horizon): horizon cut, finiteness, intervals, timestamps."""
        request, ids, levels = prepared.request, prepared.ids, prepared.levels
        mean = np.ascontiguousarray(forecast[:, : request.horizon])
        scale = None
        if levels and (kind := self.card.intervals.scale) != "forecast":  # a global model's: from each window
            scale = window_scale(prepared.x, kind, self.card.season, self.card.hyperparameters.eps)
        intervals = {level_label(level): bounds(mean, self.quantiles(level), scale) for level in levels}
        if prepared.exponents is not None:  # back to the posted units; beyond float32 is refused below
            mean = from_unit_level(mean, prepared.exponents)
            intervals = {
                label: (from_unit_level(lo, prepared.exponents), from_unit_level(hi, prepared.exponents))
                for label, (lo, hi) in intervals.items()
            }
        if (floor := self.card.intervals.floor if self.card.intervals else None) is not None:
            # counts: neither the forecast nor either bound below zero (an all-zero night came back as
            # -3.6e-8, its upper bound as -6.5e-8, below its clipped lower bound)
            mean = np.maximum(mean, floor)
            intervals = {label: (np.maximum(lo, floor), np.maximum(hi, floor)) for label, (lo, hi) in intervals.items()}
        check_finite(ids, mean, intervals)  # every number the response carries
        timestamps = self.timestamps_of(request)
        return ForecastResult(card=self.card, ids=ids, mean=mean, intervals=intervals, timestamps=timestamps)

    def timestamps_of(self, request: ForecastRequest) -> list[list[str] | None]:
        """Each series' forecast timestamps (None without a `start`); series that share their `start` and
        history length share one list (a network's do: one computation, not one per station)."""
        made: dict[tuple, list[str] | None] = {}
        out = []
        for s in request.series:
            key = (s.start, len(s.history))
            if key not in made:
                made[key] = self.timestamps(s.id, s.start, len(s.history), request.horizon)
            out.append(made[key])
        return out

    def timestamps(self, series_id: str, start: dt.date | None, n_history: int, horizon: int) -> list[str] | None:
        if start is None:
            return None
        if not isinstance(start, dt.datetime):
            start = dt.datetime.combine(start, dt.time())
        try:
            return future_timestamps(start.replace(tzinfo=None), n_history, horizon, self.card.freq)
        except CalendarOverflow as exc:
            raise InvalidInput(f"series '{series_id}': {exc}") from None

    def batch(self, ids: list[str], histories: list[list[float]], horizon: int) -> np.ndarray:
        """Check each series against the card; return their last `window` values, (batch, window) float32.

        A graph that masks padding (`card.min_history` < window) takes shorter histories, left-padded with NaN.
        """
        if horizon > self.horizon:
            raise InvalidInput(f"horizon {horizon} exceeds the model's horizon {self.horizon}")
        seen: set[str] = set()
        for series_id in ids:
            if series_id in seen:
                raise InvalidInput(f"series '{series_id}': duplicate id; ids must be unique within a request")
            seen.add(series_id)
        shortest = self.card.min_history
        x = np.full((len(ids), self.window), np.nan, dtype=np.float32)
        lengths = np.empty(len(ids), dtype=np.int64)
        with np.errstate(over="ignore"):  # values beyond float32 become inf and are refused below
            for row, (series_id, history) in enumerate(zip(ids, histories, strict=True)):
                if len(history) < shortest:
                    raise InvalidInput(
                        f"series '{series_id}': history has {len(history)} values, the model needs at least {shortest}"
                    )
                lengths[row] = min(len(history), self.window)
                x[row, self.window - lengths[row] :] = history[-self.window :]
        self.check_values(ids, x, lengths)
        return x

    def check_values(self, ids: list[str], x: np.ndarray, lengths: np.ndarray) -> None:
        """InvalidInput naming the first series with a non-finite posted value (or one <= 0 for a log model)."""
        if np.isfinite(x).all() and not (self.card.positive_only and (x <= 0).any()):
            return  # the common case in two reductions; padding (NaN) or a bad value takes the search below
        posted = np.arange(self.window) >= self.window - lengths[:, None]  # (batch, window): not padding
        bad_rows = np.flatnonzero((posted & ~np.isfinite(x)).any(axis=1))
        if len(bad_rows):
            row = bad_rows[0]
            col = int(np.flatnonzero(posted[row] & ~np.isfinite(x[row]))[0])
            where = (
                f"position {col} of the last {self.window}"
                if lengths[row] == self.window
                else f"position {col - (self.window - lengths[row])}"
            )
            raise InvalidInput(f"series '{ids[row]}': history value {x[row, col]} ({where}) is not a finite float32")
        if self.card.positive_only:
            bad_rows = np.flatnonzero((x <= 0).any(axis=1))
            if len(bad_rows):
                raise InvalidInput(
                    f"series '{ids[bad_rows[0]]}': history must be positive for this log-transformed model"
                )

    def predict(self, x: np.ndarray, horizon: int) -> np.ndarray:
        """Forecast a checked batch: (batch, window) float32 -> (batch, horizon) float32, C-contiguous,
        through the same unit-level rescaling as `forecast`."""
        rows, exponents = self.to_unit_level(x)
        forecast = self.run_rows(rows)[:, :horizon]
        return np.ascontiguousarray(forecast if exponents is None else from_unit_level(forecast, exponents))

    def run_rows(self, x: np.ndarray, calendar: CalendarRows | np.ndarray | None = None) -> np.ndarray:
        """The graph on checked rows: (batch, window) float32 [and their calendar rows] -> (batch, model horizon).

        Large batches run in slices of RUN_ROWS: the LSTM kernel's per-step state then stays
        in cache, which halves the time of a 10,000-series batch (docs/performance.md).
        """
        if len(x) <= RUN_ROWS:
            return run_session(self.session, x, calendar[:] if calendar is not None else None)
        return np.concatenate(
            [
                run_session(
                    self.session,
                    x[start : start + RUN_ROWS],
                    calendar[start : start + RUN_ROWS] if calendar is not None else None,
                )
                for start in range(0, len(x), RUN_ROWS)
            ]
        )

    def check_levels(self, levels: list[float]) -> list[float]:
        """Interval levels in percent, each in (0, 100), for a model that carries a calibration."""
        if self.card.intervals is None:
            raise InvalidInput(
                "level: prediction intervals are not available for this model (it carries no calibration)"
            )
        for level in levels:
            if not 0.0 < level < 100.0:
                raise InvalidInput(f"level {level_label(level)} is outside (0, 100)")
        return sorted(set(levels))

    def quantiles(self, level: float) -> np.ndarray:
        """The calibrated relative half-width per step at `level` percent, computed once per level."""
        q = self.quantile_cache.get(level)
        if q is None:
            calibration = self.card.intervals
            q = interval_quantiles(
                calibration.relative_errors[: self.horizon], level, calibration.tail, calibration.monotone
            )
            if len(self.quantile_cache) < CACHED_LEVELS:
                self.quantile_cache[level] = q
        return q


def check_finite(
    ids: list[str], mean: np.ndarray, intervals: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
) -> None:
    """Raise InvalidInput naming the first series whose forecast or interval bound is not a finite float32.

    Every number a response carries passes here: orjson writes inf and NaN as `null`.
    `mean` is (batch, horizon); `intervals` maps a level label to (lower, upper), each like `mean`.
    """
    beyond = "the history is outside the range this model can forecast"
    bad = np.flatnonzero(~np.isfinite(mean).all(axis=1))
    if len(bad):
        raise InvalidInput(f"series '{ids[bad[0]]}': the forecast is not finite; {beyond}")
    for label, (lower, upper) in (intervals or {}).items():
        bad = np.flatnonzero(~(np.isfinite(lower).all(axis=1) & np.isfinite(upper).all(axis=1)))
        if len(bad):
            raise InvalidInput(f"series '{ids[bad[0]]}': the {label}% interval is not finite in float32; {beyond}")


def check_servable(version_dir: str | Path, version: str | None = None, name: str | None = None) -> None:
    """The service's own load check (card, hash, onnxruntime, probe), as `core.publish` takes it: what passes
    here is what the service will serve, so nothing else is ever published."""
    Predictor.load(version_dir, version=version, name=name)


def level_label(level: float) -> str:
    """A level's label, exact: "80" for 80.0, "50.0000001", "99.99999999999999"; two levels never share one.

    (`f"{level:g}"` kept six digits: 50 and 50.0000001 were both "50", 99.99999999999999 was "100".)
    """
    level = float(level)
    return f"{level:.0f}" if level.is_integer() else repr(level)
