"""JSON responses rendered by orjson, which writes numpy float32 arrays directly and in their shortest form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import orjson
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

if TYPE_CHECKING:
    from paxcast.service.inference.predictor import ForecastResult

# A streamed answer is rendered in parts of about this many bytes. orjson holds the GIL for a whole call:
# rendering 120 MB at once (10,000 daily series, 20 levels) held the event loop's thread off for ~300 ms.
PART_BYTES = 1 << 20


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def forecast_response(result: ForecastResult) -> JSONBytes:
    """The ForecastResponse body, with the version that computed it in a header too."""
    return JSONBytes(
        {"model": model_of(result), "forecasts": [forecast_of(result, row) for row in range(len(result.ids))]},
        headers={"X-Model-Version": result.card.version},
    )


def streamed_forecast_response(result: ForecastResult) -> StreamingResponse:
    """The same body as `forecast_response`, byte for byte, rendered part by part in worker threads as the
    client takes it: no part holds the GIL for long, and the whole body never sits in memory at once."""
    return StreamingResponse(
        iterate_in_threadpool(forecast_parts(result)),
        media_type=JSONBytes.media_type,
        headers={"X-Model-Version": result.card.version},
    )


def forecast_parts(result: ForecastResult) -> Iterator[bytes]:
    """`forecast_response`'s body in parts of about PART_BYTES."""
    numbers = result.mean.shape[1] * (1 + 2 * len(result.intervals))
    per_part = max(1, PART_BYTES // (12 * numbers))  # ~12 bytes per rendered float32
    yield b'{"model":' + orjson.dumps(model_of(result)) + b',"forecasts":['
    for start in range(0, len(result.ids), per_part):
        rows = range(start, min(start + per_part, len(result.ids)))
        part = orjson.dumps([forecast_of(result, row) for row in rows], option=orjson.OPT_SERIALIZE_NUMPY)
        yield (b"," if start else b"") + part[1:-1]
    yield b"]}"


def model_of(result: ForecastResult) -> dict:
    return {"name": result.card.name, "version": result.card.version}


def forecast_of(result: ForecastResult, row: int) -> dict:
    """One series' entry: id, mean, timestamps when it has a start, intervals by level label when asked."""
    out: dict = {"id": result.ids[row], "mean": result.mean[row]}
    if result.timestamps[row] is not None:
        out["timestamps"] = result.timestamps[row]
    if result.intervals:
        out["intervals"] = {label: {"lower": lo[row], "upper": hi[row]} for label, (lo, hi) in result.intervals.items()}
    return out
