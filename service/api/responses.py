"""JSON responses rendered by orjson, which writes numpy float32 arrays directly and in their shortest form."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.responses import Response

if TYPE_CHECKING:
    from paxcast.service.inference.predictor import ForecastResult


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def forecast_response(result: ForecastResult) -> JSONBytes:
    """The ForecastResponse body, with the version that computed it in a header too."""
    forecasts = []
    for row, series_id in enumerate(result.ids):
        out: dict = {"id": series_id, "mean": result.mean[row]}
        if result.timestamps[row] is not None:
            out["timestamps"] = result.timestamps[row]
        if result.intervals:
            out["intervals"] = {
                label: {"lower": lo[row], "upper": hi[row]} for label, (lo, hi) in result.intervals.items()
            }
        forecasts.append(out)
    card = result.card
    return JSONBytes(
        {"model": {"name": card.name, "version": card.version}, "forecasts": forecasts},
        headers={"X-Model-Version": card.version},
    )
