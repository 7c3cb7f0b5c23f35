"""What every peer server of bench/peers/ shares: paxcast's own non-model work around a peer's batched graph run.

Each peer (Ray Serve, BentoML, LitServe) answers the body of paxcast's `POST /v1/models/{name}/forecast` and
must return the same forecast. That answer needs more than `session.run`: the request checks, the scaling of
each row to unit level (unit_level.py), a calendar-aware model's covariate rows, the interval half-widths
and the timestamps. An ML engineer moving this graph to a peer would call the same functions rather than
rewrite them, so the peers do: `Forecaster.prepare` before the peer's batching, `Forecaster.run` inside the
peer's batched handler (the rows of every request in the batch in one `Predictor.run_rows`), and
`Forecaster.answer` after. What differs between paxcast and a peer is then the serving framework alone:
HTTP, batching, the handoff between processes, and the JSON rendering (each peer renders the answer with
its own encoder, from plain lists, as its docs show; paxcast renders float32 arrays with orjson).

The session is `Predictor.load`'s: `make_session` with one intra-op thread, the service's options.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor, Prepared

# How a peer process learns which model to serve: the launcher (bench/peers/run.py) sets these.
MODEL_DIR_VARIABLE = "PAXCAST_PEER_MODEL_DIR"
MODEL_NAME_VARIABLE = "PAXCAST_PEER_MODEL"
# Batching settings shared by the peers, where their APIs take them: the most requests per batch and the
# longest a first request waits for others. Ray Serve's defaults are 10 and 10 ms; LitServe's docs show
# max_batch_size with a batch_timeout of a few ms; BentoML adapts its window up to max_latency_ms itself.
MAX_BATCH_SIZE = 64
BATCH_WAIT_S = 0.002


def forecast_path(name: str) -> str:
    """paxcast's route for model `name`, which every peer serves too where its API allows."""
    return f"/v1/models/{name}/forecast"


class Forecaster:
    """One model version loaded with paxcast's checks and session; the non-model steps of a forecast."""

    def __init__(self, model_dir: str | Path, name: str) -> None:
        model_dir = Path(model_dir)
        self.predictor = Predictor.load(model_dir / name / current_version(model_dir, name), threads=1, name=name)

    @classmethod
    def from_environment(cls) -> Forecaster:
        """The model the launcher named in PAXCAST_PEER_MODEL_DIR and PAXCAST_PEER_MODEL."""
        return cls(os.environ[MODEL_DIR_VARIABLE], os.environ[MODEL_NAME_VARIABLE])

    def prepare(self, body: bytes | str | dict) -> Prepared:
        """Parse and check one request body (JSON text or the dict a framework already parsed)."""
        request = (
            ForecastRequest.model_validate(body)
            if isinstance(body, dict)
            else ForecastRequest.model_validate_json(body)
        )
        return self.predictor.prepare(request)

    def run(self, batch: list[Prepared]) -> list[np.ndarray]:
        """The rows of every request in a peer's batch through the graph in one go, split back per request:
        [(rows_i, window)] -> [(rows_i, model horizon)] float32."""
        x = np.concatenate([p.x for p in batch])
        calendar = None
        if batch[0].calendar is not None:
            calendar = np.concatenate([p.calendar[:] for p in batch])
        out = self.predictor.run_rows(x, calendar)
        return np.split(out, np.cumsum([len(p.x) for p in batch])[:-1])

    def answer(self, prepared: Prepared, rows: np.ndarray) -> dict:
        """paxcast's ForecastResponse body as plain Python (lists of floats), for a peer's own JSON encoder."""
        result = self.predictor.finish(prepared, rows)
        forecasts = []
        for row, series_id in enumerate(result.ids):
            out: dict = {"id": series_id, "mean": result.mean[row].tolist()}
            if result.timestamps[row] is not None:
                out["timestamps"] = result.timestamps[row]
            if result.intervals:
                out["intervals"] = {
                    label: {"lower": lo[row].tolist(), "upper": hi[row].tolist()}
                    for label, (lo, hi) in result.intervals.items()
                }
            forecasts.append(out)
        return {"model": {"name": result.card.name, "version": result.card.version}, "forecasts": forecasts}

    def forecast(self, body: bytes | str | dict) -> dict:
        """One request alone, unbatched: what the checks compare with."""
        prepared = self.prepare(body)
        return self.answer(prepared, self.run([prepared])[0])


def check() -> None:
    """Two air-passengers requests in one batch answer exactly as each alone (bench.imports runs this)."""
    from bench.common import ROOT

    forecaster = Forecaster(ROOT / "models", "air_passengers")
    window = forecaster.predictor.window
    bodies = [
        {"series": [{"id": f"s{k}", "history": [100.0 + k + (i % 12) for i in range(window)]}], "horizon": 12}
        for k in range(2)
    ]
    prepared = [forecaster.prepare(body) for body in bodies]
    together = [forecaster.answer(p, rows) for p, rows in zip(prepared, forecaster.run(prepared), strict=True)]
    alone = [forecaster.forecast(body) for body in bodies]
    if together != alone:
        raise AssertionError(f"a batch of two answered {together}, each alone {alone}")
